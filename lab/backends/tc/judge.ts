// Verdicts for the tc backend, each from kernel or proxy evidence, each with the figures it saw. Pure:
// judgeTc reads only the run's evidence (evidence.ts, plus what the plan saw), never the kernel, and
// never throws on missing data: a check whose evidence is missing fails and says why.
import { describeConnections, type ProxyConnection } from '../../evidence/proxy-log.ts';
import type { TraceLine } from '../../evidence/trace-pipe.ts';
import type { Check } from '../../judge/check.ts';
import { STANDARD_PROBES, VERIFY_PORTS, type PodFacts, type VerifyEvidence } from '../../judge/plan.ts';
import { bulkBytesIntact, describeProbe, excludedProbeNames, iperfThroughPath, noNetfilterInPods, peersSeen, probesEchoed, whyMissing, type ProxyOnPath } from '../../judge/shared.ts';
import { ISTIO_PORTS } from '../../istio/ports.ts';
import { proxyOfNode, type NodeProxyLog } from '../../proxy/node-proxy.ts';
import type { TcBpfFilter } from '../../host/tc.ts';
import type { FilterFinding, TcEvidence } from './evidence.ts';
import type { CounterName, Counters } from './maps.ts';
import { TC_PROBES } from './plan.ts';
import type { ProxySteering } from './steering.ts';

type Evidence = VerifyEvidence<TcEvidence>;

/** Namespace names lose their "lab-<run>-" prefix: "ztunnel-1/eth0 ingress". */
const where = (f: FilterFinding) => `${f.expected.program} on ${f.expected.netns.replace(/^lab-[^-]+-/, '')}/${f.expected.device} ${f.expected.direction}`;

/** Every expected filter is attached, and the maps hold every captured pod and the proxy of its node. */
export function filtersAttachedCheck(evidence: Evidence): Check {
  const { filters, pods, proxies, nodeProxies } = evidence.collected;
  const missing = filters.filter((f) => !f.found);
  const problems = missing.length ? [`missing: ${missing.map(where).join('; ')}`] : [];
  const captured = [evidence.client, evidence.server];
  for (const pod of captured) {
    const nodeIndex = proxyOfNode(nodeProxies, pod.node)?.nodeIndex;
    const entry = pods.find((p) => p.ip === pod.ip);
    if (!entry) problems.push(`tc_pods has no entry for ${pod.name} (${pod.ip})`);
    else if (entry.node !== nodeIndex) problems.push(`tc_pods sends ${pod.name} to node ${entry.node}'s proxy, not node ${nodeIndex ?? '?'}'s`);
  }
  for (const proxy of nodeProxies) {
    const entry = proxies.find((p) => p.node === proxy.nodeIndex);
    const gateway = evidence.nodes.find((n) => n.name === proxy.node)?.gateway;
    if (!entry) problems.push(`tc_proxies has no entry for ${proxy.node} (index ${proxy.nodeIndex})`);
    else if (entry.nodeIp !== gateway) problems.push(`tc_proxies gives ${proxy.node} the node address ${entry.nodeIp}, not ${gateway ?? '?'}`);
  }
  if (filters.length === 0) problems.push('no filter was expected: nothing was attached');
  const maps = `tc_pods holds ${pods.map((p) => `${p.ip} (node ${p.node})`).join(', ') || 'nothing'}; tc_proxies holds ${proxies.map((p) => `node ${p.node} (${p.nodeIp})`).join(', ') || 'nothing'}`;
  return {
    name: 'tc-filters-attached',
    ok: problems.length === 0,
    detail: problems.length
      ? `${problems.join('; ')}; ${maps}`
      : `${filters.length} direct-action filters listed by tc filter show: ${filters.map((f) => `${where(f)} (prog id ${f.found!.programId}, ran ${f.program.runCount} times)`).join('; ')}; ${maps}`,
  };
}

