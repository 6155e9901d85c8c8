// Sustained bulk load through sockmap, reduced to its cause. The stopped-receiver plans run as
// scenarios (scenarios/sockmap-pressure-*.ts); here, the failure itself: with a TCP memory budget on
// the receiving process (cgroup v1), the sender's write fails with ENOMEM once the receiver's queue
// fills the budget, while plain TCP stays within it; and the sockmap collision study, unpaced, fails
// the same way, which is why it is paced.
import { expect, it } from 'vitest';
import { runCollisionExperiment } from '../../lab/experiments/sockmap-collision.ts';
import { runPressureStudy, type PressureOptions } from '../../lab/experiments/sockmap-pressure.ts';
import { findTcpMemcgRoot } from '../../lab/experiments/tcp-memcg.ts';
import { describePrivileged } from '../support/privileged.ts';

const failed = (checks: ReadonlyArray<{ name: string; ok: boolean; detail: string }>) => checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
const MiB = 1024 * 1024;
const tcpMemcg = findTcpMemcgRoot();
if (tcpMemcg === undefined) process.stderr.write('skipping the TCP-budget sockmap tests: no cgroup v1 memory controller with memory.kmem.tcp.limit_in_bytes is mounted\n');

describePrivileged('sockmap under a TCP memory budget', { tools: ['bpftool', 'clang', 'haproxy', 'iperf3'], features: ['sockops', 'sk-msg', 'cgroup-connect4', 'cgroup-getsockopt'] }, () => {
  const stopped: Omit<PressureOptions, 'shape'> = { seconds: 8, length: '64K', bitrate: '100M', window: '256K', freezeReceiver: { atSeconds: 1, forSeconds: 4 }, tcpMemLimitBytes: 16 * MiB };

  it.skipIf(tcpMemcg === undefined)('plain TCP: the stopped receiver holds the sender back, within the budget', async () => {
    const result = await runPressureStudy({ shape: 'tcp', ...stopped });
    expect(failed(result.checks)).toEqual([]);
    expect(result.checks.map((c) => c.name)).toEqual(['tcp-holds-the-sender-back', 'tcp-stays-within-the-budget', 'outcome-explained']);
  });

  it.skipIf(tcpMemcg === undefined)('seed shape: the sender fails with ENOMEM once the receiver cannot be charged', async () => {
    const result = await runPressureStudy({ shape: 'seed', ...stopped });
    expect(failed(result.checks)).toEqual([]);
    expect(result.checks.map((c) => c.name)).toContain('enomem-when-the-receiver-cannot-be-charged');
    expect(result.iperf.error).toMatch(/Cannot allocate memory/);
    // The receiver's queue was far over its own receive buffer: no per-socket bound held it.
    expect(result.lastBeforeFailure!.rmemAlloc).toBeGreaterThan(8 * result.lastBeforeFailure!.rcvbuf);
  });

  it.skipIf(tcpMemcg === undefined)('the collision study unpaced fails on a small budget, and passes paced', async () => {
    const budget = { seconds: 2, sidecarTcpMemLimitBytes: 64 * MiB };
    const unpaced = await runCollisionExperiment({ ...budget, bitrate: false });
    const flows = unpaced.checks.find((c) => c.name === 'both-flows-through-their-sidecars')!;
    expect(flows.ok).toBe(false);
    expect(flows.detail).toMatch(/Cannot allocate memory|Broken pipe/);
    const paced = await runCollisionExperiment(budget);
    expect(failed(paced.checks)).toEqual([]);
  });
});
