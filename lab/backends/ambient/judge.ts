// Verdicts for the ambient backend, each from kernel or proxy evidence, each with the figures it saw.
// Pure: judgeAmbient reads only the run's evidence (evidence.ts, plus what the plan saw), never the
// kernel, and never throws on missing data: a check whose evidence is missing fails and says why.
import type { ConntrackEntry } from '../../evidence/conntrack.ts';
import { describeConnections, type ProxyConnection } from '../../evidence/proxy-log.ts';
import { ISTIO_PORTS } from '../../istio/ports.ts';
import type { Check } from '../../judge/check.ts';
import { STANDARD_PROBES, VERIFY_PORTS, type PodFacts, type VerifyEvidence } from '../../judge/plan.ts';
import { bulkBytesIntact, describeProbe, excludedProbeNames, iperfThroughPath, peersSeen, probesEchoed, whyMissing, type ProxyOnPath } from '../../judge/shared.ts';
import { countersAccountFor } from '../../judge/slice.ts';
import { proxyOfNode, type NodeProxyLog } from '../../proxy/node-proxy.ts';
import type { PathCounters, SliceTraffic } from '../descriptor.ts';
import { listenerName, type ListenerKind } from './capture.ts';
import { counterNames, inpodRules, rulePackets } from './counters.ts';
import type { AmbientEvidence, CapturedPodEvidence } from './evidence.ts';
import { AMBIENT_PROBES } from './plan.ts';

type Evidence = VerifyEvidence<AmbientEvidence>;

const hex = (n: number) => `0x${n.toString(16)}`;
const gatewayOf = (e: Evidence, pod: PodFacts) => e.nodes.find((n) => n.name === pod.node)?.gateway ?? '?';
const podEvidence = (e: Evidence, pod: PodFacts): CapturedPodEvidence | undefined => e.collected.captured.find((p) => p.name === pod.name);
const rulesOf = (e: Evidence, pod: PodFacts) => inpodRules({ ...e.collected.config, probeSource: gatewayOf(e, pod) });
const proxyOf = (e: Evidence, pod: PodFacts): NodeProxyLog | undefined => proxyOfNode(e.collected.nodeProxies, pod.node);
/** The PID the node proxy runs under now (the last generation). */
const currentPid = (proxy: NodeProxyLog | undefined) => proxy?.pids.at(-1);

/** What a node proxy logged on one of a pod's listeners. */
export function loggedOn(proxy: NodeProxyLog | undefined, pod: string, kind: ListenerKind): ProxyConnection[] {
  return proxy?.connections.filter((c) => c.listener === listenerName(pod, kind)) ?? [];
}

/** Every captured pod has ztunnel's three listeners in its own netns, owned by its node's proxy process and marked. */
export function listenersInPodsCheck(e: Evidence): Check {
  const { config } = e.collected;
  const ports = [config.outboundPort, config.inboundPlaintextPort, config.hbonePort];
  const problems: string[] = [];
  const seen: string[] = [];
  for (const pod of [e.client, e.server]) {
    const facts = podEvidence(e, pod);
    const proxy = proxyOf(e, pod);
    const pid = currentPid(proxy);
    if (!facts || !proxy || pid === undefined) {
      problems.push(`${pod.name}: ${!facts ? 'no listener listing in the evidence' : 'no node proxy for its node'}`);
      continue;
    }
    for (const port of ports) {
      const socket = facts.listeners.find((l) => l.port === port);
      if (!socket) problems.push(`${pod.name}: nothing listens on :${port}`);
      else if (!socket.owners.some((o) => o.pid === pid && o.process === 'haproxy')) problems.push(`${pod.name}: :${port} is held by ${socket.owners.map((o) => `${o.process} pid ${o.pid}`).join(', ') || 'no process'}, not ${proxy.name} (haproxy pid ${pid})`);
      else if (socket.fwmark !== config.proxyMark) problems.push(`${pod.name}: :${port} carries mark ${socket.fwmark === undefined ? 'none' : hex(socket.fwmark)}, not ${hex(config.proxyMark)}`);
      else if (!socket.cgroup?.endsWith(`/${proxy.name}`)) problems.push(`${pod.name}: :${port} belongs to cgroup ${socket.cgroup ?? '?'}, not ${proxy.name}'s`);
    }
    seen.push(`${pod.name}: :${ports.join(', :')} held by haproxy pid ${pid} (${proxy.name}, cgroup ${facts.listeners.find((l) => l.port === ports[0])?.cgroup ?? '?'}), fwmark ${hex(config.proxyMark)}`);
  }
  const perNode = e.collected.nodeProxies.map((p) => `${p.node}: one proxy, pid ${currentPid(p) ?? '?'}`).join('; ');
  return { name: 'node-proxy-listens-in-pods', ok: problems.length === 0, detail: problems.length ? problems.join('; ') : `${seen.join('; ')}; ${perNode}` };
}

