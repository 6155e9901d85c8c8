// The in-pod rules' counters, found by what each rule does (table, chain, target, and the match that
// makes it that rule), and the path counters the plan and the bench read around traffic. Pure.
import type { IptablesSnapshot, RuleCounter } from '../../evidence/iptables.ts';
import type { ProxyConnection } from '../../evidence/proxy-log.ts';
import type { AmbientInpodConfig } from '../../istio/ambient.ts';
import { LISTENER_KINDS, listenerName } from './capture.ts';

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * The in-pod rules the checks read, each by its table, chain and exact text as iptables-save prints it
 * after `-A <chain> ` (lab/istio/ambient.ts writes them). Exact, never a substring: a neighbour's
 * "-p tcp -j REDIRECT --to-ports 15006" contains the tail of the lab's inbound REDIRECT but is another
 * rule, and its packets are not the lab's (architecture.md, Evidence rules).
 */
export function inpodRules(c: Pick<AmbientInpodConfig, 'probeSource' | 'outboundPort' | 'inboundPlaintextPort' | 'hbonePort' | 'proxyMark' | 'proxyMask' | 'connMark' | 'connMask'>) {
  const notProxy = `-m mark ! --mark ${hex(c.proxyMark)}/${hex(c.proxyMask)}`;
  return {
    /** nat OUTPUT: the app's outbound TCP to the node proxy's 15001 (not for packets marked as the proxy's). */
    redirectOutbound: { table: 'nat', chain: 'ISTIO_OUTPUT', rule: `! -d 127.0.0.1/32 -p tcp ${notProxy} -j REDIRECT --to-ports ${c.outboundPort}` },
    /** nat PREROUTING: inbound TCP (not 15008, not the proxy's) to the node proxy's 15006. */
    redirectInbound: { table: 'nat', chain: 'ISTIO_PRERT', rule: `! -d 127.0.0.1/32 -p tcp -m tcp ! --dport ${c.hbonePort} ${notProxy} -j REDIRECT --to-ports ${c.inboundPlaintextPort}` },
    /** nat PREROUTING: the node's own connections (kubelet probes in Kubernetes) accepted first. */
    probeSourceAccept: { table: 'nat', chain: 'ISTIO_PRERT', rule: `-s ${c.probeSource}/32 -p tcp -m tcp -j ACCEPT` },
    /** mangle PREROUTING: a packet marked by the proxy marks its connection (connmark) for the replies. */
    markToConnmark: { table: 'mangle', chain: 'ISTIO_PRERT', rule: `-m mark --mark ${hex(c.proxyMark)}/${hex(c.proxyMask)} -j CONNMARK --set-xmark ${hex(c.connMark)}/${hex(c.connMask)}` },
    /** mangle OUTPUT: the app's packets on such a connection get its mark back, for the table-100 route. */
    restoreMark: { table: 'mangle', chain: 'ISTIO_OUTPUT', rule: `-m connmark --mark ${hex(c.connMark)}/${hex(c.connMask)} -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff` },
  } as const;
}

export type InpodRuleName = keyof ReturnType<typeof inpodRules>;
export interface RuleMatch {
  table: string;
  chain: string;
  /** The rule's exact text after `-A <chain> `. */
  rule: string;
}

/** The rules of a snapshot that are exactly this rule (normally exactly one). */
export const rulesMatching = (rules: IptablesSnapshot, m: RuleMatch): RuleCounter[] => rules.rules.filter((r) => r.table === m.table && r.chain === m.chain && r.rule === m.rule);

/** Packets the rule matched; 0 when the pod does not have it. */
export const rulePackets = (rules: IptablesSnapshot, m: RuleMatch): number => rulesMatching(rules, m).reduce((sum, r) => sum + r.packets, 0);

/** Path counter names, per captured pod. */
export const counterNames = {
  redirectOutbound: (pod: string) => `${pod} REDIRECT to 15001 packets`,
  redirectInbound: (pod: string) => `${pod} REDIRECT to 15006 packets`,
  probeSourceAccept: (pod: string) => `${pod} probe-source ACCEPT packets`,
  connections: (pod: string, kind: (typeof LISTENER_KINDS)[number]) => `${pod} ${kind} connections`,
};

/** A captured pod's rule counters and the node proxy's connections on its listeners, by counter name. */
export function podPathCounters(pod: string, rules: IptablesSnapshot, c: Parameters<typeof inpodRules>[0], log: readonly ProxyConnection[]): Record<string, number> {
  const r = inpodRules(c);
  const counters: Record<string, number> = {
    [counterNames.redirectOutbound(pod)]: rulePackets(rules, r.redirectOutbound),
    [counterNames.redirectInbound(pod)]: rulePackets(rules, r.redirectInbound),
    [counterNames.probeSourceAccept(pod)]: rulePackets(rules, r.probeSourceAccept),
  };
  for (const kind of LISTENER_KINDS) counters[counterNames.connections(pod, kind)] = log.filter((l) => l.listener === listenerName(pod, kind)).length;
  return counters;
}
