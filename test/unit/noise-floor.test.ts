// The noise floor's arithmetic on slices shaped like recorded ones: twin over first, paired by
// round, the stall rule applied, and the spread of one round's ratio.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { noiseFloorLines, noiseFloorTable, type NoiseFloorResult } from '../../lab/bench/noise-floor.ts';
import { parseResults, type SliceRecord } from '../../lab/report/results.ts';

const template = parseResults(readFileSync(new URL('../fixtures/report/recorded/results.json', import.meta.url), 'utf8')).slices.find((s) => s.metric === 'throughput')!;
const quietNoise = { ...template.noise!, windowMs: 1000, plannedMs: 1000, cpus: 2, stealUs: 0, machineBusyUs: 1_000_000, setupUs: 1_000_000, softirqThreadsUs: 0, disturbed: false };

/** A throughput slice of setup 1 (first) or 2 (twin) in a round, at `gbps`. */
function slice(setupId: number, round: number, gbps: number, noise = quietNoise): SliceRecord {
  return { ...template, setupId, round, backend: 'none', path: { status: 'no-path' }, noise, result: { kind: 'throughput', tool: 'iperf3', bitsPerSecond: gbps * 1e9, bytesSent: 1e9, bytesReceived: 1e9, seconds: 1, retransmits: 0 } };
}

describe('noise floor lines', () => {
  it('pairs the twin with the first by round and gives the median ratio, its interval and the spread', () => {
    const ratios = [1.1, 0.9, 1.0, 1.05, 0.95];
    const slices = ratios.flatMap((r, i) => [slice(1, i + 1, 10), slice(2, i + 1, 10 * r)]);
    const [line] = noiseFloorLines(slices, ['throughput'], 12);
    expect(line!.pairedRounds).toBe(5);
    expect(line!.interval!.estimate).toBeCloseTo(1.0, 10);
    expect(line!.interval!.low).toBeLessThanOrEqual(1);
    expect(line!.interval!.high).toBeGreaterThanOrEqual(1);
    const logs = ratios.map(Math.log);
    const mean = logs.reduce((a, b) => a + b) / logs.length;
    expect(line!.logRatioSd).toBeCloseTo(Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (logs.length - 1)), 10);
  });

  it('leaves out a round whose slice the stall rule flags, and gives no interval below three paired rounds', () => {
    const stolen = { ...quietNoise, stealUs: 200_000 };
    const slices = [slice(1, 1, 10), slice(2, 1, 10), slice(1, 2, 10), slice(2, 2, 5, stolen), slice(1, 3, 10), slice(2, 3, 11)];
    const [line] = noiseFloorLines(slices, ['throughput'], 12);
    expect(line!.pairedRounds).toBe(2);
    expect(line!.flagged).toBe(1);
    expect(line!.interval).toBeNull();
    expect(line!.halfWidth).toBeNull();
    const result: NoiseFloorResult = { placement: 'same-node', pin: 'pods', seed: 12, roundsAsked: 3, roundsCompleted: 3, seconds: 20, runIds: [], lines: [line!], slices };
    // Rounds 1 and 3: ratios 1 and 1.1, so the sd of their logs is ln(1.1)/√2.
    expect(noiseFloorTable(result)).toContain('| throughput | 2 | 1 / 0 | too few paired rounds (it needs 3) | – | 6.7 % |');
  });
});
