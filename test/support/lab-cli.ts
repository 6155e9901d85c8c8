// Running the `lab` command from tests as a user would: synchronously for quick commands, or as a
// child process that can be watched (its run id, its ledger) and interrupted at a chosen moment.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_RUN_ROOT, type LedgerEntry } from '../../lab/topology/ledger.ts';

export const LAB = new URL('../../bin/lab.mjs', import.meta.url).pathname;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function labSync(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; asUser?: number } = {}): CliResult {
  const argv = [LAB, ...args];
  // setpriv drops root the way a non-root user would run the command (no sudo).
  const [file, fileArgs] = options.asUser === undefined ? [process.execPath, argv] : ['setpriv', [`--reuid=${options.asUser}`, `--regid=${options.asUser}`, '--clear-groups', '--', process.execPath, ...argv]];
  const result = spawnSync(file, fileArgs, { encoding: 'utf8', timeout: options.timeoutMs ?? 120_000, env: options.env ?? process.env });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A `lab` process running in the background, with its stderr and its run's ledger at hand. */
export class LabProcess {
  stderr = '';
  stdout = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, [LAB, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The run id the command announced on stderr (`(run <id>)`). */
  runId(): string | undefined {
    return /\(run (\w+)\)/.exec(this.stderr)?.[1];
  }

  /** The run's ledger entries as they are on disk right now (empty before the ledger exists). */
  ledger(): LedgerEntry[] {
    const runId = this.runId();
    if (runId === undefined) return [];
    try {
      return (JSON.parse(readFileSync(join(LAB_RUN_ROOT, runId, 'ledger.json'), 'utf8')) as { entries: LedgerEntry[] }).entries;
    } catch {
      return [];
    }
  }

  /** Polls the ledger until `ready` holds (true), the process exits, or the time runs out (false). */
  async waitForLedger(ready: (entries: LedgerEntry[]) => boolean, timeoutMs: number): Promise<boolean> {
    let done = false;
    void this.exited.then(() => (done = true));
    const deadline = Date.now() + timeoutMs;
    while (!done && Date.now() < deadline) {
      if (ready(this.ledger())) return true;
      await sleep(10);
    }
    return false;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}
