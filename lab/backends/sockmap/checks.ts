// Judging the sockmap backend from its evidence: the sidecars' logs of original destinations, the
// programs' counters and trace lines, what the SOCKHASH held while traffic flowed, the sk_msg run
// count, and how the counters moved around each of the backend's own probes. Pure functions: each
// check states the numbers it saw, and a missing step of the plan fails the checks that needed it.
import { connectionsTo, describeConnections, type ProxyConnection } from '../../evidence/proxy-log.ts';
import { ISTIO_PORTS } from '../../istio/ports.ts';
import type { Check } from '../../judge/check.ts';
import { STANDARD_PROBES, VERIFY_PORTS, type VerifyEvidence } from '../../judge/plan.ts';
import { bulkBytesIntact, describeProbe, excludedProbeNames, iperfThroughPath, noNetfilterInPods, peersSeen, probesEchoed, whyMissing, type ProxyOnPath } from '../../judge/shared.ts';
import { INBOUND_LISTENER, OUTBOUND_LISTENER } from '../../proxy/sidecar.ts';
import { describeCounters, type SockmapCounterName, type SockmapCounters } from './counters.ts';
import { SK_MSG_PROGRAM } from './datapath.ts';
import type { SockmapEvidence } from './evidence.ts';
import { formatEndpoint, formatSockKey, type Endpoint, type SockKey } from './layout.ts';
import { explainMisses } from './misses.ts';
import { HBONE_PROBE, MAPPED_IPV6_PROBE } from './plan.ts';
import { eventsOf, parseSockmapEvents, type EventOf, type SockmapTraceEvent } from './trace-events.ts';

type Evidence = VerifyEvidence<SockmapEvidence>;

const at = (ip: string, port: number): Endpoint => ({ ip, port });
const sameEndpoint = (a: Endpoint | undefined, b: Endpoint) => a !== undefined && a.ip === b.ip && a.port === b.port;
/** A socket address as Node reports it, without the ::ffff: of an IPv4-mapped IPv6 socket ("a.b.c.d:port"). */
const plainAddress = (address: string | undefined) => address?.replace(/^::ffff:/, '');

/** The evidence, parsed once for every check. */
interface Judged {
  e: Evidence;
  counters: SockmapCounters;
  events: SockmapTraceEvent[];
  clientLog: ProxyConnection[];
  serverLog: ProxyConnection[];
  sockhashKeys: SockKey[];
}

function connects(j: Judged, dst: Endpoint, action?: string): Array<EventOf<'connect'>> {
  return eventsOf(j.events, 'connect').filter((e) => sameEndpoint(e.dst, dst) && (action === undefined || e.action === action));
}

function describeConnects(events: ReadonlyArray<EventOf<'connect'>>): string {
  if (events.length === 0) return 'no connect traced';
  const byAction = new Map<string, number>();
  for (const e of events) {
    const what = `uid ${e.uid} ${e.action}${e.to ? ` to ${formatEndpoint(e.to)}` : ''}`;
    byAction.set(what, (byAction.get(what) ?? 0) + 1);
  }
  return [...byAction].map(([what, n]) => `${n}x ${what}`).join(', ');
}

/** The client sidecar's outbound log entry for the connection a probe made (found by the probe's own address). */
function outboundEntryOf(j: Judged, probeName: string): ProxyConnection[] {
  const local = plainAddress(j.e.plan.probes[probeName]?.local);
  return local === undefined ? [] : j.clientLog.filter((c) => c.listener === OUTBOUND_LISTENER && c.client === local);
}

/** What became of a probe: its result, or why it has none. */
function probeOutcome(j: Judged, name: string): string {
  const probe = j.e.plan.probes[name];
  return probe ? describeProbe(probe) : whyMissing(j.e, `probe ${name}`);
}

/** How the counters moved while one of the backend's probes ran, or why that is not known. */
function deltasOf(j: Judged, probeName: string): { deltas?: Record<string, number>; missing?: string } {
  const deltas = j.e.plan.counterDeltas[probeName];
  return deltas ? { deltas } : { missing: `no counter reading around the ${probeName} probe (${whyMissing(j.e, `read path counters after ${probeName}`)})` };
}

const describeDeltas = (deltas: Record<string, number>, names: readonly SockmapCounterName[]) => names.map((n) => `${n}+${deltas[n] ?? 0}`).join(' ');

