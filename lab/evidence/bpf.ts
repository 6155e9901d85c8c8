// BPF evidence over time: map contents sampled while traffic flows, and counter movement between
// two readings. Reads only (lab/bpf/maps.ts); loading, building and statistics live in lab/bpf.
import { readMap, type MapEntry } from '../bpf/maps.ts';
import { PeriodicSampler } from './periodic-sampler.ts';

/** The difference between two counter snapshots (what one phase of a run added). */
export function counterDelta<Name extends string>(after: Record<Name, number>, before: Record<Name, number>): Record<Name, number> {
  return Object.fromEntries(Object.keys(after).map((name) => [name, after[name as Name] - (before[name as Name] ?? 0)])) as Record<Name, number>;
}

/**
 * Dumps a map at a fixed interval while traffic flows, for maps whose entries live only as long as
 * their connections (a SOCKHASH empties when the sockets close). Entries are BTF-formatted (see
 * readMap). Bounded by maxSamples and by stop(); `lab.own(sampler)` makes teardown stop it.
 */
export class MapSampler<K = unknown, V = unknown> {
  private constructor(
    readonly pinned: string,
    private readonly readings: PeriodicSampler<{ at: number; entries: MapEntry<K, V>[] }>,
  ) {}

  /** `read` defaults to readMap; tests give their own. */
  static start<K = unknown, V = unknown>(
    pinned: string,
    options: { intervalMs: number; maxSamples: number; read?: (pinned: string) => Promise<MapEntry<K, V>[]> },
  ): MapSampler<K, V> {
    const read = options.read ?? ((p: string) => readMap<K, V>(p));
    const readings = PeriodicSampler.start({ intervalMs: options.intervalMs, maxSamples: options.maxSamples, read: async () => ({ at: Date.now(), entries: await read(pinned) }) });
    return new MapSampler<K, V>(pinned, readings);
  }

  /** Takes one sample now (also usable on demand, e.g. while a connection is held open). */
  sample(): Promise<void> {
    return this.readings.sampleNow();
  }

  /** Every distinct key seen in any sample (keyed by its JSON), with how many samples held it. */
  distinctKeys(): Map<string, { key: K; samples: number }> {
    const seen = new Map<string, { key: K; samples: number }>();
    for (const { entries } of this.readings.samples) {
      for (const entry of entries) {
        const id = JSON.stringify(entry.key);
        const known = seen.get(id);
        if (known) known.samples++;
        else seen.set(id, { key: entry.key, samples: 1 });
      }
    }
    return seen;
  }

  /** Every sample taken, oldest first (for questions about what the map held at one moment). */
  snapshots(): ReadonlyArray<{ at: number; entries: readonly MapEntry<K, V>[] }> {
    return this.readings.samples;
  }

  get sampleCount(): number {
    return this.readings.samples.length;
  }

  /** Reads that failed (the map disappears when a run tears down under a sampler not yet stopped). */
  get failedReads(): { count: number; first?: string } {
    return this.readings.failedReads;
  }

  /** The largest number of entries one sample held. */
  get peakEntries(): number {
    return Math.max(0, ...this.readings.samples.map((s) => s.entries.length));
  }

  stop(): Promise<void> {
    return this.readings.stop();
  }
}
