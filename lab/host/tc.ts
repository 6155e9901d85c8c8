// tc: clsact qdiscs and direct-action BPF filters inside lab namespaces.
import { run } from './exec.ts';
import { commandIn } from './namespaces.ts';

export async function deleteFilters(netns: string, device: string, direction: 'ingress' | 'egress'): Promise<void> {
  await run('tc', ['-n', netns, 'filter', 'del', 'dev', device, direction], { allowFailure: true });
}

export type TcDirection = 'ingress' | 'egress';

/** Adds a clsact qdisc (the hook for ingress and egress filters); `replace` makes it idempotent. */
export async function addClsact(netns: string, device: string): Promise<void> {
  await run('tc', ['-n', netns, 'qdisc', 'replace', 'dev', device, 'clsact']);
}

/** Removes a device's clsact qdisc, and every filter on it with it; tolerant of "already gone". */
export async function deleteClsact(netns: string, device: string): Promise<void> {
  await run('tc', ['-n', netns, 'qdisc', 'del', 'dev', device, 'clsact'], { allowFailure: true });
}

/**
 * Attaches a pinned BPF program as a direct-action filter (`bpftool net attach` handles XDP only).
 * `object-pinned` reuses the loaded program, so its maps are the ones the lab fills. Not `tc -n`:
 * like `ip netns exec`, it remounts /sys in a new mount namespace, where /sys/fs/bpf (and the pin)
 * is gone; nsenter enters only the network namespace.
 */
export async function attachBpfFilter(netns: string, device: string, direction: TcDirection, pinnedProgram: string): Promise<void> {
  const [file, args] = commandIn({ netns }, 'tc', ['filter', 'add', 'dev', device, direction, 'bpf', 'direct-action', 'object-pinned', pinnedProgram]);
  await run(file, args);
}

/** One BPF filter as `tc -j filter show` reports it. */
export interface TcBpfFilter {
  device: string;
  direction: TcDirection;
  /** The filter's priority on its hook: tc runs a hook's filters in ascending pref order. */
  pref: number;
  /** Kernel program name (truncated to 15 characters by the kernel). */
  programName: string;
  programId: number;
  directAction: boolean;
}

interface TcFilterJson {
  kind?: string;
  pref?: number;
  options?: { bpf_name?: string; 'direct-action'?: boolean; prog?: { id?: number; name?: string } };
}

/** Parses `tc -j filter show dev X ingress|egress`: BPF filters only (the per-protocol heads have no options). */
export function parseBpfFilters(json: string, device: string, direction: TcDirection): TcBpfFilter[] {
  const entries = JSON.parse(json === '' ? '[]' : json) as TcFilterJson[];
  return entries.flatMap((entry) => {
    const prog = entry.options?.prog;
    if (entry.kind !== 'bpf' || prog?.id === undefined) return [];
    return [{ device, direction, pref: entry.pref ?? 0, programName: prog.name ?? entry.options?.bpf_name ?? '', programId: prog.id, directAction: entry.options?.['direct-action'] === true }];
  });
}

export async function listBpfFilters(netns: string, device: string, direction: TcDirection): Promise<TcBpfFilter[]> {
  const result = await run('tc', ['-n', netns, '-j', 'filter', 'show', 'dev', device, direction], { allowFailure: true });
  if (result.exitCode !== 0) return []; // the device (or its clsact qdisc) is gone
  return parseBpfFilters(result.stdout.trim(), device, direction);
}

/** True when the device carries a clsact qdisc. */
export async function hasClsact(netns: string, device: string): Promise<boolean> {
  const result = await run('tc', ['-n', netns, '-j', 'qdisc', 'show', 'dev', device], { allowFailure: true });
  if (result.exitCode !== 0) return false;
  return (JSON.parse(result.stdout.trim() || '[]') as Array<{ kind?: string }>).some((q) => q.kind === 'clsact');
}
