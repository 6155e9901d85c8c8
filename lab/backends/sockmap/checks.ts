// Evidence for the sockmap backend: the sidecars' logs of original destinations, the programs'
// counters and trace lines, what the SOCKHASH held while traffic flowed, and the sk_msg run count.
// Each check states the numbers it saw.
import type { ProgramStats } from '../../evidence/bpf.ts';
import { connectionsTo, describeConnections, type ProxyConnection } from '../../evidence/proxy-log.ts';
import type { TraceLine } from '../../evidence/trace-pipe.ts';
import { ISTIO_PORTS } from '../../istio/ports.ts';
import type { RunningProxy } from '../../proxy/proxy.ts';
import { INBOUND_LISTENER, OUTBOUND_LISTENER } from '../../proxy/sidecar.ts';
import type { ProbeResult } from '../../traffic/agent-protocol.ts';
import type { Pod } from '../../topology/lab.ts';
import { bulkBytesIntact, describeProbe, iperfThroughPath, peersSeen, podsHaveNoIptablesRules, probesEchoed, type ProxyOnPath } from '../../verify/checks.ts';
import { VERIFY_PORTS, type VerifyContext } from '../../verify/context.ts';
import type { Check } from '../types.ts';
import { describeCounters, type SockmapCounters } from './counters.ts';
import { SK_MSG_PROGRAM, type SockmapDatapath } from './datapath.ts';
import { decodeSockKey, formatEndpoint, formatSockKey, type Endpoint, type SockKey } from './layout.ts';
import { explainMisses } from './misses.ts';
import { eventsOf, parseSockmapEvents, type EventOf, type SockmapTraceEvent } from './trace-events.ts';

export interface SockmapEvidence {
  datapath: SockmapDatapath;
  sidecars: Map<string, RunningProxy>;
  traceLines: TraceLine[];
  /** Distinct SOCKHASH keys the sampler saw during the run (hex -> key bytes, samples). */
  sockhashSeen: Map<string, { key: Uint8Array; samples: number }>;
  samples: number;
  captured: readonly Pod[];
  /** Probes this backend adds to the standard plan (run before the evidence is collected). */
  extraProbes: ExtraProbes;
}

export interface ExtraProbes {
  /** To the server pod's HBONE port, where nothing listens: must reach the pod unrewritten and be refused. */
  hbone: ProbeResult;
  /** The app probe from an AF_INET6 socket to ::ffff:<server IP>: must be captured like IPv4 (connect6). */
  mappedIpv6: ProbeResult;
}

/** The probes the standard plan lacks; run while the trace reader still reads. */
export async function runExtraProbes(context: VerifyContext): Promise<ExtraProbes> {
  const hbone = await context.probe(context.client, context.server.ip, ISTIO_PORTS.hbone);
  const mappedIpv6 = await context.probe(context.client, `::ffff:${context.server.ip}`, VERIFY_PORTS.app);
  return { hbone, mappedIpv6 };
}

const at = (ip: string, port: number): Endpoint => ({ ip, port });
const sameEndpoint = (a: Endpoint | undefined, b: Endpoint) => a !== undefined && a.ip === b.ip && a.port === b.port;

