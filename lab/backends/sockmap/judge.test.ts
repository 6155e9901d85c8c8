// The sockmap judge on real evidence: test/fixtures/evidence/sockmap-<placement>.json were written by
// real runs (`lab verify --backend sockmap --placement P --save-evidence test/fixtures/evidence`).
// Every check passes on them as recorded. Then each check is shown failing: the evidence is altered
// the way a broken install would leave it (a counter that did not move, a missing SOCKHASH entry, a
// log entry without its original destination, a connection around the sidecar, a step that failed),
// and exactly the named checks must fail, each saying what it saw.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ProxyConnection } from '../../evidence/proxy-log.ts';
import { ISTIO_PORTS } from '../../istio/ports.ts';
import type { Check } from '../../judge/check.ts';
import { PLACEMENTS, VERIFY_PORTS, type Placement, type VerifyEvidence } from '../../judge/plan.ts';
import { planCompleted } from '../../judge/shared.ts';
import { judgeSockmap } from './checks.ts';
import { SK_MSG_PROGRAM } from './datapath.ts';
import type { SockmapEvidence } from './evidence.ts';
import { HBONE_PROBE, MAPPED_IPV6_PROBE } from './plan.ts';

type Evidence = VerifyEvidence<SockmapEvidence>;

const recorded = Object.fromEntries(
  PLACEMENTS.map((p) => [p, JSON.parse(readFileSync(new URL(`../../../test/fixtures/evidence/sockmap-${p}.json`, import.meta.url), 'utf8')) as Evidence]),
) as Record<Placement, Evidence>;

/** What `lab verify` reports: plan-completed first when a step failed, then the backend's checks. */
function judged(e: Evidence): Check[] {
  const completed = planCompleted(e);
  return completed.ok ? judgeSockmap(e) : [completed, ...judgeSockmap(e)];
}

const failing = (checks: readonly Check[]) => checks.filter((c) => !c.ok).map((c) => c.name);

// Evidence surgery, on a copy.
const clientLog = (e: Evidence): ProxyConnection[] => e.collected.sidecarLogs[e.client.name]!;
const serverLog = (e: Evidence): ProxyConnection[] => e.collected.sidecarLogs[e.server.name]!;
const serverAccepts = (e: Evidence) => e.plan.accepts[e.server.name]!;
const appEntry = (e: Evidence) => clientLog(e).find((c) => c.client === e.plan.probes['app']!.local)!;
const logEntry = (over: Partial<ProxyConnection>): ProxyConnection => ({
  listener: 'outbound',
  client: '198.18.1.10:40999',
  originalDst: '',
  upstreamSrc: '198.18.1.10:41999',
  upstreamDst: '',
  fromClient: 91,
  fromServer: 91,
  termination: '--',
  ...over,
});
/** Rewrites the trace lines matching `pattern` (a line the programs printed differently). */
function editTrace(e: Evidence, pattern: RegExp, replace: string): number {
  let edited = 0;
  for (const line of e.collected.traceLines) {
    if (pattern.test(line.message)) {
      line.message = line.message.replace(pattern, replace);
      edited++;
    }
  }
  return edited;
}
function dropTrace(e: Evidence, pattern: RegExp): number {
  const before = e.collected.traceLines.length;
  e.collected.traceLines = e.collected.traceLines.filter((l) => !pattern.test(l.message));
  return before - e.collected.traceLines.length;
}
function addTrace(e: Evidence, message: string): void {
  const last = e.collected.traceLines.at(-1)!;
  e.collected.traceLines.push({ ...last, timestamp: last.timestamp + 0.001, message });
}
/** A connect decision the programs made and counted (every traced decision is also counted). */
function addConnect(e: Evidence, message: string): void {
  addTrace(e, message);
  e.collected.counters.connectSeen++;
}

interface Mutation {
  /** What broke, as a user would describe it. */
  name: string;
  /** Exactly the checks that must fail. */
  fails: string[];
  /** What the detail of the first failing check other than plan-completed must show (given the evidence as recorded). */
  detail: RegExp | ((e: Evidence) => RegExp);
  placements?: readonly Placement[];
  apply(e: Evidence): void;
}