/** The app probe's connection: logged by the client sidecar with the server app as original destination, after connect4's rewrite. */
function outboundCaptured(j: Judged): Check {
  const { client, server } = j.e;
  const app = at(server.ip, VERIFY_PORTS.app);
  const probe = j.e.plan.probes['app'];
  if (!probe) return { name: 'outbound-captured', ok: false, detail: whyMissing(j.e, 'probe app') };
  const entries = outboundEntryOf(j, 'app');
  const rewrites = connects(j, app, 'rewrite-outbound').filter((e) => sameEndpoint(e.to, at(client.ip, ISTIO_PORTS.outboundCapture)));
  return {
    name: 'outbound-captured',
    ok: entries.length === 1 && entries[0]!.originalDst === formatEndpoint(app) && rewrites.length > 0,
    detail:
      `connect4 sent the app's connects to ${formatEndpoint(app)} to its sidecar: ${describeConnects(connects(j, app).filter((e) => e.uid !== ISTIO_PORTS.proxyUid))}; ` +
      `the app probe from ${probe.local ?? '?'}: client sidecar :${ISTIO_PORTS.outboundCapture} ${describeConnections(entries)}`,
  };
}

/**
 * The app probe's connection followed hop by hop: from the client sidecar's upstream socket to the
 * server sidecar's 15006 (which logged the server app as original destination), then to the app,
 * which saw the sidecar's 127.0.0.6 as its peer.
 */
function inboundCaptured(j: Judged): Check {
  const { server } = j.e;
  const app = at(server.ip, VERIFY_PORTS.app);
  const upstream = outboundEntryOf(j, 'app')[0]?.upstreamSrc;
  const inbound = j.serverLog.filter((c) => c.listener === INBOUND_LISTENER && upstream !== undefined && c.client === upstream);
  const handedTo = inbound[0]?.upstreamSrc;
  const accepted = (j.e.plan.accepts[server.name] ?? []).filter((a) => a.port === VERIFY_PORTS.app && handedTo !== undefined && `${a.peer}:${a.peerPort}` === handedTo);
  const rewrites = connects(j, app, 'rewrite-inbound').filter((e) => e.uid === ISTIO_PORTS.proxyUid && sameEndpoint(e.to, at(server.ip, ISTIO_PORTS.inboundCapture)));
  const peers = peersSeen(j.e, VERIFY_PORTS.app);
  const ok =
    inbound.length === 1 &&
    inbound[0]!.originalDst === formatEndpoint(app) &&
    accepted.length === 1 &&
    handedTo?.startsWith(`${ISTIO_PORTS.inboundPassthroughSource}:`) === true &&
    rewrites.length > 0 &&
    peers.length > 0 &&
    peers.every((p) => p === ISTIO_PORTS.inboundPassthroughSource);
  return {
    name: 'inbound-captured',
    ok,
    detail:
      `the client sidecar's connects to ${formatEndpoint(app)}: ${describeConnects(connects(j, app).filter((e) => e.uid === ISTIO_PORTS.proxyUid))}; ` +
      `the app probe's upstream ${upstream ?? '(not logged)'}: server sidecar :${ISTIO_PORTS.inboundCapture} ${describeConnections(inbound)}; ` +
      `app accepted ${accepted.length} connection(s) from ${handedTo ?? '?'}; app saw peers ${peers.join(', ') || 'none'}`,
  };
}

function originalDstAnswered(j: Judged): Check {
  const app = at(j.e.server.ip, VERIFY_PORTS.app);
  const answered = eventsOf(j.events, 'original-dst').filter((e) => e.action === 'answered' && sameEndpoint(e.original, app));
  const unknown = eventsOf(j.events, 'original-dst').filter((e) => e.action !== 'answered');
  const bySidecar = (port: number) => answered.filter((e) => e.local.port === port).length;
  const outbound = bySidecar(ISTIO_PORTS.outboundCapture);
  const inbound = bySidecar(ISTIO_PORTS.inboundCapture);
  return {
    name: 'original-dst-from-getsockopt',
    ok: outbound > 0 && inbound > 0 && j.counters.originalDstUnknown === 0 && unknown.length === 0,
    detail:
      `SO_ORIGINAL_DST answered ${formatEndpoint(app)} ${outbound}x on :${ISTIO_PORTS.outboundCapture} and ${inbound}x on :${ISTIO_PORTS.inboundCapture}; ` +
      `${unknown.length} unanswered traced${unknown.length ? ` (e.g. on ${formatEndpoint(unknown[0]!.local)})` : ''}; ${describeCounters(j.counters, ['originalDstAnswered', 'originalDstUnknown', 'pairRecorded'])}`,
  };
}

