// Evidence for TPROXY mode: the sidecars' logs of original destinations, the mangle (inbound) and nat
// (outbound) counters, conntrack's proof that inbound was not NATed, the policy routing in each pod
// (and nowhere else), and the pod sysctls TPROXY depends on.
import { readConntrack, type ConntrackEntry } from '../../evidence/conntrack.ts';
import { packetsMatching, packetsTo, readIptables, type IptablesSnapshot } from '../../evidence/iptables.ts';
import { connectionsTo, describeConnections, type ProxyConnection } from '../../evidence/proxy-log.ts';
import { ipJson } from '../../host/ip.ts';
import { DEFAULT_TPROXY_CAPTURE } from '../../istio/iptables.ts';
import { ISTIO_PORTS } from '../../istio/ports.ts';
import type { RunningProxy } from '../../proxy/proxy.ts';
import { INBOUND_LISTENER, OUTBOUND_LISTENER } from '../../proxy/sidecar.ts';
import type { Lab, Pod } from '../../topology/lab.ts';
import { bulkBytesIntact, iperfThroughPath, peersSeen, probesEchoed, type ProxyOnPath } from '../../verify/checks.ts';
import { VERIFY_PORTS, type VerifyContext } from '../../verify/context.ts';
import { outboundCaptured, proxyUidNotCaptured } from '../../verify/sidecar-checks.ts';
import type { Check } from '../types.ts';
import { TPROXY_POD_SYSCTLS } from './sysctls.ts';

const { tproxyMark, routeTable } = DEFAULT_TPROXY_CAPTURE;
/** iptables-save and `ip rule` print marks in hex. */
const hexMark = (mark: number) => `0x${mark.toString(16)}`;

interface Evidence {
  context: VerifyContext;
  clientLog: ProxyConnection[];
  serverLog: ProxyConnection[];
  /** Each pod's rules, split by table: chain names (ISTIO_INBOUND, OUTPUT) exist in both. */
  client: { mangle: IptablesSnapshot; nat: IptablesSnapshot };
  server: { mangle: IptablesSnapshot; nat: IptablesSnapshot };
  serverConntrack: ConntrackEntry[];
  clientConntrack: ConntrackEntry[];
}

function byTable(snapshot: IptablesSnapshot) {
  const only = (table: string): IptablesSnapshot => {
    const rules = snapshot.rules.filter((r) => r.table === table);
    return { rules, ruleCount: rules.length };
  };
  return { mangle: only('mangle'), nat: only('nat') };
}

export async function tproxyChecks(context: VerifyContext, sidecars: Map<string, RunningProxy>, captured: readonly Pod[]): Promise<Check[]> {
  const { client, server } = context;
  const clientSidecar = sidecars.get(client.name);
  const serverSidecar = sidecars.get(server.name);
  if (!clientSidecar || !serverSidecar) throw new Error('tproxy verify needs sidecars in both the client and the server pod');
  const [clientRules, serverRules, serverConntrack, clientConntrack] = await Promise.all([
    readIptables(client.netns),
    readIptables(server.netns),
    readConntrack(server.netns),
    readConntrack(client.netns),
  ]);
  const evidence: Evidence = {
    context,
    clientLog: clientSidecar.connections(),
    serverLog: serverSidecar.connections(),
    client: byTable(clientRules),
    server: byTable(serverRules),
    serverConntrack,
    clientConntrack,
  };
  const onPath: ProxyOnPath[] = [
    { name: 'client sidecar', connections: evidence.clientLog.filter((c) => c.listener === OUTBOUND_LISTENER) },
    { name: 'server sidecar', connections: evidence.serverLog.filter((c) => c.listener === INBOUND_LISTENER) },
  ];
  return [
    // Outbound is unchanged from REDIRECT mode: nat REDIRECT to the client sidecar's 15001.
    outboundCaptured(context, evidence.clientLog, evidence.client.nat),
    inboundCapturedWithOriginalDst(evidence),
    tproxyCountersMoved(evidence),
    inboundNotNatted(evidence),
    await policyRoutingOnlyInPods(context.lab, captured),
    await podSysctls(context.lab, captured),
    excludedPortsNotCaptured(evidence),
    passthroughNotCaptured(evidence),
    proxyUidNotCaptured(context, evidence.clientLog, evidence.client.nat),
    loopbackNotCaptured(evidence),
    probesEchoed(context, ['app', 'proxy-uid', 'loopback', 'outside-cgroup', ...ISTIO_PORTS.excludedInbound.map((p) => `excluded-${p}` as const)]),
    bulkBytesIntact(context, onPath),
    iperfThroughPath(context, onPath),
  ];
}

/**
 * The server sidecar's transparent 15006 socket logged the app's address as its local address
 * (getsockname: nothing rewrote the packet), and it connected on to the app from 127.0.0.6.
 */