interface Judged {
  context: VerifyContext;
  counters: SockmapCounters;
  events: SockmapTraceEvent[];
  clientLog: ProxyConnection[];
  serverLog: ProxyConnection[];
  skMsg: ProgramStats | undefined;
  sockhashKeys: SockKey[];
  evidence: SockmapEvidence;
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

function outboundCaptured(j: Judged): Check {
  const { client, server } = j.context;
  const app = at(server.ip, VERIFY_PORTS.app);
  const logged = connectionsTo(j.clientLog, OUTBOUND_LISTENER, VERIFY_PORTS.app).filter((c) => c.originalDst === formatEndpoint(app));
  const rewrites = connects(j, app, 'rewrite-outbound').filter((e) => sameEndpoint(e.to, at(client.ip, ISTIO_PORTS.outboundCapture)));
  return {
    name: 'outbound-captured',
    ok: logged.length > 0 && rewrites.length > 0,
    detail: `connect4 sent the app's connects to ${formatEndpoint(app)} to its sidecar: ${describeConnects(connects(j, app).filter((e) => e.uid !== ISTIO_PORTS.proxyUid))}; client sidecar :15001 ${describeConnections(logged)}`,
  };
}

function inboundCaptured(j: Judged): Check {
  const { server } = j.context;
  const app = at(server.ip, VERIFY_PORTS.app);
  const logged = connectionsTo(j.serverLog, INBOUND_LISTENER, VERIFY_PORTS.app).filter((c) => c.originalDst === formatEndpoint(app));
  const rewrites = connects(j, app, 'rewrite-inbound').filter((e) => e.uid === ISTIO_PORTS.proxyUid && sameEndpoint(e.to, at(server.ip, ISTIO_PORTS.inboundCapture)));
  const peers = peersSeen(j.context, VERIFY_PORTS.app);
  return {
    name: 'inbound-captured',
    ok: logged.length > 0 && rewrites.length > 0 && peers.length > 0 && peers.every((p) => p === ISTIO_PORTS.inboundPassthroughSource),
    detail: `the client sidecar's connects to ${formatEndpoint(app)}: ${describeConnects(connects(j, app).filter((e) => e.uid === ISTIO_PORTS.proxyUid))}; server sidecar :15006 ${describeConnections(logged)}; app saw peers ${peers.join(', ') || 'none'}`,
  };
}

function originalDstAnswered(j: Judged): Check {
  const { server } = j.context;
  const app = at(server.ip, VERIFY_PORTS.app);
  const answered = eventsOf(j.events, 'original-dst').filter((e) => e.action === 'answered' && sameEndpoint(e.original, app));
  const bySidecar = (port: number) => answered.filter((e) => e.local.port === port).length;
  const outbound = bySidecar(ISTIO_PORTS.outboundCapture);
  const inbound = bySidecar(ISTIO_PORTS.inboundCapture);
  return {
    name: 'original-dst-from-getsockopt',
    ok: outbound > 0 && inbound > 0 && j.counters.originalDstUnknown === 0,
    detail: `SO_ORIGINAL_DST answered ${formatEndpoint(app)} ${outbound}x on :15001 and ${inbound}x on :15006; ${describeCounters(j.counters, ['originalDstAnswered', 'originalDstUnknown', 'pairRecorded'])}`,
  };
}

/** The two sidecar legs of the app's traffic, and whether each should be short-circuited. */
function expectedLegs(j: Judged) {
  const { client, server, placement } = j.context;
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
  const crossNodeOk = j.context.placement === 'same-node' || j.counters.sockhashCrossNode > 0;
  const example = j.sockhashKeys.slice(0, 4).map(formatSockKey).join(', ');
  return {
    name: 'sockhash-held-sockets',
    ok: legs.every((l) => l.ok) && crossNodeOk && j.counters.sockhashInsertFailed === 0,
    detail:
      `${j.sockhashKeys.length} distinct SOCKHASH entries in ${j.evidence.samples} samples (e.g. ${example || 'none'}); ` +
      legs.map((l) => `${l.name} :${l.port} ${l.connecting}+${l.accepting} sockets (${l.inSockhash ? 'expected in' : 'expected out: another node'})`).join('; ') +
      `; ${describeCounters(j.counters, ['sockhashInserted', 'sockhashInsertFailed', 'sockhashCrossNode'])}`,
  };
}

function skMsgRedirected(j: Judged): Check {
  const runs = j.skMsg?.runCount ?? 0;
  const c = j.counters;
  // Every sk_msg invocation bumps exactly one of these: the program's own count of its runs.
  const invocations = c.msgRedirected + c.msgMiss + c.msgNoKey;
  const runsDetail = `sk_msg ran ${runs} times (bpf_stats)`;
  // Every byte the iperf3 server counted crossed the app-to-sidecar leg, which is always redirected.
  const counted = j.context.throughput.bytesReceived;
  return {
    name: 'sk-msg-redirected',
    ok: c.msgRedirected > 0 && runs > 0 && c.msgRedirectedBytes >= counted,
    detail: `${runsDetail}, ${invocations} by its own counters; redirected ${c.msgRedirected} messages / ${c.msgRedirectedBytes} B to peer sockets; the iperf3 server counted ${counted} B`,
  };
}

function establishedTraced(j: Judged): Check {
  const established = eventsOf(j.events, 'established');
  const legs = expectedLegs(j).map((leg) => {
    const active = established.filter((e) => e.side === 'active' && e.key && sameEndpoint(e.key.remote, at(leg.ip, leg.port)));
    const passive = established.filter((e) => e.side === 'passive' && e.key && sameEndpoint(e.key.local, at(leg.ip, leg.port)));
    const wanted = leg.inSockhash ? 'inserted' : 'cross-node';
    const ok = active.length > 0 && passive.length > 0 && [...active, ...passive].every((e) => e.action === wanted);
    return { ...leg, active: active.length, passive: passive.length, wanted, ok };
  });
  return {
    name: 'established-events-traced',
    ok: legs.every((l) => l.ok),
    detail: legs.map((l) => `:${l.port} (${l.name}) ${l.active} ACTIVE + ${l.passive} PASSIVE_ESTABLISHED, expected action ${l.wanted}`).join('; ') + ` (${established.length} traced in all)`,
  };
}

function proxyUidNotRewritten(j: Judged): Check {
  const { server } = j.context;
  const target = at(server.ip, VERIFY_PORTS.proxyUid);
  const traced = connects(j, target).filter((e) => e.uid === ISTIO_PORTS.proxyUid);
  const outbound = traced.filter((e) => e.action === 'rewrite-outbound').length;
  const clientLogged = connectionsTo(j.clientLog, OUTBOUND_LISTENER, VERIFY_PORTS.proxyUid).length;
  const serverLogged = connectionsTo(j.serverLog, INBOUND_LISTENER, VERIFY_PORTS.proxyUid).length;
  return {
    name: 'proxy-uid-not-captured-outbound',
    ok: j.context.probes.get('proxy-uid')?.ok === true && traced.length > 0 && outbound === 0 && clientLogged === 0,
    detail: `UID ${ISTIO_PORTS.proxyUid} probe to ${formatEndpoint(target)}: ${describeConnects(traced)}; client sidecar logged ${clientLogged}; server sidecar (inbound, as in Istio) logged ${serverLogged}`,
  };
}

function loopbackNotRewritten(j: Judged): Check {
  const target = at('127.0.0.1', VERIFY_PORTS.loopback);
  const traced = connects(j, target);
  const logged = j.clientLog.filter((c) => c.originalDst.endsWith(`:${VERIFY_PORTS.loopback}`)).length;
  return {
    name: 'loopback-not-rewritten',
    ok: j.context.probes.get('loopback')?.ok === true && traced.length > 0 && traced.every((e) => e.action === 'skip-loopback') && logged === 0,
    detail: `${formatEndpoint(target)}: ${describeConnects(traced)}; client sidecar logged ${logged}; ${describeProbe(j.context.probes.get('loopback'))}`,
  };
}

function hboneNotRewritten(j: Judged): Check {
  const { server } = j.context;
  const target = at(server.ip, ISTIO_PORTS.hbone);
  const traced = connects(j, target);
  const logged = [...j.clientLog, ...j.serverLog].filter((c) => c.originalDst.endsWith(`:${ISTIO_PORTS.hbone}`)).length;
  const probe = j.evidence.extraProbes.hbone;
  // Nothing listens on the server's 15008: an unrewritten connect is refused by the server pod itself,
  // while a rewritten one would have been accepted by a sidecar.
  const refusedByPod = !probe.ok && /ECONNREFUSED/.test(probe.error ?? '');
  return {
    name: 'hbone-not-rewritten',
    ok: traced.length > 0 && traced.every((e) => e.action === 'skip-hbone') && logged === 0 && refusedByPod,
    detail: `${formatEndpoint(target)}: ${describeConnects(traced)}; sidecars logged ${logged}; probe ${probe.ok ? 'echoed (unexpected)' : `failed: ${probe.error ?? '?'}`}`,
  };
}

function mappedIpv6Captured(j: Judged): Check {
  const probe = j.evidence.extraProbes.mappedIpv6;
  const app = formatEndpoint(at(j.context.server.ip, VERIFY_PORTS.app));
  // Node reports the AF_INET6 socket's local address as ::ffff:a.b.c.d:port; the sidecar logs a.b.c.d:port.
  const localPort = probe.local?.split(':').pop();
  const logged = connectionsTo(j.clientLog, OUTBOUND_LISTENER, VERIFY_PORTS.app).filter((c) => c.originalDst === app && c.client.endsWith(`:${localPort}`));
  return {
    name: 'ipv4-mapped-ipv6-captured',
    ok: probe.ok && logged.length === 1,
    detail: `an AF_INET6 socket dialling ${probe.target}: ${describeProbe(probe)} from ${probe.local ?? '?'}; client sidecar logged ${logged.length} connection(s) from that port with original ${app}`,
  };
}

function excludedPortsNotCaptured(j: Judged): Check {
  const { client, server } = j.context;
  const ports = ISTIO_PORTS.excludedInbound.map((port) => {
    const traced = connects(j, at(server.ip, port)).filter((e) => e.uid === ISTIO_PORTS.proxyUid);
    const skipped = traced.filter((e) => e.action === 'skip-excluded-port').length;
    const inbound = connectionsTo(j.serverLog, INBOUND_LISTENER, port).length;
    const outbound = connectionsTo(j.clientLog, OUTBOUND_LISTENER, port).length;
    const peers = peersSeen(j.context, port);
    const ok = skipped > 0 && skipped === traced.length && inbound === 0 && peers.length > 0 && peers.every((p) => p === client.ip);
    return { port, skipped, traced: traced.length, inbound, outbound, peers, ok };
  });
  return {
    name: 'excluded-ports-not-captured',
    ok: ports.every((p) => p.ok),
    detail: ports.map((p) => `:${p.port} sidecar connect skipped ${p.skipped}/${p.traced}, server sidecar logged ${p.inbound} (client sidecar ${p.outbound} outbound), app saw ${p.peers.join(', ') || 'nothing'}`).join('; '),
  };
}

function outsideCgroupUntouched(j: Judged): Check {
  const { client, server } = j.context;
  const port = VERIFY_PORTS.outsideCgroup;
  const traced = eventsOf(j.events, 'connect').filter((e) => e.dst.port === port).length;
  const logged = [...j.clientLog, ...j.serverLog].filter((c) => c.originalDst.endsWith(`:${port}`)).length;
  const peers = peersSeen(j.context, port);
  const probe = j.context.probes.get('outside-cgroup');
  return {
    name: 'outside-cgroup-untouched',
    ok: probe?.ok === true && traced === 0 && logged === 0 && peers.length > 0 && peers.every((p) => p === client.ip),
    detail: `a process outside the lab cgroups dialled ${server.ip}:${port}: ${traced} connects traced, sidecars logged ${logged}, app saw ${peers.join(', ') || 'nothing'} (probe from ${probe?.local ?? '?'})`,
  };
}

function nothingBypassed(j: Judged): Check {
  const c = j.counters;
  return {
    name: 'no-silent-bypass',
    ok: c.connectNotAPod === 0 && c.skipIpv6 === 0 && c.establishedUnsupported === 0 && c.sockhashInsertFailed === 0 && c.msgNoKey === 0,
    detail: describeCounters(c, ['connectSeen', 'connectNotAPod', 'skipIpv6', 'establishedUnsupported', 'sockhashInsertFailed', 'msgNoKey']),
  };
}

export async function sockmapChecks(context: VerifyContext, evidence: SockmapEvidence): Promise<Check[]> {
  const clientSidecar = evidence.sidecars.get(context.client.name);
  const serverSidecar = evidence.sidecars.get(context.server.name);
  if (!clientSidecar || !serverSidecar) throw new Error('sockmap verify needs sidecars in both the client and the server pod');
  const [counters, stats] = await Promise.all([evidence.datapath.counters(), evidence.datapath.programStats()]);
  const j: Judged = {
    context,
    counters,
    events: parseSockmapEvents(evidence.traceLines),
    clientLog: clientSidecar.connections(),
    serverLog: serverSidecar.connections(),
    skMsg: stats.find((s) => s.name === SK_MSG_PROGRAM),
    sockhashKeys: [...evidence.sockhashSeen.values()].map((k) => decodeSockKey(k.key)),
    evidence,
  };
  const misses = explainMisses(j.events, counters.msgMiss);
  const onPath: ProxyOnPath[] = [
    { name: 'client sidecar', connections: j.clientLog.filter((c) => c.listener === OUTBOUND_LISTENER) },
    { name: 'server sidecar', connections: j.serverLog.filter((c) => c.listener === INBOUND_LISTENER) },
  ];
  return [
    outboundCaptured(j),
    inboundCaptured(j),
    originalDstAnswered(j),
    await podsHaveNoIptablesRules(evidence.captured),
    sockhashHeldSockets(j),
    skMsgRedirected(j),
    { name: 'sk-msg-misses-explained', ok: misses.unexplained.length === 0, detail: misses.detail },
    establishedTraced(j),
    proxyUidNotRewritten(j),
    loopbackNotRewritten(j),
    hboneNotRewritten(j),
    mappedIpv6Captured(j),
    excludedPortsNotCaptured(j),
    outsideCgroupUntouched(j),
    nothingBypassed(j),
    probesEchoed(context, ['app', 'proxy-uid', 'loopback', 'outside-cgroup', ...ISTIO_PORTS.excludedInbound.map((p) => `excluded-${p}` as const)]),
    bulkBytesIntact(context, onPath),
    iperfThroughPath(context, onPath),
  ];
}
