// The ambient judge on real evidence (test/fixtures/evidence/ambient-*.json, recorded with
// `lab verify --backend ambient --placement <p> --save-evidence test/fixtures/evidence`): every check
// passes as recorded, and each fails, alone, when the evidence is altered the way a broken install
// would leave it (plan-completed fails beside it when the alteration is a failed step).
import { describe, expect, it } from 'vitest';
import { checkNamed, failStep, judgeRecorded } from '../../../test/support/evidence.ts';
import { dropCounts } from '../../../test/support/kernel-path.ts';
import type { ProxyConnection } from '../../evidence/proxy-log.ts';
import type { VerifyEvidence } from '../../judge/plan.ts';
import { ambientBackend } from './ambient.ts';
import { listenerName, type ListenerKind } from './capture.ts';
import { counterNames, inpodRules, rulesMatching, type RuleMatch } from './counters.ts';
import type { AmbientEvidence, CapturedPodEvidence } from './evidence.ts';
import { judgeAmbientSlice } from './judge.ts';

type Evidence = VerifyEvidence<AmbientEvidence>;

const pod = (e: Evidence, name: string): CapturedPodEvidence => {
  const found = e.collected.captured.find((p) => p.name === name);
  expect(found).toBeDefined();
  return found!;
};
const client = (e: Evidence) => pod(e, e.client.name);
const server = (e: Evidence) => pod(e, e.server.name);
const gateway = (e: Evidence, node: string) => e.nodes.find((n) => n.name === node)!.gateway;

/** Zeroes the counter of one in-pod rule, which must be there exactly once. */
const zeroRule = (e: Evidence, facts: CapturedPodEvidence, node: string, rule: (r: ReturnType<typeof inpodRules>) => RuleMatch) => {
  const found = rulesMatching(facts.rules, rule(inpodRules({ ...e.collected.config, probeSource: gateway(e, node) })));
  expect(found).toHaveLength(1);
  found[0]!.packets = 0;
};

/** Every logged connection on a pod's listener, across the node proxies. */
const logged = (e: Evidence, podName: string, kind: ListenerKind): ProxyConnection[] =>
  e.collected.nodeProxies.flatMap((p) => p.connections.filter((c) => c.listener === listenerName(podName, kind)));
const proxyOfPod = (e: Evidence, podName: string) => {
  const node = podName === e.client.name ? e.client.node : e.server.node;
  return e.collected.nodeProxies.find((p) => p.node === node)!;
};

interface Break {
  check: string;
  how: string;
  alter: (e: Evidence) => void;
  detail: RegExp;
  /** The alteration is a failed step: plan-completed fails beside the check. */
  failedStep?: true;
  /** Checks that fail beside it because they read the same evidence (a REDIRECT count or a log line is also part of the plan-wide accounting). */
  also?: readonly string[];
}