/** The trace lines that show a lab program acting on its own hook's traffic (only connection openings are traced). */
function tracedAt(evidence: Evidence, f: FilterFinding): { whose: string; lines: TraceLine[] } {
  const { trace } = evidence.collected;
  const pods = [evidence.client, evidence.server, ...(evidence.bystanders ? [evidence.bystanders.nearClient, evidence.bystanders.nearServer] : [])];
  const pod = pods.find((p) => p.hostVeth === f.expected.device && evidence.nodes.find((n) => n.name === p.node)?.netns === f.expected.netns);
  switch (f.expected.program) {
    case 'app_outbound':
      return { whose: `of ${pod?.name ?? '?'} (${pod?.ip ?? '?'})`, lines: pod ? trace.filter((l) => l.message.startsWith(`tc outbound ${pod.ip}->`)) : [] };
    case 'app_inbound':
      return { whose: `to ${pod?.name ?? '?'} (${pod?.ip ?? '?'})`, lines: pod ? trace.filter((l) => l.message.startsWith('tc inbound ') && l.message.includes(`->${pod.ip}:`)) : [] };
    case 'ztunnel_host_ingress':
      return { whose: 'from a node proxy to a pod', lines: trace.filter((l) => l.message.startsWith('tc proxy-to-pod ')) };
    default:
      return { whose: 'to a proxy listener', lines: trace.filter((l) => l.message.startsWith('tc assign ') || l.message.startsWith('tc mark ')) };
  }
}

const describeFilter = (f: TcBpfFilter) => `bpf filter pref ${f.pref} '${f.programName}' (id ${f.programId})`;

/**
 * No other component's filter silently stands in front of the lab's. tc runs a hook's filters in pref
 * order, and one returning TC_ACT_OK ends the hook: the lab's filter is still listed (tc-filters-attached
 * passes) but never runs. A neighbour that returns TC_ACT_PIPE lets the next filter run, so a filter
 * ahead is not a failure by itself: the hook passes when the trace shows the lab's program acting on
 * that hook's traffic, and fails when it shows nothing. For a pod's own hooks (app_outbound,
 * app_inbound) that means lines naming the pod's address; for the node proxy's hooks, any
 * proxy-to-pod or steering line of the run, so across nodes one node's lines stand for both.
 */
export function filtersNotShadowedCheck(evidence: Evidence): Check {
  const shadowing = evidence.collected.filters.filter((f) => f.found !== undefined && f.ahead.length > 0);
  const problems: string[] = [];
  const tolerated: string[] = [];
  for (const f of shadowing) {
    const { whose, lines } = tracedAt(evidence, f);
    const ahead = `${f.ahead.map(describeFilter).join(', ')} runs ahead of ${f.expected.program} (pref ${f.found!.pref}) on ${where(f).replace(/^\S+ on /, '')}`;
    if (lines.length === 0) problems.push(`${ahead}, and ${f.expected.program} traced no connection ${whose}`);
    else tolerated.push(`${ahead}, and ${f.expected.program} still acted: ${lines.length} connection(s) ${whose} traced, e.g. "${lines[0]!.message}"`);
  }
  const hooks = evidence.collected.filters.filter((f) => f.found !== undefined);
  return {
    name: 'tc-filters-not-shadowed',
    ok: problems.length === 0 && hooks.length > 0,
    detail: problems.length
      ? [...problems, ...tolerated].join('; ')
      : tolerated.length
        ? tolerated.join('; ')
        : `no other filter runs ahead of the lab's on any of its ${hooks.length} hooks (prefs ${[...new Set(hooks.map((f) => f.found!.pref))].join(', ')})`,
  };
}

const show = (counters: Partial<Counters>, names: readonly CounterName[]) => names.map((n) => `${n}=${counters[n] ?? 0}`).join(' ');

/** The programs redirected both ways and the proxy side took every captured connection. */
export function redirectCountersCheck(counters: Counters, steering: ProxySteering): Check {
  const steered = steering === 'sk-assign' ? counters.assign_listener : counters.mark_outbound + counters.mark_inbound;
  const problems: string[] = [];
  if (counters.outbound_redirect === 0) problems.push('app_outbound redirected nothing');
  if (counters.inbound_redirect === 0) problems.push('app_inbound redirected nothing');
  if (counters.proxy_return === 0) problems.push('ztunnel_host_ingress returned nothing to a pod');
  if (steered === 0) problems.push(`the proxy-side program (${steering}) steered no connection`);
  // Each named: a proxy-side program that found no listener means no node proxy holds the port (stopped, or never started).
  if (counters.no_listener > 0) problems.push(`the proxy-side program found no proxy listener for ${counters.no_listener} SYNs (no node proxy listening)`);
  if (counters.assign_failed > 0) problems.push(`bpf_sk_assign failed ${counters.assign_failed} times`);
  if (counters.no_proxy > 0) problems.push(`${counters.no_proxy} packets of captured pods were dropped: their node has no proxy in tc_proxies`);
  if (counters.not_configured > 0) problems.push('a proxy-side program ran before tc_config was written');
  const names: CounterName[] = ['outbound_redirect', 'inbound_redirect', 'proxy_return', 'inbound_skip_from_proxy', 'proxy_pass', 'node_bypass'];
  names.push(...(steering === 'sk-assign' ? (['assign_listener', 'assign_established'] as const) : (['mark_outbound', 'mark_inbound'] as const)));
  // no_socket: mid-connection packets whose socket lookup missed, dropped for TCP to retransmit (shown, not judged:
  // bytes-intact judges whether the stream survived).
  names.push('assign_failed', 'no_listener', 'no_proxy', 'not_configured', 'no_socket');
  return { name: 'redirect-counters', ok: problems.length === 0, detail: [problems.join('; '), `per-CPU sums: ${show(counters, names)}`].filter(Boolean).join('; ') };
}

