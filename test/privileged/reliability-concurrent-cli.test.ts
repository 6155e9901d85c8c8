// Two users on one machine: a small `lab bench --quick` and a `lab verify`, started at the same time
// as two separate CLI processes. Each reaps stale runs when it starts, reads and writes ledgers,
// holds BPF statistics and builds namespaces under the same prefixes: neither may take the other's
// live run for a leftover, both must succeed, and afterwards nothing of either may remain.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { listLedgers } from '../../lab/topology/ledger.ts';
import { labDebris, runProcesses, snapshotHost, stillRunning, type ProcessSeen } from '../support/host-state.ts';
import { LabProcess, sleep } from '../support/lab-cli.ts';
import { describePrivileged } from '../support/privileged.ts';

describePrivileged('a bench and a verify at the same time', ['haproxy', 'iperf3', 'iptables-restore', 'conntrack', 'ethtool'], () => {
  const out = mkdtempSync(join(tmpdir(), 'lab-bench-concurrent-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('both succeed and leave nothing behind', { timeout: 420_000 }, async () => {
    const host = snapshotHost();
    // Only flags that every version of the bench command has: one backend pair, one metric, quick.
    const bench = new LabProcess(['bench', '--backends', 'none,redirect', '--placements', 'same-node', '--metrics', 'throughput', '--quick', '--out', out]);
    const verify = new LabProcess(['verify', '--backend', 'tproxy', '--json']);

    // Every run either process owns, and every process of those runs, seen while they live.
    const runIds = new Set<string>();
    const processes = new Map<number, ProcessSeen>();
    let overlapped = false;
    const watch = () => {
      const ledgers = listLedgers();
      for (const ledger of ledgers) if (ledger.ownerPid === bench.pid || ledger.ownerPid === verify.pid) runIds.add(ledger.runId);
      const live = (pid: number) => ledgers.some((l) => l.ownerPid === pid && l.ownerAlive);
      overlapped ||= live(bench.pid) && live(verify.pid);
      for (const runId of runIds) for (const p of runProcesses(runId)) processes.set(p.pid, p);
    };
    let finished = 0;
    void bench.exited.then(() => finished++);
    void verify.exited.then(() => finished++);
    const deadline = Date.now() + 400_000;
    while (finished < 2 && Date.now() < deadline) {
      watch();
      await sleep(100);
    }
    const [benchCode, verifyCode] = await Promise.all([bench.exited, verify.exited]);

    expect(verifyCode, verify.stderr.slice(-3000)).toBe(0);
    const report = JSON.parse(verify.stdout) as { ok: boolean; runId: string; checks: Array<{ name: string; ok: boolean; detail: string }> };
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(benchCode, bench.stderr.slice(-3000)).toBe(0);
    expect(existsSync(join(out, 'results.json'))).toBe(true);

    // Both really ran side by side: a live run of each at the same moment.
    expect(overlapped, 'a bench run and the verify run were live at the same time').toBe(true);
    expect(runIds.has(report.runId)).toBe(true);
    expect(runIds.size).toBeGreaterThanOrEqual(2);
    for (const runId of runIds) expect(labDebris(runId), runId).toEqual([]);
    expect(stillRunning([...processes.values()])).toEqual([]);
    expect(snapshotHost()).toEqual(host);
  });
});