/** The two sidecar legs of the app's traffic, and whether each should be short-circuited. */
function expectedLegs(j: Judged) {
  const { client, server, placement } = j.e;
  return [
    { name: 'app->client sidecar', port: ISTIO_PORTS.outboundCapture, ip: client.ip, peerIp: client.ip, inSockhash: true },
    { name: 'client sidecar->server sidecar', port: ISTIO_PORTS.inboundCapture, ip: server.ip, peerIp: client.ip, inSockhash: placement === 'same-node' },
  ];
}

function sockhashHeldSockets(j: Judged): Check {
  const legs = expectedLegs(j).map((leg) => {
    const connecting = j.sockhashKeys.filter((k) => k.local.ip === leg.peerIp && sameEndpoint(k.remote, at(leg.ip, leg.port))).length;
    const accepting = j.sockhashKeys.filter((k) => sameEndpoint(k.local, at(leg.ip, leg.port)) && k.remote.ip === leg.peerIp).length;
    const ok = leg.inSockhash ? connecting > 0 && accepting > 0 : connecting === 0 && accepting === 0;
    return { ...leg, connecting, accepting, ok };
  });
  const crossNodeOk = j.e.placement === 'same-node' || j.counters.sockhashCrossNode > 0;
  const example = j.sockhashKeys.slice(0, 4).map(formatSockKey).join(', ');
  return {
    name: 'sockhash-held-sockets',
    ok: legs.every((l) => l.ok) && crossNodeOk && j.counters.sockhashInsertFailed === 0,
    detail:
      `${j.sockhashKeys.length} distinct SOCKHASH entries in ${j.e.collected.sockhash.samples} samples (e.g. ${example || 'none'}); ` +
      legs.map((l) => `${l.name} :${l.port} ${l.connecting}+${l.accepting} sockets (${l.inSockhash ? 'expected in' : 'expected out: another node'})`).join('; ') +
      `; ${describeCounters(j.counters, ['sockhashInserted', 'sockhashInsertFailed', 'sockhashCrossNode'])}`,
  };
}

function skMsgRedirected(j: Judged): Check {
  const throughput = j.e.plan.throughput;
  if (!throughput) return { name: 'sk-msg-redirected', ok: false, detail: whyMissing(j.e, 'iperf3') };
  const runs = j.e.collected.programs.find((p) => p.name === SK_MSG_PROGRAM)?.runCount ?? 0;
  const c = j.counters;
  // Every sk_msg invocation bumps exactly one of these: the program's own count of its runs.
  const invocations = c.msgRedirected + c.msgMiss + c.msgNoKey;
  // Every byte the iperf3 server counted crossed the app-to-sidecar leg, which is always redirected.
  const counted = throughput.bytesReceived;
  return {
    name: 'sk-msg-redirected',
    ok: c.msgRedirected > 0 && runs > 0 && c.msgRedirectedBytes >= counted,
    detail: `sk_msg ran ${runs} times (bpf_stats), ${invocations} by its own counters; redirected ${c.msgRedirected} messages / ${c.msgRedirectedBytes} B to peer sockets; the iperf3 server counted ${counted} B`,
  };
}

function missesExplained(j: Judged): Check {
  const misses = explainMisses(j.events, j.counters.msgMiss);
  return { name: 'sk-msg-misses-explained', ok: misses.unexplained.length === 0, detail: misses.detail };
}

function establishedTraced(j: Judged): Check {
  const established = eventsOf(j.events, 'established');
  const legs = expectedLegs(j).map((leg) => {
    const active = established.filter((e) => e.side === 'active' && e.key && sameEndpoint(e.key.remote, at(leg.ip, leg.port)));
    const passive = established.filter((e) => e.side === 'passive' && e.key && sameEndpoint(e.key.local, at(leg.ip, leg.port)));
    const wanted = leg.inSockhash ? 'inserted' : 'cross-node';
    const wrong = [...active, ...passive].filter((e) => e.action !== wanted);
    const ok = active.length > 0 && passive.length > 0 && wrong.length === 0;
    return { ...leg, active: active.length, passive: passive.length, wanted, wrong, ok };
  });
  return {
    name: 'established-events-traced',
    ok: legs.every((l) => l.ok),
    detail:
      legs
        .map((l) => `:${l.port} (${l.name}) ${l.active} ACTIVE + ${l.passive} PASSIVE_ESTABLISHED, expected action ${l.wanted}${l.wrong.length ? `, ${l.wrong.length} not (e.g. ${l.wrong[0]!.action})` : ''}`)
        .join('; ') + ` (${established.length} traced in all)`,
  };
}

