import { describe, expect, it } from 'vitest';
import type { MapEntry } from '../bpf/maps.ts';
import { counterDelta, MapSampler } from './bpf.ts';

describe('BPF evidence over time', () => {
  it('subtracts snapshots counter by counter', () => {
    expect(counterDelta({ a: 10, b: 3 }, { a: 4, b: 3 })).toEqual({ a: 6, b: 0 });
  });

  it('samples a map until stopped, counting each distinct key once per sample', async () => {
    const key = (port: number) => ({ local_ip4: 167842502, local_port: port });
    const contents: Array<MapEntry<ReturnType<typeof key>, number>[]> = [[{ key: key(1), value: 7 }], [{ key: key(1), value: 7 }, { key: key(2), value: 8 }]];
    let reads = 0;
    const sampler = MapSampler.start('/sys/fs/bpf/none', { intervalMs: 1, maxSamples: 10, read: () => Promise.resolve(contents[Math.min(reads++, 1)]!) });
    await sampler.sample();
    await sampler.sample();
    await sampler.stop();
    const afterStop = sampler.sampleCount;
    await new Promise((r) => setTimeout(r, 20));
    expect(sampler.sampleCount).toBe(afterStop);
    const seen = sampler.distinctKeys();
    expect(seen.get(JSON.stringify(key(1)))?.samples).toBe(afterStop);
    expect(seen.get(JSON.stringify(key(2)))?.key).toEqual(key(2));
    expect(sampler.peakEntries).toBe(2);
  });

  it('stops after maxSamples, counting failed reads too', async () => {
    let reads = 0;
    const sampler = MapSampler.start('/sys/fs/bpf/none', { intervalMs: 1, maxSamples: 3, read: () => (reads++, Promise.reject(new Error('gone'))) });
    // Bounded wait for the third read (a busy machine delays timers), then time for a fourth that must not come.
    for (let waited = 0; sampler.failedReads.count < 3 && waited < 5000; waited += 5) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
    await sampler.stop();
    expect(reads).toBe(3);
    expect(sampler.sampleCount).toBe(0);
    // Failed reads are kept with their error: "no sample" is told apart from "an empty map".
    expect(sampler.failedReads).toEqual({ count: 3, first: 'gone' });
  });
});