const breaks: Break[] = [
  {
    check: 'node-proxy-listens-in-pods',
    how: 'nothing listens on 15008 in the server pod',
    alter: (e) => (server(e).listeners = server(e).listeners.filter((l) => l.port !== 15008)),
    detail: /server: nothing listens on :15008/,
  },
  {
    check: 'node-proxy-listens-in-pods',
    how: "the client pod's 15001 is held by another process than its node proxy",
    alter: (e) => (client(e).listeners.find((l) => l.port === 15001)!.owners = [{ process: 'haproxy', pid: 1 }]),
    detail: /client: :15001 is held by haproxy pid 1, not ztunnel-1/,
  },
  {
    check: 'node-proxy-listens-in-pods',
    how: "the node proxy's listeners carry no mark",
    alter: (e) => client(e).listeners.forEach((l) => delete l.fwmark),
    detail: /client: :15001 carries mark none, not 0x539/,
  },
  {
    check: 'outbound-captured',
    how: 'the REDIRECT to 15001 never fired',
    also: ['proxy-traffic-not-recaptured'],
    alter: (e) => zeroRule(e, client(e), e.client.node, (r) => r.redirectOutbound),
    detail: /client nat REDIRECT to 15001 matched 0 packets/,
  },
  {
    check: 'inbound-captured',
    how: "the lab's inbound REDIRECT is gone and a look-alike without its HBONE and mark exclusions counted the packets",
    also: ['proxy-traffic-not-recaptured'],
    alter: (e) => {
      const lab = rulesMatching(server(e).rules, inpodRules({ ...e.collected.config, probeSource: gateway(e, e.server.node) }).redirectInbound);
      expect(lab).toHaveLength(1);
      // The neighbour's rule ends like the lab's ("-j REDIRECT --to-ports 15006"): a substring match counted it as the lab's.
      lab[0]!.rule = '-p tcp -j REDIRECT --to-ports 15006';
    },
    detail: /server nat REDIRECT to 15006 matched 0 packets/,
  },
  {
    check: 'outbound-captured',
    how: 'the node proxy logged the connection without its original destination',
    alter: (e) => logged(e, e.client.name, 'outbound').forEach((c) => c.originalDst.endsWith(':8080') && (c.originalDst = '127.0.0.1:15001')),
    detail: /client\.outbound, .*: no connection logged/,
  },
  {
    check: 'inbound-captured',
    how: 'the node proxy logged no inbound connection to the app',
    also: ['proxy-traffic-not-recaptured'],
    alter: (e) => {
      const proxy = proxyOfPod(e, e.server.name);
      proxy.connections = proxy.connections.filter((c) => !(c.listener === listenerName(e.server.name, 'inbound') && c.originalDst.endsWith(':8080')));
    },
    detail: /server\.inbound, .*: no connection logged/,
  },
  {
    check: 'inbound-captured',
    how: 'the REDIRECT to 15006 never fired',
    also: ['proxy-traffic-not-recaptured'],
    alter: (e) => zeroRule(e, server(e), e.server.node, (r) => r.redirectInbound),
    detail: /server nat REDIRECT to 15006 matched 0 packets/,
  },
  {
    check: 'client-ip-preserved',
    how: 'the app saw a passthrough address instead of the client',
    alter: (e) => e.plan.accepts[e.server.name]!.forEach((a) => a.port === 8080 && (a.peer = '127.0.0.6')),
    detail: /saw peers 127\.0\.0\.6; the client pod is/,
  },
  {
    check: 'hbone-not-redirected',
    how: '15008 was redirected to the inbound listener',
    also: ['proxy-traffic-not-recaptured'],
    alter: (e) => {
      e.plan.counterDeltas['hbone-port']![counterNames.redirectInbound(e.server.name)] = 1;
      const proxy = proxyOfPod(e, e.server.name);
      const hbone = proxy.connections.find((c) => c.listener === listenerName(e.server.name, 'hbone'))!;
      proxy.connections = proxy.connections.filter((c) => c !== hbone).concat({ ...hbone, listener: listenerName(e.server.name, 'inbound'), termination: '--' });
    },
    detail: /server\.hbone logged no connection .*; server\.inbound took it: .*; server REDIRECT to 15006 packets moved \+1/,
  },
  {
    check: 'hbone-not-redirected',
    how: 'the probe to 15008 could not run',
    alter: (e) => {
      delete e.plan.probes['hbone-port'];
      delete e.plan.counterDeltas['hbone-port'];
      e.plan.failures.push({ step: 'probe hbone-port', error: 'agent in plain-c exited' });
    },
    detail: /the probe hbone-port step failed: agent in plain-c exited/,
    failedStep: true,
  },
  {
    check: 'proxy-traffic-not-recaptured',
    how: "the node proxy's own connections were redirected again and again (a recapture loop): thousands of REDIRECTs, no more connections carried",
    alter: (e) => {
      const rule = rulesMatching(client(e).rules, inpodRules({ ...e.collected.config, probeSource: gateway(e, e.client.node) }).redirectOutbound);
      expect(rule).toHaveLength(1);
      rule[0]!.packets += 8182;
    },
    detail: /client REDIRECT to 15001 counted \d+ connections over the plan, but the node proxy carried \d+ on client\.outbound \(connections redirected that never completed: a recapture loop\)/,
  },
  {
    check: 'proxy-traffic-not-recaptured',
    how: "the proxy's own connection out of the client pod was redirected again",
    alter: (e) => (e.plan.counterDeltas['captured-pair']![counterNames.redirectOutbound(e.client.name)] = 2),
    detail: /client REDIRECT to 15001 packets \+2, expected \+1/,
  },
  {
    check: 'proxy-traffic-not-recaptured',
    how: "the proxy's own connection into the server pod was redirected again",
    alter: (e) => (e.plan.counterDeltas['captured-pair']![counterNames.redirectInbound(e.server.name)] = 2),
    detail: /REDIRECT to 15006 packets \+2, expected \+1/,
  },
  {
    check: 'proxy-traffic-not-recaptured',
    how: 'the socket marker marked nothing',
    alter: (e) => (e.collected.socketMarks.marked = 0),
    detail: /the socket marker marked no socket/,
  },
  {
    check: 'replies-via-table-100',
    how: 'the fwmark rule is missing',
    alter: (e) => (server(e).ipRules = server(e).ipRules.filter((l) => !l.includes('fwmark'))),
    detail: /no "32764: \.\.\. fwmark 0x111\/0xfff lookup 100" in ip rule/,
  },
  {
    check: 'replies-via-table-100',
    how: "the marked reply route leaves the pod like the unmarked one",
    alter: (e) => server(e).replyRoutes.forEach((r) => (r.marked = r.unmarked)),
    detail: /marked replies to 198\.18\.1\.10 are not routed locally by table 100/,
  },
  {
    check: 'replies-via-table-100',
    how: "the proxy's connection to the app carries no connmark",
    alter: (e) => server(e).conntrack.forEach((c) => (c.raw = c.raw.replace(/mark=\d+/, 'mark=0'))),
    detail: /no completed 198\.18\.1\.10 -> 198\.18\.\d\.1\d:8080 connection with connmark 273/,
  },
  {
    check: 'replies-via-table-100',
    how: 'mangle OUTPUT restored no mark',
    alter: (e) => zeroRule(e, server(e), e.server.node, (r) => r.restoreMark),
    detail: /mangle ISTIO_OUTPUT restored no connmark \(0 packets\)/,
  },
  {
    check: 'uncaptured-pods-direct',
    how: 'a bystander pod holds rules',
    alter: (e) => Object.assign(e.collected.uncaptured.find((u) => u.name === 'plain-s')!.netfilter, { iptablesRules: 7, nftTables: ['ip nat', 'ip mangle'] }),
    detail: /plain-s holds 7 iptables rules and nft tables ip nat, ip mangle/,
  },
  {
    check: 'uncaptured-pods-direct',
    how: 'a node proxy logged the bystanders’ connection',
    alter: (e) => {
      const proxy = proxyOfPod(e, e.server.name);
      proxy.connections.push({ ...proxy.connections[0]!, listener: 'plain-s.inbound', originalDst: `${e.bystanders!.nearServer.ip}:9081` });
    },
    detail: /a node proxy logged it: 1 logged/,
  },
  {
    check: 'node-probe-not-captured',
    how: "the node's probe was redirected instead of accepted",
    alter: (e) => {
      const delta = e.plan.counterDeltas['node-to-captured-pod']!;
      delta[counterNames.redirectInbound(e.server.name)] = 1;
      delta[counterNames.probeSourceAccept(e.server.name)] = 0;
    },
    detail: /redirects moved: server REDIRECT to 15006 packets \+1; server probe-source ACCEPT packets did not move/,
  },
  {
    check: 'probes-echoed',
    how: 'the app probe got no echo',
    alter: (e) => Object.assign(e.plan.probes['app']!, { ok: false, error: 'ECONNREFUSED' }),
    detail: /app: .* failed: ECONNREFUSED/,
  },
  { check: 'bytes-intact', how: 'the bulk echo step failed', alter: (e) => failStep(e, 'bulk', 'read ECONNRESET'), detail: /the bulk step failed: read ECONNRESET/, failedStep: true },
  {
    check: 'bytes-intact',
    how: 'the inbound listener carried fewer bytes than were echoed',
    alter: (e) => logged(e, e.server.name, 'inbound').forEach((c) => c.originalDst.endsWith(':8084') && (c.fromServer -= 1)),
    detail: /server\.inbound carried \d+ B out and \d+ B back, expected/,
  },
  { check: 'iperf3-through-path', how: 'iperf3 failed', alter: (e) => failStep(e, 'iperf3', 'iperf3: unable to connect to server'), detail: /the iperf3 step failed: iperf3: unable to connect/, failedStep: true },
  {
    check: 'iperf3-through-path',
    how: 'the outbound listener never saw the iperf3 connections',
    also: ['proxy-traffic-not-recaptured'],
    alter: (e) => {
      const proxy = proxyOfPod(e, e.client.name);
      proxy.connections = proxy.connections.filter((c) => !(c.listener === listenerName(e.client.name, 'outbound') && c.originalDst.endsWith(':5201')));
    },
    detail: /client\.outbound logged no iperf3 connection/,
  },
  {
    check: 'kernel-path',
    how: "the app's replies to the client's address were not routed by table 100",
    alter: (e) => dropCounts(e, e.server.name, 'tp:fib_table_lookup', ['policy-table']),
    detail: /sig:policy-route@server 0 \(need >= 1: one per connection\)/,
  },
];

