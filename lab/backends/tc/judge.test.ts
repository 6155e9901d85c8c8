// The tc judge on real evidence: test/fixtures/evidence/tc-<placement>.json were written by
// `npx lab verify --backend tc --placement <placement> --save-evidence test/fixtures/evidence` (Linux
// 6.18, sk_assign steering). Every check passes on them as recorded; each mutation below alters one
// piece of that evidence the way a broken install would show it, and must fail exactly its check.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ProxyConnection } from '../../evidence/proxy-log.ts';
import { PLACEMENTS, type Placement, type VerifyEvidence } from '../../judge/plan.ts';
import { proxyOfNode, type NodeProxyLog } from '../../proxy/node-proxy.ts';
import { judgeEvidence } from '../../verify/collect.ts';
import type { TcEvidence } from './evidence.ts';
import { judgeTc } from './judge.ts';
import { TC_PROBES } from './plan.ts';
import type { BackendDescriptor } from '../descriptor.ts';
import { tcBackend } from './tc.ts';

type Evidence = VerifyEvidence<TcEvidence>;

const recorded = Object.fromEntries(
  PLACEMENTS.map((p) => [p, readFileSync(new URL(`../../../test/fixtures/evidence/tc-${p}.json`, import.meta.url), 'utf8')]),
) as Record<Placement, string>;
const load = (placement: Placement): Evidence => JSON.parse(recorded[placement]) as Evidence;

const CHECKS = [
  'tc-filters-attached',
  'tc-filters-not-shadowed',
  'probes-echoed',
  'redirect-counters',
  'steered-connections-accepted',
  'trace-shows-redirects',
  'outbound-original-dst-logged',
  'inbound-original-dst-logged',
  'server-saw-node-proxy',
  'no-iptables-rules-in-pods',
  'uncaptured-pods-direct',
  'node-traffic-not-redirected',
  'proxy-traffic-not-recaptured',
  'bytes-intact',
  'iperf3-through-path',
];
const CROSS_NODE_ONLY = 'cross-node-inbound-original-dst-logged';

const clientProxy = (e: Evidence): NodeProxyLog => proxyOfNode(e.collected.nodeProxies, e.client.node)!;
const serverProxy = (e: Evidence): NodeProxyLog => proxyOfNode(e.collected.nodeProxies, e.server.node)!;
const dropConnections = (proxy: NodeProxyLog, drop: (c: ProxyConnection) => boolean) => {
  const before = proxy.connections.length;
  proxy.connections = proxy.connections.filter((c) => !drop(c));
  expect(proxy.connections.length).toBeLessThan(before);
};
const changeAccept = (e: Evidence, pod: string, port: number, peer: string) => {
  const accepts = e.plan.accepts[pod]!.filter((a) => a.port === port);
  expect(accepts.length).toBeGreaterThan(0);
  for (const a of accepts) a.peer = peer;
};

interface Mutation {
  check: string;
  /** What a broken install would look like. */
  broken: string;
  mutate(e: Evidence): void;
  /** The check's detail must say this. */
  says: string | RegExp;
  only?: Placement;
  /** Checks that fail beside it because they read the same evidence (a dropped log line is also an unaccounted steered connection). */
  also?: readonly string[];
}

/** Another component's filter listed ahead of one of the lab's (pref 1, before the lab's 49152). */
const neighbourAhead = (e: Evidence, program: string, name: string) => {
  const finding = e.collected.filters.find((f) => f.expected.program === program && (program !== 'app_outbound' || f.expected.device === e.client.hostVeth))!;
  finding.ahead = [{ device: finding.expected.device, direction: finding.expected.direction, pref: 1, programName: name, programId: 99999, directAction: true }];
};
const dropTrace = (e: Evidence, prefix: string) => {
  const before = e.collected.trace.length;
  e.collected.trace = e.collected.trace.filter((l) => !l.message.startsWith(prefix));
  expect(e.collected.trace.length).toBeLessThan(before);
};