/** A proxy log matched against a connection the plan made. */
function capturedCheck(name: string, what: { proxy: NodeProxyLog | undefined; pod: PodFacts; kind: ListenerKind; from: string; to: string; redirect: { label: string; packets: number } }): Check {
  const matching = loggedOn(what.proxy, what.pod.name, what.kind).filter((c) => c.originalDst === what.to && c.client.startsWith(`${what.from}:`));
  return {
    name,
    ok: what.proxy !== undefined && matching.length > 0 && what.redirect.packets > 0,
    detail: `${what.proxy?.name ?? 'no node proxy'} ${listenerName(what.pod.name, what.kind)}, ${what.from} -> original ${what.to}: ${describeConnections(matching)}; ${what.redirect.label} matched ${what.redirect.packets} packets`,
  };
}

export function outboundCapturedCheck(e: Evidence): Check {
  const facts = podEvidence(e, e.client);
  return capturedCheck('outbound-captured', {
    proxy: proxyOf(e, e.client),
    pod: e.client,
    kind: 'outbound',
    from: e.client.ip,
    to: `${e.server.ip}:${VERIFY_PORTS.app}`,
    redirect: { label: `${e.client.name} nat REDIRECT to ${e.collected.config.outboundPort}`, packets: facts ? rulePackets(facts.rules, rulesOf(e, e.client).redirectOutbound) : 0 },
  });
}

export function inboundCapturedCheck(e: Evidence): Check {
  const facts = podEvidence(e, e.server);
  return capturedCheck('inbound-captured', {
    proxy: proxyOf(e, e.server),
    pod: e.server,
    kind: 'inbound',
    from: e.client.ip,
    to: `${e.server.ip}:${VERIFY_PORTS.app}`,
    redirect: { label: `${e.server.name} nat REDIRECT to ${e.collected.config.inboundPlaintextPort}`, packets: facts ? rulePackets(facts.rules, rulesOf(e, e.server).redirectInbound) : 0 },
  });
}

/** Ambient hands inbound connections to the app from the client's own address: the app sees the client pod, not 127.0.0.6. */
export function clientIpPreservedCheck(e: Evidence): Check {
  const peers = peersSeen(e, VERIFY_PORTS.app);
  return {
    name: 'client-ip-preserved',
    ok: peers.length > 0 && peers.every((p) => p === e.client.ip),
    detail: `the app on :${VERIFY_PORTS.app} saw peers ${peers.join(', ') || 'none'}; the client pod is ${e.client.ip} (a sidecar would hand it over from ${ISTIO_PORTS.inboundPassthroughSource})`,
  };
}

/** Counter movement around an extra probe, or why it is missing. */
function deltaOf(e: Evidence, probe: string): { delta?: Record<string, number>; missing?: string } {
  if (!e.plan.probes[probe]) return { missing: whyMissing(e, `probe ${probe}`) };
  const delta = e.plan.counterDeltas[probe];
  return delta ? { delta } : { missing: `no counter readings around ${probe}: ${whyMissing(e, `read path counters after ${probe}`)}` };
}

