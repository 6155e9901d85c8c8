// The noise floor for real, small: two identical none setups live side by side, three rounds of
// throughput and connection rate, every slice measured on its own setup, then the A/A table.
import { expect, it } from 'vitest';
import { noiseFloorTable, runNoiseFloor } from '../../lab/bench/noise-floor.ts';
import { labDebris } from '../support/host-state.ts';
import { describePrivileged } from '../support/privileged.ts';

describePrivileged('noise floor', { tools: ['iperf3', 'taskset'] }, () => {
  it('measures none against an identical none, round by round, and tears both down', async () => {
    const lines: string[] = [];
    const result = await runNoiseFloor({ metrics: ['throughput', 'cps'], rounds: 3, progress: (line) => lines.push(line) });
    expect(result.roundsCompleted).toBe(3);
    expect(lines.filter((l) => /^round \d\/3: 4 slices/.test(l))).toHaveLength(3);
    // Every round measured both twins once per metric, and every slice moved traffic.
    for (const round of [1, 2, 3]) {
      const slices = result.slices.filter((s) => s.round === round);
      expect(slices.map((s) => `${s.setupId} ${s.metric}`).sort()).toEqual(['1 cps', '1 throughput', '2 cps', '2 throughput']);
    }
    for (const slice of result.slices) {
      expect(slice.error, `${slice.metric} setup ${slice.setupId} round ${slice.round}`).toBeUndefined();
      expect(slice.backend).toBe('none');
      expect(slice.traffic?.connections).toBeGreaterThan(0);
    }
    // Two runs of the lab, one per twin; both gone.
    expect(new Set(result.runIds).size).toBe(2);
    for (const runId of result.runIds) expect(labDebris(runId)).toEqual([]);
    // The table has one row per metric; the twins' throughput is the same path, so a median ratio far
    // from 1 would mean the two were not measured alike.
    const table = noiseFloorTable(result);
    expect(table.filter((l) => /^\| (throughput|connection rate) \|/.test(l))).toHaveLength(2);
    const throughput = result.lines.find((l) => l.metric === 'throughput')!;
    if (throughput.interval) expect(Math.abs(Math.log(throughput.interval.estimate))).toBeLessThan(Math.log(2));
  });
});
