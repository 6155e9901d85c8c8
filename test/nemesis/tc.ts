// The tc backend's nemesis (see break.ts): another component's filter ahead of the lab's on the same
// clsact hook, a lab filter deleted, a map entry removed, the node proxy killed, a sysctl flipped in
// the node proxy's namespace. A TC_ACT_PIPE neighbour ahead must be tolerated.
import { deleteMapEntry } from '../../lab/bpf/maps.ts';
import { pinnedMap } from '../../lab/bpf/objects.ts';
import { MAP_NAMES, podKey } from '../../lab/backends/tc/maps.ts';
import { proxyOf, type TcInstallation } from '../../lab/backends/tc/tc.ts';
import type { CapturedPair } from '../../lab/verify/setup.ts';
import type { Nemesis } from './break.ts';
import { addNeighbourFilter, deleteFilterAt, FIRST_AUTO_PREF, kill, sysctlIn } from './live.ts';

const stateOf = (pair: CapturedPair) => (pair.installation as TcInstallation).state;
/** The hook app_outbound runs on for the client: its host veth's ingress, in the node's namespace. */
const clientOutboundHook = (pair: CapturedPair) => ({ netns: pair.client.node.netns, device: pair.client.hostVeth, direction: 'ingress' as const });
const serverProxy = (pair: CapturedPair) => proxyOf(stateOf(pair), pair.server);

/** What fails when no captured connection reaches a node proxy: every check of the path (each break names its own). */
const NOTHING_REACHES_THE_PROXY = [
  'plan-completed',
  'tc-filters-attached',
  'probes-echoed',
  'redirect-counters',
  'steered-connections-accepted',
  'trace-shows-redirects',
  'outbound-original-dst-logged',
  'inbound-original-dst-logged',
  'server-saw-node-proxy',
  'proxy-traffic-not-recaptured',
  'bytes-intact',
  'iperf3-through-path',
  'kernel-path',
];

export const tcNemesis: Nemesis = {
  backend: 'tc',
  breaks: [
    {
      name: "a TC_ACT_OK filter ahead of app_outbound on the client's host veth",
      async apply(pair) {
        await addNeighbourFilter(clientOutboundHook(pair), 'ok');
      },
      caughtBy: { check: 'tc-filters-not-shadowed', detail: /pref 1 .*neighbour_ok.* runs ahead of app_outbound .*traced no connection/ },
      alsoFailing: ['trace-shows-redirects', 'outbound-original-dst-logged', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: "app_outbound's filter deleted from the client's host veth",
      async apply(pair) {
        await deleteFilterAt(clientOutboundHook(pair), FIRST_AUTO_PREF);
      },
      caughtBy: { check: 'tc-filters-attached', detail: /missing: app_outbound on node-a\/\S+ ingress/ },
      alsoFailing: ['trace-shows-redirects', 'outbound-original-dst-logged', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: "the steering program's filter deleted from the node proxy's eth0",
      async apply(pair) {
        await deleteFilterAt({ netns: serverProxy(pair).pod.netns, device: 'eth0', direction: 'ingress' }, FIRST_AUTO_PREF);
      },
      caughtBy: { check: 'tc-filters-attached', detail: /missing: ztunnel_\w+ on ztunnel-\d\/eth0 ingress/ },
      alsoFailing: NOTHING_REACHES_THE_PROXY.filter((c) => c !== 'tc-filters-attached'),
    },
    {
      name: "the client's tc_pods entry removed",
      async apply(pair) {
        await deleteMapEntry(pinnedMap(stateOf(pair).object, MAP_NAMES.pods), podKey(pair.client.ip));
      },
      caughtBy: { check: 'tc-filters-attached', detail: /tc_pods has no entry for client/ },
      alsoFailing: ['trace-shows-redirects', 'outbound-original-dst-logged', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: 'the node proxy killed',
      async apply(pair) {
        kill(serverProxy(pair).pid!);
      },
      caughtBy: { check: 'redirect-counters', detail: /the proxy-side program found no proxy listener for \d+ SYNs/ },
      alsoFailing: NOTHING_REACHES_THE_PROXY.filter((c) => c !== 'redirect-counters'),
    },
    {
      name: "src_valid_mark=1 in the node proxy's namespace",
      async apply(pair) {
        await sysctlIn(serverProxy(pair).pod.netns, 'net.ipv4.conf.all.src_valid_mark', 1);
      },
      caughtBy: { check: 'steered-connections-accepted', detail: /pairs steered to a proxy listener \("tc assign"\) but logged by no node proxy: .*->\S+:8080/ },
      alsoFailing: NOTHING_REACHES_THE_PROXY.filter((c) => c !== 'steered-connections-accepted' && c !== 'trace-shows-redirects'),
    },
  ],
  tolerated: [
    {
      name: "a TC_ACT_PIPE filter ahead of app_outbound on the client's host veth",
      async apply(pair) {
        await addNeighbourFilter(clientOutboundHook(pair), 'pipe');
      },
    },
  ],
};