const MUTATIONS: Mutation[] = [
  {
    check: 'steered-connections-accepted',
    broken: "the steered SYNs died before the proxy's listener (a martian drop under src_valid_mark=1 in the proxy namespace): the steering traced them, no proxy logged them",
    mutate: (e) => {
      // The kernel-path probe's connection: no other check reads its log line.
      const traced = `${e.server.ip}:8085`;
      for (const p of e.collected.nodeProxies) p.connections = p.connections.filter((c) => c.originalDst !== traced);
    },
    says: /[12] of \d+ source->destination pairs steered to a proxy listener \("tc assign"\) but logged by no node proxy: 198\.18\.1\.1[02]->198\.18\.[12]\.1[01]:8085/,
  },
  {
    check: 'tc-filters-not-shadowed',
    broken: "a TC_ACT_OK neighbour ahead of ztunnel_host_ingress on the node proxy's veth: it is listed but never acts",
    mutate: (e) => {
      neighbourAhead(e, 'ztunnel_host_ingress', 'neighbour_ok');
      dropTrace(e, 'tc proxy-to-pod ');
    },
    says: /bpf filter pref 1 'neighbour_ok' \(id 99999\) runs ahead of ztunnel_host_ingress \(pref 49152\) on node-[ab]\/veth-ztunnel-\d ingress, and ztunnel_host_ingress traced no connection from a node proxy to a pod/,
  },
  {
    check: 'tc-filters-attached',
    broken: 'tc no longer lists app_inbound on the server veth',
    mutate: (e) => {
      const finding = e.collected.filters.find((f) => f.expected.program === 'app_inbound' && f.expected.device === e.server.hostVeth)!;
      delete finding.found;
    },
    says: /missing: app_inbound on node-[ab]\/veth-server egress/,
  },
  {
    check: 'tc-filters-attached',
    broken: 'tc_pods has no entry for the server pod',
    mutate: (e) => (e.collected.pods = e.collected.pods.filter((p) => p.ip !== e.server.ip)),
    says: 'tc_pods has no entry for server',
  },
  {
    check: 'tc-filters-attached',
    broken: "tc_proxies lacks the server node's proxy",
    mutate: (e) => (e.collected.proxies = e.collected.proxies.filter((p) => p.node !== serverProxy(e).nodeIndex)),
    says: 'tc_proxies has no entry for',
  },
  {
    check: 'tc-filters-attached',
    broken: "tc_proxies holds a wrong node address (the node's own probes would be redirected)",
    mutate: (e) => (e.collected.proxies.find((p) => p.node === serverProxy(e).nodeIndex)!.nodeIp = '198.18.9.1'),
    says: 'the node address 198.18.9.1',
  },
  {
    check: 'probes-echoed',
    broken: 'the loopback probe got no echo',
    mutate: (e) => (e.plan.probes.loopback = { ...e.plan.probes.loopback!, ok: false, error: 'connect ECONNREFUSED 127.0.0.1:8082' }),
    says: 'loopback: 127.0.0.1:8082 failed: connect ECONNREFUSED',
  },
  {
    check: 'redirect-counters',
    broken: 'app_inbound redirected nothing',
    mutate: (e) => (e.collected.counters.inbound_redirect = 0),
    says: 'app_inbound redirected nothing',
  },
  {
    check: 'redirect-counters',
    broken: 'the proxy-side program steered no connection to a listener',
    mutate: (e) => (e.collected.counters.assign_listener = 0),
    says: 'the proxy-side program (sk-assign) steered no connection',
  },
  {
    check: 'redirect-counters',
    broken: 'captured packets found no proxy and were dropped',
    mutate: (e) => (e.collected.counters.no_proxy = 3),
    says: '3 packets of captured pods were dropped: their node has no proxy in tc_proxies',
  },
  {
    check: 'redirect-counters',
    broken: 'the proxy side ran before tc_config held its ports',
    mutate: (e) => (e.collected.counters.not_configured = 1),
    says: 'before tc_config was written',
  },
  {
    check: 'trace-shows-redirects',
    broken: 'trace_pipe shows no inbound redirect',
    mutate: (e) => (e.collected.trace = e.collected.trace.filter((l) => !l.message.startsWith('tc inbound'))),
    says: /inbound \S+: 0 \(assign 1\)/,
  },
  {
    check: 'trace-shows-redirects',
    broken: 'the outbound connection was never assigned to a listener',
    mutate: (e) => (e.collected.trace = e.collected.trace.filter((l) => !l.message.startsWith(`tc assign ${e.client.ip}->`))),
    says: /outbound \S+: 1 \(assign 0\)/,
  },
  {
    check: 'outbound-original-dst-logged',
    broken: "the client node proxy logged its own listener instead of the app's original destination",
    also: ['steered-connections-accepted'],
    mutate: (e) => {
      const app = `${e.server.ip}:8080`;
      const proxy = clientProxy(e);
      const logged = proxy.connections.filter((c) => c.listener === 'outbound' && c.originalDst === app);
      expect(logged.length).toBeGreaterThan(0);
      for (const c of logged) c.originalDst = `${proxy.ip}:15001`;
    },
    says: 'no connection logged',
  },
  {
    check: 'outbound-original-dst-logged',
    broken: 'the reply never came back through the proxy (0 B from the server)',
    mutate: (e) => {
      for (const c of clientProxy(e).connections.filter((c) => c.listener === 'outbound' && c.originalDst === `${e.server.ip}:8080`)) c.fromServer = 0;
    },
    says: '91/0 B',
  },
  {
    check: 'inbound-original-dst-logged',
    broken: "the server node proxy's inbound listener never saw the uncaptured pod's connection",
    also: ['steered-connections-accepted'],
    mutate: (e) => dropConnections(serverProxy(e), (c) => c.listener === 'inbound' && c.originalDst === `${e.server.ip}:${TC_PROBES.uncapturedToCaptured.port}`),
    says: 'inbound listener',
  },
  {
    check: 'server-saw-node-proxy',
    broken: "the server app saw the uncaptured client's own address (inbound bypassed the proxy)",
    mutate: (e) => changeAccept(e, e.server.name, TC_PROBES.uncapturedToCaptured.port, e.bystanders!.nearClient.ip),
    says: /the app saw peers 198\.18\.1\.1[12] \(node proxy 198\.18\.[12]\.1[24]\)/,
  },
  {
    check: 'server-saw-node-proxy',
    broken: 'a second connection on the probe\'s port reached the server app from the uncaptured client directly, beside the one through the proxy',
    mutate: (e) => {
      const port = TC_PROBES.uncapturedToCaptured.port;
      const through = e.plan.accepts[e.server.name]!.find((a) => a.port === port)!;
      e.plan.accepts[e.server.name]!.push({ ...through, peer: e.bystanders!.nearClient.ip });
    },
    says: /the app saw peers 198\.18\.[12]\.1[24], 198\.18\.1\.1[12] \(node proxy 198\.18\.[12]\.1[24]\)/,
  },
  {
    check: CROSS_NODE_ONLY,
    only: 'cross-node',
    broken: "the server node's proxy did not capture the client node proxy's upstream connection",
    also: ['steered-connections-accepted'],
    mutate: (e) => dropConnections(serverProxy(e), (c) => c.listener === 'inbound' && c.originalDst === `${e.server.ip}:8080` && c.client.startsWith(`${clientProxy(e).ip}:`)),
    says: 'no connection logged',
  },
  {
    check: 'no-iptables-rules-in-pods',
    broken: 'the server pod holds a native nftables table',
    mutate: (e) => (e.collected.netfilter[e.server.name]!.nftTables = ['inet istio-proxy-nat']),
    says: 'server: 0 iptables rules, nft tables inet istio-proxy-nat',
  },
  {
    check: 'no-iptables-rules-in-pods',
    broken: 'the client pod holds iptables rules',
    mutate: (e) => (e.collected.netfilter[e.client.name]!.iptablesRules = 12),
    says: 'client: 12 iptables rules',
  },
  {
    check: 'uncaptured-pods-direct',
    broken: "app_outbound redirected an uncaptured pod's packets",
    mutate: (e) => (e.plan.counterDeltas[TC_PROBES.uncaptured.name]!.outbound_redirect = 3),
    says: 'redirects moved (outbound +3, inbound +0)',
  },
  {
    check: 'uncaptured-pods-direct',
    broken: "the uncaptured server saw a node proxy's address",
    mutate: (e) => changeAccept(e, e.bystanders!.nearServer.name, TC_PROBES.uncaptured.port, serverProxy(e).ip),
    says: 'the app saw peers',
  },
  {
    check: 'uncaptured-pods-direct',
    broken: "a node proxy logged the uncaptured pods' connection",
    mutate: (e) => {
      const [near, far] = [e.bystanders!.nearClient, e.bystanders!.nearServer];
      const port = TC_PROBES.uncaptured.port;
      clientProxy(e).connections.push({ listener: 'outbound', client: `${near.ip}:40000`, originalDst: `${far.ip}:${port}`, upstreamSrc: `${clientProxy(e).ip}:40001`, upstreamDst: `${far.ip}:${port}`, fromClient: 91, fromServer: 91, termination: '--' });
    },
    says: 'a node proxy logged it',
  },
  {
    check: 'uncaptured-pods-direct',
    broken: 'the probe between the uncaptured pods failed',
    mutate: (e) => (e.plan.probes[TC_PROBES.uncaptured.name] = { ...e.plan.probes[TC_PROBES.uncaptured.name]!, ok: false, error: 'timed out after 5000 ms' }),
    says: 'failed: timed out after 5000 ms',
  },
  {
    check: 'node-traffic-not-redirected',
    broken: "app_outbound/app_inbound did not recognise the node's own address (node_bypass did not move)",
    mutate: (e) => (e.plan.counterDeltas[TC_PROBES.nodeToPod.name]!.node_bypass = 0),
    says: 'node_bypass did not move',
  },
  {
    check: 'node-traffic-not-redirected',
    broken: "app_inbound redirected the node's probe to the proxy",
    mutate: (e) => (e.plan.counterDeltas[TC_PROBES.nodeToPod.name]!.inbound_redirect = 6),
    says: 'redirects moved (outbound +0, inbound +6)',
  },
  {
    check: 'node-traffic-not-redirected',
    broken: "the server node's proxy logged the node's probe (its log line landed after the counters were read)",
    mutate: (e) => {
      const gateway = e.nodes.find((n) => n.name === e.server.node)!.gateway;
      const target = `${e.server.ip}:${TC_PROBES.nodeToPod.port}`;
      const proxy = serverProxy(e);
      proxy.connections.push({ listener: 'inbound', client: `${gateway}:40000`, originalDst: target, upstreamSrc: `${proxy.ip}:40001`, upstreamDst: target, fromClient: 91, fromServer: 91, termination: '--' });
    },
    says: /a node proxy logged it: 1 logged, e.g. 198\.18\.[12]\.1:40000 -> original 198\.18\.[12]\.1[01]:9080 /,
  },
  {
    check: 'node-traffic-not-redirected',
    broken: 'the probe from the node never ran (its step failed)',
    mutate: (e) => {
      delete e.plan.probes[TC_PROBES.nodeToPod.name];
      e.plan.failures.push({ step: `probe ${TC_PROBES.nodeToPod.name}`, error: 'agent did not start' });
    },
    says: 'the probe node-to-captured-pod step failed: agent did not start',
  },
  {
    check: 'proxy-traffic-not-recaptured',
    broken: 'a node proxy accepted its own upstream connection (a redirect loop)',
    mutate: (e) => {
      const proxy = clientProxy(e);
      proxy.connections.push({ listener: 'inbound', client: `${proxy.ip}:41000`, originalDst: `${e.server.ip}:8080`, upstreamSrc: `${proxy.ip}:41001`, upstreamDst: `${e.server.ip}:8080`, fromClient: 91, fromServer: 91, termination: '--' });
    },
    says: 'accepted its own connection to',
  },
  {
    check: 'proxy-traffic-not-recaptured',
    broken: "app_inbound never let a proxy packet through (it did not see the proxy's packets as such)",
    mutate: (e) => (e.collected.counters.inbound_skip_from_proxy = 0),
    says: 'app_inbound let 0 proxy packets through',
  },
  {
    check: 'bytes-intact',
    broken: 'the bulk echo came back short',
    mutate: (e) => (e.plan.bulk = { ...e.plan.bulk!, ok: false, bytesEchoed: 4096, error: 'digest mismatch' }),
    says: 'bulk echo to',
  },
  {
    check: 'bytes-intact',
    broken: 'the client node proxy carried fewer bytes than were echoed',
    mutate: (e) => {
      const bulk = clientProxy(e).connections.find((c) => c.originalDst === `${e.server.ip}:8084`)!;
      bulk.fromServer -= 1;
    },
    says: 'expected 8388608 B each way',
  },
  {
    check: 'iperf3-through-path',
    broken: 'the iperf3 server counted nothing',
    mutate: (e) => (e.plan.throughput = { ...e.plan.throughput!, bytesReceived: 0 }),
    says: 'the iperf3 server counted no bytes',
  },
  {
    check: 'iperf3-through-path',
    broken: 'iperf3 went around the client node proxy',
    also: ['steered-connections-accepted'],
    mutate: (e) => dropConnections(clientProxy(e), (c) => c.originalDst === `${e.server.ip}:5201`),
    says: 'logged no iperf3 connection',
  },
];

