// bpf_printk evidence. The kernel's trace_pipe is global and reading it consumes lines, so two
// readers (another run, a developer's `cat`) would steal each other's lines. Each reader therefore
// gets its own tracefs instance with the bpf_trace_printk event enabled: an empty buffer of its own
// (a clean buffer for free) that nobody else drains. Every BPF program's printk
// still lands in every such instance, so lines are kept only when they carry the run's tag.
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnBackground, type BackgroundProcess } from '../host/exec.ts';
import type { Lab } from '../topology/lab.ts';

/** What a reader needs of the run it belongs to: its id, its ledger, its teardown. A Lab is one. */
export type TraceOwner = Pick<Lab, 'runId' | 'record' | 'own'>;

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

/** A bpf_printk line with its whole text as `message`; undefined for other lines. */
function parsePrintkLine(line: string): TraceLine | undefined {
  const match = LINE.exec(line);
  if (!match) return undefined;
  const [, task, cpu, timestamp, text] = match as unknown as [string, string, string, string, string];
  return { task, cpu: Number(cpu), timestamp: Number(timestamp), message: text.trimEnd() };
}

/** Parses one trace line; undefined for lines that are not bpf_printk output or carry another tag. */
export function parseTraceLine(line: string, tag: string): TraceLine | undefined {
  const parsed = parsePrintkLine(line);
  if (!parsed?.message.startsWith(`${tag} `)) return undefined;
  return { ...parsed, message: parsed.message.slice(tag.length + 1) };
}

/** Any lab run's tag at the head of a line's text. */
const ANY_RUN_TAG = /^lab-[a-z0-9]+ /;

/** Parses a line of any lab run; its `message` keeps the run's tag in front ("lab-ab1cd sockmap ..."). */
export function parseAnyRunTraceLine(line: string): TraceLine | undefined {
  const parsed = parsePrintkLine(line);
  return parsed && ANY_RUN_TAG.test(parsed.message) ? parsed : undefined;
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
    private readonly parse: (line: string) => TraceLine | undefined,
  ) {}

  /**
   * Starts collecting the lines tagged `tag` (default: the lab's run tag), or with `anyRun` those of
   * every lab run (parseAnyRunTraceLine: the tag stays in each message). `name` tells apart two
   * readers of one run. The instance and the reader are in the ledger, so teardown removes them
   * even when stop() is never called.
   */
  static start(lab: TraceOwner, options: { name: string; tag?: string; anyRun?: boolean }): TraceReader {
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
    const tag = options.tag ?? runTag(lab.runId);
    const parse = options.anyRun ? parseAnyRunTraceLine : (line: string) => parseTraceLine(line, tag);
    return lab.own(new TraceReader(tag, instanceDir, reader, parse));
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
      const parsed = this.parse(this.pending.slice(0, newline));
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