const moved = (delta: Record<string, number>, name: string) => delta[name] ?? 0;

/** Connections to the server's 15008 land on the node proxy's own HBONE listener in the pod, never on 15006. */
export function hboneNotRedirectedCheck(e: Evidence): Check {
  const probe = AMBIENT_PROBES.hbone;
  const from = e.bystanders?.nearClient.ip;
  const target = `${e.server.ip}:${probe.port}`;
  const { delta, missing } = deltaOf(e, probe.name);
  if (!delta || !from) return { name: 'hbone-not-redirected', ok: false, detail: missing ?? 'the evidence has no bystander pods (the plan asks for them)' };
  const proxy = proxyOf(e, e.server);
  const hbone = loggedOn(proxy, e.server.name, 'hbone').filter((c) => c.originalDst === target && c.client.startsWith(`${from}:`));
  const viaInbound = loggedOn(proxy, e.server.name, 'inbound').filter((c) => c.originalDst === target);
  const redirected = moved(delta, counterNames.redirectInbound(e.server.name));
  const problems: string[] = [];
  if (hbone.length === 0) problems.push(`${listenerName(e.server.name, 'hbone')} logged no connection from ${from} to ${target}`);
  if (viaInbound.length > 0) problems.push(`${listenerName(e.server.name, 'inbound')} took it: ${describeConnections(viaInbound)}`);
  if (redirected !== 0) problems.push(`${counterNames.redirectInbound(e.server.name)} moved +${redirected} while it ran`);
  return {
    name: 'hbone-not-redirected',
    ok: problems.length === 0,
    detail: problems.length
      ? problems.join('; ')
      : `${from} -> ${target}: ${proxy?.name} ${listenerName(e.server.name, 'hbone')} ${describeConnections(hbone)}; REDIRECT to ${e.collected.config.inboundPlaintextPort} +0, ${listenerName(e.server.name, 'inbound')} logged none`,
  };
}

/**
 * The node proxy's own traffic, marked 0x539, is never captured again. Around one captured connection
 * (captured-pair) each REDIRECT counted exactly that connection: the proxy's connection out of the
 * client pod and its connection to the app in the server pod were not redirected (a recapture adds a
 * REDIRECT per loop, at connect time), and the socket marker marked the proxy's sockets. The proxy's
 * log is not used for this: its upstream sockets share the pod's address with the app, and a later app
 * connection that reuses an ephemeral port the proxy used before looks like a loop in the log.
 */