/** trace_pipe (the run's tag only) shows the connection's outbound and inbound redirects and its steering. */
export function traceCheck(lines: readonly TraceLine[], expected: { outbound: string; inbound: string; steering: ProxySteering }): Check {
  const has = (prefix: string) => lines.filter((l) => l.message.startsWith(prefix));
  const outbound = has(`tc outbound ${expected.outbound}`);
  const inbound = has(`tc inbound ${expected.inbound}`);
  const steeredWord = expected.steering === 'sk-assign' ? 'assign' : 'mark';
  const steeredOut = has(`tc ${steeredWord} ${expected.outbound}`);
  const steeredIn = has(`tc ${steeredWord} ${expected.inbound}`);
  const ok = outbound.length > 0 && inbound.length > 0 && steeredOut.length > 0 && steeredIn.length > 0;
  const sample = [outbound[0], steeredOut[0], inbound[0], steeredIn[0]].filter((l): l is TraceLine => l !== undefined).map((l) => `"${l.message}"`);
  return {
    name: 'trace-shows-redirects',
    ok,
    detail:
      `${lines.length} tagged lines; outbound ${expected.outbound}: ${outbound.length} (${steeredWord} ${steeredOut.length}), ` +
      `inbound ${expected.inbound}: ${inbound.length} (${steeredWord} ${steeredIn.length}); e.g. ${sample.join(', ') || 'none'}`,
  };
}

/**
 * Every connection the proxy-side program steered reached a proxy socket. The program traces each
 * connection's SYN it hands to a listener ("tc assign <src>-><dst>:<port>", or "tc mark" in the
 * fallback); each such source and destination must have a node-proxy log line with that client
 * address and original destination. A steering counter above zero is not enough: packets steered to
 * a listener can still die before it (a martian drop under src_valid_mark, a broken policy route).
 */
export function steeredConnectionsAcceptedCheck(evidence: Evidence): Check {
  const { trace, nodeProxies, steering } = evidence.collected;
  const word = steering === 'sk-assign' ? 'assign' : 'mark';
  const steered = new Map<string, { src: string; dst: string }>();
  for (const line of trace) {
    const m = new RegExp(`^tc ${word} (\\S+)->(\\S+:\\d+) `).exec(line.message);
    if (m) steered.set(`${m[1]}->${m[2]}`, { src: m[1]!, dst: m[2]! });
  }
  const logged = nodeProxies.flatMap((p) => p.connections);
  const unaccepted = [...steered].filter(([, { src, dst }]) => !logged.some((c) => c.originalDst === dst && c.client.startsWith(`${src}:`))).map(([what]) => what);
  const ok = steered.size > 0 && unaccepted.length === 0;
  return {
    name: 'steered-connections-accepted',
    ok,
    detail:
      steered.size === 0
        ? `the proxy-side program traced no connection it steered ("tc ${word}" lines); node proxies logged ${logged.length} connections`
        : unaccepted.length
          ? `${unaccepted.length} of ${steered.size} source->destination pairs steered to a proxy listener ("tc ${word}") but logged by no node proxy: ${unaccepted.join(', ')} (node proxies logged ${logged.length} connections)`
          : `each of the ${steered.size} source->destination pairs steered to a proxy listener ("tc ${word}") was logged by a node proxy`,
  };
}

