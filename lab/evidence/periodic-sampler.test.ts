import { describe, expect, it } from 'vitest';
import { PeriodicSampler } from './periodic-sampler.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the sampler has made `count` readings (bounded: a busy machine delays timers). */
async function readingsMade(sampler: PeriodicSampler<unknown>, count: number): Promise<void> {
  for (let waited = 0; sampler.samples.length + sampler.failedReads.count < count; waited += 5) {
    if (waited > 5000) throw new Error(`only ${sampler.samples.length + sampler.failedReads.count} of ${count} readings in 5 s`);
    await sleep(5);
  }
}

describe('a periodic sampler', () => {
  it('reads at once when asked, then at its interval, never two readings at a time', async () => {
    let running = 0;
    let overlapped = false;
    let n = 0;
    const sampler = PeriodicSampler.start({
      intervalMs: 1,
      maxSamples: 5,
      readAtStart: true,
      read: async () => {
        overlapped ||= running > 0;
        running++;
        await sleep(3);
        running--;
        return n++;
      },
    });
    await sampler.sampleNow();
    await readingsMade(sampler, 5);
    await sleep(20);
    await sampler.stop();
    expect(overlapped).toBe(false);
    // The bound counts the on-demand reading too: 5 readings in all, numbered in the order taken.
    expect(sampler.samples).toEqual([0, 1, 2, 3, 4]);
  });

  it('takes nothing more once stopped, on its timer or on demand', async () => {
    let n = 0;
    const sampler = PeriodicSampler.start({ intervalMs: 1, maxSamples: 100, read: () => Promise.resolve(n++) });
    // It must have been sampling, or stopping it would prove nothing.
    await readingsMade(sampler, 2);
    await sampler.stop();
    const taken = sampler.samples.length;
    await sampler.sampleNow();
    await sleep(10);
    expect(sampler.samples.length).toBe(taken);
  });

  it('keeps failed readings with the first error, and counts them towards its bound', async () => {
    let n = 0;
    const sampler = PeriodicSampler.start({
      intervalMs: 1,
      maxSamples: 4,
      read: () => (n++ % 2 === 0 ? Promise.reject(new Error(`map gone at ${n}`)) : Promise.resolve(n)),
    });
    await readingsMade(sampler, 4);
    await sleep(20);
    await sampler.stop();
    expect(sampler.samples).toEqual([2, 4]);
    expect(sampler.failedReads).toEqual({ count: 2, first: 'map gone at 1' });
  });
});
