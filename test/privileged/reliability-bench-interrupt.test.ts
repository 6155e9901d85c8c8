// SIGINT during `lab bench`: the command stops within seconds, tears down the cell in progress,
// and keeps the results of the cells that finished (results.json marked interrupted).
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
  runs: Array<{ setupId: number; metric: string }>;
  setups: Array<{ id: number; interrupted?: boolean }>;
}

function readResults(file: string): Results | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Results;
  } catch {
    return undefined; // not written yet
  }
}

describePrivileged('SIGINT during lab bench', ['haproxy', 'iperf3', 'iptables-restore', 'conntrack', 'ethtool'], () => {
  const out = mkdtempSync(join(tmpdir(), 'lab-bench-int-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('stops within seconds, tears down the cell in progress, keeps the finished cells', async () => {
    const host = snapshotHost();
    const bench = new LabProcess(['bench', '--backends', 'redirect', '--placements', 'same-node', '--metrics', 'throughput,cps', '--repeats', '3', '--quick', '--out', out]);
    const resultsFile = join(out, 'results.json');
    // Every run this bench process owns, and every process those runs had: found while they live.
    const runIds = new Set<string>();
    const processes = new Map<number, ProcessSeen>();
    const watch = () => {
      for (const ledger of listLedgers()) if (ledger.ownerPid === bench.pid) runIds.add(ledger.runId);
      for (const runId of runIds) for (const p of runProcesses(runId)) processes.set(p.pid, p);
    };
    // Wait for one finished cell, then for the next cell to be mid-way (its sidecars running).
    const deadline = Date.now() + 90_000;
    let exited = false;
    void bench.exited.then(() => (exited = true));
    let finishedRuns = 0;
    while (!exited && Date.now() < deadline) {
      watch();
      const results = readResults(resultsFile);
      finishedRuns = results?.runs.length ?? 0;
      const current = listLedgers().find((l) => l.ownerPid === bench.pid && l.ownerAlive);
      const midCell = current?.entries.some((e) => e.kind === 'process' && e.command.includes('haproxy')) ?? false;
      if (finishedRuns > 0 && midCell && results?.setups.length === 2) break;
      await sleep(50);
    }
    expect(exited, bench.stderr.slice(-2000)).toBe(false);
    expect(finishedRuns).toBeGreaterThan(0);
    watch();

    const interruptedAt = performance.now();
    bench.kill('SIGINT');
    const code = await bench.exited;
    const stopSeconds = (performance.now() - interruptedAt) / 1000;
    expect(code).toBe(130);
    expect(stopSeconds).toBeLessThan(10);
    expect(bench.stderr).toContain('SIGINT');

    // The finished cells are kept; the one cut short is marked, not passed off as a result.
    const results = readResults(resultsFile)!;
    expect(results.status).toBe('interrupted');
    expect(results.runs.length).toBeGreaterThanOrEqual(finishedRuns);
    expect(results.runs.every((r) => r.setupId === 1)).toBe(true);
    expect(results.setups.find((s) => s.id === 2)?.interrupted).toBe(true);
    expect(existsSync(join(out, 'report.md'))).toBe(true);

    // Torn down: every run of the bench, its processes, and the host as it was.
    expect(runIds.size).toBeGreaterThanOrEqual(2);
    for (const runId of runIds) expect(labDebris(runId), runId).toEqual([]);
    expect(stillRunning([...processes.values()])).toEqual([]);
    expect(snapshotHost()).toEqual(host);
  });
});