/** The node proxy logged the original destination of a captured connection, on the listener for its direction. */
export function originalDstCheck(
  name: string,
  proxy: NodeProxyLog | undefined,
  expected: { listener: 'outbound' | 'inbound'; clientIp: string | undefined; originalDst: string },
): Check {
  if (!proxy || expected.clientIp === undefined) {
    return { name, ok: false, detail: !proxy ? 'no node proxy log for this node in the evidence' : 'the evidence has no address for the connecting side' };
  }
  const log = proxy.connections;
  const matching = log.filter((c) => c.listener === expected.listener && c.originalDst === expected.originalDst && c.client.startsWith(`${expected.clientIp}:`));
  return {
    name,
    ok: matching.length > 0 && matching.every((c) => c.fromClient > 0 && c.fromClient === c.fromServer),
    detail: `${proxy.name} ${expected.listener} listener, ${expected.clientIp} -> ${expected.originalDst}: ${describeConnections(matching)}; ${matching.map((c) => `${c.fromClient}/${c.fromServer} B`).join(', ')}`,
  };
}

/**
 * What a bypass probe must leave behind: an echo, the peer address unchanged, no redirect while it ran,
 * and no proxy log line for its destination. The proxies log a connection as it closes, so an earlier
 * connection's line can land inside the probe's counter window: the log is read for the probe's own
 * destination (each extra probe has its own port) rather than counted around it. The redirect
 * counters count every packet, trailing closes too; the plan's order keeps those out (plan.ts).
 */
interface Bypass {
  probe: (typeof TC_PROBES)[keyof typeof TC_PROBES];
  target: PodFacts | undefined;
  expectedPeer: string | undefined;
}

function bypassProblems(evidence: Evidence, { probe, target, expectedPeer }: Bypass): { problems: string[]; delta: Record<string, number> | undefined } {
  const result = evidence.plan.probes[probe.name];
  if (!result) return { problems: [whyMissing(evidence, `probe ${probe.name}`)], delta: undefined };
  if (!target || !expectedPeer) return { problems: ['the evidence has no bystander pods (the plan asks for them)'], delta: undefined };
  const problems: string[] = [];
  if (!result.ok) problems.push(describeProbe(result));
  const peers = peersSeen(evidence, probe.port, target.name);
  if (!peers.includes(expectedPeer)) problems.push(`the app saw peers ${peers.join(', ') || 'none'}, not ${expectedPeer}`);
  const delta = evidence.plan.counterDeltas[probe.name];
  if (!delta) problems.push(`no counter readings around the probe: ${whyMissing(evidence, `read path counters after ${probe.name}`)}`);
  else {
    const redirects = (delta.outbound_redirect ?? 0) + (delta.inbound_redirect ?? 0);
    if (redirects > 0) problems.push(`redirects moved (outbound +${delta.outbound_redirect ?? 0}, inbound +${delta.inbound_redirect ?? 0})`);
  }
  const destination = `${target.ip}:${probe.port}`;
  const logged = evidence.collected.nodeProxies.flatMap((p) => p.connections.filter((c) => c.originalDst === destination));
  if (logged.length > 0) problems.push(`a node proxy logged it: ${describeConnections(logged)}`);
  return { problems, delta };
}

export function uncapturedDirectCheck(evidence: Evidence): Check {
  const nearClient = evidence.bystanders?.nearClient;
  const bypass = { probe: TC_PROBES.uncaptured, target: evidence.bystanders?.nearServer, expectedPeer: nearClient?.ip };
  const { problems } = bypassProblems(evidence, bypass);
  return {
    name: 'uncaptured-pods-direct',
    ok: problems.length === 0,
    detail: problems.length ? problems.join('; ') : `${describeProbe(evidence.plan.probes[bypass.probe.name])}; app saw peer ${bypass.expectedPeer} itself; redirect counters +0; no proxy log line for ${bypass.target?.ip}:${bypass.probe.port}`,
  };
}

export function nodeTrafficCheck(evidence: Evidence): Check {
  const gateway = evidence.nodes.find((n) => n.name === evidence.server.node)?.gateway;
  const { problems, delta } = bypassProblems(evidence, { probe: TC_PROBES.nodeToPod, target: evidence.server, expectedPeer: gateway });
  if (delta && !(delta.node_bypass! > 0)) problems.push('node_bypass did not move');
  return {
    name: 'node-traffic-not-redirected',
    ok: problems.length === 0,
    detail: problems.length
      ? problems.join('; ')
      : `${describeProbe(evidence.plan.probes[TC_PROBES.nodeToPod.name])} from the node (${gateway}); node_bypass +${delta?.node_bypass}; redirect counters +0; no proxy log line for ${evidence.server.ip}:${TC_PROBES.nodeToPod.port}`,
  };
}

