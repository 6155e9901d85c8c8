// The lab's side of a pod agent: starts it in a pod (or node) and turns requests into promises.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnLineProcess, type LineProcess } from '../host/exec.ts';
import { commandIn } from '../host/namespaces.ts';
import type { Lab, Place, ProcessOptions } from '../topology/lab.ts';
import type { AcceptRecord, AgentReply, AgentRequest, BulkResult, ConnectLoopResult, ProbeResult } from './agent-protocol.ts';

const AGENT_MAIN = fileURLToPath(new URL('./agent-main.ts', import.meta.url));
const AGENT_BUNDLE_DIR = fileURLToPath(new URL('../../node_modules/.cache/interception-lab/', import.meta.url));
const START_TIMEOUT_MS = 15_000;

let bundle: Promise<string> | undefined;

/**
 * The agent compiled once into one plain JavaScript file: a verify starts several agents, and a
 * bench hundreds, and plain Node starts in a third of the time tsx needs to compile on the fly.
 * Named by a hash of the source so an edited agent is rebuilt.
 */
function agentBundle(): Promise<string> {
  bundle ??= (async () => {
    const sources = ['agent-main.ts', 'agent-protocol.ts'].map((f) => readFileSync(new URL(`./${f}`, import.meta.url)));
    const hash = createHash('sha256').update(Buffer.concat(sources)).digest('hex').slice(0, 16);
    const outfile = join(AGENT_BUNDLE_DIR, `agent-${hash}.mjs`);
    if (!existsSync(outfile)) {
      const { build } = await import('esbuild');
      await build({ entryPoints: [AGENT_MAIN], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, logLevel: 'error' });
    }
    return outfile;
  })();
  return bundle;
}

export class Agent {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly process: LineProcess,
    readonly where: string,
  ) {
    process.onLine((line) => {
      let reply: AgentReply;
      try {
        reply = JSON.parse(line) as AgentReply;
      } catch {
        return; // not a reply (a stray log line)
      }
      const waiter = this.waiting.get(reply.id);
      if (!waiter) return;
      this.waiting.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(new Error(`agent in ${where}: ${reply.error}`));
    });
    void process.exited.then(() => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`agent in ${where} exited: ${process.stderr().trim().slice(-400)}`));
      this.waiting.clear();
    });
  }

  /** Starts an agent in a pod (inside its cgroup unless told otherwise) or a node. */
  static async start(lab: Lab, place: Place, options: ProcessOptions = {}): Promise<Agent> {
    const [file, args] = commandIn(lab.targetOf(place, options), process.execPath, [await agentBundle()]);
    const child = spawnLineProcess(file, args, { maxLifetimeMs: 60 * 60_000 });
    lab.record({ kind: 'process', pid: child.pid, command: child.command });
    const agent = new Agent(child, `${place.kind} ${place.name}${options.uid === undefined ? '' : ` (uid ${options.uid}, gid ${options.gid ?? options.uid})`}`);
    agent.waiting.set(0, { resolve: () => undefined, reject: () => undefined });
    await agent.expectReady();
    return agent;
  }

  private expectReady(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`agent in ${this.where} did not start within ${START_TIMEOUT_MS} ms: ${this.process.stderr().slice(-400)}`)), START_TIMEOUT_MS);
      this.waiting.set(0, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
  }

  private request<T>(request: AgentRequest): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.process.send(JSON.stringify({ id, ...request }));
    });
  }

  get pid(): number {
    return this.process.pid;
  }

  listen(host: string, port: number): Promise<void> {
    return this.request({ op: 'listen', host, port });
  }

  accepts(): Promise<AcceptRecord[]> {
    return this.request({ op: 'accepts' });
  }

  /** Sends a known payload and checks that exactly the same bytes come back. */
  probe(host: string, port: number, options: { payload?: string; timeoutMs?: number } = {}): Promise<ProbeResult> {
    const payload = options.payload ?? `lab-probe ${host}:${port} ${'x'.repeat(64)}`;
    return this.request({ op: 'probe', host, port, payload, timeoutMs: options.timeoutMs ?? 3000 });
  }

  /** Sends `bytes` of random data, reads the echo, and compares the two by SHA-256. */
  bulk(host: string, port: number, bytes: number, timeoutMs = 20_000): Promise<BulkResult> {
    return this.request({ op: 'bulk', host, port, bytes, timeoutMs });
  }

  connectLoop(host: string, port: number, options: { count: number; maxSeconds: number; concurrency?: number }): Promise<ConnectLoopResult> {
    return this.request({ op: 'connect-loop', host, port, count: options.count, maxSeconds: options.maxSeconds, concurrency: options.concurrency ?? 1 });
  }

  stop(): Promise<void> {
    return this.process.stop();
  }
}
