// Teardown: undoes ledger entries newest first. Every step is attempted even when an earlier one
// fails, and failures are reported rather than thrown, so one stuck object never strands the rest.
import { rmSync } from 'node:fs';
import { basename } from 'node:path';
import { detachCgroupProgram } from '../host/bpftool.ts';
import { removeCgroupTree } from '../host/cgroup.ts';
import { isAlive } from '../host/exec.ts';
import { deleteNetns, netnsPids } from '../host/ip.ts';
import { writeGlobalSysctl } from '../host/sysctl.ts';
import { deleteFilters } from '../host/tc.ts';
import { LAB_RUN_ROOT, liveSysctlHolders, type LedgerEntry } from './ledger.ts';

export interface TeardownReport {
  removed: string[];
  failed: string[];
}

export function describeEntry(entry: LedgerEntry): string {
  switch (entry.kind) {
    case 'netns':
      return `netns ${entry.name}`;
    case 'cgroup':
      return `cgroup ${entry.dir}`;
    case 'process':
      return `process ${entry.pid} (${entry.command.slice(0, 60)})`;
    case 'bpf-pin':
      return `bpffs pin ${entry.path}`;
    case 'cgroup-bpf':
      return `cgroup BPF ${entry.attachType} on ${entry.cgroupDir}`;
    case 'global-sysctl':
      return `sysctl ${entry.name} (restored to ${entry.previous})`;
    case 'tc-filter':
      return `tc ${entry.direction} filters on ${entry.device} in ${entry.netns}`;
    case 'run-dir':
      return `run directory ${entry.path}`;
  }
}

async function killAndWait(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 10));
}

export interface UndoOptions {
  /**
   * Drops an entry from the live run's ledger as soon as it is undone. Needed for shared global
   * sysctls: a run releases its claim *before* looking for other holders, so of two runs finishing
   * together at least the later one sees no other holder and restores the value.
   */
  release?: (entry: LedgerEntry) => void;
}

/** Restores a global sysctl unless another live run still relies on it (the last one out restores). */
async function undoGlobalSysctl(entry: Extract<LedgerEntry, { kind: 'global-sysctl' }>, runId: string | undefined, options: UndoOptions): Promise<void> {
  options.release?.(entry);
  if (runId !== undefined && liveSysctlHolders(entry.name, runId).length > 0) return;
  await writeGlobalSysctl(entry.name, entry.previous);
}

async function undo(entry: LedgerEntry, runId: string | undefined, options: UndoOptions): Promise<void> {
  switch (entry.kind) {
    case 'process':
      return killAndWait(entry.pid);
    case 'netns':
      // Anything still running in the namespace (a probe started on a node) goes with it.
      for (const pid of await netnsPids(entry.name)) await killAndWait(pid);
      return deleteNetns(entry.name);
    case 'cgroup':
      return removeCgroupTree(entry.dir);
    case 'bpf-pin':
      rmSync(entry.path, { recursive: true, force: true });
      return;
    case 'cgroup-bpf':
      return detachCgroupProgram(entry.cgroupDir, entry.attachType, entry.program);
    case 'global-sysctl':
      return undoGlobalSysctl(entry, runId, options);
    case 'tc-filter':
      return deleteFilters(entry.netns, entry.device, entry.direction);
    case 'run-dir':
      rmSync(entry.path, { recursive: true, force: true });
      return;
  }
}

/** A run's id, from its run-directory entry (every ledger starts with one). */
function runIdOfEntries(entries: readonly LedgerEntry[]): string | undefined {
  const dir = entries.find((e) => e.kind === 'run-dir' && e.path.startsWith(`${LAB_RUN_ROOT}/`));
  return dir?.kind === 'run-dir' ? basename(dir.path) : undefined;
}

/** Undoes entries in the order given; `runId` names the run they belong to (for shared sysctls). */
export async function undoEntries(entries: readonly LedgerEntry[], options: UndoOptions & { runId?: string } = {}): Promise<TeardownReport> {
  const report: TeardownReport = { removed: [], failed: [] };
  const runId = options.runId ?? runIdOfEntries(entries);
  for (const entry of entries) {
    try {
      await undo(entry, runId, options);
      report.removed.push(describeEntry(entry));
    } catch (e) {
      report.failed.push(`${describeEntry(entry)}: ${(e as Error).message}`);
    }
  }
  return report;
}
