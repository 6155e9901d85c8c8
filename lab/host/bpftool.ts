// bpftool: loading, pinning, attaching and reading BPF objects. The only module that runs bpftool;
// JSON output everywhere (-j). Typed access on top of these commands lives in lab/bpf/.
import { output, run } from './exec.ts';

/** Where bpffs is mounted (scripts/setup.sh mounts it); every run pins under its own directory here. */
export const BPFFS_ROOT = '/sys/fs/bpf';

export async function bpftoolJson<T>(args: readonly string[]): Promise<T> {
  return JSON.parse(await output('bpftool', ['-j', ...args])) as T;
}

/** Detaches a pinned program from a cgroup; tolerant of "already detached" (cgroup gone). */
export async function detachCgroupProgram(cgroupDir: string, attachType: string, pinnedProgram: string): Promise<void> {
  await run('bpftool', ['cgroup', 'detach', cgroupDir, attachType, 'pinned', pinnedProgram], { allowFailure: true });
}

export interface CgroupAttachment {
  id: number;
  attach_type: string;
  name?: string;
}

/** Programs attached to one cgroup (not its descendants). */
export async function cgroupAttachments(cgroupDir: string): Promise<CgroupAttachment[]> {
  return bpftoolJson<CgroupAttachment[]>(['cgroup', 'show', cgroupDir]);
}

/** Attaches a pinned program to a cgroup (attach types by libbpf name: cgroup_inet4_connect, cgroup_sock_ops...). */
export async function attachCgroupProgram(cgroupDir: string, attachType: string, pinnedProgram: string): Promise<void> {
  await run('bpftool', ['cgroup', 'attach', cgroupDir, attachType, 'pinned', pinnedProgram]);
}

/** Attaches a pinned program to a pinned map (sk_msg_verdict on a SOCKHASH/SOCKMAP). */
export async function attachMapProgram(pinnedProgram: string, attachType: string, pinnedMap: string): Promise<void> {
  await run('bpftool', ['prog', 'attach', 'pinned', pinnedProgram, attachType, 'pinned', pinnedMap]);
}

/** Detaches a program from a map; tolerant of "not attached" (the map may already be gone). */
export async function detachMapProgram(pinnedProgram: string, attachType: string, pinnedMap: string): Promise<void> {
  await run('bpftool', ['prog', 'detach', 'pinned', pinnedProgram, attachType, 'pinned', pinnedMap], { allowFailure: true });
}

/** bpftool's `hex` byte list for a key or value argument. */
export const hexArgs = (bytes: Uint8Array): string[] => ['hex', ...[...bytes].map((b) => b.toString(16).padStart(2, '0'))];

/**
 * Writes one element of a pinned map, key and value as raw bytes in the map's layout (lab/bpf/maps.ts
 * encodes them from the map's BTF). For a per-CPU map, bpftool gives every CPU this one value.
 */
export async function updateMapElement(pinnedMap: string, key: Uint8Array, value: Uint8Array): Promise<void> {
  await run('bpftool', ['map', 'update', 'pinned', pinnedMap, 'key', ...hexArgs(key), 'value', ...hexArgs(value)]);
}

/** Deletes one element; tolerant of "no such element" (deleting twice is not an error). */
export async function deleteMapElement(pinnedMap: string, key: Uint8Array): Promise<void> {
  await run('bpftool', ['map', 'delete', 'pinned', pinnedMap, 'key', ...hexArgs(key)], { allowFailure: true });
}

/** One element of `bpftool -j map dump`: raw bytes as "0x.." strings, and bpftool's own decoding when the map has BTF. */
export interface BpftoolMapEntry {
  key: string[];
  value?: string[];
  values?: Array<{ cpu: number; value: string[] }>;
  formatted?: { key: unknown; value?: unknown; values?: Array<{ cpu: number; value: unknown }> };
}

export async function dumpMap(pinnedMap: string): Promise<BpftoolMapEntry[]> {
  return bpftoolJson<BpftoolMapEntry[]>(['map', 'dump', 'pinned', pinnedMap]);
}

/** `bpftool -j map show`: the fields the lab reads. */
export interface BpftoolMapInfo {
  id: number;
  type: string;
  name: string;
  bytes_key: number;
  bytes_value: number;
  max_entries: number;
  /** The id of the BTF object describing key and value; absent when the map was created without BTF. */
  btf_id?: number;
}

export async function mapInfo(pinnedMap: string): Promise<BpftoolMapInfo> {
  return bpftoolJson<BpftoolMapInfo>(['map', 'show', 'pinned', pinnedMap]);
}

/** A BTF type as `bpftool -j btf dump` prints it (kinds and fields as in bpftool's btf.c). */
export interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  type_id?: number;
  bits_offset?: number;
  nr_bits?: number;
  encoding?: string;
  nr_elems?: number;
  members?: Array<{ name: string; type_id: number; bits_offset: number; bitfield_size?: number }>;
  values?: Array<{ name: string; val: number }>;
}

/** Every type of one loaded BTF object. */
export async function btfTypes(btfId: number): Promise<BtfType[]> {
  return (await bpftoolJson<{ types: BtfType[] }>(['btf', 'dump', 'id', String(btfId)])).types;
}

/** The root type of a map's key or value, as its BTF names it. */
export async function mapBtfRoot(pinnedMap: string, part: 'key' | 'value'): Promise<BtfType> {
  const [root] = (await bpftoolJson<{ types: BtfType[] }>(['btf', 'dump', 'map', 'pinned', pinnedMap, part])).types;
  if (!root) throw new Error(`bpftool found no BTF ${part} type for ${pinnedMap}`);
  return root;
}

/** `bpftool -j prog show`: the fields the lab reads. run_cnt/run_time_ns appear while statistics are on. */
export interface BpftoolProgInfo {
  id: number;
  name?: string;
  type: string;
  run_cnt?: number;
  run_time_ns?: number;
}

export async function programInfo(pinnedProgram: string): Promise<BpftoolProgInfo> {
  return bpftoolJson<BpftoolProgInfo>(['prog', 'show', 'pinned', pinnedProgram]);
}
