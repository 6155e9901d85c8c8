// SIGINT during `lab bench`: with every setup live side by side and the rounds under way, the command
// stops within seconds, keeps the rounds (and slices) that finished, and tears down every live setup.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { listLedgers } from '../../lab/topology/ledger.ts';
import { labDebris, runProcesses, snapshotHost, stillRunning, type ProcessSeen } from '../support/host-state.ts';
import { LabProcess, sleep } from '../support/lab-cli.ts';
import { describePrivileged } from '../support/privileged.ts';

interface Results {
  status: string;
  roundsCompleted: number;
  slices: Array<{ round: number; setupId: number; metric: string }>;
  setups: Array<{ id: number; runId?: string }>;
}

function readResults(file: string): Results | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Results;
  } catch {
    return undefined; // not written yet
  }
}

describePrivileged('SIGINT during lab bench', ['haproxy', 'iperf3', 'iptables-restore', 'conntrack', 'ethtool', 'taskset'], () => {
  const out = mkdtempSync(join(tmpdir(), 'lab-bench-int-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('stops within seconds, keeps the finished rounds, tears down every live setup', async () => {
    const host = snapshotHost();
    const bench = new LabProcess(['bench', '--backends', 'none,redirect', '--placements', 'same-node', '--metrics', 'throughput,cps', '--rounds', '20', '--out', out]);
    const resultsFile = join(out, 'results.json');
    // Every run this bench process owns, and every process those runs had: found while they live.
    const runIds = new Set<string>();
    const processes = new Map<number, ProcessSeen>();
    const watch = () => {
      for (const ledger of listLedgers()) if (ledger.ownerPid === bench.pid) runIds.add(ledger.runId);
      for (const runId of runIds) for (const p of runProcesses(runId)) processes.set(p.pid, p);
    };
    // Wait for one finished round and the next one under way (both setups live, sidecars running).
    const deadline = Date.now() + 120_000;
    let exited = false;
    void bench.exited.then(() => (exited = true));
    let seen: Results | undefined;
    while (!exited && Date.now() < deadline) {
      watch();
      seen = readResults(resultsFile);
      if ((seen?.roundsCompleted ?? 0) >= 1 && seen!.slices.some((s) => s.round === 2)) break;
      await sleep(50);
    }
    expect(exited, bench.stderr.slice(-2000)).toBe(false);
    expect(seen?.roundsCompleted).toBeGreaterThanOrEqual(1);
    watch();
    // Both setups were live at once: two runs, each with its own sidecars or apps.
    expect(runIds.size).toBe(2);
    expect([...processes.values()].some((p) => p.cmdline.includes('haproxy'))).toBe(true);

    const interruptedAt = performance.now();
    bench.kill('SIGINT');
    const code = await bench.exited;
    const stopSeconds = (performance.now() - interruptedAt) / 1000;
    expect(code).toBe(130);
    expect(stopSeconds).toBeLessThan(10);
    expect(bench.stderr).toContain('SIGINT');

    // The finished rounds are kept, with every slice seen before the interrupt; the report is written.
    const results = readResults(resultsFile)!;
    expect(results.status).toBe('interrupted');
    expect(results.roundsCompleted).toBeGreaterThanOrEqual(seen!.roundsCompleted);
    expect(results.slices.length).toBeGreaterThanOrEqual(seen!.slices.length);
    expect(results.slices.filter((s) => s.round === 1)).toHaveLength(2 * 2);
    expect(existsSync(join(out, 'report.md'))).toBe(true);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('**This run is interrupted**');

    // Torn down: every run of the bench, its processes, and the host as it was.
    for (const runId of runIds) expect(labDebris(runId), runId).toEqual([]);
    expect(stillRunning([...processes.values()])).toEqual([]);
    expect(snapshotHost()).toEqual(host);
  });
});
