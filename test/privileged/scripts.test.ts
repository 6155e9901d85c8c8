// The operator scripts run as a user runs them: the files themselves (their shebang, their tsx
// registration, zx's parsing), for real and short, checking exit codes and what they print. One run is
// interrupted the way a terminal's Ctrl-C does it (SIGINT to the whole process group), and nothing of
// it may remain; a --keep run must be left up and then be removed by `lab clean`. The sockmap loopback
// script's own run is in scripts-loopback.test.ts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { WRAPPER_IPERF_PORT } from '../../lab/ops/iperf3-wrapper.ts';
import { findCgroup2Mount } from '../../lab/host/cgroup.ts';
import { cgroupBpf, labDebris, runProcesses, stillRunning } from '../support/host-state.ts';
import { labSync } from '../support/lab-cli.ts';
import { describePrivileged } from '../support/privileged.ts';

const SCRIPTS = new URL('../../scripts/', import.meta.url).pathname;

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A script started as its own process group, as a shell starts a foreground job. */
class Script {
  stdout = '';
  stderr = '';
  readonly finished: Promise<Finished>;
  private readonly child: ChildProcess;

  constructor(name: string, args: readonly string[], options: { asUser?: number } = {}) {
    const file = `${SCRIPTS}${name}`;
    const [command, argv] = options.asUser === undefined ? [file, [...args]] : ['setpriv', [`--reuid=${options.asUser}`, `--regid=${options.asUser}`, '--clear-groups', '--', file, ...args]];
    this.child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.finished = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr })));
  }

  /** The run id the script announced (`(run <id>)`), once it has. */
  runId(): string | undefined {
    return /\(run (\w+)\)/.exec(this.stderr)?.[1];
  }

  /** Waits until stderr matches, the script exits, or the time runs out; says which. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<boolean> {
    let done = false;
    void this.finished.then(() => (done = true));
    const deadline = Date.now() + timeoutMs;
    while (!done && Date.now() < deadline) {
      if (pattern.test(this.stderr)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return pattern.test(this.stderr);
  }

  /** Ctrl-C as a terminal sends it: SIGINT to every process of the foreground group. */
  interrupt(): void {
    process.kill(-this.child.pid!, 'SIGINT');
  }
}

const run = (name: string, args: readonly string[], options: { asUser?: number } = {}) => new Script(name, args, options).finished;

