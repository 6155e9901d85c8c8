// bpf_printk evidence. The kernel's trace_pipe is global and reading it consumes lines, so two
// readers (another run, a developer's `cat`) would steal each other's lines. Each reader therefore
// gets its own tracefs instance with the bpf_trace_printk event enabled: an empty buffer of its own
// (a clean buffer for free) that nobody else drains. Every BPF program's printk
// still lands in every such instance, so lines are kept only when they carry the run's tag.
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnBackground, type BackgroundProcess } from '../host/exec.ts';
import type { Lab } from '../topology/lab.ts';

export const TRACEFS_ROOT = '/sys/kernel/tracing';
const PRINTK_EVENT = 'events/bpf_trace/bpf_trace_printk/enable';
/** Per-CPU buffer of a reader's instance; the reader drains it continuously, so it only absorbs bursts. */
const BUFFER_KB_PER_CPU = 1024;
/** How long a stopping reader waits for lines still in flight. */
const SETTLE_MS = 200;

export interface TraceLine {
  /** Task name and pid of the process the program ran for ("iperf3-1234"). */
  task: string;
  cpu: number;
  /** Seconds since boot, as the kernel stamped the line. */
  timestamp: number;
  /** The text after the tag. */
  message: string;
}

/** The tag a run's BPF programs put first on every trace line. */
export const runTag = (runId: string) => `lab-${runId}`;

// "  iperf3-4242  [001] d..31  1234.567890: bpf_trace_printk: lab-ab1cd sockmap ..."
const LINE = /^\s*(.+?)\s+\[(\d+)\]\s+\S+\s+([\d.]+):\s+bpf_trace_printk:\s(.*)$/;

/** Parses one trace line; undefined for lines that are not bpf_printk output or carry another tag. */
export function parseTraceLine(line: string, tag: string): TraceLine | undefined {
  const match = LINE.exec(line);
  if (!match) return undefined;
  const [, task, cpu, timestamp, text] = match as unknown as [string, string, string, string, string];
  if (!text.startsWith(`${tag} `)) return undefined;
  return { task, cpu: Number(cpu), timestamp: Number(timestamp), message: text.slice(tag.length + 1).trimEnd() };
}

export class TraceReader {
  /** How much of the reader's output has been split into lines. */
  private consumed = 0;
  private pending = '';
  private readonly collected: TraceLine[] = [];
  private stopped: Promise<TraceLine[]> | undefined;

  private constructor(
    readonly tag: string,
    readonly instanceDir: string,
    private readonly reader: BackgroundProcess,
  ) {}

  /**
   * Starts collecting the lines tagged `tag` (default: the lab's run tag). `name` tells apart two
   * readers of one run. The instance and the reader are in the ledger, so teardown removes them
   * even when stop() is never called.
   */
  static start(lab: Lab, options: { name: string; tag?: string }): TraceReader {
    if (!existsSync(join(TRACEFS_ROOT, PRINTK_EVENT))) {
      throw new Error(`${TRACEFS_ROOT} has no bpf_trace_printk event: mount tracefs (scripts/setup.sh does) on a kernel with BPF events`);
    }
    const instanceDir = join(TRACEFS_ROOT, 'instances', `lab-${lab.runId}-${options.name}`);
    lab.record({ kind: 'tracefs-instance', path: instanceDir });
    mkdirSync(instanceDir);
    writeFileSync(join(instanceDir, 'buffer_size_kb'), String(BUFFER_KB_PER_CPU));
    // The default clock is per-CPU; a global one lets lines from different CPUs be ordered (a
    // socket closing on one CPU before its peer's send misses on another).
    writeFileSync(join(instanceDir, 'trace_clock'), 'global');
    writeFileSync(join(instanceDir, PRINTK_EVENT), '1');
    // cat, not a Node read stream: a blocking read on trace_pipe would pin a libuv thread that
    // cannot be interrupted, while a child process is simply killed.
    const reader = spawnBackground('cat', [join(instanceDir, 'trace_pipe')], { maxLifetimeMs: 60 * 60_000, graceMs: 500 });
    lab.record({ kind: 'process', pid: reader.pid, command: reader.command });
    return lab.own(new TraceReader(options.tag ?? runTag(lab.runId), instanceDir, reader));
  }

  /** Tagged lines seen so far. */
  lines(): TraceLine[] {
    this.absorb(this.reader.stdout());
    return [...this.collected];
  }

  private absorb(all: string): void {
    this.pending += all.slice(this.consumed);
    this.consumed = all.length;
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) >= 0) {
      const parsed = parseTraceLine(this.pending.slice(0, newline), this.tag);
      this.pending = this.pending.slice(newline + 1);
      if (parsed) this.collected.push(parsed);
    }
  }

  /** Waits for lines still in flight, stops reading, removes the instance; returns every tagged line. */
  stop(): Promise<TraceLine[]> {
    this.stopped ??= (async () => {
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const lines = this.lines();
      await this.reader.stop();
      if (existsSync(this.instanceDir)) {
        writeFileSync(join(this.instanceDir, PRINTK_EVENT), '0');
        rmdirSync(this.instanceDir);
      }
      return lines;
    })();
    return this.stopped;
  }
}
