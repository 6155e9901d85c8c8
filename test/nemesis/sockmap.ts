// The sockmap backend's nemesis (see break.ts): its programs detached from the run's cgroup or its
// SOCKHASH, a pod's map entry removed, a process moved out of its pod's cgroup, a sidecar killed.
import { deleteMapEntry } from '../../lab/bpf/maps.ts';
import { CGROUP_HOOKS, cgroupId, SK_MSG_PROGRAM, SOCKHASH_MAP } from '../../lab/backends/sockmap/datapath.ts';
import type { SockmapInstallation } from '../../lab/backends/sockmap/sockmap.ts';
import type { CapturedPair } from '../../lab/verify/setup.ts';
import type { Nemesis } from './break.ts';
import { bpftool, kill, moveToStrayCgroup } from './live.ts';

const datapathOf = (pair: CapturedPair) => (pair.installation as SockmapInstallation).datapath;

/** Detaches one of the backend's cgroup programs from the run's cgroup (where install attached it). */
async function detachHook(pair: CapturedPair, hook: keyof typeof CGROUP_HOOKS): Promise<void> {
  const { program, attachType } = CGROUP_HOOKS[hook];
  await bpftool(['cgroup', 'detach', pair.lab.cgroupParent, attachType, 'pinned', datapathOf(pair).pinnedProgram(program)]);
}

/** What fails beside the named check when the client's connections are not captured at all: every check of its path. */
const UNCAPTURED_CLIENT = [
  'outbound-captured',
  'inbound-captured',
  'original-dst-from-getsockopt',
  'sockhash-held-sockets',
  'sk-msg-redirected',
  'established-events-traced',
  'proxy-uid-not-captured-outbound',
  'loopback-not-rewritten',
  'hbone-not-rewritten',
  'ipv4-mapped-ipv6-captured',
  'excluded-ports-not-captured',
  'bytes-intact',
  'iperf3-through-path',
  'kernel-path',
];

export const sockmapNemesis: Nemesis = {
  backend: 'sockmap',
  breaks: [
    {
      name: 'sk_msg program detached from the SOCKHASH',
      async apply(pair) {
        const datapath = datapathOf(pair);
        await bpftool(['prog', 'detach', 'pinned', datapath.pinnedProgram(SK_MSG_PROGRAM), 'sk_msg_verdict', 'pinned', datapath.pinnedMap(SOCKHASH_MAP)]);
      },
      caughtBy: { check: 'sk-msg-redirected', detail: /redirected 0 messages \/ 0 B/ },
      alsoFailing: ['kernel-path'],
    },
    {
      name: "connect4 detached from the run's cgroup",
      async apply(pair) {
        await detachHook(pair, 'connect4');
      },
      caughtBy: { check: 'outbound-captured', detail: /sidecar: no connect traced; the app probe from \S+: client sidecar :15001 no connection logged/ },
      // connect6 still captures the IPv4-mapped probe; everything the client dials over IPv4 goes around the sidecars.
      alsoFailing: UNCAPTURED_CLIENT.filter((c) => c !== 'outbound-captured' && c !== 'ipv4-mapped-ipv6-captured').concat('no-silent-bypass'),
    },
    {
      name: "connect6 detached from the run's cgroup",
      async apply(pair) {
        await detachHook(pair, 'connect6');
      },
      caughtBy: { check: 'ipv4-mapped-ipv6-captured', detail: /client sidecar logged 0 connection\(s\) from it .*during the probe rewriteOutbound\+0/ },
      alsoFailing: ['no-silent-bypass'],
    },
    {
      name: "the client pod's pods_by_cgroup entry removed",
      async apply(pair) {
        await deleteMapEntry(datapathOf(pair).pinnedMap('pods_by_cgroup'), cgroupId(pair.client.cgroupDir));
      },
      caughtBy: { check: 'no-silent-bypass', detail: /bypass counters moved: .*connectNotAPod=[1-9].* the app accepted \d+ connection\(s\) on :8080 that did not come from its sidecar/ },
      alsoFailing: UNCAPTURED_CLIENT,
    },
    {
      name: "the client app's process moved out of its pod cgroup",
      async apply(pair) {
        await moveToStrayCgroup(pair.lab, pair.clientAgent.pid);
      },
      caughtBy: { check: 'no-silent-bypass', detail: /bypass counters moved: .*connectNotAPod=[1-9].* the app accepted \d+ connection\(s\) on :8080 that did not come from its sidecar/ },
      alsoFailing: UNCAPTURED_CLIENT,
    },
    {
      name: "the server pod's sidecar killed",
      async apply(pair) {
        kill((pair.installation as SockmapInstallation).sidecars.get(pair.server.name)!.pid);
      },
      caughtBy: { check: 'inbound-captured', detail: /server sidecar :15006 no connection logged/ },
      alsoFailing: ['plan-completed', 'original-dst-from-getsockopt', 'sockhash-held-sockets', 'sk-msg-redirected', 'established-events-traced', 'proxy-uid-not-captured-outbound', 'ipv4-mapped-ipv6-captured', 'no-silent-bypass', 'probes-echoed', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
  ],
};