function proxyUidNotRewritten(j: Judged): Check {
  const target = at(j.e.server.ip, VERIFY_PORTS.proxyUid);
  const traced = connects(j, target).filter((e) => e.uid === ISTIO_PORTS.proxyUid);
  const outbound = traced.filter((e) => e.action === 'rewrite-outbound').length;
  const clientLogged = connectionsTo(j.clientLog, OUTBOUND_LISTENER, VERIFY_PORTS.proxyUid).length;
  const serverLogged = connectionsTo(j.serverLog, INBOUND_LISTENER, VERIFY_PORTS.proxyUid).length;
  const probe = j.e.plan.probes['proxy-uid'];
  return {
    name: 'proxy-uid-not-captured-outbound',
    ok: probe?.ok === true && traced.length > 0 && outbound === 0 && clientLogged === 0,
    detail: `UID ${ISTIO_PORTS.proxyUid} probe to ${formatEndpoint(target)}: ${probeOutcome(j, 'proxy-uid')}; ${describeConnects(traced)}; client sidecar logged ${clientLogged}; server sidecar (inbound, as in Istio) logged ${serverLogged}`,
  };
}

function loopbackNotRewritten(j: Judged): Check {
  const target = at('127.0.0.1', VERIFY_PORTS.loopback);
  const traced = connects(j, target);
  const logged = j.clientLog.filter((c) => c.originalDst.endsWith(`:${VERIFY_PORTS.loopback}`)).length;
  const probe = j.e.plan.probes['loopback'];
  return {
    name: 'loopback-not-rewritten',
    ok: probe?.ok === true && traced.length > 0 && traced.every((e) => e.action === 'skip-loopback') && logged === 0,
    detail: `${formatEndpoint(target)}: ${describeConnects(traced)}; client sidecar logged ${logged}; ${probeOutcome(j, 'loopback')}`,
  };
}

function hboneNotRewritten(j: Judged): Check {
  const target = at(j.e.server.ip, ISTIO_PORTS.hbone);
  const probe = j.e.plan.probes[HBONE_PROBE.name];
  if (!probe) return { name: 'hbone-not-rewritten', ok: false, detail: whyMissing(j.e, `probe ${HBONE_PROBE.name}`) };
  const traced = connects(j, target);
  const logged = [...j.clientLog, ...j.serverLog].filter((c) => c.originalDst.endsWith(`:${ISTIO_PORTS.hbone}`)).length;
  // Nothing listens on the server's 15008: an unrewritten connect is refused by the server pod itself,
  // while a rewritten one would have been accepted by a sidecar.
  const refusedByPod = !probe.ok && /ECONNREFUSED/.test(probe.error ?? '');
  // While this probe ran, the programs left exactly one connect alone for HBONE and rewrote none.
  const { deltas, missing } = deltasOf(j, HBONE_PROBE.name);
  const countersOk = deltas !== undefined && deltas.skipHbone === 1 && (deltas.rewriteOutbound ?? 0) === 0 && (deltas.rewriteInbound ?? 0) === 0;
  return {
    name: 'hbone-not-rewritten',
    ok: traced.length > 0 && traced.every((e) => e.action === 'skip-hbone') && logged === 0 && refusedByPod && countersOk,
    detail:
      `${formatEndpoint(target)}: ${describeConnects(traced)}; sidecars logged ${logged}; probe ${probe.ok ? 'echoed (unexpected)' : `failed: ${probe.error ?? '?'}`}; ` +
      (deltas ? `during the probe ${describeDeltas(deltas, ['skipHbone', 'rewriteOutbound', 'rewriteInbound'])}` : missing),
  };
}

/**
 * The app's question again from an AF_INET6 socket to ::ffff:<server> on its own port: connect6 rewrote it
 * once, the client sidecar logged that very socket with the server app as original destination, and sockops put the
 * socket (an IPv4-mapped IPv6 one) into the SOCKHASH.
 */
