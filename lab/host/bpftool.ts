// bpftool: loading, pinning, attaching and reading BPF objects. JSON output everywhere (-j).
import { output, run } from './exec.ts';

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

const hexBytes = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0'));

/** Writes one element of a pinned map, key and value given as raw bytes in the map's layout. */
export async function updateMapElement(pinnedMap: string, key: Uint8Array, value: Uint8Array): Promise<void> {
  await run('bpftool', ['map', 'update', 'pinned', pinnedMap, 'key', 'hex', ...hexBytes(key), 'value', 'hex', ...hexBytes(value)]);
}
