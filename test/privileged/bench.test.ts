// `lab bench` for real, tiny: two setups live side by side, two rounds of every metric, then the
// report. Between the rounds the client pod's capture is removed (its nat rules flushed), and the
// second round's slices must show it in their own path counters.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { redirectBackend } from '../../lab/backends/redirect/redirect.ts';
import { runBench } from '../../lab/bench/run.ts';
import type { MeasuredSetup } from '../../lab/bench/slices.ts';
import { measureScale } from '../../lab/bench/scale.ts';
import { allowedCpus, cpuList } from '../../lab/host/pinning.ts';
import { onPath } from '../../lab/host/tools.ts';
import { readResults } from '../../lab/report/results.ts';
import { describePrivileged } from '../support/privileged.ts';

/** The CPUs a process may run on, as taskset writes them (e.g. "1", "0,1"). */
const cpusOf = (pid: number) => cpuList(allowedCpus(pid));
/** Every CPU but the first, or the first alone on a one-CPU machine. */
const allButFirst = () => (cpus().length > 1 ? cpuList(cpus().map((_, i) => i).slice(1)) : '0');

describePrivileged('bench', { tools: ['sockperf', 'iperf3', 'ethtool', 'haproxy', 'iptables-restore', 'taskset'], features: ['iptables-redirect'] }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-bench-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('measures live setups in interleaved, pinned slices with per-slice path evidence, and reports paired ratios', async () => {
    const lines: string[] = [];
    const setupProcessCpus: Array<string | undefined> = [];
    const benchCpusWhileMeasuring: Array<string | undefined> = [];
    const benchCpusBefore = cpusOf(process.pid);
    const outcome = await runBench({
      backends: ['none', 'redirect'],
      placements: ['same-node'],
      rounds: 2,
      outDir: dir,
      latencyTool: 'sockperf',
      progress: (line) => lines.push(line),
      afterRound: async (round: number, setups: readonly MeasuredSetup[]) => {
        // The default pinning, one-cpu: every long-lived process of both setups (apps, agents,
        // servers, sidecars) on CPU 0, and the bench itself on the other CPUs while it measures.
        for (const setup of setups) for (const pid of setup.processes.all) setupProcessCpus.push(cpusOf(pid));
        benchCpusWhileMeasuring.push(cpusOf(process.pid));
        const redirect = setups.find((s) => s.spec.backend === 'redirect')!;
        if (round === 1) await redirect.pair.lab.exec(redirect.pair.client, 'iptables', ['-t', 'nat', '-F'], { inCgroup: false });
      },
    });
    expect(outcome.status).toBe('complete');
    expect(lines.some((l) => /^setup 2\/2 redirect same-node: evidence ok/.test(l))).toBe(true);
    expect(lines.some((l) => /^round 2\/2: 8 slices/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^lab bench: complete in \S+ \(\d+ s wall: setups \d+ s, measuring \d+ s, teardown \d+ s\)$/);
    expect(setupProcessCpus.length).toBeGreaterThan(8);
    expect(new Set(setupProcessCpus)).toEqual(new Set(['0']));
    expect(new Set(benchCpusWhileMeasuring)).toEqual(new Set([allButFirst()]));
    // Once it has measured, the bench has the CPUs it had before.
    expect(cpusOf(process.pid)).toBe(benchCpusBefore);

    const results = readResults(join(dir, 'results.json'));
    expect(results.roundsCompleted).toBe(2);
    expect(results.configuration.pinning).toMatchObject({ mode: 'one-cpu', clientCpus: [0], serverCpus: [0] });
    // Two setups build at once, and results.json lists them as they became ready: either may be first.
    const setups = [...results.setups].sort((a, b) => a.backend.localeCompare(b.backend));
    expect(setups.map((s) => [s.backend, s.evidence?.ok, s.sliceProof])).toEqual([
      ['none', true, 'no-path'],
      ['redirect', true, redirectBackend.judgeSlice ? 'judged' : 'unproven'],
    ]);
    expect(setups[1]!.proxyProcesses).toBe(2);
    expect(results.slices).toHaveLength(2 * 4 * 2);
    for (const slice of results.slices) {
      expect(slice.error, `${slice.metric} ${slice.backend} round ${slice.round}`).toBeUndefined();
      expect(slice.noise!.windowMs).toBeGreaterThan(slice.noise!.plannedMs * 0.9);
      expect(slice.cpu!.appUs).toBeGreaterThan(0);
      expect(slice.cpu!.proxyUs > 0).toBe(slice.backend === 'redirect');
    }
    // Each round measured both setups once per metric, in an order of its own.
    for (const round of [1, 2]) expect(results.slices.filter((s) => s.round === round).map((s) => s.position)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);

    const latency = results.slices.find((s) => s.metric === 'latency' && s.backend === 'none')!.result;
    if (latency?.kind !== 'latency') throw new Error('no open-loop latency result');
    expect(latency).toMatchObject({ tool: 'sockperf', mode: 'open-loop', requestedRate: 1000 });
    expect(latency.samples).toBeGreaterThan(400);
    const roundTrip = results.slices.find((s) => s.metric === 'round-trip' && s.backend === 'none')!.result;
    if (roundTrip?.kind !== 'latency') throw new Error('no round-trip result');
    expect(roundTrip.mode).toBe('closed-loop');
    expect(roundTrip.samples).toBeGreaterThan(latency.samples);

    // The path counters of each redirect slice moved by that slice's own connections: one for a
    // latency client, two for iperf3. In round 2 the client pod's capture was gone: its counters
    // stood still while the server's still moved.
    const redirectSlice = (round: number, metric: string) => results.slices.find((s) => s.round === round && s.metric === metric && s.backend === 'redirect')!;
    expect(redirectSlice(1, 'round-trip').path.delta).toEqual({ 'client ISTIO_REDIRECT packets': 1, 'server ISTIO_IN_REDIRECT packets': 1, 'client sidecar connections': 1, 'server sidecar connections': 1 });
    expect(redirectSlice(1, 'throughput').path.delta).toMatchObject({ 'client sidecar connections': 2, 'server sidecar connections': 2 });
    const broken = redirectSlice(2, 'round-trip');
    expect(broken.path.delta).toMatchObject({ 'client sidecar connections': 0, 'server sidecar connections': 1 });
    expect(broken.path.status).toBe(redirectBackend.judgeSlice ? 'invalid' : 'unproven');
    expect(results.slices.filter((s) => s.backend === 'none').every((s) => s.path.status === 'no-path')).toBe(true);

    for (const file of ['results.json', 'report.md', 'ratios-vs-none.svg', 'latency.svg', 'round-trip.svg', 'throughput.svg', 'connection-rate.svg']) expect(existsSync(join(dir, file)), file).toBe(true);
    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(report).toContain('## The answer');
    expect(report).toMatch(/- redirect vs none, same node, throughput: /);
    expect(report).toContain('## CPU cost');
  });

  it('pins the client pod to the first CPU and the server pod to the last with --pin pods, and leaves the bench unpinned', async () => {
    const byPod = new Map<string, Set<string | undefined>>();
    const podNames: string[] = [];
    const benchCpus: Array<string | undefined> = [];
    const outcome = await runBench({
      backends: ['redirect'],
      placements: ['same-node'],
      metrics: ['throughput'],
      rounds: 1,
      outDir: join(dir, 'pods'),
      pin: 'pods',
      progress: () => undefined,
      afterRound: async (_round: number, setups: readonly MeasuredSetup[]) => {
        const { pair, processes } = setups[0]!;
        podNames.push(pair.client.name, pair.server.name);
        for (const pid of processes.all) {
          const cgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
          const pod = [pair.client.name, pair.server.name].find((name) => cgroup.includes(`/${name}\n`));
          if (pod) byPod.set(pod, (byPod.get(pod) ?? new Set()).add(cpusOf(pid)));
        }
        benchCpus.push(cpusOf(process.pid));
      },
    });
    expect(outcome.status).toBe('complete');
    const last = String(Math.max(0, cpus().length - 1));
    const [client, server] = podNames;
    expect([...byPod.get(client!)!]).toEqual(['0']);
    expect([...byPod.get(server!)!]).toEqual([last]);
    expect(benchCpus).toEqual([cpusOf(process.pid)]);
  });

  // fortio is optional on a bare host (not packaged for Debian); the GitHub workflow and the Vagrant VM
  // install it, and there this runs the fortio driver for real.
  if (!onPath('fortio')) process.stderr.write('skipping the fortio bench test: fortio is not installed here (it is in neither Debian nor npm; the GitHub workflow and the Vagrant VM install it)\n');
  it.skipIf(!onPath('fortio'))('measures both latency views with fortio where it is installed', async () => {
    const outcome = await runBench({ backends: ['none'], placements: ['same-node'], metrics: ['latency', 'round-trip'], rounds: 1, outDir: join(dir, 'fortio'), latencyTool: 'fortio', progress: () => undefined });
    expect(outcome.status).toBe('complete');
    const results = readResults(join(dir, 'fortio', 'results.json'));
    expect(results.configuration.latency.tool).toBe('fortio');
    const byMetric = new Map(results.slices.map((s) => [s.metric, s]));
    const open = byMetric.get('latency')?.result;
    const closed = byMetric.get('round-trip')?.result;
    if (open?.kind !== 'latency' || closed?.kind !== 'latency') throw new Error(`fortio slices failed: ${results.slices.map((s) => s.error).join('; ')}`);
    expect(open).toMatchObject({ tool: 'fortio', mode: 'open-loop', requestedRate: 1000, errors: 0 });
    expect(open.samples).toBeGreaterThan(800);
    expect(closed).toMatchObject({ tool: 'fortio', mode: 'closed-loop', requestedRate: null, errors: 0 });
    expect(closed.samples).toBeGreaterThan(open.samples);
    // Microsecond buckets: a pod-to-pod p50 is resolved well below fortio's default 1 ms bucket.
    expect(closed.percentilesUs.p50).toBeLessThan(1000);
    expect(closed.percentilesUs.p50).toBeGreaterThan(1);
    expect(readFileSync(join(dir, 'fortio', 'report.md'), 'utf8')).toMatch(/\| none \| same-node \| [\d.]+ \| .* \| fortio \|/);
  });

  it('times pods coming up and going down (teardown failures throw)', async () => {
    const record = await measureScale(10);
    expect(record.pods).toBe(10);
    expect(record.createSeconds).toBeGreaterThan(0);
    expect(record.teardownSeconds).toBeGreaterThan(0);
    expect(record.secondsPerPod).toBeCloseTo((record.createSeconds + record.teardownSeconds) / 10, 10);
  });
});