const app = (e: Evidence) => `${e.server.ip}:${VERIFY_PORTS.app}`;
const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const MUTATIONS: Mutation[] = [
  {
    name: "the client sidecar logged the app probe's connection without its original destination (getsockopt unanswered)",
    fails: ['outbound-captured'],
    detail: /original 198\.18\.1\.10:15001/,
    apply: (e) => void (appEntry(e).originalDst = `${e.client.ip}:${ISTIO_PORTS.outboundCapture}`),
  },
  {
    name: "connect4 is not attached: no app connect to the server app was rewritten, and nothing was logged for the app probe",
    fails: ['outbound-captured', 'inbound-captured', 'no-silent-bypass'],
    detail: /no connect traced.*no connection logged/,
    apply(e) {
      // One: the app probe's. The IPv4-mapped probe dials its own port (plan.ts), so its rewrite is not the app's.
      expect(dropTrace(e, new RegExp(`connect uid=0 dst=${esc(app(e))} action=rewrite-outbound`))).toBe(1);
      e.collected.counters.connectSeen -= 1;
      e.collected.sidecarLogs[e.client.name] = clientLog(e).filter((c) => c !== appEntry(e));
      // Unrewritten, the app's connection reaches the server app directly, from the client's own address.
      for (const a of e.plan.accepts[e.server.name]!.filter((a) => a.port === 8080)) a.peer = e.client.ip;
    },
  },
  {
    name: "the IPv4-mapped probe's connection reached the server app directly (connect6 left it alone), on its own port",
    fails: ['no-silent-bypass'],
    detail: /the app accepted 1 connection\(s\) on :9084 that did not come from its sidecar/,
    apply(e) {
      const accepted = serverAccepts(e).filter((a) => a.port === MAPPED_IPV6_PROBE.port);
      expect(accepted).toHaveLength(1);
      accepted[0]!.peer = e.client.ip;
    },
  },
  {
    name: "the server sidecar logged the app probe's connection without its original destination",
    fails: ['inbound-captured'],
    detail: /original 198\.18\.\d\.\d+:15006/,
    apply(e) {
      const inbound = serverLog(e).find((c) => c.client === appEntry(e).upstreamSrc)!;
      inbound.originalDst = `${e.server.ip}:${ISTIO_PORTS.inboundCapture}`;
    },
  },
  {
    name: 'the app saw the client pod itself as the peer of the app probe (inbound around the sidecar)',
    fails: ['inbound-captured', 'no-silent-bypass'],
    detail: /app accepted 0 connection\(s\)/,
    apply(e) {
      const handed = serverLog(e).find((c) => c.client === appEntry(e).upstreamSrc)!.upstreamSrc;
      const accept = serverAccepts(e).find((a) => `${a.peer}:${a.peerPort}` === handed)!;
      accept.peer = e.client.ip;
    },
  },
  {
    name: 'getsockopt found no record for a sidecar connection',
    fails: ['original-dst-from-getsockopt'],
    detail: /1 unanswered traced .*originalDstUnknown=1/,
    apply(e) {
      e.collected.counters.originalDstUnknown++;
      addTrace(e, `sockmap original-dst action=unknown local=${e.server.ip}:${ISTIO_PORTS.inboundCapture}`);
    },
  },
  {
    name: "the server sidecar's SO_ORIGINAL_DST was never answered by the program",
    fails: ['original-dst-from-getsockopt'],
    detail: /0x on :15006/,
    apply: (e) => expect(dropTrace(e, /original-dst action=answered local=\S+:15006 /)).toBeGreaterThan(0),
  },
  {
    name: 'the client pod holds an nftables table',
    fails: ['no-iptables-rules-in-pods'],
    detail: /client: 0 iptables rules, nft tables inet istio-proxy-nat/,
    apply: (e) => void (e.collected.netfilter[e.client.name]!.nftTables = ['inet istio-proxy-nat']),
  },
  {
    name: 'the server pod holds iptables rules',
    fails: ['no-iptables-rules-in-pods'],
    detail: /server: 12 iptables rules/,
    apply: (e) => void (e.collected.netfilter[e.server.name]!.iptablesRules = 12),
  },
  {
    name: "the SOCKHASH never held the app-to-sidecar leg's sockets (missing map entries)",
    fails: ['sockhash-held-sockets'],
    detail: /app->client sidecar :15001 0\+0 sockets \(expected in\)/,
    apply(e) {
      const keys = e.collected.sockhash.keys;
      e.collected.sockhash.keys = keys.filter((k) => k.key.local.port !== ISTIO_PORTS.outboundCapture && k.key.remote.port !== ISTIO_PORTS.outboundCapture);
      expect(e.collected.sockhash.keys.length).toBeLessThan(keys.length);
    },
  },
  {
    name: 'a sidecar leg between nodes was put into the SOCKHASH',
    fails: ['sockhash-held-sockets'],
    detail: /client sidecar->server sidecar :15006 1\+0 sockets \(expected out: another node\)/,
    placements: ['cross-node'],
    apply(e) {
      const local = { ip: e.client.ip, port: 41000 };
      e.collected.sockhash.keys.push({ key: { local, remote: { ip: e.server.ip, port: ISTIO_PORTS.inboundCapture } }, samples: 1 });
    },
  },
  {
    name: 'a SOCKHASH insert failed',
    fails: ['sockhash-held-sockets', 'no-silent-bypass'],
    detail: /sockhashInsertFailed=1/,
    apply: (e) => void e.collected.counters.sockhashInsertFailed++,
  },
  {
    name: 'sk_msg is detached: it never ran and redirected nothing',
    fails: ['sk-msg-redirected'],
    detail: /sk_msg ran 0 times .* redirected 0 messages \/ 0 B/,
    apply(e) {
      e.collected.programs.find((p) => p.name === SK_MSG_PROGRAM)!.runCount = 0;
      e.collected.counters.msgRedirected = 0;
      e.collected.counters.msgRedirectedBytes = 0;
    },
  },
  {
    name: 'sk_msg fell back to TCP for part of the stream: fewer bytes redirected than iperf3 counted, and misses the trace does not show',
    fails: ['sk-msg-redirected', 'sk-msg-misses-explained'],
    detail: (e) => new RegExp(`/ ${e.plan.throughput!.bytesReceived - 1} B to peer sockets; the iperf3 server counted ${e.plan.throughput!.bytesReceived} B`),
    apply(e) {
      e.collected.counters.msgRedirectedBytes = e.plan.throughput!.bytesReceived - 1;
      e.collected.counters.msgMiss += 1000;
    },
  },
  {
    name: 'a message missed a peer that was never established',
    fails: ['sk-msg-misses-explained'],
    detail: /unexplained: 198\.18\.1\.10:40999->198\.18\.1\.10:15001 \(64 B\)/,
    apply(e) {
      e.collected.counters.msgMiss++;
      addTrace(e, `sockmap msg-miss local=${e.client.ip}:40999 remote=${e.client.ip}:15001 size=64`);
    },
  },
  {
    name: 'sockops filed the client-to-server sidecar leg the wrong way for the placement',
    fails: ['established-events-traced'],
    detail: /:15006 \(client sidecar->server sidecar\) \d+ ACTIVE \+ \d+ PASSIVE_ESTABLISHED, expected action \w[\w-]*, \d+ not/,
    apply(e) {
      const [wrong, right] = e.placement === 'same-node' ? ['cross-node', 'inserted'] : ['inserted', 'cross-node'];
      const edited = editTrace(e, new RegExp(`(established side=\\w+ family=\\S+ local=\\S+ remote=${esc(e.server.ip)}:15006 action=)${right}`), `$1${wrong}`);
      expect(edited).toBeGreaterThan(0);
    },
  },
  {
    name: 'sockops never saw the sidecar accept its app connections (no PASSIVE_ESTABLISHED on 15001)',
    fails: ['established-events-traced'],
    detail: /:15001 \(app->client sidecar\) \d+ ACTIVE \+ 0 PASSIVE_ESTABLISHED/,
    placements: ['cross-node'],
    apply: (e) => expect(dropTrace(e, new RegExp(`established side=passive family=ipv4 local=${esc(e.client.ip)}:15001 `))).toBeGreaterThan(0),
  },
  {
    name: "a connection of the proxy's own UID was rewritten to its own sidecar",
    fails: ['proxy-uid-not-captured-outbound'],
    detail: /1x uid 1337 rewrite-outbound to .*client sidecar logged 1/,
    apply(e) {
      addConnect(e, `sockmap connect uid=1337 dst=${e.server.ip}:${VERIFY_PORTS.proxyUid} action=rewrite-outbound to=${e.client.ip}:15001`);
      clientLog(e).push(logEntry({ originalDst: `${e.server.ip}:${VERIFY_PORTS.proxyUid}`, upstreamDst: `${e.server.ip}:${VERIFY_PORTS.proxyUid}` }));
    },
  },
  {
    name: 'the proxy-UID probe did not get through',
    fails: ['proxy-uid-not-captured-outbound', 'probes-echoed'],
    detail: /failed: read ECONNRESET/,
    apply: (e) => Object.assign(e.plan.probes['proxy-uid']!, { ok: false, error: 'read ECONNRESET' }),
  },
  {
    name: 'the loopback connect was rewritten to the sidecar, which logged it',
    fails: ['loopback-not-rewritten'],
    detail: /1x uid 0 rewrite-outbound to 198\.18\.1\.10:15001; client sidecar logged 1/,
    apply(e) {
      expect(editTrace(e, /dst=127\.0\.0\.1:8082 action=skip-loopback$/, `dst=127.0.0.1:8082 action=rewrite-outbound to=${e.client.ip}:15001`)).toBe(1);
      clientLog(e).push(logEntry({ originalDst: '127.0.0.1:8082', upstreamDst: '127.0.0.1:8082' }));
    },
  },
  {
    name: 'the counters show the HBONE connect rewritten instead of left alone',
    fails: ['hbone-not-rewritten'],
    detail: /during the probe skipHbone\+0 rewriteOutbound\+1/,
    apply: (e) => Object.assign(e.plan.counterDeltas[HBONE_PROBE.name]!, { skipHbone: 0, rewriteOutbound: 1 }),
  },
  {
    name: 'the HBONE probe was accepted by a sidecar and reset, not refused by the pod',
    fails: ['hbone-not-rewritten'],
    detail: /probe failed: read ECONNRESET/,
    apply: (e) => void (e.plan.probes[HBONE_PROBE.name]!.error = 'read ECONNRESET'),
  },
  {
    name: 'the HBONE probe step failed',
    fails: ['plan-completed', 'hbone-not-rewritten'],
    detail: /the probe hbone step failed: agent timed out/,
    apply(e) {
      delete e.plan.probes[HBONE_PROBE.name];
      delete e.plan.counterDeltas[HBONE_PROBE.name];
      e.plan.failures.push({ step: `probe ${HBONE_PROBE.name}`, error: 'agent timed out' });
    },
  },
  {
    name: 'connect6 did not rewrite the AF_INET6 probe (its counter did not move)',
    fails: ['ipv4-mapped-ipv6-captured'],
    detail: /during the probe rewriteOutbound\+0/,
    apply: (e) => void (e.plan.counterDeltas[MAPPED_IPV6_PROBE.name]!.rewriteOutbound = 0),
  },
  {
    name: 'sockops did not put the AF_INET6 socket into the SOCKHASH',
    fails: ['established-events-traced', 'ipv4-mapped-ipv6-captured'],
    detail: /:15001 \(app->client sidecar\) .* 1 not \(e\.g\. insert-failed\)/,
    apply: (e) => expect(editTrace(e, /(family=ipv4-mapped-ipv6 .*action=)inserted/, '$1insert-failed')).toBe(1),
  },
  {
    name: 'the server app saw the sidecar, not the client, on an excluded port',
    fails: ['excluded-ports-not-captured'],
    detail: /:15021 .*app saw 127\.0\.0\.6/,
    apply: (e) => void (serverAccepts(e).find((a) => a.port === 15021)!.peer = ISTIO_PORTS.inboundPassthroughSource),
  },
  {
    name: 'an excluded port was captured inbound: rewritten to 15006 and logged by the server sidecar',
    fails: ['excluded-ports-not-captured'],
    detail: /:15090 sidecar connect skipped 0\/1, server sidecar logged 1/,
    apply(e) {
      expect(editTrace(e, /dst=(\S+):15090 action=skip-excluded-port/, 'dst=$1:15090 action=rewrite-inbound to=$1:15006')).toBe(1);
      serverLog(e).push(logEntry({ listener: 'inbound', originalDst: `${e.server.ip}:15090`, upstreamSrc: '127.0.0.6:45000', upstreamDst: `${e.server.ip}:15090` }));
    },
  },
  {
    name: 'the process outside the lab cgroups went through the server sidecar',
    fails: ['outside-cgroup-untouched'],
    detail: /app saw 127\.0\.0\.6/,
    apply: (e) => void (serverAccepts(e).find((a) => a.port === VERIFY_PORTS.outsideCgroup)!.peer = ISTIO_PORTS.inboundPassthroughSource),
  },
  {
    name: 'connect4 acted for the process outside the lab cgroups',
    fails: ['outside-cgroup-untouched'],
    detail: /1 connects traced, sidecars logged 1/,
    apply(e) {
      addConnect(e, `sockmap connect uid=0 dst=${e.server.ip}:${VERIFY_PORTS.outsideCgroup} action=rewrite-outbound to=${e.client.ip}:15001`);
      clientLog(e).push(logEntry({ originalDst: `${e.server.ip}:${VERIFY_PORTS.outsideCgroup}`, upstreamDst: `${e.server.ip}:${VERIFY_PORTS.outsideCgroup}` }));
    },
  },
  {
    name: 'a process in a pod cgroup the programs do not know connected (connectNotAPod moved)',
    fails: ['no-silent-bypass'],
    detail: /bypass counters moved: connectNotAPod=1/,
    apply(e) {
      e.collected.counters.connectSeen++;
      e.collected.counters.connectNotAPod++;
    },
  },
  {
    name: "one more connection reached the server app's bulk port directly, around both sidecars",
    fails: ['no-silent-bypass'],
    detail: /the app accepted 1 connection\(s\) on :8084 that did not come from its sidecar; the app accepted 2 connection\(s\) on :8084, its sidecar handed it 1/,
    apply: (e) => void serverAccepts(e).push({ port: VERIFY_PORTS.bulk, peer: e.client.ip, peerPort: 45123, bytes: 91 }),
  },
  {
    name: 'a connect rewritten to the server sidecar was never carried by it',
    fails: ['no-silent-bypass'],
    detail: (e) => {
      const inbound = serverLog(e).filter((c) => c.listener === 'inbound').length;
      return new RegExp(`${inbound} connects rewritten to the server sidecar, which logged ${inbound - 1}; the app accepted 1 connection\\(s\\) on :8081, its sidecar handed it 0`);
    },
    apply(e) {
      e.collected.sidecarLogs[e.server.name] = serverLog(e).filter((c) => !c.originalDst.endsWith(`:${VERIFY_PORTS.proxyUid}`));
    },
  },
  {
    name: 'the trace lost a connect decision the counters saw',
    fails: ['no-silent-bypass'],
    detail: (e) => {
      const decided = e.collected.counters.connectSeen - e.collected.counters.connectNotAPod;
      return new RegExp(`${decided} connect decisions counted, ${decided - 1} traced`);
    },
    apply: (e) => expect(dropTrace(e, new RegExp(`connect uid=1337 dst=${esc(e.server.ip)}:${VERIFY_PORTS.proxyUid} action=skip-own-pod$`))).toBe(1),
  },
  {
    name: 'a standard probe did not echo its payload',
    fails: ['probes-echoed'],
    detail: /excluded-15020: .* failed: read ECONNRESET/,
    apply: (e) => Object.assign(e.plan.probes['excluded-15020']!, { ok: false, error: 'read ECONNRESET' }),
  },
  {
    name: 'the loopback probe step failed',
    fails: ['plan-completed', 'loopback-not-rewritten', 'probes-echoed'],
    detail: /the probe loopback step failed: agent timed out/,
    apply(e) {
      delete e.plan.probes['loopback'];
      e.plan.failures.push({ step: 'probe loopback', error: 'agent timed out' });
    },
  },
  {
    name: 'the bulk echo came back altered',
    fails: ['bytes-intact'],
    detail: /digest mismatch/,
    apply: (e) => Object.assign(e.plan.bulk!, { ok: false, sha256Echoed: '0'.repeat(64) }),
  },
  {
    name: 'the server sidecar carried one byte less of the bulk echo back',
    fails: ['bytes-intact'],
    detail: /server sidecar carried 8388608 B out and 8388607 B back/,
    apply: (e) => void serverLog(e).find((c) => c.originalDst.endsWith(`:${VERIFY_PORTS.bulk}`))!.fromServer--,
  },
  {
    name: 'the iperf3 server counted no bytes',
    fails: ['iperf3-through-path'],
    detail: /the iperf3 server counted no bytes/,
    apply: (e) => void (e.plan.throughput!.bytesReceived = 0),
  },
  {
    name: 'the iperf3 step failed (ENOMEM on the stream socket)',
    fails: ['plan-completed', 'sk-msg-redirected', 'iperf3-through-path'],
    detail: /the iperf3 step failed: iperf3: unable to write to stream socket: Cannot allocate memory/,
    apply(e) {
      delete e.plan.throughput;
      e.plan.failures.push({ step: 'iperf3', error: 'iperf3: unable to write to stream socket: Cannot allocate memory' });
    },
  },
];

