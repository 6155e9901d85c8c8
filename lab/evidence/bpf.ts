// BPF evidence read through bpftool: map contents, per-CPU counters summed over CPUs, and how often
// each program ran. Generic: callers give pinned paths and decode keys and values themselves.
import { bpftoolJson } from '../host/bpftool.ts';
import { spawnLineProcess } from '../host/exec.ts';
import { builtTool } from '../bpf/objects.ts';
import type { Lab } from '../topology/lab.ts';

export interface MapEntry {
  key: Uint8Array;
  /** The value of a plain map (undefined for per-CPU maps). */
  value?: Uint8Array;
  /** One value per CPU (per-CPU maps only). */
  perCpu?: Uint8Array[];
}

interface BpftoolMapEntry {
  key: string[];
  value?: string[];
  values?: Array<{ cpu: number; value: string[] }>;
}

export const bytesOf = (hex: readonly string[]): Uint8Array => Uint8Array.from(hex.map((h) => Number.parseInt(h, 16)));

/** Parses `bpftool -j map dump` output (raw bytes; the BTF "formatted" view is ignored). */
export function parseMapDump(json: readonly BpftoolMapEntry[]): MapEntry[] {
  return json.map((e) => ({
    key: bytesOf(e.key),
    ...(e.value ? { value: bytesOf(e.value) } : {}),
    ...(e.values ? { perCpu: e.values.map((v) => bytesOf(v.value)) } : {}),
  }));
}

export async function dumpPinnedMap(pinned: string): Promise<MapEntry[]> {
  return parseMapDump(await bpftoolJson<BpftoolMapEntry[]>(['map', 'dump', 'pinned', pinned]));
}

/** A little-endian unsigned integer of up to 8 bytes (BPF maps hold host-order values; this host is little-endian). */
export function readUintLE(bytes: Uint8Array, offset = 0, size = bytes.length - offset): number {
  let value = 0n;
  for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[offset + i] ?? 0);
  return Number(value);
}

/** A per-CPU array of u64 counters: index -> sum over CPUs. */
export function sumPerCpuCounters(entries: readonly MapEntry[]): Map<number, number> {
  const sums = new Map<number, number>();
  for (const entry of entries) {
    const index = readUintLE(entry.key);
    sums.set(index, (entry.perCpu ?? []).reduce((sum, value) => sum + readUintLE(value), 0));
  }
  return sums;
}

export async function readPerCpuCounters(pinned: string): Promise<Map<number, number>> {
  return sumPerCpuCounters(await dumpPinnedMap(pinned));
}

/** Counter values by name, given the names in index order. */
export function nameCounters<Name extends string>(sums: ReadonlyMap<number, number>, names: readonly Name[]): Record<Name, number> {
  return Object.fromEntries(names.map((name, index) => [name, sums.get(index) ?? 0])) as Record<Name, number>;
}

/** The difference between two counter snapshots (what one phase of a run added). */
export function counterDelta<Name extends string>(after: Record<Name, number>, before: Record<Name, number>): Record<Name, number> {
  return Object.fromEntries(Object.keys(after).map((name) => [name, after[name as Name] - (before[name as Name] ?? 0)])) as Record<Name, number>;
}

export interface ProgramStats {
  id: number;
  name: string;
  type: string;
  /** Times the program ran; counted only while statistics are on (see enableBpfStats). */
  runCount: number;
  runTimeNs: number;
}

interface BpftoolProg {
  id: number;
  name?: string;
  type: string;
  run_cnt?: number;
  run_time_ns?: number;
}

export async function pinnedProgramStats(pinned: string): Promise<ProgramStats> {
  const prog = await bpftoolJson<BpftoolProg>(['prog', 'show', 'pinned', pinned]);
  return { id: prog.id, name: prog.name ?? '', type: prog.type, runCount: prog.run_cnt ?? 0, runTimeNs: prog.run_time_ns ?? 0 };
}

const statsHolders = new WeakMap<Lab, Promise<void>>();

/**
 * Turns on program run counts for the run's lifetime. Rather than writing the machine-wide sysctl
 * kernel.bpf_stats_enabled (which a concurrent run would switch off under us, and a crash would
 * leave on), a helper holds a BPF_ENABLE_STATS descriptor: the kernel counts runs while any such
 * descriptor is open. The helper exits when the lab closes its stdin, or dies.
 */
export function enableBpfStats(lab: Lab): Promise<void> {
  let held = statsHolders.get(lab);
  if (!held) {
    held = (async () => {
      const holder = spawnLineProcess(await builtTool('hold-bpf-stats'), [], { maxLifetimeMs: 4 * 60 * 60_000 });
      lab.record({ kind: 'process', pid: holder.pid, command: holder.command });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`hold-bpf-stats did not start: ${holder.stderr()}`)), 10_000);
        holder.onLine((line) => line === 'enabled' && (clearTimeout(timer), resolve()));
        void holder.exited.then(() => (clearTimeout(timer), reject(new Error(`hold-bpf-stats exited: ${holder.stderr().trim()}`))));
      });
    })();
    statsHolders.set(lab, held);
  }
  return held;
}

/**
 * Dumps a map at a fixed interval while traffic flows, for maps whose entries live only as long as
 * their connections (a SOCKHASH empties when the sockets close). Bounded by maxSamples and by stop().
 */
export class MapSampler {
  private readonly samples: Array<{ at: number; entries: MapEntry[] }> = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private errors = 0;
  private stopped = false;

  private constructor(
    readonly pinned: string,
    private readonly intervalMs: number,
    private readonly maxSamples: number,
  ) {}

  static start(pinned: string, options: { intervalMs: number; maxSamples: number }): MapSampler {
    const sampler = new MapSampler(pinned, options.intervalMs, options.maxSamples);
    sampler.schedule();
    return sampler;
  }

  private schedule(): void {
    if (this.stopped || this.samples.length + this.errors >= this.maxSamples) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.sample().then(() => this.schedule());
    }, this.intervalMs);
  }

  /** Takes one sample now (also usable on demand, e.g. while a connection is held open). */
  async sample(): Promise<void> {
    try {
      this.samples.push({ at: Date.now(), entries: await dumpPinnedMap(this.pinned) });
    } catch {
      // The map disappears when the run tears down under a sampler that was not stopped.
      this.errors++;
    }
  }

  /** Every distinct key seen in any sample, as hex, with how many samples held it. */
  distinctKeys(): Map<string, { key: Uint8Array; samples: number }> {
    const seen = new Map<string, { key: Uint8Array; samples: number }>();
    for (const { entries } of this.samples) {
      for (const entry of entries) {
        const hex = Buffer.from(entry.key).toString('hex');
        const known = seen.get(hex);
        if (known) known.samples++;
        else seen.set(hex, { key: entry.key, samples: 1 });
      }
    }
    return seen;
  }

  /** Every sample taken, oldest first (for questions about what the map held at one moment). */
  snapshots(): ReadonlyArray<{ at: number; entries: readonly MapEntry[] }> {
    return this.samples;
  }

  get sampleCount(): number {
    return this.samples.length;
  }

  /** The largest number of entries one sample held. */
  get peakEntries(): number {
    return Math.max(0, ...this.samples.map((s) => s.entries.length));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight;
  }
}
