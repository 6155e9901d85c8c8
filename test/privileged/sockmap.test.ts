// The sockmap backend for real: programs loaded into the kernel, iperf3 and probes moving bytes
// through HAProxy sidecars, verdicts from trace lines, counters, SOCKHASH dumps and bpf_stats.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runCollisionExperiment } from '../../lab/experiments/sockmap-collision.ts';
import { CGROUP_HOOKS } from '../../lab/backends/sockmap/datapath.ts';
import { formatLoopbackResult, runLoopbackExperiment } from '../../lab/experiments/sockmap-loopback.ts';
import { bpftoolJson } from '../../lab/host/bpftool.ts';
import { run } from '../../lab/host/exec.ts';
import { readGlobalSysctl } from '../../lab/host/sysctl.ts';
import { TRACEFS_ROOT } from '../../lab/evidence/trace-pipe.ts';
import { BPFFS_ROOT } from '../../lab/topology/clean.ts';
import { PLACEMENTS } from '../../lab/judge/plan.ts';
import type { SockmapInstallation } from '../../lab/backends/sockmap/sockmap.ts';
import { withCapturedPair } from '../../lab/verify/setup.ts';
import { describePrivileged } from '../support/privileged.ts';

const failed = (checks: ReadonlyArray<{ name: string; ok: boolean; detail: string }>) => checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);

interface KernelObjects {
  runId: string;
  cgroupParent: string;
  programIds: number[];
  mapIds: number[];
}

async function kernelObjectsOf(runId: string, cgroupParent: string): Promise<KernelObjects> {
  const progDir = join(BPFFS_ROOT, `lab-${runId}`, 'sockmap', 'progs');
  const programs = await Promise.all(readdirSync(progDir).map((name) => bpftoolJson<{ id: number; map_ids?: number[] }>(['prog', 'show', 'pinned', join(progDir, name)])));
  return { runId, cgroupParent, programIds: programs.map((p) => p.id), mapIds: [...new Set(programs.flatMap((p) => p.map_ids ?? []))] };
}

async function stillLoaded(kind: 'prog' | 'map', id: number): Promise<boolean> {
  return (await run('bpftool', [kind, 'show', 'id', String(id)], { allowFailure: true })).exitCode === 0;
}

describePrivileged('sockmap backend', ['bpftool', 'clang', 'haproxy', 'iperf3', 'cc'], () => {
  it('accelerates loopback iperf3 in one pod with sockops + sk_msg, on an IPv4 and a dual-stack listener', async () => {
    const result = await runLoopbackExperiment({ seconds: 2 });
    process.stdout.write(`${formatLoopbackResult(result)}\n`);
    expect(failed(result.variants.flatMap((v) => v.checks))).toEqual([]);
    const [ipv4, dualStack] = result.variants;
    for (const variant of [ipv4!, dualStack!]) {
      expect(variant.established.filter((e) => e.side === 'active')).toHaveLength(2);
      expect(variant.established.filter((e) => e.side === 'passive')).toHaveLength(2);
      expect(variant.counters.msgRedirected).toBeGreaterThan(0);
      expect(variant.baseline.bytesReceived).toBeGreaterThan(0);
      expect(variant.sockmap.bytesReceived).toBeGreaterThan(0);
    }
    // The dual-stack listener's accepted sockets are IPv4-mapped IPv6, and are still short-circuited.
    expect(dualStack!.established.filter((e) => e.side === 'passive').map((e) => e.family)).toEqual(['ipv4-mapped-ipv6', 'ipv4-mapped-ipv6']);
    expect(ipv4!.established.every((e) => e.family === 'ipv4')).toBe(true);
  });

  for (const placement of PLACEMENTS) {
    it(`passes the standard verify plan ${placement}, then leaves no pin, attachment, program or map`, async () => {
      const statsBefore = await readGlobalSysctl('kernel.bpf_stats_enabled');
      let objects: KernelObjects | undefined;
      const result = await withCapturedPair('sockmap', placement, async (pair) => {
        objects = await kernelObjectsOf(pair.lab.runId, pair.lab.cgroupParent);
        const attached = await bpftoolJson<Array<{ attach_type: string }>>(['cgroup', 'show', pair.lab.cgroupParent]);
        expect(attached.map((a) => a.attach_type).sort()).toEqual(Object.values(CGROUP_HOOKS).map((h) => h.attachType).sort());
        return pair.verify();
      });
      expect(failed(result.checks)).toEqual([]);
      expect(result.checks.map((c) => c.name)).toEqual(
        expect.arrayContaining(['outbound-captured', 'inbound-captured', 'sockhash-held-sockets', 'sk-msg-redirected', 'outside-cgroup-untouched', 'no-iptables-rules-in-pods', 'no-silent-bypass']),
      );
      // The evidence is plain data: it survives JSON (what --save-evidence writes) unchanged.
      expect(JSON.parse(JSON.stringify(result.evidence))).toEqual(result.evidence);
      expect(result.ok).toBe(true);

      const { runId, cgroupParent, programIds, mapIds } = objects!;
      expect(programIds.length).toBe(5);
      expect(existsSync(join(BPFFS_ROOT, `lab-${runId}`))).toBe(false);
      expect(existsSync(cgroupParent)).toBe(false);
      expect(readdirSync(join(TRACEFS_ROOT, 'instances')).filter((n) => n.startsWith(`lab-${runId}`))).toEqual([]);
      for (const id of programIds) expect(await stillLoaded('prog', id), `program ${id}`).toBe(false);
      for (const id of mapIds) expect(await stillLoaded('map', id), `map ${id}`).toBe(false);
      expect(await readGlobalSysctl('kernel.bpf_stats_enabled')).toBe(statsBefore);
    });
  }

  it('stops its SOCKHASH sampler at teardown when the run aborts midway', async () => {
    // Readings made, failed ones included (a map removed under a running sampler fails to read).
    const readings = (sampler: SockmapInstallation['sampler']) => sampler.sampleCount + sampler.failedReads.count;
    let sampler: SockmapInstallation['sampler'] | undefined;
    const aborted = withCapturedPair('sockmap', 'same-node', async (pair) => {
      sampler = (pair.installation as SockmapInstallation).sampler;
      // Bounded wait until the sampler's timer has made a reading (a busy machine delays timers).
      for (let waited = 0; readings(sampler) === 0 && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
      throw new Error('the plan aborted midway');
    });
    await expect(aborted).rejects.toThrow('the plan aborted midway');
    expect(readings(sampler!)).toBeGreaterThan(0);
    const atTeardown = readings(sampler!);
    await new Promise((r) => setTimeout(r, 1500));
    expect(readings(sampler!)).toBe(atTeardown);
  });

  // Paced senders (COLLISION_BITRATE): unpaced, the sidecars' unbounded sk_msg queues made the
  // outcome depend on the host's TCP memory (test/privileged/sockmap-pressure.test.ts shows it).
  it('keeps two pods apart when both use the same local port to their sidecars at once', async () => {
    const result = await runCollisionExperiment({ seconds: 2 });
    expect(failed(result.checks)).toEqual([]);
    expect(result.sharedPortSamples).toBeGreaterThan(0);
    expect(result.counters.sockhashInsertFailed).toBe(0);
  });
});
