// The sockmap datapath of one run: bpf/sockmap/sockmap.bpf.c loaded and pinned, its config and pod
// maps filled, its programs attached (cgroup hooks on the lab's cgroup parent, never the root
// cgroup; sk_msg on the SOCKHASH), and readers for what it counted and holds.
import { statSync } from 'node:fs';
import { readCounters, updateMap, type MapEntry } from '../../bpf/maps.ts';
import { loadObject, pinnedMap as pinnedMapOf, pinnedProgram as pinnedProgramOf, type LoadedObject } from '../../bpf/objects.ts';
import { pinnedProgramStats, type ProgramStats } from '../../bpf/programs.ts';
import { enableBpfStats } from '../../bpf/stats.ts';
import { runTag } from '../../evidence/trace-pipe.ts';
import { attachCgroupProgram, attachMapProgram, detachCgroupProgram, detachMapProgram, dumpMap } from '../../host/bpftool.ts';
import { ISTIO_PORTS } from '../../istio/ports.ts';
import type { Lab, Pod } from '../../topology/lab.ts';
import { SOCKMAP_COUNTERS, type SockmapCounters } from './counters.ts';
import { configValue, decodeSockKey, podIpKey, podValue, type SockKey, type SockmapMode } from './layout.ts';

export const OBJECT_NAME = 'sockmap';

/** The cgroup hooks, by the program (function) name in sockmap.bpf.c. */
export const CGROUP_HOOKS = {
  connect4: { program: 'sockmap_connect4', attachType: 'cgroup_inet4_connect' },
  connect6: { program: 'sockmap_connect6', attachType: 'cgroup_inet6_connect' },
  sockops: { program: 'sockmap_sockops', attachType: 'cgroup_sock_ops' },
  getsockopt: { program: 'sockmap_getsockopt', attachType: 'cgroup_getsockopt' },
} as const;
export type CgroupHook = keyof typeof CGROUP_HOOKS;

export const SK_MSG_PROGRAM = 'sockmap_redirect';
export const SOCKHASH_MAP = 'sock_pairs';

export interface DatapathOptions {
  mode: SockmapMode;
  /** Pods whose processes the programs act for (their cgroups) and that count as capture targets. */
  pods: readonly Pod[];
  /** Which cgroup hooks to attach; sk_msg is always attached to the SOCKHASH. */
  hooks: readonly CgroupHook[];
}

export interface SockmapDatapath {
  readonly object: LoadedObject;
  readonly tag: string;
  /** Absolute pinned path of a map or program of the object. */
  pinnedMap(name: string): string;
  pinnedProgram(name: string): string;
  counters(): Promise<SockmapCounters>;
  /** What the SOCKHASH holds right now (sockets leave it when they close). */
  sockhash(): Promise<SockKey[]>;
  /** Run counts of the attached programs (statistics are on for the run: see enableBpfStats). */
  programStats(): Promise<ProgramStats[]>;
  /** Detaches every program (teardown does the same from the ledger). */
  detach(): Promise<void>;
}

const bytesOf = (hex: readonly string[]) => Uint8Array.from(hex.map((h) => Number.parseInt(h, 16)));

/**
 * A SOCKHASH's entries as raw bytes (keys: struct lab_sock_key, see decodeSockKey; values: socket
 * cookies). The SOCKHASH is created without BTF (`bpftool map show` lists no btf_id for it, while
 * pair_origin, with the same key type, has one), so lab/bpf's readMap, which reads bpftool's BTF
 * view, cannot read it: give this to a MapSampler as its `read`.
 */
export async function readSockhash(pinned: string): Promise<Array<MapEntry<Uint8Array, Uint8Array>>> {
  return (await dumpMap(pinned)).map((e) => ({ key: bytesOf(e.key), value: bytesOf(e.value ?? []) }));
}

/** The config map is an array of one. */
const CONFIG_KEY = 0;

/** The cgroup v2 id that bpf_get_current_cgroup_id() returns: the inode number of the directory. */
export const cgroupId = (dir: string): bigint => statSync(dir, { bigint: true }).ino;

export async function installDatapath(lab: Lab, options: DatapathOptions): Promise<SockmapDatapath> {
  await enableBpfStats(lab);
  const object = await loadObject(lab, OBJECT_NAME);
  const pinnedMap = (name: string) => pinnedMapOf(object, name);
  const pinnedProgram = (name: string) => pinnedProgramOf(object, name);
  const tag = runTag(lab.runId);

  // Maps first: the programs do nothing until the config holds a tag, so attaching before filling
  // would only risk half-configured decisions.
  const nodes = [...lab.nodes.values()];
  for (const pod of options.pods) {
    const value = podValue(pod.ip, nodes.indexOf(pod.node) + 1);
    await updateMap(pinnedMap('pods_by_cgroup'), cgroupId(pod.cgroupDir), value);
    await updateMap(pinnedMap('pods_by_ip'), podIpKey(pod.ip), value);
  }
  const config = configValue({
    tag,
    mode: options.mode,
    proxyUid: ISTIO_PORTS.proxyUid,
    outboundPort: ISTIO_PORTS.outboundCapture,
    inboundPort: ISTIO_PORTS.inboundCapture,
    hbonePort: ISTIO_PORTS.hbone,
    excludedInbound: ISTIO_PORTS.excludedInbound,
  });
  await updateMap(pinnedMap('config'), CONFIG_KEY, config);

  // sk_msg before sockops: a socket gets the map's programs when it is inserted.
  await attachMapProgram(pinnedProgram(SK_MSG_PROGRAM), 'sk_msg_verdict', pinnedMap(SOCKHASH_MAP));
  const attached: CgroupHook[] = [];
  for (const hook of options.hooks) {
    const { program, attachType } = CGROUP_HOOKS[hook];
    lab.record({ kind: 'cgroup-bpf', cgroupDir: lab.cgroupParent, attachType, program: pinnedProgram(program) });
    await attachCgroupProgram(lab.cgroupParent, attachType, pinnedProgram(program));
    attached.push(hook);
  }

  return {
    object,
    tag,
    pinnedMap,
    pinnedProgram,
    async counters() {
      return readCounters(pinnedMap('counters'), SOCKMAP_COUNTERS);
    },
    async sockhash() {
      return (await readSockhash(pinnedMap(SOCKHASH_MAP))).map((e) => decodeSockKey(e.key));
    },
    async programStats() {
      const names = [SK_MSG_PROGRAM, ...attached.map((hook) => CGROUP_HOOKS[hook].program)];
      return Promise.all(names.map((name) => pinnedProgramStats(pinnedProgram(name))));
    },
    async detach() {
      for (const hook of attached.splice(0).reverse()) {
        const { program, attachType } = CGROUP_HOOKS[hook];
        await detachCgroupProgram(lab.cgroupParent, attachType, pinnedProgram(program));
      }
      await detachMapProgram(pinnedProgram(SK_MSG_PROGRAM), 'sk_msg_verdict', pinnedMap(SOCKHASH_MAP));
    },
  };
}
