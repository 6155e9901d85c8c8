// Evidence for REDIRECT mode: the sidecars' logs of original destinations, the nat counters, the
// peer address the app saw, and conntrack's record of the NAT.
import { readConntrack } from '../../evidence/conntrack.ts';
import { packetsMatching, packetsTo, readIptables } from '../../evidence/iptables.ts';
import { connectionsTo, describeConnections } from '../../evidence/proxy-log.ts';
import { ISTIO_PORTS } from '../../istio/ports.ts';
import type { RunningProxy } from '../../proxy/proxy.ts';
import { INBOUND_LISTENER, OUTBOUND_LISTENER } from '../../proxy/sidecar.ts';
import { bulkBytesIntact, iperfThroughPath, peersSeen, probesEchoed, type ProxyOnPath } from '../../verify/checks.ts';
import { VERIFY_PORTS, type VerifyContext } from '../../verify/context.ts';
import { outboundCaptured, proxyUidNotCaptured } from '../../verify/sidecar-checks.ts';
import type { Check } from '../types.ts';

export async function redirectChecks(context: VerifyContext, sidecars: Map<string, RunningProxy>): Promise<Check[]> {
  const { client, server } = context;
  const clientSidecar = sidecars.get(client.name);
  const serverSidecar = sidecars.get(server.name);
  if (!clientSidecar || !serverSidecar) throw new Error('redirect verify needs sidecars in both the client and the server pod');
  const clientLog = clientSidecar.connections();
  const serverLog = serverSidecar.connections();
  const [clientRules, serverRules, serverConntrack] = await Promise.all([readIptables(client.netns), readIptables(server.netns), readConntrack(server.netns)]);
  const app = `${server.ip}:${VERIFY_PORTS.app}`;

  const inbound = connectionsTo(serverLog, INBOUND_LISTENER, VERIFY_PORTS.app).filter((c) => c.originalDst === app);
  const inRedirected = packetsTo(serverRules, 'ISTIO_IN_REDIRECT', 'REDIRECT');
  const appPeers = peersSeen(context, VERIFY_PORTS.app);
  const natted = serverConntrack.filter((e) => e.original.dport === VERIFY_PORTS.app && e.nat && e.reply.sport === ISTIO_PORTS.inboundCapture);

  const excluded = ISTIO_PORTS.excludedInbound.map((port) => ({
    port,
    inbound: connectionsTo(serverLog, INBOUND_LISTENER, port).length,
    peers: peersSeen(context, port),
  }));
  const loopbackCaptured = clientLog.filter((c) => c.originalDst.endsWith(`:${VERIFY_PORTS.loopback}`)).length;
  const loopbackReturns = packetsMatching(clientRules, 'ISTIO_OUTPUT', '-d 127.0.0.1/32 -j RETURN') + packetsMatching(clientRules, 'ISTIO_OUTPUT', '-o lo -m owner ! --uid-owner');

  const onPath: ProxyOnPath[] = [
    { name: 'client sidecar', connections: clientLog.filter((c) => c.listener === OUTBOUND_LISTENER) },
    { name: 'server sidecar', connections: serverLog.filter((c) => c.listener === INBOUND_LISTENER) },
  ];
  return [
    outboundCaptured(context, clientLog, clientRules),
    {
      name: 'inbound-captured',
      ok: inbound.length > 0 && inRedirected > 0 && appPeers.length > 0 && appPeers.every((p) => p === ISTIO_PORTS.inboundPassthroughSource),
      detail: `server sidecar :15006 ${describeConnections(inbound)}; ISTIO_IN_REDIRECT matched ${inRedirected} packets; app saw peers ${appPeers.join(', ') || 'none'}`,
    },
    {
      name: 'inbound-nat-in-conntrack',
      ok: natted.length > 0,
      detail: natted.length ? `conntrack: ${natted[0]!.raw}` : `no NATed conntrack entry for :${VERIFY_PORTS.app} (entries: ${serverConntrack.length})`,
    },
    {
      name: 'excluded-ports-not-captured',
      ok: excluded.every((e) => e.inbound === 0 && e.peers.length > 0 && !e.peers.includes(ISTIO_PORTS.inboundPassthroughSource)),
      detail: excluded.map((e) => `:${e.port} server sidecar logged ${e.inbound}, app saw ${e.peers.join(', ') || 'nothing'}`).join('; '),
    },
    proxyUidNotCaptured(context, clientLog, clientRules),
    {
      name: 'loopback-not-captured',
      ok: context.probes.get('loopback')?.ok === true && loopbackCaptured === 0 && loopbackReturns > 0,
      detail: `127.0.0.1:${VERIFY_PORTS.loopback}: client sidecar logged ${loopbackCaptured}; loopback RETURN rules matched ${loopbackReturns} packets`,
    },
    probesEchoed(context, ['app', 'proxy-uid', 'loopback', 'outside-cgroup', ...ISTIO_PORTS.excludedInbound.map((p) => `excluded-${p}` as const)]),
    bulkBytesIntact(context, onPath),
    iperfThroughPath(context, onPath),
  ];
}