const CHECKS = [
  'node-proxy-listens-in-pods',
  'outbound-captured',
  'inbound-captured',
  'client-ip-preserved',
  'hbone-not-redirected',
  'proxy-traffic-not-recaptured',
  'replies-via-table-100',
  'uncaptured-pods-direct',
  'node-probe-not-captured',
  'probes-echoed',
  'bytes-intact',
  'iperf3-through-path',
  'kernel-path',
];

describe.each(['same-node', 'cross-node'] as const)('ambient judge on real %s evidence', (placement) => {
  it('passes every check as recorded', () => {
    const checks = judgeRecorded(ambientBackend, placement);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.map((c) => c.name)).toEqual(CHECKS);
  });

  it.each(breaks)('fails $check alone when $how', ({ check, alter, detail, failedStep, also }) => {
    const checks = judgeRecorded(ambientBackend, placement, alter);
    const expected = [...(failedStep ? ['plan-completed'] : []), check, ...(also ?? [])];
    expect(checks.filter((c) => !c.ok).map((c) => c.name).sort()).toEqual(expected.sort());
    expect(checkNamed(checks, check).detail).toMatch(detail);
  });
});

it('covers every ambient check with a break', () => {
  expect(new Set(breaks.map((b) => b.check))).toEqual(new Set(CHECKS));
});

describe('ambient slice judgement', () => {
  const slice = { metric: 'latency' as const, connections: 4 };
  const enough = {
    [counterNames.redirectOutbound('client')]: 4,
    [counterNames.redirectInbound('server')]: 4,
    [counterNames.connections('client', 'outbound')]: 4,
    [counterNames.connections('server', 'inbound')]: 5,
  };

  it('accepts a slice whose every connection was redirected and logged on both sides', () => {
    expect(judgeAmbientSlice(enough, slice).ok).toBe(true);
  });

  it('rejects a slice one of whose connections bypassed the server pod’s redirect', () => {
    const judged = judgeAmbientSlice({ ...enough, [counterNames.redirectInbound('server')]: 3 }, slice);
    expect(judged.ok).toBe(false);
    expect(judged.detail).toMatch(/short: server REDIRECT to 15006 packets/);
  });
});