function mappedIpv6Captured(j: Judged): Check {
  const name = MAPPED_IPV6_PROBE.name;
  const probe = j.e.plan.probes[name];
  if (!probe) return { name: 'ipv4-mapped-ipv6-captured', ok: false, detail: whyMissing(j.e, `probe ${name}`) };
  const app = formatEndpoint(at(j.e.server.ip, MAPPED_IPV6_PROBE.port));
  const local = plainAddress(probe.local);
  const logged = outboundEntryOf(j, name).filter((c) => c.originalDst === app);
  const inserted = eventsOf(j.events, 'established').filter(
    (e) => e.side === 'active' && e.family === 'ipv4-mapped-ipv6' && e.action === 'inserted' && e.key !== undefined && formatEndpoint(e.key.local) === local,
  );
  const { deltas, missing } = deltasOf(j, name);
  const countersOk = deltas !== undefined && deltas.rewriteOutbound === 1 && (deltas.skipIpv6 ?? 0) === 0;
  return {
    name: 'ipv4-mapped-ipv6-captured',
    ok: probe.ok && logged.length === 1 && inserted.length === 1 && countersOk,
    detail:
      `an AF_INET6 socket dialling ${probe.target}: ${describeProbe(probe)} from ${probe.local ?? '?'}; client sidecar logged ${logged.length} connection(s) from it with original ${app}; ` +
      `sockops inserted it ${inserted.length}x as ipv4-mapped-ipv6; ` +
      (deltas ? `during the probe ${describeDeltas(deltas, ['rewriteOutbound', 'skipIpv6'])}` : missing),
  };
}

function excludedPortsNotCaptured(j: Judged): Check {
  const { client, server } = j.e;
  const ports = ISTIO_PORTS.excludedInbound.map((port) => {
    const traced = connects(j, at(server.ip, port)).filter((e) => e.uid === ISTIO_PORTS.proxyUid);
    const skipped = traced.filter((e) => e.action === 'skip-excluded-port').length;
    const inbound = connectionsTo(j.serverLog, INBOUND_LISTENER, port).length;
    const outbound = connectionsTo(j.clientLog, OUTBOUND_LISTENER, port).length;
    const peers = peersSeen(j.e, port);
    const ok = skipped > 0 && skipped === traced.length && inbound === 0 && peers.length > 0 && peers.every((p) => p === client.ip);
    return { port, skipped, traced: traced.length, inbound, outbound, peers, ok };
  });
  return {
    name: 'excluded-ports-not-captured',
    ok: ports.every((p) => p.ok),
    detail: ports
      .map((p) => `:${p.port} sidecar connect skipped ${p.skipped}/${p.traced}, server sidecar logged ${p.inbound} (client sidecar ${p.outbound} outbound), app saw ${p.peers.join(', ') || 'nothing'}`)
      .join('; '),
  };
}

function outsideCgroupUntouched(j: Judged): Check {
  const { client, server } = j.e;
  const port = VERIFY_PORTS.outsideCgroup;
  const traced = eventsOf(j.events, 'connect').filter((e) => e.dst.port === port).length;
  const logged = [...j.clientLog, ...j.serverLog].filter((c) => c.originalDst.endsWith(`:${port}`)).length;
  const peers = peersSeen(j.e, port);
  const probe = j.e.plan.probes['outside-cgroup'];
  return {
    name: 'outside-cgroup-untouched',
    ok: probe?.ok === true && traced === 0 && logged === 0 && peers.length > 0 && peers.every((p) => p === client.ip),
    detail: `a process outside the lab cgroups dialled ${server.ip}:${port}: ${probeOutcome(j, 'outside-cgroup')}; ${traced} connects traced, sidecars logged ${logged}, app saw ${peers.join(', ') || 'nothing'}`,
  };
}

/** Counters that each mean a connection or a message the programs could not handle, in a plan that has none. */
const BYPASS_COUNTERS = ['connectNotAPod', 'skipIpv6', 'skipProxyUid', 'establishedUnsupported', 'sockhashInsertFailed', 'msgNoKey'] as const satisfies readonly SockmapCounterName[];

/**
 * The server app's ports that the plan reaches through the sidecars: every port it probes but the
 * excluded inbound ports and the probe from outside the cgroups (the loopback probe stays in the client pod).
 */
const CAPTURED_APP_PORTS = [VERIFY_PORTS.app, VERIFY_PORTS.proxyUid, VERIFY_PORTS.proxyGid, VERIFY_PORTS.bulk, VERIFY_PORTS.kernelPath, MAPPED_IPV6_PROBE.port] as const;

/**
 * Every connection of the plan is accounted for, not just the absence of a bad event:
 * - no bypass counter moved (a pod the programs did not know, native IPv6, a sidecar sending to a pod
 *   missing from the pod map, a socket without a key or refused by the SOCKHASH);
 * - every connect decision the programs counted is in the trace, so the rest is judged on all of them;
 * - every connect rewritten to a sidecar was carried by it, one log entry each (15001 for an app's,
 *   15006 for a sidecar's);
 * - every connection the server's app accepted on a captured port came from its sidecar, one for each
 *   connection the sidecar handed to that port.
 */
