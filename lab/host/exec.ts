// The one place the lab runs commands. Every other module asks this file, so that timeouts, logging
// and the wording of a failed command are the same everywhere.
import { execa, type ResultPromise } from 'execa';
import { debug } from './log.ts';
import { isPidRunning } from './process-identity.ts';

export interface RunOptions {
  /** Text fed to the command's standard input (ip -batch, iptables-restore). */
  input?: string;
  /** Kill the command after this long; every command is bounded. Default 30 s. */
  timeoutMs?: number;
  /** Return the result instead of throwing when the command exits non-zero. */
  allowFailure?: boolean;
  env?: Record<string, string>;
}

export interface RunResult {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A command that failed, with everything needed to understand why in its message. */
export class CommandError extends Error {
  constructor(readonly result: RunResult & { timedOut: boolean }) {
    const why = result.timedOut ? 'timed out' : `exited ${result.exitCode}`;
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-6).join('\n  ');
    super(`\`${result.command}\` ${why}${detail ? `:\n  ${detail}` : ''}`);
    this.name = 'CommandError';
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;

export function formatCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export async function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const command = formatCommand(file, args);
  debug(`$ ${command}`);
  const result = await execa(file, args, {
    input: options.input,
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    reject: false,
    stripFinalNewline: false,
    env: options.env,
    stdin: options.input === undefined ? 'ignore' : 'pipe',
  });
  const out: RunResult = {
    command,
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
  };
  if (result.failed && !(options.allowFailure && !result.timedOut && result.exitCode !== undefined)) {
    if (result.exitCode === undefined && !result.timedOut && result.cause instanceof Error) {
      const missing = (result.cause as NodeJS.ErrnoException).code === 'ENOENT';
      throw new Error(missing ? `\`${file}\` is not installed: run scripts/setup.sh (or \`lab doctor\` for the list)` : result.cause.message);
    }
    if (!options.allowFailure || result.timedOut) throw new CommandError({ ...out, timedOut: result.timedOut });
  }
  return out;
}

/** Runs a command and returns its standard output; throws a CommandError on failure. */
export async function output(file: string, args: readonly string[], options: Omit<RunOptions, 'allowFailure'> = {}): Promise<string> {
  return (await run(file, args, options)).stdout;
}

export interface BackgroundProcess {
  readonly pid: number;
  readonly command: string;
  /** Everything the process wrote so far, stdout and stderr interleaved per stream. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process exits (never rejects). */
  readonly exited: Promise<{ exitCode: number | undefined; signal: string | undefined }>;
  /** SIGTERM, then SIGKILL after the process's grace period; resolves once it is gone. */
  stop(): Promise<void>;
}

/** Starts a long-running process (a proxy, a server) whose output the lab reads as evidence. */
export function spawnBackground(file: string, args: readonly string[], options: { maxLifetimeMs: number; graceMs?: number }): BackgroundProcess {
  const command = formatCommand(file, args);
  debug(`$ ${command} &`);
  const child: ResultPromise = execa(file, args, {
    reject: false,
    stdin: 'ignore',
    buffer: false,
    timeout: options.maxLifetimeMs,
    forceKillAfterDelay: options.graceMs ?? 2000,
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = child.then(
    (r) => ({ exitCode: r.exitCode, signal: r.signal }),
    () => ({ exitCode: undefined, signal: undefined }),
  );
  if (child.pid === undefined) throw new Error(`could not start \`${command}\``);
  const pid = child.pid;
  return {
    pid,
    command,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // SIGTERM; execa follows with SIGKILL after forceKillAfterDelay if the process lingers.
      child.kill();
      await exited;
    },
  };
}

/**
 * True when a process runs under this pid. A zombie counts as dead (kill(pid, 0) alone would call
 * it alive until its parent reaps it). Whether it is still the *same* process is a question for
 * isRunning() in process-identity.ts, which also compares start times.
 */
export const isAlive = isPidRunning;

export interface LineProcess {
  readonly pid: number;
  readonly command: string;
  /** Writes one line to the process's standard input. */
  send(line: string): void;
  /** Called for every line the process prints on standard output. */
  onLine(listener: (line: string) => void): void;
  stderr(): string;
  readonly exited: Promise<void>;
  /** Closes standard input (the process's cue to exit), then kills it if it lingers. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a process that talks in lines over stdin/stdout (the pod agent). */
export function spawnLineProcess(file: string, args: readonly string[], options: { maxLifetimeMs: number }): LineProcess {
  const command = formatCommand(file, args);
  debug(`$ ${command} <>`);
  const child = execa(file, args, { reject: false, stdin: 'pipe', buffer: false, timeout: options.maxLifetimeMs, forceKillAfterDelay: 2000 });
  if (child.pid === undefined) throw new Error(`could not start \`${command}\``);
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const listeners: Array<(line: string) => void> = [];
  // execa splits stdout into lines itself; the loop ends when the process closes its stdout.
  void (async () => {
    try {
      for await (const line of child.iterable({ from: 'stdout' })) for (const listener of listeners) listener(line);
    } catch {
      // The process died; `exited` reports it to whoever waits on it.
    }
  })();
  const exited = child.then(
    () => undefined,
    () => undefined,
  );
  return {
    pid: child.pid,
    command,
    send: (line) => void child.stdin?.write(line + '\n'),
    onLine: (listener) => void listeners.push(listener),
    stderr: () => err,
    exited,
    async stop(graceMs = 2000) {
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