export function proxyNotRecapturedCheck(e: Evidence): Check {
  const probe = AMBIENT_PROBES.capturedPair;
  const { delta, missing } = deltaOf(e, probe.name);
  if (!delta) return { name: 'proxy-traffic-not-recaptured', ok: false, detail: missing ?? '' };
  const exactlyOne = [counterNames.redirectOutbound(e.client.name), counterNames.redirectInbound(e.server.name)];
  const none = [counterNames.redirectOutbound(e.server.name), counterNames.redirectInbound(e.client.name)];
  const problems: string[] = [];
  for (const name of exactlyOne) if (moved(delta, name) !== 1) problems.push(`${name} +${moved(delta, name)}, expected +1 (the app's connection only)`);
  for (const name of none) if (moved(delta, name) !== 0) problems.push(`${name} +${moved(delta, name)}, expected +0`);
  // Over the whole plan, every connection a REDIRECT counted (nat sees a connection's first packet only)
  // is one the node proxy carried and logged on that listener: a recapture loop redirects the proxy's
  // own connections again and again, and those never complete. Each count is the rule's exact text.
  const carried: string[] = [];
  for (const [pod, kind, rule] of [
    [e.client, 'outbound', rulesOf(e, e.client).redirectOutbound],
    [e.server, 'inbound', rulesOf(e, e.server).redirectInbound],
  ] as const) {
    const facts = podEvidence(e, pod);
    const redirected = facts ? rulePackets(facts.rules, rule) : 0;
    const logged = loggedOn(proxyOf(e, pod), pod.name, kind).length;
    if (!facts) problems.push(`no rules of ${pod.name} in the evidence`);
    else if (redirected !== logged) problems.push(`${pod.name} REDIRECT to ${kind === 'outbound' ? e.collected.config.outboundPort : e.collected.config.inboundPlaintextPort} counted ${redirected} connections over the plan, but the node proxy carried ${logged} on ${listenerName(pod.name, kind)}${redirected > logged ? ' (connections redirected that never completed: a recapture loop)' : ''}`);
    carried.push(`${listenerName(pod.name, kind)} ${logged} of ${redirected} redirected`);
  }
  const { marked, not_configured: unmarked } = e.collected.socketMarks;
  if (!(marked > 0)) problems.push('the socket marker marked no socket');
  if (unmarked > 0) problems.push(`${unmarked} proxy sockets were created before the mark was configured`);
  return {
    name: 'proxy-traffic-not-recaptured',
    ok: problems.length === 0,
    detail: problems.length
      ? problems.join('; ')
      : `${probe.name} (${e.client.ip} -> ${e.server.ip}:${probe.port}): ${exactlyOne.map((n) => `${n} +1`).join(', ')}, ${none.map((n) => `${n} +0`).join(', ')}; ` +
        `over the plan ${carried.join(', ')}; sockets the node proxies created with mark ${hex(e.collected.config.proxyMark)}: ${marked}`,
  };
}

const markOf = (entry: ConntrackEntry) => Number(/\bmark=(\d+)/.exec(entry.raw)?.[1] ?? 0);

/**
 * The app's replies to a client outside the pod reach the node proxy through the table-100 route: the
 * proxy's connection to the app carries connmark 0x111 (set from its 0x539 mark), mangle OUTPUT put it
 * back on the app's packets, the marked route to the client is local (table 100) where the unmarked
 * one leaves the pod, and the connection completed (ASSURED).
 */
export function repliesViaTable100Check(e: Evidence): Check {
  const facts = podEvidence(e, e.server);
  const { config } = e.collected;
  if (!facts) return { name: 'replies-via-table-100', ok: false, detail: `no evidence of ${e.server.name}'s routing` };
  const fwmark = `fwmark ${hex(config.connMark)}/${hex(config.connMask)} lookup ${config.routeTable}`;
  const rule = facts.ipRules.find((l) => l.startsWith(`${config.rulePriority}:`) && l.includes(fwmark));
  const localRoute = facts.replyTable.find((l) => /^local (default|0\.0\.0\.0\/0) dev lo\b/.test(l));
  const route = facts.replyRoutes.find((r) => r.to === e.client.ip);
  const restored = rulePackets(facts.rules, rulesOf(e, e.server).restoreMark);
  const appLeg = facts.conntrack.filter((x) => x.original.src === e.client.ip && x.original.dst === e.server.ip && x.original.dport === VERIFY_PORTS.app && !x.nat);
  const marked = appLeg.filter((x) => markOf(x) === config.connMark && x.raw.includes('[ASSURED]'));
  const problems: string[] = [];
  if (!rule) problems.push(`no "${config.rulePriority}: ... ${fwmark}" in ip rule (${facts.ipRules.join(' | ')})`);
  if (!localRoute) problems.push(`table ${config.routeTable} has no local default route (${facts.replyTable.join(' | ') || 'empty'})`);
  if (!route) problems.push(`no route lookup toward ${e.client.ip}`);
  else {
    if (!(route.marked.startsWith(`local ${e.client.ip} `) && route.marked.includes(' dev lo ') && route.marked.includes(`table ${config.routeTable}`))) problems.push(`marked replies to ${e.client.ip} are not routed locally by table ${config.routeTable}: "${route.marked}"`);
    if (route.unmarked.startsWith('local ')) problems.push(`unmarked replies are local anyway ("${route.unmarked}"): the route proves nothing`);
  }
  if (!(restored > 0)) problems.push(`mangle ISTIO_OUTPUT restored no connmark (${restored} packets)`);
  if (marked.length === 0) problems.push(`no completed ${e.client.ip} -> ${e.server.ip}:${VERIFY_PORTS.app} connection with connmark ${config.connMark} (${hex(config.connMark)}) in conntrack (${appLeg.map((x) => x.raw).join(' | ') || 'none for that tuple'})`);
  return {
    name: 'replies-via-table-100',
    ok: problems.length === 0,
    detail: problems.length
      ? problems.join('; ')
      : `${e.server.name}: "${rule}"; table ${config.routeTable}: "${localRoute}"; reply to ${e.client.ip} marked: "${route?.marked}", unmarked: "${route?.unmarked}"; ` +
        `mangle ISTIO_OUTPUT restored the mark on ${restored} packets; conntrack: ${marked[0]!.raw}`,
  };
}

