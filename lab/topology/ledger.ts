// The ledger: every object the lab creates is written here *before* it is created, and teardown walks
// the entries in reverse. The file lives in /run/lab/<run>/ (tmpfs, like /run/netns), so after a
// crash or SIGKILL the next run, or `lab clean`, finds what was left and removes it.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRunning, processIdentity, type ProcessIdentity } from '../host/process-identity.ts';

export const LAB_RUN_ROOT = '/run/lab';
export const LAB_PREFIX = 'lab-';

export type LedgerEntry =
  | { kind: 'netns'; name: string }
  | { kind: 'cgroup'; dir: string }
  /** startTime (filled in by Ledger.record) tells the process from a later one given the same pid. */
  | { kind: 'process'; pid: number; command: string; startTime?: number }
  | { kind: 'bpf-pin'; path: string }
  | { kind: 'cgroup-bpf'; cgroupDir: string; attachType: string; program: string }
  | { kind: 'tc-filter'; netns: string; device: string; direction: 'ingress' | 'egress' }
  /** A tracefs instance directory: removed by a plain rmdir (its files are the kernel's). */
  | { kind: 'tracefs-instance'; path: string }
  | { kind: 'run-dir'; path: string };

export interface LedgerFile {
  runId: string;
  ownerPid: number;
  /**
   * The owner's start time (/proc/<pid>/stat field 22): with ownerPid it names the owner process
   * itself, so neither a zombie owner nor a later process given the same pid makes the run look live.
   * Absent only in ledgers written before it existed.
   */
  ownerStartTime?: number;
  startedAt: string;
  entries: LedgerEntry[];
}

/** This process, as the ledger records its owner. */
function ownIdentity(): ProcessIdentity {
  const identity = processIdentity();
  if (!identity) throw new Error(`cannot read /proc/${process.pid}/stat: the ledger needs the owner's start time`);
  return identity;
}

/** Whether the process that wrote a ledger still runs (not a zombie, not a reused pid). */
function ownerRuns(ledger: LedgerFile): boolean {
  const own = ownIdentity();
  // Ledgers without a start time: the pid is all there is (a zombie still counts as dead).
  const owner: ProcessIdentity | undefined = ledger.ownerStartTime === undefined ? processIdentity(ledger.ownerPid) : { pid: ledger.ownerPid, startTime: ledger.ownerStartTime };
  if (owner === undefined) return false;
  // Our own runs are live only while not torn down (see liveInThisProcess).
  if (owner.pid === own.pid && owner.startTime === own.startTime) return liveInThisProcess.has(ledger.runId);
  return isRunning(owner);
}

/**
 * Runs of this very process that have not finished tearing down. A ledger owned by our own pid is
 * live only if it is in this set: otherwise it is a leftover of a dead process whose pid we reuse,
 * and two labs of one process (a test, a bench) must not take each other for leftovers.
 */
const liveInThisProcess = new Set<string>();

export class Ledger {
  readonly dir: string;
  private readonly file: string;
  private readonly state: LedgerFile;

  constructor(readonly runId: string) {
    this.dir = join(LAB_RUN_ROOT, runId);
    this.file = join(this.dir, 'ledger.json');
    mkdirSync(this.dir, { recursive: true });
    liveInThisProcess.add(runId);
    const owner = ownIdentity();
    this.state = { runId, ownerPid: owner.pid, ownerStartTime: owner.startTime, startedAt: new Date().toISOString(), entries: [{ kind: 'run-dir', path: this.dir }] };
    this.flush();
  }

  /** Records an object about to be created. Synchronous so a SIGKILL right after cannot lose it. */
  record(entry: LedgerEntry): void {
    if (entry.kind === 'process' && entry.startTime === undefined) {
      const startTime = processIdentity(entry.pid)?.startTime;
      if (startTime !== undefined) entry = { ...entry, startTime };
    }
    this.state.entries.push(entry);
    this.flush();
  }

  /** Drops an entry once the object is gone (e.g. a process stopped early). */
  forget(predicate: (entry: LedgerEntry) => boolean): void {
    this.state.entries = this.state.entries.filter((e) => !predicate(e));
    this.flush();
  }

  /** Entries newest first: the order teardown must follow. */
  entriesNewestFirst(): LedgerEntry[] {
    return [...this.state.entries].reverse();
  }

  /** The run is torn down: from now on its ledger (if any remains) is a leftover like any other. */
  close(): void {
    liveInThisProcess.delete(this.runId);
  }

  /**
   * Write-then-rename, so the file is always either the old or the new ledger: a SIGKILL in the
   * middle of a plain write would leave a truncated file and lose every entry for `lab clean`.
   */
  private flush(): void {
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(this.state, null, 1));
    renameSync(temporary, this.file);
  }
}

/** Ledgers on this machine, with whether the process that owns each is still running. */
export function listLedgers(): Array<LedgerFile & { ownerAlive: boolean }> {
  if (!existsSync(LAB_RUN_ROOT)) return [];
  const ledgers: Array<LedgerFile & { ownerAlive: boolean }> = [];
  for (const runId of readdirSync(LAB_RUN_ROOT)) {
    const file = join(LAB_RUN_ROOT, runId, 'ledger.json');
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as LedgerFile;
      ledgers.push({ ...parsed, ownerAlive: ownerRuns(parsed) });
    } catch {
      // A run directory without a readable ledger: the prefix sweep in `lab clean` covers it. A
      // directory made a moment ago is a run being born (mkdir comes before the first write).
      const dir = join(LAB_RUN_ROOT, runId);
      const newborn = Date.now() - (statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 10_000;
      ledgers.push({ runId, ownerPid: 0, startedAt: '', entries: [{ kind: 'run-dir', path: dir }], ownerAlive: newborn });
    }
  }
  return ledgers;
}

/** A short id that keeps concurrent runs apart in every name the lab creates. */
export function newRunId(): string {
  return Math.random().toString(36).slice(2, 7).padEnd(5, '0');
}