describe.each(PLACEMENTS)('sockmap judge on real %s evidence', (placement) => {
  const evidence = recorded[placement];

  it('is the evidence of a real sockmap run of this placement', () => {
    expect(evidence.backend).toBe('sockmap');
    expect(evidence.placement).toBe(placement);
    expect(evidence.plan.failures).toEqual([]);
  });

  it('passes every check on the evidence as recorded', () => {
    const checks = judged(evidence);
    expect(checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`)).toEqual([]);
    expect(checks.map((c) => c.name)).toEqual([
      'outbound-captured',
      'inbound-captured',
      'original-dst-from-getsockopt',
      'no-iptables-rules-in-pods',
      'sockhash-held-sockets',
      'sk-msg-redirected',
      'sk-msg-misses-explained',
      'established-events-traced',
      'proxy-uid-not-captured-outbound',
      'loopback-not-rewritten',
      'hbone-not-rewritten',
      'ipv4-mapped-ipv6-captured',
      'excluded-ports-not-captured',
      'outside-cgroup-untouched',
      'no-silent-bypass',
      'probes-echoed',
      'bytes-intact',
      'iperf3-through-path',
    ]);
  });

  const mutations = MUTATIONS.filter((m) => !m.placements || m.placements.includes(placement));
  it.each(mutations.map((m) => [m.name, m] as const))('fails exactly the right checks when %s', (_, mutation) => {
    const broken = structuredClone(evidence);
    mutation.apply(broken);
    const checks = judged(broken);
    expect(failing(checks)).toEqual(mutation.fails);
    const first = checks.find((c) => c.name === mutation.fails.find((n) => n !== 'plan-completed'))!;
    expect(first.detail).toMatch(typeof mutation.detail === 'function' ? mutation.detail(evidence) : mutation.detail);
  });
});

describe('sockmap judge without the plan', () => {
  it('judges evidence whose every step failed without throwing, failing what needed those steps', () => {
    const empty = structuredClone(recorded['same-node']);
    empty.plan = { probes: {}, accepts: {}, counterDeltas: {}, failures: [{ step: 'start the apps', error: 'agent exited' }] };
    const checks = judged(empty);
    expect(checks.every((c) => c.detail.length > 0)).toBe(true);
    // What still holds without traffic results: the pods' netfilter state, the SOCKHASH, getsockopt, the trace.
    expect(checks.filter((c) => c.ok).map((c) => c.name)).toEqual(['original-dst-from-getsockopt', 'no-iptables-rules-in-pods', 'sockhash-held-sockets', 'sk-msg-misses-explained', 'established-events-traced']);
    expect(checks.find((c) => c.name === 'hbone-not-rewritten')!.detail).toBe('the probe hbone step did not run');
  });
});

describe('sockmap judge mutations', () => {
  it('make every check fail alone in at least one placement', () => {
    const names = judged(recorded['same-node']).map((c) => c.name);
    const alone = new Set(MUTATIONS.filter((m) => m.fails.length === 1).map((m) => m.fails[0]));
    expect(names.filter((n) => !alone.has(n))).toEqual([]);
  });
});