/** An uncaptured pod reached the captured server through the server node's proxy: the app saw the proxy's address. */
export function serverSawNodeProxyCheck(evidence: Evidence, serverProxy: NodeProxyLog | undefined): Check {
  const { name, port } = TC_PROBES.uncapturedToCaptured;
  const probe = evidence.plan.probes[name];
  const from = evidence.bystanders?.nearClient.ip ?? '?';
  const target = `${evidence.server.ip}:${port}`;
  if (!probe) return { name: 'server-saw-node-proxy', ok: false, detail: whyMissing(evidence, `probe ${name}`) };
  const peers = peersSeen(evidence, port);
  return {
    name: 'server-saw-node-proxy',
    // Every connection the app took on the probe's port, not just one: a second, direct one is a bypass.
    ok: probe.ok && serverProxy !== undefined && peers.length > 0 && peers.every((p) => p === serverProxy.ip),
    detail: `uncaptured ${from} -> ${target}: ${probe.ok ? 'echoed' : probe.error}; the app saw peers ${peers.join(', ') || 'none'} (node proxy ${serverProxy?.ip ?? 'missing'})`,
  };
}

/** The proxy's own connections are not captured again: no proxy accepted a connection from a proxy of its node. */
export function proxyNotRecapturedCheck(logs: readonly NodeProxyLog[], counters: Counters): Check {
  const loops = logs.flatMap(({ name, ip, connections }) => connections.filter((c) => c.client.startsWith(`${ip}:`)).map((c) => `${name} accepted its own connection to ${c.originalDst}`));
  return {
    name: 'proxy-traffic-not-recaptured',
    ok: logs.length > 0 && loops.length === 0 && counters.inbound_skip_from_proxy > 0,
    detail: loops.length
      ? loops.join('; ')
      : `app_inbound let ${counters.inbound_skip_from_proxy} proxy packets through; ${logs.map((l) => `${l.name}: ${l.connections.length} connections, none from itself`).join('; ') || 'no node proxy log'}`,
  };
}

const byListener = (proxy: NodeProxyLog | undefined, listener: string): ProxyConnection[] => proxy?.connections.filter((c) => c.listener === listener) ?? [];

export function judgeTc(evidence: Evidence): Check[] {
  const { client, server, collected } = evidence;
  const clientProxy = proxyOfNode(collected.nodeProxies, client.node);
  const serverProxy = proxyOfNode(collected.nodeProxies, server.node);
  const crossNode = client.node !== server.node;
  const appTarget = `${server.ip}:${VERIFY_PORTS.app}`;
  const inboundProbe = TC_PROBES.uncapturedToCaptured;
  const nearClient = evidence.bystanders?.nearClient.ip;
  const onPath: ProxyOnPath[] = [{ name: `${clientProxy?.name ?? 'client node proxy'} (outbound)`, connections: byListener(clientProxy, 'outbound') }];
  if (crossNode) onPath.push({ name: `${serverProxy?.name ?? 'server node proxy'} (inbound)`, connections: byListener(serverProxy, 'inbound') });

  const checks: Check[] = [
    filtersAttachedCheck(evidence),
    filtersNotShadowedCheck(evidence),
    probesEchoed(evidence, [...STANDARD_PROBES, ...excludedProbeNames(ISTIO_PORTS.excludedInbound)]),
    redirectCountersCheck(collected.counters, collected.steering),
    steeredConnectionsAcceptedCheck(evidence),
    traceCheck(collected.trace, { outbound: `${client.ip}->${appTarget}`, inbound: `${nearClient ?? '?'}->${server.ip}:${inboundProbe.port}`, steering: collected.steering }),
    originalDstCheck('outbound-original-dst-logged', clientProxy, { listener: 'outbound', clientIp: client.ip, originalDst: appTarget }),
    originalDstCheck('inbound-original-dst-logged', serverProxy, { listener: 'inbound', clientIp: nearClient, originalDst: `${server.ip}:${inboundProbe.port}` }),
    serverSawNodeProxyCheck(evidence, serverProxy),
  ];
  if (crossNode) {
    // Cross-node: the server node's proxy captured the client node proxy's upstream connection.
    checks.push(originalDstCheck('cross-node-inbound-original-dst-logged', serverProxy, { listener: 'inbound', clientIp: clientProxy?.ip, originalDst: appTarget }));
  }
  checks.push(
    noNetfilterInPods(collected.netfilter),
    uncapturedDirectCheck(evidence),
    nodeTrafficCheck(evidence),
    proxyNotRecapturedCheck(collected.nodeProxies, collected.counters),
    bulkBytesIntact(evidence, onPath),
    iperfThroughPath(evidence, onPath),
  );
  return checks;
}
