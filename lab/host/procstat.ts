// The machine's own counters, read around each measured slice of the bench: CPU time by state and
// context switches (/proc/stat), CPU pressure (/proc/pressure/cpu), the load average, and the exact
// run time of given processes (schedstat, in nanoseconds, where /proc/stat only has 10 ms ticks).
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** /proc/stat counts in USER_HZ ticks, which Linux fixes at 100 per second for user space. */
const USER_HZ = 100;
const TICK_US = 1e6 / USER_HZ;

/** Machine-wide CPU time by state, in microseconds (tick-sampled: ±10 ms per CPU per reading). */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  /** Time the hypervisor ran something else while this VM's CPU wanted to run. */
  steal: number;
}

export interface MachineSample {
  /** performance.now() when read, in milliseconds. */
  atMs: number;
  cpu: CpuTimes;
  /** Context switches since boot, all CPUs. */
  contextSwitches: number;
  /** Microseconds in which at least one runnable task waited for a CPU (PSI "some"); null without PSI. */
  cpuPressureUs: number | null;
  loadAverage1: number;
}

const CPU_FIELDS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

/** Parses the aggregate "cpu" line and "ctxt" of /proc/stat. */
export function parseProcStat(text: string): { cpu: CpuTimes; contextSwitches: number } {
  const cpuLine = text.split('\n').find((line) => line.startsWith('cpu '));
  if (!cpuLine) throw new Error('/proc/stat has no aggregate cpu line');
  const values = cpuLine.trim().split(/\s+/).slice(1).map(Number);
  const cpu = Object.fromEntries(CPU_FIELDS.map((field, i) => [field, (values[i] ?? 0) * TICK_US])) as unknown as CpuTimes;
  const ctxt = /^ctxt (\d+)$/m.exec(text);
  return { cpu, contextSwitches: ctxt ? Number(ctxt[1]) : 0 };
}

/** Parses the "some" total (µs) of a PSI file such as /proc/pressure/cpu. */
export function parsePressureTotal(text: string): number | null {
  const match = /^some .*total=(\d+)/m.exec(text);
  return match ? Number(match[1]) : null;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

export function sampleMachine(): MachineSample {
  const { cpu, contextSwitches } = parseProcStat(readFileSync('/proc/stat', 'utf8'));
  return {
    atMs: performance.now(),
    cpu,
    contextSwitches,
    cpuPressureUs: parsePressureTotal(readOr('/proc/pressure/cpu', '')),
    loadAverage1: Number(readOr('/proc/loadavg', '0').split(' ')[0]),
  };
}

export function cpuCount(): number {
  return cpus().length;
}

/** Busy time of a CpuTimes reading: everything except idle, iowait and steal. */
export function busyUs(cpu: CpuTimes): number {
  return cpu.user + cpu.nice + cpu.system + cpu.irq + cpu.softirq;
}

export interface TaskTimes {
  /** Nanoseconds on a CPU, summed over every thread (schedstat's first field). */
  runtimeNs: number;
  /** Times a thread was preempted (summed nonvoluntary_ctxt_switches). */
  involuntarySwitches: number;
}

/** Parses one thread's /proc/PID/task/TID/status for its involuntary switches. */
export function parseInvoluntarySwitches(status: string): number {
  const match = /^nonvoluntary_ctxt_switches:\s*(\d+)/m.exec(status);
  return match ? Number(match[1]) : 0;
}

/** Run time and preemptions of one process, all threads; zeros for a process that is gone. */
export function taskTimes(pid: number): TaskTimes {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return { runtimeNs: 0, involuntarySwitches: 0 };
  }
  let runtimeNs = 0;
  let involuntarySwitches = 0;
  for (const tid of tids) {
    runtimeNs += Number(readOr(`/proc/${pid}/task/${tid}/schedstat`, '0').split(' ')[0]) || 0;
    involuntarySwitches += parseInvoluntarySwitches(readOr(`/proc/${pid}/task/${tid}/status`, ''));
  }
  return { runtimeNs, involuntarySwitches };
}

/** The command name of a process ("haproxy"), or undefined when it is gone. */
export function processName(pid: number): string | undefined {
  const name = readOr(`/proc/${pid}/comm`, '').trim();
  return name === '' ? undefined : name;
}

/** PIDs of the kernel's per-CPU softirq threads (ksoftirqd/N): softirq work deferred out of tasks runs there. */
export function softirqThreads(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (/^ksoftirqd\/\d+$/.test(processName(Number(entry)) ?? '')) pids.push(Number(entry));
  }
  return pids;
}
