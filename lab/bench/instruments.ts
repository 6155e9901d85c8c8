// What the bench reads around each slice besides the traffic itself: the CPU each part of a setup
// used (its pods' cgroups, its proxies' threads, the kernel's softirq threads) and the machine's own
// state (steal, load, pressure, context switches). Readings are synchronous file reads, a few
// milliseconds at most, taken at the exact start and end of the measurement window.
import { processesInTree, readCgroupCpuSync } from '../host/cgroup.ts';
import { allowedCpus, pinProcess } from '../host/pinning.ts';
import { busyUs, processName, sampleMachine, softirqThreads, taskTimes, type MachineSample } from '../host/procstat.ts';
import type { PinMode, SliceCpu } from '../report/results.ts';
import type { SliceNoise } from '../report/stall.ts';
import type { CapturedPair } from '../verify/setup.ts';

/** The processes of one live setup, found once it is built (they live as long as it does). */
export interface SetupProcesses {
  /** Sidecars and node proxies (HAProxy): their threads' CPU is the proxy share. */
  proxies: number[];
  /** Every long-lived process in the setup's cgroups (apps, agents, servers, proxies). */
  all: number[];
}

const PROXY_COMMANDS = new Set(['haproxy']);

export async function findProcesses(pair: CapturedPair): Promise<SetupProcesses> {
  const all = await processesInTree(pair.lab.cgroupParent);
  return { all, proxies: all.filter((pid) => PROXY_COMMANDS.has(processName(pid) ?? '')) };
}

export interface Pinning {
  mode: PinMode;
  clientCpus: number[];
  serverCpus: number[];
  /** Where the bench's own process (and the commands it runs between slices) keeps while it measures. */
  benchCpus?: number[];
}

/**
 * `pods` and `apps`: client pod on the first CPU, server pod on the last. `one-cpu`: the whole setup
 * (both pods, their proxies, node proxies, every slice client) on the first CPU, and the bench itself
 * on the others, so that no message of the measured path needs a wake-up on another CPU.
 */
export function pinningFor(mode: PinMode, cpus: number): Pinning {
  if (mode === 'off') return { mode, clientCpus: [], serverCpus: [] };
  if (mode === 'one-cpu') return { mode, clientCpus: [0], serverCpus: [0], ...(cpus > 1 ? { benchCpus: Array.from({ length: cpus - 1 }, (_, i) => i + 1) } : {}) };
  return { mode, clientCpus: [0], serverCpus: [Math.max(0, cpus - 1)] };
}

/**
 * Keeps the bench's own process on `benchCpus` while `body` runs, then gives it back the CPUs it had.
 * Commands it starts inherit the mask, so the counter reads between slices stay off the measured CPU.
 */
export async function withBenchPinned<T>(pinning: Pinning, body: () => Promise<T>): Promise<T> {
  if (!pinning.benchCpus) return body();
  const before = allowedCpus(process.pid);
  await pinProcess(process.pid, pinning.benchCpus);
  try {
    return await body();
  } finally {
    await pinProcess(process.pid, before);
  }
}

/** CPUs a process started for a slice gets (taskset), or undefined when unpinned. */
export const clientCpusOf = (pinning: Pinning) => (pinning.mode === 'off' ? undefined : pinning.clientCpus);
export const serverCpusOf = (pinning: Pinning) => (pinning.mode === 'off' ? undefined : pinning.serverCpus);

/**
 * Pins the long-lived processes of the client and server pods: `pods` pins all of them, `apps`
 * leaves the proxies to the scheduler; other pods (bystanders, node-proxy pods) stay unpinned.
 * `one-cpu` pins every process of the setup's cgroups, node proxies included.
 */
export async function pinSetup(pair: CapturedPair, pinning: Pinning): Promise<void> {
  if (pinning.mode === 'off') return;
  if (pinning.mode === 'one-cpu') {
    for (const pid of await processesInTree(pair.lab.cgroupParent)) await pinProcess(pid, pinning.clientCpus);
    return;
  }
  for (const [pod, cpus] of [
    [pair.client, pinning.clientCpus],
    [pair.server, pinning.serverCpus],
  ] as const) {
    for (const pid of await processesInTree(pod.cgroupDir)) {
      if (pinning.mode === 'apps' && PROXY_COMMANDS.has(processName(pid) ?? '')) continue;
      await pinProcess(pid, cpus);
    }
  }
}

export interface Snapshot {
  machine: MachineSample;
  /** The setup's cgroups, all pods (µs). */
  setupUs: number;
  proxyNs: number;
  softirqThreadsNs: number;
  involuntarySwitches: number;
}

let softirqPids: number[] | undefined;

export function snapshot(pair: CapturedPair, processes: SetupProcesses): Snapshot {
  softirqPids ??= softirqThreads();
  const machine = sampleMachine();
  const setupUs = readCgroupCpuSync(pair.lab.cgroupParent).usageUsec;
  let proxyNs = 0;
  for (const pid of processes.proxies) proxyNs += taskTimes(pid).runtimeNs;
  let involuntarySwitches = 0;
  for (const pid of processes.all) involuntarySwitches += taskTimes(pid).involuntarySwitches;
  let softirqThreadsNs = 0;
  for (const pid of softirqPids) softirqThreadsNs += taskTimes(pid).runtimeNs;
  return { machine, setupUs, proxyNs, softirqThreadsNs, involuntarySwitches };
}

/** CPU shares and machine noise between two snapshots of one setup. */
export function between(a: Snapshot, b: Snapshot, options: { plannedMs: number; cpus: number; disturbed: boolean }): { cpu: SliceCpu; noise: SliceNoise } {
  const setupUs = Math.max(0, b.setupUs - a.setupUs);
  const proxyUs = Math.max(0, (b.proxyNs - a.proxyNs) / 1000);
  const softirqThreadsUs = Math.max(0, (b.softirqThreadsNs - a.softirqThreadsNs) / 1000);
  const pressure = a.machine.cpuPressureUs !== null && b.machine.cpuPressureUs !== null ? b.machine.cpuPressureUs - a.machine.cpuPressureUs : null;
  return {
    cpu: {
      appUs: Math.max(0, setupUs - proxyUs),
      proxyUs,
      softirqThreadsUs,
      machineSoftirqUs: b.machine.cpu.softirq - a.machine.cpu.softirq,
      machineSystemUs: b.machine.cpu.system - a.machine.cpu.system,
    },
    noise: {
      windowMs: b.machine.atMs - a.machine.atMs,
      plannedMs: options.plannedMs,
      cpus: options.cpus,
      stealUs: b.machine.cpu.steal - a.machine.cpu.steal,
      machineBusyUs: busyUs(b.machine.cpu) - busyUs(a.machine.cpu),
      setupUs,
      softirqThreadsUs,
      cpuPressureUs: pressure,
      involuntarySwitches: Math.max(0, b.involuntarySwitches - a.involuntarySwitches),
      contextSwitches: b.machine.contextSwitches - a.machine.contextSwitches,
      loadAverage1: b.machine.loadAverage1,
      disturbed: options.disturbed,
    },
  };
}