function nothingBypassed(j: Judged): Check {
  const problems: string[] = [];
  const c = j.counters;
  const moved = BYPASS_COUNTERS.filter((n) => c[n] !== 0);
  if (moved.length) problems.push(`bypass counters moved: ${describeCounters(c, moved)}`);

  const traced = eventsOf(j.events, 'connect');
  const decided = c.connectSeen - c.connectNotAPod;
  if (decided === 0 || traced.length !== decided) problems.push(`${decided} connect decisions counted, ${traced.length} traced`);

  const rewrittenOut = traced.filter((e) => e.action === 'rewrite-outbound').length;
  const rewrittenIn = traced.filter((e) => e.action === 'rewrite-inbound').length;
  const carriedOut = j.clientLog.filter((e) => e.listener === OUTBOUND_LISTENER).length;
  const carriedIn = j.serverLog.filter((e) => e.listener === INBOUND_LISTENER).length;
  if (rewrittenOut !== carriedOut) problems.push(`${rewrittenOut} connects rewritten to the client sidecar, which logged ${carriedOut}`);
  if (rewrittenIn !== carriedIn) problems.push(`${rewrittenIn} connects rewritten to the server sidecar, which logged ${carriedIn}`);

  const accepts = j.e.plan.accepts[j.e.server.name];
  if (!accepts) problems.push(whyMissing(j.e, `read ${j.e.server.name}'s accepted connections`));
  const perPort = CAPTURED_APP_PORTS.map((port) => {
    const accepted = (accepts ?? []).filter((a) => a.port === port);
    const direct = accepted.filter((a) => a.peer !== ISTIO_PORTS.inboundPassthroughSource).length;
    const handed = j.serverLog.filter((e) => e.listener === INBOUND_LISTENER && e.upstreamDst.endsWith(`:${port}`)).length;
    if (direct > 0) problems.push(`the app accepted ${direct} connection(s) on :${port} that did not come from its sidecar`);
    if (accepted.length !== handed) problems.push(`the app accepted ${accepted.length} connection(s) on :${port}, its sidecar handed it ${handed}`);
    return `:${port} ${accepted.length}`;
  });

  const summary =
    `${traced.length} connect decisions traced of ${decided} counted; ${rewrittenOut} rewritten to 15001 and ${carriedOut} logged there; ` +
    `${rewrittenIn} rewritten to 15006 and ${carriedIn} logged there; app accepts through the sidecar ${perPort.join(', ')}; ${describeCounters(c, BYPASS_COUNTERS)}`;
  return { name: 'no-silent-bypass', ok: problems.length === 0, detail: problems.length ? `${problems.join('; ')} (${summary})` : summary };
}

export function judgeSockmap(e: Evidence): Check[] {
  const logOf = (pod: string) => e.collected.sidecarLogs[pod] ?? [];
  const j: Judged = {
    e,
    counters: e.collected.counters,
    events: parseSockmapEvents(e.collected.traceLines),
    clientLog: logOf(e.client.name),
    serverLog: logOf(e.server.name),
    sockhashKeys: e.collected.sockhash.keys.map((k) => k.key),
  };
  const onPath: ProxyOnPath[] = [
    { name: 'client sidecar', connections: j.clientLog.filter((c) => c.listener === OUTBOUND_LISTENER) },
    { name: 'server sidecar', connections: j.serverLog.filter((c) => c.listener === INBOUND_LISTENER) },
  ];
  return [
    outboundCaptured(j),
    inboundCaptured(j),
    originalDstAnswered(j),
    noNetfilterInPods(e.collected.netfilter),
    sockhashHeldSockets(j),
    skMsgRedirected(j),
    missesExplained(j),
    establishedTraced(j),
    proxyUidNotRewritten(j),
    loopbackNotRewritten(j),
    hboneNotRewritten(j),
    mappedIpv6Captured(j),
    excludedPortsNotCaptured(j),
    outsideCgroupUntouched(j),
    nothingBypassed(j),
    probesEchoed(e, [...STANDARD_PROBES, ...excludedProbeNames(ISTIO_PORTS.excludedInbound)]),
    bulkBytesIntact(e, onPath),
    iperfThroughPath(e, onPath),
  ];
}
