// CPU pinning with taskset (util-linux): the bench pins its load generator and the servers so that
// each slice runs with the same placement of processes on CPUs; otherwise the scheduler's choice
// (same CPU or not, which decides whether a message costs a cross-CPU wake-up) changes from one
// slice to the next.
import { readFileSync } from 'node:fs';
import { run } from './exec.ts';

/** "0" or "0,1,3" for taskset -c. */
export function cpuList(cpus: readonly number[]): string {
  if (cpus.length === 0 || cpus.some((c) => !Number.isInteger(c) || c < 0)) throw new Error(`not a CPU list: ${cpus.join(',')}`);
  return [...cpus].sort((a, b) => a - b).join(',');
}

/** A command wrapped so that it (and whatever it execs) runs only on `cpus`. */
export function pinnedCommand(cpus: readonly number[] | undefined, file: string, args: readonly string[]): [string, string[]] {
  if (!cpus) return [file, [...args]];
  return ['taskset', ['-c', cpuList(cpus), file, ...args]];
}

/** Pins every thread of a running process; false when it is already gone. */
export async function pinProcess(pid: number, cpus: readonly number[]): Promise<boolean> {
  const result = await run('taskset', ['-a', '-p', '-c', cpuList(cpus), String(pid)], { allowFailure: true, timeoutMs: 5000 });
  return result.exitCode === 0;
}

/** A kernel CPU list ("0-1,3", as in Cpus_allowed_list) as CPU numbers ([0, 1, 3]). */
export function parseCpuList(list: string): number[] {
  return list.split(',').flatMap((part) => {
    const [from, to = from] = part.split('-').map(Number) as [number, number?];
    if (!Number.isInteger(from) || !Number.isInteger(to) || to < from) throw new Error(`not a CPU list: ${list}`);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

/** The CPUs a process may run on now, from /proc/<pid>/status. */
export function allowedCpus(pid: number): number[] {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (!list) throw new Error(`no Cpus_allowed_list for process ${pid}`);
  return parseCpuList(list);
}