function inboundCapturedWithOriginalDst({ context, serverLog }: Evidence): Check {
  const app = `${context.server.ip}:${VERIFY_PORTS.app}`;
  const inbound = connectionsTo(serverLog, INBOUND_LISTENER, VERIFY_PORTS.app).filter((c) => c.originalDst === app);
  const handedOn = inbound.filter((c) => c.upstreamDst === app && c.upstreamSrc.startsWith(`${ISTIO_PORTS.inboundPassthroughSource}:`));
  const appPeers = peersSeen(context, VERIFY_PORTS.app);
  return {
    name: 'inbound-captured',
    ok: inbound.length > 0 && handedOn.length === inbound.length && appPeers.length > 0 && appPeers.every((p) => p === ISTIO_PORTS.inboundPassthroughSource),
    detail: `server sidecar :15006 ${describeConnections(inbound)}; ${handedOn.length} handed to ${app} from ${ISTIO_PORTS.inboundPassthroughSource}; app saw peers ${appPeers.join(', ') || 'none'}`,
  };
}

/** TPROXY took the first packet of each inbound connection; ISTIO_DIVERT marked the rest. */
function tproxyCountersMoved({ server }: Evidence): Check {
  const tproxied = packetsTo(server.mangle, 'ISTIO_TPROXY', 'TPROXY');
  const diverted = packetsTo(server.mangle, 'ISTIO_DIVERT', 'MARK');
  return {
    name: 'tproxy-counters',
    ok: tproxied > 0 && diverted > 0,
    detail: `server mangle: ISTIO_TPROXY TPROXY matched ${tproxied} packets (new connections), ISTIO_DIVERT MARK ${hexMark(tproxyMark)} matched ${diverted} (established)`,
  };
}

/**
 * The opposite of REDIRECT mode's inbound-nat-in-conntrack: the server's conntrack entry for the
 * client's connection to the app is its own mirror (reply from :8080, not :15006), and the nat
 * table's inbound redirect never fired. The client's outbound leg is NATed to 15001, as it should be.
 */
function inboundNotNatted({ context, server, serverConntrack, clientConntrack }: Evidence): Check {
  const { client, server: serverPod } = context;
  const leg = (e: ConntrackEntry) => e.original.src === client.ip && e.original.dst === serverPod.ip && e.original.dport === VERIFY_PORTS.app;
  const inbound = serverConntrack.filter(leg);
  const natted = inbound.filter((e) => e.nat);
  const natRedirects = packetsTo(server.nat, 'ISTIO_IN_REDIRECT', 'REDIRECT');
  const outbound = clientConntrack.filter((e) => leg(e) && e.nat && e.reply.sport === ISTIO_PORTS.outboundCapture);
  const sample = (natted[0] ?? inbound[0])?.raw;
  return {
    name: 'inbound-not-natted-in-conntrack',
    ok: inbound.length > 0 && natted.length === 0 && natRedirects === 0 && outbound.length > 0,
    detail:
      `server conntrack: ${inbound.length} entries for ${client.ip} -> ${serverPod.ip}:${VERIFY_PORTS.app}, ${natted.length} NATed` +
      `${sample ? ` (${sample})` : ''}; nat ISTIO_IN_REDIRECT matched ${natRedirects} packets; ` +
      `client conntrack: ${outbound.length} outbound entries NATed to :${ISTIO_PORTS.outboundCapture}${outbound[0] ? ` (${outbound[0].raw})` : ''}`,
  };
}

interface IpRule {
  fwmark?: string;
  table?: string;
}
interface IpRoute {
  type?: string;
  dst?: string;
  dev?: string;
}

const isTproxyRule = (r: IpRule) => r.fwmark === hexMark(tproxyMark) && r.table === String(routeTable);

/**
 * `ip rule fwmark 1337 lookup 133` and `local default dev lo table 133` exist in every captured pod,
 * and no rule for that mark or table exists in the node namespaces or the root namespace (read only).
 */
async function policyRoutingOnlyInPods(lab: Lab, captured: readonly Pod[]): Promise<Check> {
  const inPods = await Promise.all(
    captured.map(async (pod) => {
      const [rules, routes] = await Promise.all([ipJson<IpRule[]>(['rule', 'show'], pod.netns), ipJson<IpRoute[]>(['route', 'show', 'table', String(routeTable)], pod.netns)]);
      const local = routes.some((r) => r.type === 'local' && r.dst === 'default' && r.dev === 'lo');
      return { pod: pod.name, rule: rules.some(isTproxyRule), local };
    }),
  );
  const elsewhere = [
    ...[...lab.nodes.values()].map((node) => ({ where: `node ${node.name}`, netns: node.netns as string | undefined })),
    { where: 'root namespace', netns: undefined },
  ];
  const strays = await Promise.all(
    elsewhere.map(async ({ where, netns }) => ({ where, rules: (await ipJson<IpRule[]>(['rule', 'show'], netns)).filter((r) => r.table === String(routeTable) || r.fwmark === hexMark(tproxyMark)).length })),
  );
  return {
    name: 'policy-routing-only-in-pods',
    ok: inPods.length > 0 && inPods.every((p) => p.rule && p.local) && strays.every((s) => s.rules === 0),
    detail:
      inPods.map((p) => `${p.pod}: fwmark ${hexMark(tproxyMark)} lookup ${routeTable} ${p.rule ? 'present' : 'MISSING'}, table ${routeTable} local default dev lo ${p.local ? 'present' : 'MISSING'}`).join('; ') +
      `; ${strays.map((s) => `${s.where}: ${s.rules} such rules`).join(', ')}`,
  };
}

