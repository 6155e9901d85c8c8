// A running HAProxy in a pod (sidecar) or node-proxy namespace, and its connection log.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackgroundProcess } from '../host/exec.ts';
import { parseProxyLog, type ProxyConnection } from '../evidence/proxy-log.ts';
import type { Lab, Pod } from '../topology/lab.ts';
import { haproxyConfig, type ProxySpec } from './haproxy-config.ts';

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
    const proc = await lab.spawnServer(pod, 'haproxy', ['-db', '-f', configPath], { ports: spec.listeners.map((l) => l.port) });
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
