// Teardown: undoes ledger entries newest first. Every step is attempted even when an earlier one
// fails, and failures are reported rather than thrown, so one stuck object never strands the rest.
import { existsSync, rmdirSync, rmSync } from 'node:fs';
import { detachCgroupProgram } from '../host/bpftool.ts';
import { removeCgroupTree } from '../host/cgroup.ts';
import { isAlive } from '../host/exec.ts';
import { deleteNetns, netnsPids } from '../host/ip.ts';
import { deleteFilters } from '../host/tc.ts';
import type { LedgerEntry } from './ledger.ts';

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
    case 'tc-filter':
      return `tc ${entry.direction} filters on ${entry.device} in ${entry.netns}`;
    case 'tracefs-instance':
      return `tracefs instance ${entry.path}`;
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

async function undo(entry: LedgerEntry): Promise<void> {
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
    case 'tc-filter':
      return deleteFilters(entry.netns, entry.device, entry.direction);
    case 'tracefs-instance':
      if (existsSync(entry.path)) rmdirSync(entry.path);
      return;
    case 'run-dir':
      rmSync(entry.path, { recursive: true, force: true });
      return;
  }
}

/** Undoes entries in the order given. */
export async function undoEntries(entries: readonly LedgerEntry[]): Promise<TeardownReport> {
  const report: TeardownReport = { removed: [], failed: [] };
  for (const entry of entries) {
    try {
      await undo(entry);
      report.removed.push(describeEntry(entry));
    } catch (e) {
      report.failed.push(`${describeEntry(entry)}: ${(e as Error).message}`);
    }
  }
  return report;
}