/** rp_filter and src_valid_mark read back as 0 inside every captured pod (DESIGN §9). */
async function podSysctls(lab: Lab, captured: readonly Pod[]): Promise<Check> {
  const names = Object.keys(TPROXY_POD_SYSCTLS);
  const read = await Promise.all(
    captured.map(async (pod) => {
      const values = (await lab.exec(pod, 'sysctl', ['-n', ...names], { inCgroup: false })).stdout.trim().split('\n');
      return { pod: pod.name, wrong: names.filter((name, i) => values[i] !== String(TPROXY_POD_SYSCTLS[name])) };
    }),
  );
  return {
    name: 'tproxy-sysctls',
    ok: read.every((r) => r.wrong.length === 0),
    detail: read.map((r) => `${r.pod}: ${r.wrong.length ? `not as set: ${r.wrong.join(', ')}` : `${names.length} rp_filter/src_valid_mark values read back 0`}`).join('; '),
  };
}

function excludedPortsNotCaptured({ context, serverLog, server }: Evidence): Check {
  const excluded = ISTIO_PORTS.excludedInbound.map((port) => ({
    port,
    inbound: connectionsTo(serverLog, INBOUND_LISTENER, port).length,
    returns: packetsMatching(server.mangle, 'ISTIO_INBOUND', `--dport ${port} -j RETURN`),
    peers: peersSeen(context, port),
  }));
  return {
    name: 'excluded-ports-not-captured',
    ok: excluded.every((e) => e.inbound === 0 && e.returns > 0 && e.peers.length > 0 && !e.peers.includes(ISTIO_PORTS.inboundPassthroughSource)),
    detail: excluded.map((e) => `:${e.port} mangle RETURN matched ${e.returns} packets, server sidecar logged ${e.inbound}, app saw ${e.peers.join(', ') || 'nothing'}`).join('; '),
  };
}

/**
 * The sidecar's own hand-off to the app (from 127.0.0.6 over lo, marked 1338 by the proxy-owner
 * rule) is let through on both hooks and never comes back to the sidecar: every inbound connection
 * it logged came from the client pod.
 */
function passthroughNotCaptured({ context, serverLog, server }: Evidence): Check {
  const inboundReturns = packetsMatching(server.mangle, 'ISTIO_INBOUND', `-s ${ISTIO_PORTS.inboundPassthroughSource}/32 -i lo`);
  const outputReturns = packetsMatching(server.nat, 'ISTIO_OUTPUT', `-s ${ISTIO_PORTS.inboundPassthroughSource}/32 -o lo -j RETURN`);
  const proxyMarked = packetsMatching(server.mangle, 'OUTPUT', `--uid-owner ${ISTIO_PORTS.proxyUid} -j MARK`);
  const looped = serverLog.filter((c) => c.listener === INBOUND_LISTENER && !c.client.startsWith(`${context.client.ip}:`));
  return {
    name: 'passthrough-not-captured',
    ok: inboundReturns > 0 && outputReturns > 0 && proxyMarked > 0 && looped.length === 0,
    detail:
      `server: mangle ISTIO_INBOUND ${ISTIO_PORTS.inboundPassthroughSource} RETURN matched ${inboundReturns} packets, nat ISTIO_OUTPUT ${ISTIO_PORTS.inboundPassthroughSource} RETURN ${outputReturns}, ` +
      `proxy-owner lo MARK ${hexMark(DEFAULT_TPROXY_CAPTURE.proxyLoopbackMark)} ${proxyMarked}; server sidecar logged ${looped.length} inbound connections not from ${context.client.ip}`,
  };
}

/** 127.0.0.1 is left alone leaving the socket (nat) and arriving on lo (mangle, TPROXY's 127.0.0.1 exclusion). */
function loopbackNotCaptured({ context, clientLog, client }: Evidence): Check {
  const captured = clientLog.filter((c) => c.originalDst.endsWith(`:${VERIFY_PORTS.loopback}`)).length;
  const outputReturns = packetsMatching(client.nat, 'ISTIO_OUTPUT', '-d 127.0.0.1/32 -j RETURN') + packetsMatching(client.nat, 'ISTIO_OUTPUT', '-o lo -m owner ! --uid-owner');
  const inboundReturns = packetsMatching(client.mangle, 'ISTIO_INBOUND', `-i lo -p tcp -m mark ! --mark`);
  return {
    name: 'loopback-not-captured',
    ok: context.probes.get('loopback')?.ok === true && captured === 0 && outputReturns > 0 && inboundReturns > 0,
    detail: `127.0.0.1:${VERIFY_PORTS.loopback}: client sidecar logged ${captured}; nat loopback RETURN rules matched ${outputReturns} packets, mangle lo RETURN ${inboundReturns}`,
  };
}