const failing = (e: Evidence) => judgeTc(e).filter((c) => !c.ok);

describe.each(PLACEMENTS)('tc judge, %s evidence', (placement) => {
  const expected = placement === 'cross-node' ? [...CHECKS.slice(0, 9), CROSS_NODE_ONLY, ...CHECKS.slice(9)] : CHECKS;

  it('passes every check, with the names users know, in order', () => {
    const checks = judgeTc(load(placement));
    expect(checks.map((c) => c.name)).toEqual(expected);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(judgeEvidence(tcBackend as BackendDescriptor, load(placement)).every((c) => c.ok)).toBe(true);
  });

  it("passes when an earlier connection's proxy log line lands inside a bypass probe's counter window", () => {
    // The proxies log a connection as it closes: the outside-cgroup probe's line can be counted while the
    // next probe runs. The bypass checks read the log for their own destination, so that is no failure.
    const evidence = load(placement);
    for (const probe of [TC_PROBES.nodeToPod, TC_PROBES.uncaptured]) evidence.plan.counterDeltas[probe.name]!.proxy_connections = 1;
    expect(failing(evidence)).toEqual([]);
  });

  it("fails tc-filters-not-shadowed, naming the neighbour, when a TC_ACT_OK filter ahead of app_outbound keeps it from the client's connections", () => {
    const evidence = load(placement);
    neighbourAhead(evidence, 'app_outbound', 'neighbour_ok');
    dropTrace(evidence, `tc outbound ${evidence.client.ip}->`);
    const shadowed = judgeTc(evidence).find((c) => c.name === 'tc-filters-not-shadowed')!;
    expect(shadowed.ok).toBe(false);
    expect(shadowed.detail).toMatch(/bpf filter pref 1 'neighbour_ok' \(id 99999\) runs ahead of app_outbound \(pref 49152\) on node-a\/veth-client ingress, and app_outbound traced no connection of client \(198\.18\./);
  });

  it('tolerates a filter ahead of app_outbound while app_outbound still acts on the client\'s connections (a TC_ACT_PIPE neighbour)', () => {
    const evidence = load(placement);
    neighbourAhead(evidence, 'app_outbound', 'neighbour_pipe');
    expect(failing(evidence)).toEqual([]);
    expect(judgeTc(evidence).find((c) => c.name === 'tc-filters-not-shadowed')!.detail).toMatch(/'neighbour_pipe' .* runs ahead of app_outbound .*, and app_outbound still acted: \d+ connection\(s\) of client/);
  });

  it('has at least one failing case for every check', () => {
    const covered = new Set(MUTATIONS.filter((m) => !m.only || m.only === placement).map((m) => m.check));
    expect(expected.filter((name) => !covered.has(name))).toEqual([]);
  });

  for (const m of MUTATIONS.filter((m) => !m.only || m.only === placement)) {
    it(`fails ${m.check}, and only it, when ${m.broken}`, () => {
      const evidence = load(placement);
      m.mutate(evidence);
      const failed = failing(evidence);
      expect(failed.map((c) => c.name).sort()).toEqual([m.check, ...(m.also ?? [])].sort());
      expect(failed.find((c) => c.name === m.check)!.detail).toMatch(m.says);
    });
  }

  it('adds plan-completed for a failed step, and never throws on evidence that lacks parts', () => {
    const evidence = load(placement);
    evidence.plan.failures.push({ step: 'iperf3', error: 'iperf3 exited 1' });
    delete evidence.plan.throughput;
    const checks = judgeEvidence(tcBackend as BackendDescriptor, evidence);
    expect(checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['plan-completed', 'iperf3-through-path']);

    const bare = load(placement);
    delete bare.bystanders;
    bare.plan.counterDeltas = {};
    bare.collected.nodeProxies = [];
    const judged = judgeTc(bare);
    expect(judged.map((c) => c.name)).toEqual(expected);
    expect(judged.find((c) => c.name === 'uncaptured-pods-direct')!.detail).toBe('the evidence has no bystander pods (the plan asks for them)');
    expect(judged.find((c) => c.name === 'node-traffic-not-redirected')!.detail).toContain('no counter readings around the probe');
    expect(judged.find((c) => c.name === 'outbound-original-dst-logged')!.detail).toBe('no node proxy log for this node in the evidence');
  });
});
