// Evidence breaks that both sidecar judges (redirect, tproxy; both rule flavours) must catch the same
// way: the checks they share from lab/judge/sidecar.ts. Each alters real recorded evidence the way a
// broken install leaves it.
import type { SidecarRuleIds } from '../../lab/istio/rule-ids.ts';
import type { VerifyEvidence } from '../../lab/judge/plan.ts';
import type { SidecarSockets } from '../../lab/judge/sidecar.ts';
import type { RuleCounter } from '../../lab/evidence/iptables.ts';
import type { ProxyConnection } from '../../lab/evidence/proxy-log.ts';

/** What the shared checks read of a sidecar backend's collected evidence. */
interface SidecarCollected {
  clientLog: ProxyConnection[];
  clientRules: { rules: RuleCounter[]; ruleCount: number };
  sidecarSockets: Record<string, SidecarSockets>;
}

export interface JudgeBreak<E, I> {
  check: string;
  how: string;
  alter: (e: E, ids: I) => void;
  detail: RegExp;
}

const socketOf = (e: VerifyEvidence<SidecarCollected>, pod: string, port: number) => {
  const socket = e.collected.sidecarSockets[pod]?.listening.find((l) => l.port === port);
  if (!socket) throw new Error(`the recorded evidence has no listener on :${port} in ${pod}`);
  return socket;
};

/** The shared checks' breaks; `sidecarIds` picks the SidecarRuleIds out of the backend's ids. */
export function sharedSidecarBreaks<E extends VerifyEvidence<SidecarCollected>, I>(sidecarIds: (ids: I) => SidecarRuleIds): Array<JudgeBreak<E, I>> {
  return [
    {
      check: 'sidecars-listening',
      how: 'nothing listens on the server sidecar\'s :15006 (the sidecar was stopped)',
      alter: (e) => {
        const sockets = e.collected.sidecarSockets[e.server.name]!;
        sockets.listening = sockets.listening.filter((l) => l.port !== 15006);
      },
      detail: /server: nothing listens on :15006/,
    },
    {
      check: 'sidecars-listening',
      how: "another process holds the client's :15001 (the sidecar was replaced)",
      alter: (e) => (socketOf(e, e.client.name, 15001).pids = [1]),
      detail: /client: :15001 is held by pid 1, not the sidecar/,
    },
    {
      check: 'proxy-gid-not-captured',
      how: 'the GID rule is missing (the UID rule stays)',
      alter: (e, ids) => {
        const s = sidecarIds(ids);
        e.collected.clientRules.rules = e.collected.clientRules.rules.filter((r) => !(r.table === s.tables.nat && r.chain === s.chains.output && r.rule === s.rules.proxyGidReturn));
      },
      detail: /GID 1337 probe to :8086: echoed; client sidecar logged 0; \S+ ".*gid.*" is missing/,
    },
    {
      check: 'proxy-gid-not-captured',
      how: "the client sidecar captured the GID probe's connection",
      alter: (e) => e.collected.clientLog.push({ ...e.collected.clientLog.find((c) => c.listener === 'outbound')!, originalDst: `${e.server.ip}:8086` }),
      detail: /client sidecar logged 1/,
    },
    {
      check: 'no-silent-bypass',
      how: 'the server app accepted :8083 from the client directly (one port bypassed its sidecar)',
      alter: (e) => e.plan.accepts[e.server.name]!.filter((a) => a.port === 8083).forEach((a) => (a.peer = e.client.ip)),
      detail: /the server app accepted 1 connection\(s\) on :8083 from 198\.18\.\S+, not from its sidecar/,
    },
    {
      check: 'no-silent-bypass',
      how: "the kernel-path probe's connection is not in the client sidecar's log (it went around it)",
      alter: (e) => (e.collected.clientLog = e.collected.clientLog.filter((c) => !c.originalDst.endsWith(':8085'))),
      detail: /the kernel-path probe's connection 198\.18\.\S+ -> 198\.18\.\S+:8085 is not in the client sidecar's log/,
    },
  ];
}