/** What a probe that must bypass the node proxy left behind: an echo, the real peer, no redirect, no proxy log line. */
function bypassProblems(e: Evidence, probe: { name: string; port: number }, target: PodFacts | undefined, expectedPeer: string | undefined): { problems: string[]; delta?: Record<string, number> } {
  const { delta, missing } = deltaOf(e, probe.name);
  if (!delta) return { problems: [missing ?? ''] };
  if (!target || !expectedPeer) return { problems: ['the evidence has no bystander pods (the plan asks for them)'] };
  const problems: string[] = [];
  const result = e.plan.probes[probe.name];
  if (!result?.ok) problems.push(describeProbe(result));
  const peers = peersSeen(e, probe.port, target.name);
  if (!peers.includes(expectedPeer)) problems.push(`the app saw peers ${peers.join(', ') || 'none'}, not ${expectedPeer}`);
  // nat counts a connection at its first packet, so a redirect shows while the probe runs; the proxy
  // logs at close, so its log is read for the probe's destination rather than counted around it.
  const redirects = Object.entries(delta).filter(([name, value]) => / REDIRECT to \d+ packets$/.test(name) && value !== 0);
  if (redirects.length > 0) problems.push(`redirects moved: ${redirects.map(([n, v]) => `${n} +${v}`).join(', ')}`);
  const destination = `${target.ip}:${probe.port}`;
  const inLog = e.collected.nodeProxies.flatMap((p) => p.connections.filter((c) => c.originalDst === destination));
  if (inLog.length > 0) problems.push(`a node proxy logged it: ${describeConnections(inLog)}`);
  return { problems, delta };
}

/** Two uncaptured pods talk directly: no rule in either, no node-proxy listener, no redirect, the real peer. */
export function uncapturedDirectCheck(e: Evidence): Check {
  const probe = AMBIENT_PROBES.uncaptured;
  const nearClient = e.bystanders?.nearClient;
  const { problems } = bypassProblems(e, probe, e.bystanders?.nearServer, nearClient?.ip);
  const proxyPids = new Set(e.collected.nodeProxies.flatMap((p) => p.pids));
  const bystanders = [e.bystanders?.nearClient, e.bystanders?.nearServer].filter((p): p is PodFacts => p !== undefined);
  const states: string[] = [];
  for (const pod of bystanders) {
    const state = e.collected.uncaptured.find((u) => u.name === pod.name);
    if (!state) {
      problems.push(`no netfilter or socket listing of ${pod.name}`);
      continue;
    }
    if (state.netfilter.iptablesRules > 0 || state.netfilter.nftTables.length > 0) problems.push(`${pod.name} holds ${state.netfilter.iptablesRules} iptables rules and nft tables ${state.netfilter.nftTables.join(', ') || 'none'}`);
    const proxied = state.listeners.filter((l) => l.owners.some((o) => proxyPids.has(o.pid)));
    if (proxied.length > 0) problems.push(`a node proxy listens in ${pod.name} on :${proxied.map((l) => l.port).join(', :')}`);
    states.push(`${pod.name}: no rule, no nft table, no node-proxy listener`);
  }
  return {
    name: 'uncaptured-pods-direct',
    ok: problems.length === 0,
    detail: problems.length
      ? problems.join('; ')
      : `${describeProbe(e.plan.probes[probe.name])}; the app saw ${nearClient?.ip} itself; redirect counters +0; no node proxy logged it; ${states.join('; ')}`,
  };
}

