// The ledger: every object the lab creates is written here *before* it is created, and teardown walks
// the entries in reverse. The file lives in /run/lab/<run>/ (tmpfs, like /run/netns), so after a
// crash or SIGKILL the next run, or `lab clean`, finds what was left and removes it.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../host/exec.ts';

export const LAB_RUN_ROOT = '/run/lab';
export const LAB_PREFIX = 'lab-';

export type LedgerEntry =
  | { kind: 'netns'; name: string }
  | { kind: 'cgroup'; dir: string }
  | { kind: 'process'; pid: number; command: string }
  | { kind: 'bpf-pin'; path: string }
  | { kind: 'cgroup-bpf'; cgroupDir: string; attachType: string; program: string }
  | { kind: 'global-sysctl'; name: string; previous: string }
  | { kind: 'tc-filter'; netns: string; device: string; direction: 'ingress' | 'egress' }
  | { kind: 'run-dir'; path: string };

export interface LedgerFile {
  runId: string;
  ownerPid: number;
  startedAt: string;
  entries: LedgerEntry[];
}

export class Ledger {
  readonly dir: string;
  private readonly file: string;
  private readonly state: LedgerFile;

  constructor(readonly runId: string) {
    this.dir = join(LAB_RUN_ROOT, runId);
    this.file = join(this.dir, 'ledger.json');
    mkdirSync(this.dir, { recursive: true });
    this.state = { runId, ownerPid: process.pid, startedAt: new Date().toISOString(), entries: [{ kind: 'run-dir', path: this.dir }] };
    this.flush();
  }

  /** Records an object about to be created. Synchronous so a SIGKILL right after cannot lose it. */
  record(entry: LedgerEntry): void {
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

  private flush(): void {
    writeFileSync(this.file, JSON.stringify(this.state, null, 1));
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
      ledgers.push({ ...parsed, ownerAlive: parsed.ownerPid !== process.pid && isAlive(parsed.ownerPid) });
    } catch {
      // A run directory without a readable ledger: the prefix sweep in `lab clean` covers it.
      ledgers.push({ runId, ownerPid: 0, startedAt: '', entries: [{ kind: 'run-dir', path: join(LAB_RUN_ROOT, runId) }], ownerAlive: false });
    }
  }
  return ledgers;
}

export function removeRunDir(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

/** A short id that keeps concurrent runs apart in every name the lab creates. */
export function newRunId(): string {
  return Math.random().toString(36).slice(2, 7).padEnd(5, '0');
}
