// A dead run must look dead to `lab clean`, whatever its owner's pid says. Two ways a pid lies:
//  - the owner was SIGKILLed with its whole process group and nobody reaped it: kill(pid, 0) still
//    succeeds on the zombie (PID 1 of a container or CI runner may not reap for a long time);
//  - the owner's pid now belongs to another, living process.
// In both cases `lab clean` must remove every object of the run.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { readProcStat } from '../../lab/host/process-identity.ts';
import { LAB_RUN_ROOT, listLedgers, type LedgerEntry, type LedgerFile } from '../../lab/topology/ledger.ts';
import { labDebris, runProcesses, snapshotHost, stillRunning, type ProcessSeen } from '../support/host-state.ts';
import { LAB, LabProcess, labSync, sleep } from '../support/lab-cli.ts';
import { describePrivileged } from '../support/privileged.ts';

interface CleanReport {
  removed: string[];
  failed: string[];
  liveRuns: string[];
}

/** The sidecars are up: the run has namespaces, cgroups, iptables rules in pods and processes. */
const sidecarsRecorded = (entries: readonly LedgerEntry[]) => entries.some((e) => e.kind === 'process' && e.command.includes('haproxy'));

async function until<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await sleep(20);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function cleanAndJudge(runId: string, processes: readonly ProcessSeen[]): CleanReport {
  // The library's own verdict, before anything reaps the run: its owner is dead.
  expect(listLedgers().find((l) => l.runId === runId)?.ownerAlive ?? false).toBe(false);
  const clean = labSync(['clean', '--json']);
  const report = JSON.parse(clean.stdout) as CleanReport;
  // Other developers' runs may be live or stale on a shared machine: judge only this run. A run
  // that another lab reaped as it started (it is stale) may be gone before this clean looks: what
  // counts is that nothing of it is left and that it was not taken for a live run.
  expect(report.liveRuns).not.toContain(runId);
  expect(report.failed.filter((f) => f.includes(runId))).toEqual([]);
  expect(labDebris(runId)).toEqual([]);
  expect(stillRunning(processes)).toEqual([]);
  return report;
}

describePrivileged('a dead run is never taken for a live one', ['haproxy', 'iperf3', 'iptables-restore', 'conntrack', 'setsid'], () => {
  const started: ChildProcess[] = [];
  const runs: string[] = [];
  afterEach(() => {
    for (const child of started.splice(0)) child.kill('SIGKILL');
    // A test that failed midway must not leave its run to the next tests.
    if (runs.splice(0).some((runId) => labDebris(runId).length > 0)) labSync(['clean']);
  });

  it('lab clean removes a verify run killed with its process group whose owner is an unreaped zombie', async () => {
    const host = snapshotHost();
    // The owner's parent is a shell that execs `sleep`, which never waits for children: once
    // killed, `lab verify` stays a zombie for as long as the sleep lives, on any machine, instead of
    // depending on how quickly this machine's PID 1 reaps. setsid makes it lead its own process
    // group, so that one kill(-pgid) takes it and everything it started, as Ctrl-\ or a CI timeout does.
    const parent = spawn('sh', ['-c', 'setsid "$@" </dev/null >/dev/null 2>&1 & echo $!; exec sleep 170', 'sh', process.execPath, LAB, 'verify', '--backend', 'redirect', '--iperf-seconds', '4'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    started.push(parent);
    let printed = '';
    parent.stdout?.on('data', (d: Buffer) => (printed += d.toString()));
    const ownerPid = await until('the verify pid', () => (/^(\d+)\n/.exec(printed) ? Number(printed.trim()) : undefined), 10_000);
    const ledger = await until('the run to start its sidecars', () => listLedgers().find((l) => l.ownerPid === ownerPid && sidecarsRecorded(l.entries)), 60_000);
    runs.push(ledger.runId);
    const processes = runProcesses(ledger.runId);
    expect(processes.length, 'processes of the run').toBeGreaterThan(0);

    process.kill(-ownerPid, 'SIGKILL');
    // The owner is a zombie now (not reaped: its parent sleeps), and kill(pid, 0) still succeeds on it.
    const state = await until('the owner to become a zombie', () => (readProcStat(ownerPid)?.state === 'Z' ? 'Z' : undefined), 5_000);
    expect(state).toBe('Z');
    expect(() => process.kill(ownerPid, 0)).not.toThrow();
    expect(labDebris(ledger.runId).length, 'the kill left objects behind').toBeGreaterThan(0);

    cleanAndJudge(ledger.runId, processes);
    // Still a zombie during the clean: the test really exercised that case.
    expect(readProcStat(ownerPid)?.state).toBe('Z');
    expect(snapshotHost()).toEqual(host);
  });

  it('lab clean removes a run whose owner pid now belongs to a different, living process', async () => {
    const host = snapshotHost();
    const lab = new LabProcess(['verify', '--backend', 'redirect', '--iperf-seconds', '4']);
    expect(await lab.waitForLedger(sidecarsRecorded, 60_000), lab.stderr.slice(-2000)).toBe(true);
    const runId = lab.runId()!;
    runs.push(runId);
    const processes = runProcesses(runId);
    // Only the owner dies (and is reaped): its sidecars and apps keep running, orphaned.
    lab.kill('SIGKILL');
    await lab.exited;
    expect(stillRunning(processes).length, 'the run left processes running').toBeGreaterThan(0);

    // Pid reuse, made deterministic: the ledger stays exactly as the dead owner wrote it (its start
    // time included) except that its pid is now that of an unrelated process that is running,
    // which is what the file says once the kernel hands the owner's pid to somebody else.
    const unrelated = spawn('sleep', ['170'], { stdio: 'ignore' });
    started.push(unrelated);
    const file = join(LAB_RUN_ROOT, runId, 'ledger.json');
    const written = JSON.parse(readFileSync(file, 'utf8')) as LedgerFile;
    expect(written.ownerPid).toBe(lab.pid);
    writeFileSync(file, JSON.stringify({ ...written, ownerPid: unrelated.pid }));
    expect(() => process.kill(unrelated.pid!, 0)).not.toThrow();

    cleanAndJudge(runId, processes);
    // The unrelated process was left alone.
    expect(readProcStat(unrelated.pid!)?.state).not.toBe('Z');
    expect(readProcStat(unrelated.pid!)).toBeDefined();
    expect(snapshotHost()).toEqual(host);
  });
});