describePrivileged('operator scripts (scripts/*.mjs)', { tools: ['iperf3', 'haproxy', 'bpftool', 'clang'], features: ['sockops', 'sk-msg', 'tracefs', 'cgroup-connect4'] }, () => {
  it('print --help and exit 0; refuse bad input with exit 2 and what to type; refuse a non-root user with exit 1', async () => {
    for (const name of ['iperf3.mjs', 'trace.mjs', 'sockmap-loopback.mjs']) {
      const help = await run(name, ['--help']);
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^usage: sudo scripts/${name.replace('.', '\\.')} \\[options\\]`));
      expect(help.stdout).toContain('exit codes: 0');
      const unknown = await run(name, ['--no-such-option']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain(`does not take "--no-such-option": its options are`);
    }
    const udp = await run('iperf3.mjs', ['--backend', 'redirect', '--udp']);
    expect(udp.code).toBe(2);
    expect(udp.stderr).toContain('--udp cannot go through the redirect backend');
    const backend = await run('iperf3.mjs', ['--backend', 'nope']);
    expect(backend.code).toBe(2);
    expect(backend.stderr).toContain('valid backends are none, redirect');
    expect((await run('trace.mjs', ['--seconds', 'soon'])).code).toBe(2);
    expect((await run('sockmap-loopback.mjs', ['--listener', 'ipv6'])).code).toBe(2);
    const notRoot = await run('iperf3.mjs', ['--backend', 'none'], { asUser: 65534 });
    expect(notRoot.code).toBe(1);
    expect(notRoot.stderr).toContain('run it with sudo (sudo scripts/iperf3.mjs ...)');
  });

  it('iperf3.mjs proves the redirect path across nodes, runs -P 2 on it, and the counters account for all three connections', async () => {
    const result = await run('iperf3.mjs', ['--backend', 'redirect', '--placement', 'cross-node', '--seconds', '1', '--parallel', '2']);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toMatch(/^redirect \/ cross-node \(run \w+\)$/m);
    expect(result.stdout).toMatch(/^verify: (\d+) of \1 checks passed$/m);
    expect(result.stdout).toContain('iperf3 -t 1 -P 2 (TCP, 2 streams, 3 TCP connections with the control one)');
    expect(result.stdout).toMatch(/^ {2}client→server +[\d.]+ [GM]bit\/s: \d+ B sent, \d+ B received in [\d.]+ s$/m);
    expect(result.stdout).toMatch(/^ +retransmits \d+$/m);
    for (const counter of ['client ISTIO_REDIRECT packets', 'server ISTIO_IN_REDIRECT packets', 'client sidecar connections', 'server sidecar connections']) {
      expect(result.stdout).toMatch(new RegExp(`^ {2}${counter} \\+(\\d+)$`, 'm'));
      expect(Number(new RegExp(`^ {2}${counter} \\+(\\d+)$`, 'm').exec(result.stdout)![1])).toBeGreaterThanOrEqual(3);
    }
    expect(result.stdout).toMatch(/PASS slice-on-path/);
    expect(result.stdout).toMatch(/OK: path proven, test run on it\n$/);
    expect(labDebris(/\(run (\w+)\)/.exec(result.stderr)![1])).toEqual([]);
  });

  it('iperf3.mjs runs UDP through none and prints JSON with the loss the receiver saw', async () => {
    const result = await run('iperf3.mjs', ['--backend', 'none', '--udp', '--bitrate', '50M', '--seconds', '1', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; verify: { ok: boolean }; modes: string; iperf3: { protocol: string; tcpConnections: number; bytesReceived: number; udp: { packets: number; lostPackets: number } } };
    expect(report).toMatchObject({ ok: true, verify: { ok: true }, modes: '-t 1 -u -b 50M', iperf3: { protocol: 'udp', tcpConnections: 1 } });
    expect(report.iperf3.udp.packets).toBeGreaterThan(0);
    expect(report.iperf3.udp.lostPackets).toBeLessThanOrEqual(report.iperf3.udp.packets);
    expect(report.iperf3.bytesReceived).toBeGreaterThan(0);
  });

  it("trace.mjs shows a tc run's redirect lines live without taking any from its verify, and Ctrl-C removes its instance", async () => {
    const trace = new Script('trace.mjs', ['--seconds', '170']);
    expect(await trace.waitFor(/own tracefs instance lab-(\w+)-trace/, 30_000)).toBe(true);
    const instance = `/sys/kernel/tracing/instances/lab-${/own tracefs instance lab-(\w+)-trace/.exec(trace.stderr)![1]}-trace`;
    expect(existsSync(instance)).toBe(true);
    const tc = await run('iperf3.mjs', ['--backend', 'tc', '--placement', 'cross-node', '--seconds', '1', '--reverse']);
    expect(tc.code, tc.stdout + tc.stderr).toBe(0);
    // The tc verify reads its own instance: its trace check passing shows trace.mjs took none of its lines.
    expect(tc.stdout).toMatch(/PASS trace-shows-redirects/);
    const tcRun = /\(run (\w+)\)/.exec(tc.stderr)![1]!;
    await new Promise((r) => setTimeout(r, 500));
    trace.interrupt();
    const finished = await trace.finished;
    expect(finished.code).toBe(130);
    expect(existsSync(instance)).toBe(false);
    const lines = finished.stdout.split('\n').filter((l) => l.includes(`run ${tcRun} `));
    // The user's test (port 5202) as well as the verify plan's probes, readable, with their direction.
    expect(lines.some((l) => new RegExp(`tc \\S+ -> \\S+:${WRAPPER_IPERF_PORT}: from a captured pod, redirected to the node proxy`).test(l))).toBe(true);
    expect(lines.some((l) => /tc \S+ -> \S+:8080: steer to proxy listener \(bpf_sk_assign\) \(listener=15001\)/.test(l))).toBe(true);
    expect(lines.some((l) => /from the node proxy, redirected to the pod/.test(l))).toBe(true);
  });

  it('iperf3.mjs --keep leaves the run up, says how to enter each pod, and `lab clean` then removes it', async () => {
    // Paced, as every sockmap test here: its redirect has no backpressure (README, Known limits), and an
    // unpaced sender can fail with ENOMEM when the machine holds the sidecar back. This test is about
    // --keep, not about that.
    const result = await run('iperf3.mjs', ['--backend', 'sockmap', '--seconds', '1', '--bitrate', '200M', '--keep']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const runId = /\(run (\w+)\)/.exec(result.stderr)![1]!;
    expect(result.stdout).toContain(`kept run ${runId}:`);
    expect(result.stdout).toContain(`sudo ip netns exec lab-${runId}-client bash`);
    expect(result.stdout).toContain(`sudo nsenter --net=/run/netns/lab-${runId}-server -- bash`);
    expect(result.stdout).toContain('Remove the run with: sudo npx lab clean');
    const debris = labDebris(runId);
    expect(debris).toEqual(expect.arrayContaining([`netns lab-${runId}-client`, `netns lab-${runId}-server`, `cgroup lab-${runId}`, `pin lab-${runId}`, `run directory /run/lab/${runId}`]));
    // The printed way in works: the client pod has its address, and the sockmap programs are still attached.
    const inside = spawnSync('ip', ['netns', 'exec', `lab-${runId}-client`, 'ip', '-br', 'addr', 'show', 'eth0'], { encoding: 'utf8' });
    expect(inside.stdout).toContain('198.18.1.10/32');
    expect(cgroupBpf(join((await findCgroup2Mount())!, `lab-${runId}`))).toContain('sockmap_sockops');
    // The script has exited: its run is a leftover, not a live run that `lab clean` would leave alone.
    const clean = labSync(['clean', '--json']);
    expect(clean.code, clean.stderr).toBe(0);
    const report = JSON.parse(clean.stdout) as { removed: string[]; liveRuns: string[] };
    expect(report.liveRuns).not.toContain(runId);
    expect(report.removed).toContain(`run directory /run/lab/${runId}`);
    expect(labDebris(runId)).toEqual([]);
  });

  it('iperf3.mjs interrupted by Ctrl-C during its test exits 130 and leaves nothing of its run', async () => {
    // Paced (see the --keep test): 30 s at 200 Mbit/s is 750 MB at most, whatever the sidecar does.
    const script = new Script('iperf3.mjs', ['--backend', 'sockmap', '--seconds', '30', '--bitrate', '200M']);
    expect(await script.waitFor(/path proven; iperf3/, 120_000), script.stdout + script.stderr).toBe(true);
    const runId = script.runId()!;
    // Let the test get going: the iperf3 server and client are up, the programs redirect.
    await new Promise((r) => setTimeout(r, 2000));
    const processes = runProcesses(runId);
    expect(processes.some((p) => p.cmdline.includes('iperf3 -c')), `no iperf3 client 2 s into the test; the script said: ${script.stdout}${script.stderr}`).toBe(true);
    expect(labDebris(runId)).toEqual(expect.arrayContaining([`pin lab-${runId}`, `cgroup lab-${runId}`, `netns lab-${runId}-client`]));
    script.interrupt();
    const finished = await script.finished;
    expect(finished.code).toBe(130);
    expect(finished.stderr).toContain('SIGINT received, tearing down');
    expect(labDebris(runId)).toEqual([]);
    expect(stillRunning(processes)).toEqual([]);
  });
});
