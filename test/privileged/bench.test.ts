import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runBench } from '../../lab/bench/run.ts';
import { measureScale } from '../../lab/bench/scale.ts';
import { readResults } from '../../lab/report/results.ts';
import { describePrivileged } from '../support/privileged.ts';

describePrivileged('bench', ['sockperf', 'iperf3', 'ethtool'], () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-bench-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a tiny bench for real and writes a complete, sane report', async () => {
    const lines: string[] = [];
    const outcome = await runBench({
      backends: ['none'],
      placements: ['same-node'],
      repeats: 1,
      quick: true,
      outDir: dir,
      latencyTool: 'sockperf',
      durations: { latency: { tool: 'sockperf', rate: 500, seconds: 1, connections: 1, warmupSeconds: 0, messageBytes: 64 }, cps: { maxConnections: 2000, seconds: 0.5, concurrency: 2, warmupSeconds: 0 } },
      progress: (line) => lines.push(line),
    });
    expect(outcome.status).toBe('complete');
    expect(lines.some((l) => l.startsWith('[1/1] repeat 1/1 none same-node: evidence ok'))).toBe(true);
    for (const file of ['results.json', 'report.md', 'throughput.svg', 'latency.svg', 'connection-rate.svg']) expect(existsSync(join(dir, file)), file).toBe(true);

    const results = readResults(join(dir, 'results.json'));
    expect(results.setups).toHaveLength(1);
    expect(results.setups[0]!.evidence?.ok).toBe(true);
    expect(results.environment.kernel).not.toBe('');
    expect(results.environment.vethOffloads['tcp-segmentation-offload']).toMatch(/^(on|off)/);
    const byMetric = new Map(results.runs.map((r) => [r.metric, r]));
    expect([...byMetric.keys()].sort()).toEqual(['cps', 'latency', 'throughput']);

    const latency = byMetric.get('latency')?.result;
    if (latency?.kind !== 'latency') throw new Error(`latency run failed: ${byMetric.get('latency')?.error}`);
    expect(latency.tool).toBe('sockperf');
    expect(latency.samples).toBeGreaterThan(100);
    expect(latency.percentilesUs.p50).toBeGreaterThan(1);
    expect(latency.percentilesUs.p50).toBeLessThan(50_000);
    expect(latency.percentilesUs.p50).toBeLessThanOrEqual(latency.percentilesUs.p999);
    expect(latency.achievedRate).toBeGreaterThan(400);

    const throughput = byMetric.get('throughput')?.result;
    if (throughput?.kind !== 'throughput') throw new Error(`throughput run failed: ${byMetric.get('throughput')?.error}`);
    expect(throughput.bitsPerSecond).toBeGreaterThan(1e8);
    expect(throughput.bytesReceived).toBeGreaterThan(0);

    const cps = byMetric.get('cps')?.result;
    if (cps?.kind !== 'connection-rate') throw new Error(`cps run failed: ${byMetric.get('cps')?.error}`);
    expect(cps.connections).toBeGreaterThan(20);
    expect(cps.connectionsPerSecond).toBeGreaterThan(40);

    expect(results.summaries.every((c) => c.valid && c.primary?.n === 1)).toBe(true);
    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(report).toMatch(/\| none \| same-node \| [\d.]+ \| /);
    expect(readFileSync(join(dir, 'latency.svg'), 'utf8')).toContain('<polyline class="median"');
  });

  it('times pods coming up and going down (teardown failures throw)', async () => {
    const record = await measureScale(10);
    expect(record.pods).toBe(10);
    expect(record.createSeconds).toBeGreaterThan(0);
    expect(record.teardownSeconds).toBeGreaterThan(0);
    expect(record.secondsPerPod).toBeCloseTo((record.createSeconds + record.teardownSeconds) / 10, 10);
  });
});
