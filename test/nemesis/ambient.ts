// The ambient backend's nemesis (see break.ts): an in-pod rule deleted or one inserted ahead of the
// lab's, the reply route's policy rule deleted, the socket marker detached from the node proxy's
// cgroup, the node proxy moved out of its cgroup.
import { nodeProxyOf, type AmbientInstallation } from '../../lab/backends/ambient/ambient.ts';
import { cgroupAttachments } from '../../lab/host/bpftool.ts';
import { ambientInpodConfig } from '../../lab/istio/ambient.ts';
import { VERIFY_PORTS } from '../../lab/judge/plan.ts';
import type { CapturedPair } from '../../lab/verify/setup.ts';
import type { Nemesis } from './break.ts';
import { bpftool, inNetns, iptablesIn, moveToCgroupOf } from './live.ts';

const stateOf = (pair: CapturedPair) => (pair.installation as AmbientInstallation).state;
const CONFIG = ambientInpodConfig('0.0.0.0');
/** What fails beside the named check when the node proxy's connections are recaptured until it can take no more. */
const RECAPTURE_LOOP = ['plan-completed', 'outbound-captured', 'inbound-captured', 'client-ip-preserved', 'replies-via-table-100', 'probes-echoed', 'bytes-intact', 'iperf3-through-path', 'kernel-path'];
/** What fails beside the named check when the app's replies to the node proxy are lost: every connection to the app. */
const REPLIES_LOST = ['plan-completed', 'client-ip-preserved', 'probes-echoed', 'bytes-intact', 'iperf3-through-path', 'kernel-path'];

export const ambientNemesis: Nemesis = {
  backend: 'ambient',
  breaks: [
    {
      name: "the server pod's mangle CONNMARK restore rule deleted",
      async apply(pair) {
        await iptablesIn(pair.server.netns, ['-t', 'mangle', '-D', 'ISTIO_OUTPUT', '1']);
      },
      caughtBy: { check: 'replies-via-table-100', detail: /mangle ISTIO_OUTPUT restored no connmark/ },
      alsoFailing: REPLIES_LOST,
    },
    {
      name: "the server pod's fwmark policy rule to table 100 deleted",
      async apply(pair) {
        await inNetns(pair.server.netns, 'ip', ['rule', 'del', 'pref', String(CONFIG.rulePriority)]);
      },
      caughtBy: { check: 'replies-via-table-100', detail: /no "32764: .*lookup 100" in ip rule/ },
      alsoFailing: REPLIES_LOST,
    },
    {
      name: `an ACCEPT for :${VERIFY_PORTS.app} inserted ahead in the server pod's nat ISTIO_PRERT`,
      async apply(pair) {
        await iptablesIn(pair.server.netns, ['-t', 'nat', '-I', 'ISTIO_PRERT', '1', '-p', 'tcp', '--dport', String(VERIFY_PORTS.app), '-j', 'ACCEPT']);
      },
      caughtBy: { check: 'inbound-captured', detail: /server\.inbound, .* no connection logged/ },
      // The app's connection never met the node proxy, so conntrack holds it without connmark 0x111.
      alsoFailing: ['replies-via-table-100'],
    },
    {
      name: "the client pod's nat REDIRECT to 15001 deleted",
      async apply(pair) {
        await iptablesIn(pair.client.netns, ['-t', 'nat', '-D', 'ISTIO_OUTPUT', '! -d 127.0.0.1/32 -p tcp -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports 15001'.split(' ')].flat());
      },
      caughtBy: { check: 'outbound-captured', detail: /client\.outbound, .* no connection logged; .*REDIRECT to 15001 matched 0 packets/ },
      alsoFailing: ['proxy-traffic-not-recaptured', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: "the socket marker detached from the node proxy's cgroup",
      async apply(pair) {
        const cgroup = nodeProxyOf(stateOf(pair), pair.client).pod.cgroupDir;
        const marker = (await cgroupAttachments(cgroup)).find((a) => a.attach_type.endsWith('sock_create'));
        if (!marker) throw new Error(`no sock_create program on ${cgroup}`);
        await bpftool(['cgroup', 'detach', cgroup, 'sock_create', 'id', String(marker.id)]);
      },
      caughtBy: { check: 'proxy-traffic-not-recaptured', detail: /client REDIRECT to 15001 counted \d+ connections over the plan, but the node proxy carried \d+ on client\.outbound \(connections redirected that never completed: a recapture loop\)/ },
      alsoFailing: RECAPTURE_LOOP,
    },
    {
      name: "the node proxy moved out of its cgroup into a bystander pod's",
      async apply(pair) {
        const proxy = nodeProxyOf(stateOf(pair), pair.client);
        await moveToCgroupOf(pair.bystanders!.nearClient, proxy.pid!);
      },
      caughtBy: { check: 'proxy-traffic-not-recaptured', detail: /client REDIRECT to 15001 counted \d+ connections over the plan, but the node proxy carried \d+ on client\.outbound \(connections redirected that never completed: a recapture loop\)/ },
      alsoFailing: RECAPTURE_LOOP,
    },
  ],
};
