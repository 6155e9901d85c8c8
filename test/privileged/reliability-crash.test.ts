// Crash-proof cleanup: `lab verify` is SIGKILLed (no handler can run) mid-topology, mid-install and
// mid-traffic, for every registered backend. What the ledger recorded must then be removed
// entirely, either by `lab clean` or by the start of the next run: namespaces, cgroups, bpffs pins,
// tracefs instances, every process of the run, the global sysctls, and the host as it was.
import { expect, it } from 'vitest';
import { backendNames } from '../../lab/backends/index.ts';
import { withLab } from '../../lab/topology/lab.ts';
import type { LedgerEntry } from '../../lab/topology/ledger.ts';
import { labDebris, runProcesses, snapshotHost, stillRunning, type ProcessSeen } from '../support/host-state.ts';
import { LabProcess, labSync } from '../support/lab-cli.ts';
import { describePrivileged } from '../support/privileged.ts';

type KillPoint = 'topology' | 'install' | 'traffic';

const isPodCgroup = (e: LedgerEntry) => e.kind === 'cgroup' && /\/lab-\w+\/./.test(e.dir);
const isInstallObject = (e: LedgerEntry) => e.kind === 'bpf-pin' || e.kind === 'cgroup-bpf' || e.kind === 'tc-filter' || (e.kind === 'process' && !/iperf3/.test(e.command));
const isIperf = (e: LedgerEntry) => e.kind === 'process' && /\biperf3\b/.test(e.command);

/** The moment to kill at, read from the ledger: objects are recorded just before they are made. */
const READY: Record<KillPoint, (entries: LedgerEntry[]) => boolean> = {
  // Pods are being made: nodes exist, the first pod cgroup is about to.
  topology: (entries) => entries.some(isPodCgroup),
  // The backend's first object (a sidecar, a pin, an attachment; for `none`, the apps starting).
  install: (entries) => entries.some(isInstallObject),
  // iperf3 was started: the probes and the bulk echo went through, bytes are flowing.
  traffic: (entries) => entries.some(isIperf),
};

interface Killed {
  runId: string;
  processes: ProcessSeen[];
  debris: string[];
}

async function killVerifyAt(backend: string, placement: string, point: KillPoint): Promise<Killed> {
  const lab = new LabProcess(['verify', '--backend', backend, '--placement', placement, '--iperf-seconds', '4']);
  const reached = await lab.waitForLedger(READY[point], 60_000);
  const before = lab.runId() ? runProcesses(lab.runId()!) : [];
  // Mid-traffic: let the stream run a moment, so the proxies and iperf3 are busy when the lab dies.
  if (point === 'traffic') await new Promise((r) => setTimeout(r, 400));
  lab.kill('SIGKILL');
  await lab.exited;
  const runId = lab.runId();
  if (!reached || runId === undefined) throw new Error(`verify ${backend} never reached ${point} (exited early?)\n${lab.stderr.slice(-2000)}`);
  // Processes the run had (the lab's children outlive it: nothing reaps them but the ledger).
  const seen = new Map([...before, ...runProcesses(runId)].map((p) => [p.pid, p]));
  return { runId, processes: [...seen.values()], debris: labDebris(runId) };
}

function expectGone(killed: Killed): void {
  expect(labDebris(killed.runId)).toEqual([]);
  expect(stillRunning(killed.processes)).toEqual([]);
}

describePrivileged('crash-proof cleanup (SIGKILL)', ['haproxy', 'iperf3', 'iptables-restore', 'conntrack', 'bpftool', 'clang'], () => {
  const backends = backendNames();
  const points: KillPoint[] = ['topology', 'install', 'traffic'];
  const cases = backends.flatMap((backend, b) =>
    points.map((point, p) => ({
      backend,
      point,
      // Both placements and both ways of cleaning up, spread over the matrix.
      placement: (b + p) % 2 === 0 ? 'same-node' : 'cross-node',
      cleaner: (b + p) % 2 === 0 ? ('lab clean' as const) : ('next run' as const),
    })),
  );

  it.each(cases)('$backend killed mid-$point ($placement): $cleaner removes everything', async ({ backend, point, placement, cleaner }) => {
    const host = snapshotHost();
    const killed = await killVerifyAt(backend, placement, point);
    // The kill really left something behind: otherwise this would prove nothing.
    expect(killed.debris.length, `debris of run ${killed.runId}`).toBeGreaterThan(0);
    if (point === 'traffic') expect(killed.processes.length, 'processes of the run').toBeGreaterThan(0);

    if (cleaner === 'lab clean') {
      // Another developer's run starting now would reap this run first (as it should): only ask
      // `lab clean` to account for the run when its leftovers are still there.
      const leftBehind = labDebris(killed.runId).length > 0;
      const clean = labSync(['clean', '--json']);
      const report = JSON.parse(clean.stdout) as { removed: string[]; failed: string[]; liveRuns: string[] };
      // Other developers' runs may be live or stale on a shared machine: judge only this run.
      expect(report.failed.filter((f) => f.includes(killed.runId))).toEqual([]);
      // Another run may still reap it between that look and the clean: then the clean finds nothing.
      if (leftBehind) expect(report.removed.some((r) => r.includes(killed.runId)) || labDebris(killed.runId).length === 0, report.removed.join('\n')).toBe(true);
      expect(report.liveRuns).not.toContain(killed.runId);
    } else {
      // The next run reaps stale runs before it builds anything: inside it, the old run is gone.
      await withLab({ nodes: [{ name: 'next', pods: [] }] }, async () => expectGone(killed));
    }
    expectGone(killed);
    expect(snapshotHost()).toEqual(host);
  });
});
