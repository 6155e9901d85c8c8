// The in-pod rules' counters, found by what each rule does (table, chain, target, and the match that
// makes it that rule), and the path counters the plan and the bench read around traffic. Pure.
import type { IptablesSnapshot, RuleCounter } from '../../evidence/iptables.ts';
import type { ProxyConnection } from '../../evidence/proxy-log.ts';
import type { AmbientInpodConfig } from '../../istio/ambient.ts';
import { LISTENER_KINDS, listenerName } from './capture.ts';

const hex = (n: number) => `0x${n.toString(16)}`;

/** The in-pod rules the checks read, each as iptables-save prints it (matched by its distinguishing part). */
export function inpodRules(c: Pick<AmbientInpodConfig, 'probeSource' | 'outboundPort' | 'inboundPlaintextPort' | 'proxyMark' | 'proxyMask' | 'connMark' | 'connMask'>) {
  return {
    /** nat OUTPUT: the app's outbound TCP to the node proxy's 15001 (not for packets marked as the proxy's). */
    redirectOutbound: { table: 'nat', chain: 'ISTIO_OUTPUT', target: 'REDIRECT', has: `! --mark ${hex(c.proxyMark)}/${hex(c.proxyMask)} -j REDIRECT --to-ports ${c.outboundPort}` },
    /** nat PREROUTING: inbound TCP (not 15008, not the proxy's) to the node proxy's 15006. */
    redirectInbound: { table: 'nat', chain: 'ISTIO_PRERT', target: 'REDIRECT', has: `-j REDIRECT --to-ports ${c.inboundPlaintextPort}` },
    /** nat PREROUTING: the node's own connections (kubelet probes in Kubernetes) accepted first. */
    probeSourceAccept: { table: 'nat', chain: 'ISTIO_PRERT', target: 'ACCEPT', has: `-s ${c.probeSource}/32 ` },
    /** mangle PREROUTING: a packet marked by the proxy marks its connection (connmark) for the replies. */
    markToConnmark: { table: 'mangle', chain: 'ISTIO_PRERT', target: 'CONNMARK', has: `--mark ${hex(c.proxyMark)}/${hex(c.proxyMask)} -j CONNMARK --set-xmark ${hex(c.connMark)}/${hex(c.connMask)}` },
    /** mangle OUTPUT: the app's packets on such a connection get its mark back, for the table-100 route. */
    restoreMark: { table: 'mangle', chain: 'ISTIO_OUTPUT', target: 'CONNMARK', has: `--mark ${hex(c.connMark)}/${hex(c.connMask)} -j CONNMARK --restore-mark` },
  } as const;
}

export type InpodRuleName = keyof ReturnType<typeof inpodRules>;
export interface RuleMatch {
  table: string;
  chain: string;
  target: string;
  has: string;
}

/** The rules of a snapshot that are this rule (normally exactly one). */
export const rulesMatching = (rules: IptablesSnapshot, m: RuleMatch): RuleCounter[] =>
  rules.rules.filter((r) => r.table === m.table && r.chain === m.chain && r.target === m.target && r.rule.includes(m.has));

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
