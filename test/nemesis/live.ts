// What the eBPF nemesis tables (sockmap.ts, tc.ts, ambient.ts) do to a live setup, with ordinary
// tools (tc, iptables, ip, sysctl, bpftool, kill, cgroup.procs writes), always in the lab's own
// namespaces, cgroups and bpffs pins.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { builtObject } from '../../lab/bpf/objects.ts';
import { createCgroup } from '../../lab/host/cgroup.ts';
import { run } from '../../lab/host/exec.ts';
import { commandIn } from '../../lab/host/namespaces.ts';
import type { TcDirection } from '../../lab/host/tc.ts';
import type { Lab, Pod } from '../../lab/topology/lab.ts';

/** Runs a command in a lab namespace only (nsenter --net: /sys, bpffs and the cgroup mount stay visible). */
export async function inNetns(netns: string, file: string, args: readonly string[]): Promise<void> {
  const [command, argv] = commandIn({ netns }, file, args);
  await run(command, argv);
}

/** The object holding the neighbour programs (bpf/nemesis/tc_neighbour.bpf.c), built like every bpf/ object. */
export const NEIGHBOUR_OBJECT = 'tc_neighbour';
export type NeighbourVerdict = 'ok' | 'pipe';

/**
 * Another component's direct-action filter at `pref` on a clsact hook: a lower pref than the lab's
 * filters (tc gives an unnumbered filter 49152), so it runs first. Its program returns TC_ACT_OK or
 * TC_ACT_PIPE (bpf/nemesis/tc_neighbour.bpf.c).
 */
export async function addNeighbourFilter(at: { netns: string; device: string; direction: TcDirection }, verdict: NeighbourVerdict, pref = 1): Promise<void> {
  const object = await builtObject(NEIGHBOUR_OBJECT);
  await inNetns(at.netns, 'tc', ['filter', 'add', 'dev', at.device, at.direction, 'pref', String(pref), 'bpf', 'direct-action', 'object-file', object, 'section', `tc/${verdict}`]);
}

/** Deletes the filters of a hook at one pref (tc numbers the lab's unnumbered filters from 49152). */
export async function deleteFilterAt(at: { netns: string; device: string; direction: TcDirection }, pref: number): Promise<void> {
  await inNetns(at.netns, 'tc', ['filter', 'del', 'dev', at.device, at.direction, 'pref', String(pref)]);
}

/** The pref tc gave the first filter added to a hook without one. */
export const FIRST_AUTO_PREF = 49152;

export async function sysctlIn(netns: string, name: string, value: string | number): Promise<void> {
  await inNetns(netns, 'sysctl', ['-qw', `${name}=${value}`]);
}

export async function iptablesIn(netns: string, args: readonly string[]): Promise<void> {
  await inNetns(netns, 'iptables', ['-w', ...args]);
}

/**
 * Moves a process into a new cgroup beside the pods, under the run's cgroup (so teardown removes it,
 * and kills what is in it): out of its pod's group, though still in the lab's tree.
 */
export async function moveToStrayCgroup(lab: Lab, pid: number, name = 'nemesis-stray'): Promise<string> {
  const dir = join(lab.cgroupParent, name);
  lab.record({ kind: 'cgroup', dir });
  await createCgroup(dir);
  await writeFile(join(dir, 'cgroup.procs'), String(pid));
  return dir;
}

/** Moves a process into another pod's cgroup (a pod the backend does not capture). */
export async function moveToCgroupOf(pod: Pod, pid: number): Promise<void> {
  await writeFile(join(pod.cgroupDir, 'cgroup.procs'), String(pid));
}

/** SIGKILLs a process the run started (the ledger still stops what is left of it at teardown). */
export function kill(pid: number): void {
  process.kill(pid, 'SIGKILL');
}

/** bpftool, failing loudly (the lab's own detach helpers tolerate "already detached"). */
export async function bpftool(args: readonly string[]): Promise<void> {
  await run('bpftool', args);
}
