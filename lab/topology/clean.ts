// Finding and removing lab leftovers: the ledgers of runs whose process is gone, then anything that
// still carries the lab prefix (netns, cgroups, bpffs pins) and belongs to no live run.
import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { findCgroup2Mount, removeCgroupTree } from '../host/cgroup.ts';
import { listNetns } from '../host/ip.ts';
import { isRunning } from '../host/process-identity.ts';
import { LAB_PREFIX, listLedgers, type LedgerEntry } from './ledger.ts';
import { undoEntries } from './teardown.ts';

export const BPFFS_ROOT = '/sys/fs/bpf';
/** Where per-run tracefs instances live (lab/evidence/trace-pipe.ts makes them). */
const TRACEFS_INSTANCES = '/sys/kernel/tracing/instances';

export interface CleanReport {
  removed: string[];
  failed: string[];
  /** Runs still in progress (their owner process lives); left alone unless forced. */
  liveRuns: string[];
}

/**
 * A recorded process that has exited: its pid may belong to someone else by now, and killing that
 * pid would hit an unrelated process. Entries without a start time cannot be told apart: they are
 * killed by pid, as before.
 */
function isExitedProcess(entry: LedgerEntry): entry is Extract<LedgerEntry, { kind: 'process' }> {
  return entry.kind === 'process' && entry.startTime !== undefined && !isRunning({ pid: entry.pid, startTime: entry.startTime });
}

/** Undoes the ledgers of runs whose owning process has died (a crash, a SIGKILL). */
export async function reapStaleRuns(options: { includeLive?: boolean } = {}): Promise<CleanReport> {
  const report: CleanReport = { removed: [], failed: [], liveRuns: [] };
  for (const ledger of listLedgers()) {
    if (ledger.ownerAlive && !options.includeLive) {
      report.liveRuns.push(ledger.runId);
      continue;
    }
    const gone = ledger.entries.filter(isExitedProcess);
    const result = await undoEntries(ledger.entries.filter((e) => !isExitedProcess(e)).reverse());
    report.removed.push(...gone.map((e) => `process ${e.pid} (already exited)`), ...result.removed);
    report.failed.push(...result.failed);
  }
  return report;
}

const runIdOf = (name: string) => name.slice(LAB_PREFIX.length).split('-')[0] ?? '';

/** `lab clean`: stale ledgers first, then a sweep by name prefix for anything no ledger named. */
export async function cleanEverything(options: { includeLive?: boolean } = {}): Promise<CleanReport> {
  const report = await reapStaleRuns(options);
  // A run that started after the ledgers were listed is live too: its ledger exists before any of
  // its objects, so liveness is asked again, by name, for everything the sweep is about to remove.
  const live = () => new Set(options.includeLive ? [] : listLedgers().filter((l) => l.ownerAlive).map((l) => l.runId));
  const stray = (name: string) => name.startsWith(LAB_PREFIX) && !live().has(runIdOf(name));
  const tryRemove = async (what: string, remove: () => Promise<void> | void) => {
    try {
      await remove();
      report.removed.push(what);
    } catch (e) {
      report.failed.push(`${what}: ${(e as Error).message}`);
    }
  };
  for (const netns of (await listNetns()).filter(stray).sort().reverse()) {
    await tryRemove(`netns ${netns}`, async () => {
      const result = await undoEntries([{ kind: 'netns', name: netns }]);
      if (result.failed.length) throw new Error(result.failed.join('; '));
    });
  }
  const cgroupMount = await findCgroup2Mount();
  if (cgroupMount) {
    for (const name of readdirSync(cgroupMount).filter(stray)) await tryRemove(`cgroup ${join(cgroupMount, name)}`, () => removeCgroupTree(join(cgroupMount, name)));
  }
  if (existsSync(BPFFS_ROOT)) {
    for (const name of readdirSync(BPFFS_ROOT).filter(stray)) await tryRemove(`bpffs pin ${join(BPFFS_ROOT, name)}`, () => rmSync(join(BPFFS_ROOT, name), { recursive: true, force: true }));
  }
  // A tracefs instance is removed by a plain rmdir (its files are the kernel's, not removable).
  if (existsSync(TRACEFS_INSTANCES)) {
    for (const name of readdirSync(TRACEFS_INSTANCES).filter(stray)) await tryRemove(`tracefs instance ${name}`, () => rmdirSync(join(TRACEFS_INSTANCES, name)));
  }
  return report;
}
