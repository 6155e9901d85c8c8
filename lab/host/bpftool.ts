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
