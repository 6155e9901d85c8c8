// A running HAProxy in a pod (sidecar) or node-proxy namespace, and its connection log.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackgroundProcess } from '../host/exec.ts';
import { parseProxyLog, type ProxyConnection } from '../evidence/proxy-log.ts';
import type { Lab, Pod } from '../topology/lab.ts';
import { execIn } from '../topology/processes.ts';
import { haproxyConfig, type ProxySpec } from './haproxy-config.ts';

/** How long a proxy may take to open its listeners in other namespaces. */
const LISTEN_TIMEOUT_MS = 10_000;

export class RunningProxy {
  private constructor(
    readonly pod: Pod,
    readonly spec: ProxySpec,
    readonly configPath: string,
    private readonly process: BackgroundProcess,
  ) {}

  /** Writes the config into the run directory and starts HAProxy in the pod; resolves once it listens. */
  static async start(lab: Lab, pod: Pod, spec: ProxySpec, name = 'sidecar'): Promise<RunningProxy> {
    const configPath = join(lab.workDir(`proxy-${pod.name}`), `${name}.cfg`);
    writeFileSync(configPath, haproxyConfig(spec));
    // -db: stay in the foreground, so the log goes to our stdout and teardown can kill it.
    const ownPorts = spec.listeners.filter((l) => l.namespace === undefined).map((l) => l.port);
    const proc = await lab.spawnServer(pod, 'haproxy', ['-db', '-f', configPath], { ports: ownPorts });
    await waitForListenersElsewhere(proc, spec);
    return new RunningProxy(pod, spec, configPath, proc);
  }

  get pid(): number {
    return this.process.pid;
  }

  /** Every connection logged so far (HAProxy logs a connection when it closes). */
  connections(): ProxyConnection[] {
    return parseProxyLog(this.process.stdout());
  }

  /** HAProxy's own output, for failure details. */
  output(): string {
    return this.process.stdout() + this.process.stderr();
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }
}

/** The `ss -Hltnp` lines of one namespace that belong to a process. */
async function listeningPortsOf(netns: string, pid: number): Promise<Set<number>> {
  const listing = await execIn({ netns }, 'ss', ['-Hltnp']);
  const own = listing.stdout.split('\n').filter((line) => line.includes(`pid=${pid},`));
  return new Set(own.map((line) => Number(/:(\d+)\s/.exec(line)?.[1])));
}

/**
 * Waits until the proxy process itself listens on every listener it opens in another namespace
 * (`bind ... namespace`). A proxy that exits first, or never listens, is stopped and the error
 * quotes its output.
 */
async function waitForListenersElsewhere(proc: BackgroundProcess, spec: ProxySpec): Promise<void> {
  const elsewhere = spec.listeners.filter((l): l is typeof l & { namespace: string } => l.namespace !== undefined);
  if (elsewhere.length === 0) return;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  const deadline = Date.now() + LISTEN_TIMEOUT_MS;
  let missing = elsewhere;
  while (!exited && Date.now() < deadline) {
    const namespaces = [...new Set(missing.map((l) => l.namespace))];
    const listening = new Map(await Promise.all(namespaces.map(async (ns) => [ns, await listeningPortsOf(ns, proc.pid)] as const)));
    missing = missing.filter((l) => !listening.get(l.namespace)?.has(l.port));
    if (missing.length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  await proc.stop();
  const why = exited ? 'exited before listening' : `did not listen within ${LISTEN_TIMEOUT_MS / 1000} s`;
  const output = (proc.stdout() + proc.stderr()).trim().split('\n').slice(-8).join('\n  ');
  throw new Error(`haproxy ${why} on ${missing.map((l) => `${l.namespace}:${l.port}`).join(', ')}:\n  ${output}`);
}