/** The node's own connections to a captured pod (kubelet probes in Kubernetes) are accepted by the probe-source rule, not redirected. */
export function nodeProbeNotCapturedCheck(e: Evidence): Check {
  const probe = AMBIENT_PROBES.nodeToPod;
  const gateway = gatewayOf(e, e.server);
  const { problems, delta } = bypassProblems(e, probe, e.server, gateway);
  const accepted = delta ? moved(delta, counterNames.probeSourceAccept(e.server.name)) : 0;
  if (delta && !(accepted > 0)) problems.push(`${counterNames.probeSourceAccept(e.server.name)} did not move`);
  return {
    name: 'node-probe-not-captured',
    ok: problems.length === 0,
    detail: problems.length
      ? problems.join('; ')
      : `${describeProbe(e.plan.probes[probe.name])} from the node (${gateway}); ${counterNames.probeSourceAccept(e.server.name)} +${accepted}; redirect counters +0; no node proxy logged it`,
  };
}

export function judgeAmbient(e: Evidence): Check[] {
  const clientProxy = proxyOf(e, e.client);
  const serverProxy = proxyOf(e, e.server);
  const onPath: ProxyOnPath[] = [
    { name: `${clientProxy?.name ?? 'client node proxy'} ${listenerName(e.client.name, 'outbound')}`, connections: loggedOn(clientProxy, e.client.name, 'outbound') },
    { name: `${serverProxy?.name ?? 'server node proxy'} ${listenerName(e.server.name, 'inbound')}`, connections: loggedOn(serverProxy, e.server.name, 'inbound') },
  ];
  const echoed = [AMBIENT_PROBES.capturedPair.name, AMBIENT_PROBES.uncaptured.name, AMBIENT_PROBES.nodeToPod.name];
  return [
    listenersInPodsCheck(e),
    outboundCapturedCheck(e),
    inboundCapturedCheck(e),
    clientIpPreservedCheck(e),
    hboneNotRedirectedCheck(e),
    proxyNotRecapturedCheck(e),
    repliesViaTable100Check(e),
    uncapturedDirectCheck(e),
    nodeProbeNotCapturedCheck(e),
    probesEchoed(e, [...STANDARD_PROBES, ...excludedProbeNames(ISTIO_PORTS.excludedInbound), ...echoed]),
    bulkBytesIntact(e, onPath),
    iperfThroughPath(e, onPath),
  ];
}

/**
 * One measured slice between the client and the server pods: nat sees a connection's first packet
 * only, so each connection is one REDIRECT on each side, and the node proxy logs each one on the
 * client's outbound and the server's inbound listener once it closes.
 */
export function judgeAmbientSlice(delta: PathCounters, slice: SliceTraffic): Check {
  return countersAccountFor(delta, [
    { counter: counterNames.redirectOutbound('client'), atLeast: slice.connections, why: 'each connection redirected to the node proxy in the client pod' },
    { counter: counterNames.redirectInbound('server'), atLeast: slice.connections, why: 'each connection redirected to the node proxy in the server pod' },
    { counter: counterNames.connections('client', 'outbound'), atLeast: slice.connections, why: "each connection logged on the client's outbound listener" },
    { counter: counterNames.connections('server', 'inbound'), atLeast: slice.connections, why: "each connection logged on the server's inbound listener" },
  ]);
}
