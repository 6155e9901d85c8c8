// Running processes inside a lab: a short command, a long-running process the run's teardown
// kills, and a server the lab waits for until it listens. Every process that outlives its call is
// written to the run's ledger first, so that a crash leaves it findable.
import { run, spawnBackground, type BackgroundProcess, type RunOptions, type RunResult } from '../host/exec.ts';
import { commandIn, type ExecTarget } from '../host/namespaces.ts';
import type { Ledger } from './ledger.ts';

/** Runs a short command in a namespace (and cgroup) and waits for it. */
export function execIn(target: ExecTarget, file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [cmd, argv] = commandIn(target, file, args);
  return run(cmd, argv, options);
}

/** Starts a long-running process, recorded in the ledger so that teardown (or `lab clean`) kills it. */
export function spawnIn(ledger: Ledger, target: ExecTarget, file: string, args: readonly string[], options: { maxLifetimeMs?: number } = {}): BackgroundProcess {
  const [cmd, argv] = commandIn(target, file, args);
  const proc = spawnBackground(cmd, argv, { maxLifetimeMs: options.maxLifetimeMs ?? 30 * 60_000 });
  ledger.record({ kind: 'process', pid: proc.pid, command: proc.command });
  return proc;
}

/** TCP ports listening in a namespace. */
async function listeningPorts(target: ExecTarget): Promise<Set<number>> {
  const listing = await execIn(target, 'ss', ['-Hltn']);
  return new Set(listing.stdout.split('\n').map((line) => Number(/:(\d+)\s/.exec(line)?.[1])));
}

/**
 * Starts a server and resolves once every one of `ports` listens. A server that exits first, or never
 * listens within 10 s, is stopped and the error quotes its last output.
 */
export async function spawnServerIn(
  ledger: Ledger,
  target: ExecTarget,
  options: { ports: readonly number[]; maxLifetimeMs?: number; name: string; listeningTarget: ExecTarget },
  file: string,
  args: readonly string[],
): Promise<BackgroundProcess> {
  const server = spawnIn(ledger, target, file, args, options.maxLifetimeMs === undefined ? {} : { maxLifetimeMs: options.maxLifetimeMs });
  let exited = false;
  void server.exited.then(() => (exited = true));
  const lastOutput = () => (server.stdout() + server.stderr()).trim().split('\n').slice(-8).join('\n  ');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !exited) {
    const listening = await listeningPorts(options.listeningTarget);
    if (options.ports.every((p) => listening.has(p))) return server;
    await new Promise((r) => setTimeout(r, 50));
  }
  await server.stop();
  const why = exited ? 'exited before listening' : 'did not listen within 10 s';
  throw new Error(`${file} in ${options.name} ${why} on ${options.ports.join(', ')}:\n  ${lastOutput()}`);
}
