// Faults: the sidecar dies mid-stream, a BPF object fails to load after another was attached, and a
// traffic tool hangs. Each must end in a reported failure, with nothing bypassing the proxy and
// nothing left attached or running.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadObject } from '../../lab/bpf/objects.ts';
import { attachCgroupProgram, bpftoolJson, cgroupAttachments } from '../../lab/host/bpftool.ts';
import { runIperf3 } from '../../lab/traffic/iperf3.ts';
import { withLab, type Lab, type Pod } from '../../lab/topology/lab.ts';
import { VERIFY_PORTS } from '../../lab/judge/plan.ts';
import { withCapturedPair } from '../../lab/verify/setup.ts';
import { labDebris, runProcesses } from '../support/host-state.ts';
import { sleep } from '../support/lab-cli.ts';
import { describePrivileged } from '../support/privileged.ts';

const FIXTURES = new URL('../fixtures/bpf/', import.meta.url).pathname;

/** The pid of the HAProxy sidecar serving a pod, from the ledger (the process runs as that pid). */
function sidecarPid(lab: Lab, pod: Pod): number {
  const entry = lab.ledger.entriesNewestFirst().find((e) => e.kind === 'process' && e.command.includes('haproxy') && e.command.includes(`/proxy-${pod.name}/`));
  if (entry?.kind !== 'process') throw new Error(`no sidecar for ${pod.name} in the ledger`);
  return entry.pid;
}

describePrivileged('faults', ['haproxy', 'iperf3', 'iptables-restore', 'bpftool', 'clang'], () => {
  const scratch = mkdtempSync(join(tmpdir(), 'lab-faults-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('redirect: the server sidecar SIGKILLed mid-stream fails the traffic, and nothing reaches the app around it', async () => {
    await withCapturedPair('redirect', 'same-node', async ({ lab, client, server, clientAgent, serverAgent }) => {
      // Before: the path works and every connection the app accepts comes from the sidecar.
      expect((await clientAgent.probe(server.ip, VERIFY_PORTS.app)).ok).toBe(true);
      const acceptsBefore = await serverAgent.accepts();
      expect(acceptsBefore.length).toBeGreaterThan(0);
      expect(acceptsBefore.every((a) => a.peer === '127.0.0.6')).toBe(true);

      // A 4-second stream; the server's sidecar dies a second in.
      const stream = runIperf3(lab, { client, server, address: server.ip, port: VERIFY_PORTS.iperf, seconds: 4 }).then(
        (result) => ({ ok: true as const, result }),
        (error: Error) => ({ ok: false as const, error: error.message }),
      );
      await sleep(1000);
      process.kill(sidecarPid(lab, server), 'SIGKILL');
      const outcome = await stream;
      // iperf3 either errors (the connection was reset) or counted only the bytes before the kill.
      if (outcome.ok) expect(outcome.result.seconds).toBeLessThan(3);
      else expect(outcome.error).toMatch(/iperf3/);

      // After: captured traffic fails (nothing listens on 15006) instead of reaching the app directly.
      const probe = await clientAgent.probe(server.ip, VERIFY_PORTS.app);
      expect(probe.ok).toBe(false);
      const bulk = await clientAgent.bulk(server.ip, VERIFY_PORTS.bulk, 1024 * 1024, 5000);
      expect(bulk.ok).toBe(false);
      expect(bulk.bytesEchoed).toBe(0);
      const acceptsAfter = await serverAgent.accepts();
      expect(acceptsAfter.filter((a) => a.port !== 15021 && a.port !== 15020 && a.port !== 15090)).toEqual(acceptsBefore.filter((a) => a.port !== 15021 && a.port !== 15020 && a.port !== 15090));
      expect(acceptsAfter.filter((a) => a.peer === client.ip)).toEqual([]);
    });
  });

  it('a BPF object the verifier refuses, loaded after another was attached, rolls back everything', async () => {
    for (const name of ['pass', 'broken']) execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-I', `/usr/include/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`, '-c', join(FIXTURES, `${name}.bpf.c`), '-o', join(scratch, `${name}.bpf.o`)]);
    let runId = '';
    let pinDir = '';
    let attachedId = 0;
    let error = '';
    await withLab({ nodes: [{ name: 'node-a', pods: ['app'] }] }, async (lab) => {
      runId = lab.runId;
      const pod = lab.pod('app');
      // The part that succeeds: loaded, pinned, attached to the pod's cgroup (recorded first).
      const good = await loadObject(lab, 'pass', { objectPath: join(scratch, 'pass.bpf.o') });
      const program = good.programs.get('lab_test_pass')!;
      lab.record({ kind: 'cgroup-bpf', cgroupDir: pod.cgroupDir, attachType: 'cgroup_inet_egress', program });
      await attachCgroupProgram(pod.cgroupDir, 'cgroup_inet_egress', program);
      attachedId = (await cgroupAttachments(pod.cgroupDir))[0]?.id ?? 0;
      expect(attachedId).toBeGreaterThan(0);
      pinDir = good.pinDir;
      // The part that fails.
      error = await loadObject(lab, 'broken', { objectPath: join(scratch, 'broken.bpf.o') }).then(
        () => 'loaded',
        (e: Error) => e.message,
      );
      throw new Error('install failed'); // as a backend's install would: withLab tears down
    }).catch((e: Error) => expect(e.message).toBe('install failed'));
    expect(error).toContain('the kernel refused to load broken.bpf.o');
    expect(error).toMatch(/invalid mem access|R\d+ invalid/);
    // Rolled back: the attached program is gone from the kernel, its pins and cgroup with it.
    expect(existsSync(pinDir)).toBe(false);
    const programs = await bpftoolJson<Array<{ id: number }>>(['prog', 'show']);
    expect(programs.map((p) => p.id)).not.toContain(attachedId);
    expect(labDebris(runId)).toEqual([]);
  });

  it('a traffic tool that hangs is bounded by its timeout and reported', async () => {
    await withLab({ nodes: [{ name: 'node-a', pods: ['client', 'server'] }] }, async (lab) => {
      const client = lab.pod('client');
      const server = lab.pod('server');
      const port = 5299;
      // A black hole that cannot race the test: the server pod answers SYNs (the kernel does that) and
      // drops everything else on the port, so the client connects and then waits for the server's
      // reply forever. Set before the test starts; it dies with the pod's namespace.
      await lab.exec(server, 'iptables', ['-w', '-A', 'INPUT', '-p', 'tcp', '--dport', String(port), '!', '--syn', '-j', 'DROP']);
      const started = performance.now();
      const outcome = await runIperf3(lab, { client, server, address: server.ip, port, seconds: 1 }).then(
        () => 'finished',
        (e: Error) => e.message,
      );
      const seconds = (performance.now() - started) / 1000;
      expect(outcome).toMatch(/iperf3 -c .* timed out/);
      // Bounded: the 1-second test plus the driver's fixed allowance (20 s), not forever.
      expect(seconds).toBeLessThan(30);
      // The client was killed at its timeout and the one-test server stopped by the driver, not left for teardown.
      expect(runProcesses(lab.runId).filter((p) => /iperf3/.test(p.cmdline))).toEqual([]);
    });
  });

});
