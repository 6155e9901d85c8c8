// The `lab` command as a user runs it: exit codes, JSON shapes, Ctrl-C midway, and a host left
// exactly as it was.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describePrivileged } from '../support/privileged.ts';
import { labDebris, snapshotHost } from '../support/host-state.ts';

const LAB = new URL('../../bin/lab.mjs', import.meta.url).pathname;

function lab(...args: string[]) {
  const result = spawnSync(process.execPath, [LAB, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describePrivileged('lab CLI', ['haproxy', 'iperf3', 'iptables-restore', 'conntrack'], () => {
  it('verify --backend redirect --json passes on both placements and leaves the host untouched', () => {
    const before = snapshotHost();
    for (const placement of ['same-node', 'cross-node']) {
      const result = lab('verify', '--backend', 'redirect', '--placement', placement, '--json');
      const report = JSON.parse(result.stdout) as { backend: string; placement: string; ok: boolean; runId: string; checks: Array<{ name: string; ok: boolean; detail: string }> };
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report).toMatchObject({ backend: 'redirect', placement, ok: true });
      expect(report.checks.map((c) => c.name)).toContain('outbound-captured');
      expect(result.code).toBe(0);
      expect(labDebris(report.runId)).toEqual([]);
    }
    expect(snapshotHost()).toEqual(before);
  });

  it('verify --istio-version 1.24 installs, names and passes with Istio 1.24.6\'s rules', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-istio-'));
    const result = lab('verify', '--backend', 'redirect', '--istio-version', '1.24', '--json', '--save-evidence', dir);
    const report = JSON.parse(result.stdout) as { ok: boolean; istio?: string; runId: string };
    expect(report, result.stderr).toMatchObject({ ok: true, istio: 'Istio 1.24 (rules of 1.24.6, 734e100)' });
    expect(result.code).toBe(0);
    // The client pod's `iptables-save -c`, as collected: 1.24 jumps to ISTIO_OUTPUT for TCP only (1.25+ for every protocol).
    const evidence = JSON.parse(readFileSync(join(dir, 'redirect-same-node.json'), 'utf8')) as { collected: { clientRules: { rules: Array<{ table: string; chain: string; rule: string }> } } };
    expect(evidence.collected.clientRules.rules.filter((r) => r.table === 'nat' && r.chain === 'OUTPUT').map((r) => `-A OUTPUT ${r.rule}`)).toEqual(['-A OUTPUT -p tcp -j ISTIO_OUTPUT']);
    expect(labDebris(report.runId)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 2 with the valid names for an unknown backend or placement', () => {
    const backend = lab('verify', '--backend', 'nope');
    expect(backend.code).toBe(2);
    expect(backend.stderr).toContain('valid backends are none, redirect');
    const placement = lab('verify', '--backend', 'none', '--placement', 'moon');
    expect(placement.code).toBe(2);
    expect(placement.stderr).toContain('same-node, cross-node');
  });

  it('rejects a malformed scenario with the path of the bad field, creating nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-test-'));
    const file = join(dir, 'bad.mts');
    writeFileSync(file, `export default { name: 'bad', description: 'x', topology: { nodes: [{ name: 'node-a', pods: ['client'] }] }, backend: { name: 'redirect' }, steps: [{ probe: { from: 'client', to: '8.8.8.8', port: 53 } }] };\n`);
    const debrisBefore = new Set(labDebris());
    const result = lab('run', file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('steps[0].probe.to');
    expect(labDebris().filter((d) => !debrisBefore.has(d))).toEqual([]);
  });

  it('runs a scenario file and prints its verdicts', () => {
    const result = lab('run', 'scenarios/none-same-node.ts', '--json');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; steps: unknown[] };
    expect(report.ok).toBe(true);
    expect(report.steps).toHaveLength(1);
  });

  it('tears everything down when interrupted with SIGINT midway', async () => {
    const before = snapshotHost();
    const child = spawn(process.execPath, [LAB, 'verify', '--backend', 'redirect', '--iperf-seconds', '10'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Wait until the run has said its id and built its topology, let traffic start, then interrupt.
    const deadline = Date.now() + 20_000;
    const runIdOf = () => /\(run (\w+)\)/.exec(stderr)?.[1];
    while ((runIdOf() === undefined || labDebris(runIdOf()).length === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const runId = runIdOf() ?? 'unknown';
    await new Promise((r) => setTimeout(r, 2500));
    expect(labDebris(runId).length).toBeGreaterThan(0);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    expect(stderr).toContain('SIGINT received, tearing down');
    expect(labDebris(runId)).toEqual([]);
    expect(spawnSync('pgrep', ['-f', `/run/lab/${runId}/`]).status).toBe(1);
    expect(snapshotHost()).toEqual(before);
  });

  it('clean reports what it removed as JSON', () => {
    const result = lab('clean', '--json');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { removed: string[]; failed: string[]; liveRuns: string[] };
    expect(report.failed).toEqual([]);
    expect(Array.isArray(report.removed)).toBe(true);
  });
});
