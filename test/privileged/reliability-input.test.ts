// Bad input and a bad environment, end to end through the `lab` command: each is refused before
// anything is created (LAB_DEBUG=1 logs every command the lab runs: none may appear), with the
// path of the bad field and what is allowed, or with the fix (sudo, scripts/setup.sh).
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { backendNames } from '../../lab/backends/index.ts';
import { labSync, type CliResult } from '../support/lab-cli.ts';
import { describePrivileged } from '../support/privileged.ts';

const DEBUG = { ...process.env, LAB_DEBUG: '1' };

/** Commands the CLI ran (LAB_DEBUG=1 prints each as `[lab] $ ...`): none means nothing was created. */
const commandsRun = (result: CliResult) => result.stderr.split('\n').filter((l) => l.startsWith('[lab] $'));

/** A PATH that has every tool of this one except `without` (symlinks into a scratch directory). */
function pathWithout(dir: string, without: readonly string[]): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const source of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    let names: string[];
    try {
      names = readdirSync(source);
    } catch {
      continue;
    }
    for (const name of names) {
      if (without.includes(name)) continue;
      try {
        symlinkSync(join(source, name), join(bin, name));
      } catch {
        /* an earlier PATH entry already provided this name */
      }
    }
  }
  return bin;
}

describePrivileged('bad input and environment through the CLI', ['setpriv', 'haproxy'], () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-input-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const backends = backendNames();

  it('an unknown backend exits 2, lists every valid backend, creates nothing', () => {
    const result = labSync(['verify', '--backend', 'istio-cni'], { env: DEBUG });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown backend "istio-cni"');
    expect(result.stderr).toContain(`valid backends are ${backends.join(', ')}`);
    expect(commandsRun(result)).toEqual([]);
  });

  it('a bad placement or duration exits 2 with what is allowed, creating nothing', () => {
    const placement = labSync(['verify', '--backend', backends.at(-1)!, '--placement', 'same-rack'], { env: DEBUG });
    expect(placement.code).toBe(2);
    expect(placement.stderr).toContain('unknown placement "same-rack": valid placements are same-node, cross-node');
    expect(commandsRun(placement)).toEqual([]);
    const seconds = labSync(['verify', '--backend', 'none', '--iperf-seconds', 'lots'], { env: DEBUG });
    expect(seconds.code).toBe(2);
    expect(seconds.stderr).toContain('--iperf-seconds takes a number of seconds from 1 to 60');
    expect(commandsRun(seconds)).toEqual([]);
  });

  it('bench --rule-scale with --out exits 2: it writes no report, so the directory would silently stay empty', () => {
    const result = labSync(['bench', '--rule-scale', '10', '--out', join(dir, 'never-written')], { env: DEBUG });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('--rule-scale prints its table (--json: the whole result) and writes no report');
    expect(commandsRun(result)).toEqual([]);
  });

  it('bench --noise-floor with a clashing flag, or two placements, exits 2 and creates nothing', () => {
    const out = labSync(['bench', '--noise-floor', '--out', join(dir, 'never-written')], { env: DEBUG });
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toContain('--noise-floor measures none against itself and prints its table (--json: the whole result), writing no report: leave out --out');
    expect(commandsRun(out)).toEqual([]);
    const backends = labSync(['bench', '--noise-floor', '--backends', 'redirect', '--quick'], { env: DEBUG });
    expect(backends.code).toBe(2);
    expect(backends.stderr).toContain('leave out --backends, --quick');
    const placements = labSync(['bench', '--noise-floor', '--placements', 'same-node,cross-node'], { env: DEBUG });
    expect(placements.code).toBe(2);
    expect(placements.stderr).toContain('--noise-floor measures one placement: give --placements one of same-node, cross-node');
    expect(commandsRun(placements)).toEqual([]);
  });

  const scenario = (overrides: string) =>
    `export default { name: 'bad', description: 'x', topology: { nodes: [{ name: 'node-a', pods: ['client', 'server'] }] }, backend: { name: 'redirect' }, steps: [{ probe: { from: 'client', to: 'server', port: 8080 } }], ${overrides} };\n`;
  const malformed = [
    { what: 'unknown backend', body: scenario(`backend: { name: 'envoy' }`), path: 'backend.name', allowed: '"redirect"' },
    { what: 'address outside the lab range', body: scenario(`steps: [{ iperf3: { from: 'client', to: '10.0.0.1' } }]`), path: 'steps[0].iperf3.to', allowed: '198.18.0.0/15' },
    { what: 'duplicate pod names', body: scenario(`topology: { nodes: [{ name: 'node-a', pods: ['client'] }, { name: 'node-b', pods: ['client'] }] }`), path: 'topology.nodes[1].pods[0]', allowed: 'must be unique' },
    { what: 'interface name over 15 characters', body: scenario(`topology: { nodes: [{ name: 'node-a', pods: ['a-very-long-pod-name'] }] }, steps: [{ stopProxy: { pod: 'a-very-long-pod-name' } }]`), path: 'topology.nodes[0].pods[0]', allowed: 'IFNAMSIZ' },
    { what: 'wrong type', body: scenario(`steps: [{ probe: { from: 'client', to: 'server', port: '8080' } }]`), path: 'steps[0].probe.port', allowed: 'expected number' },
  ];
  it.each(malformed)('a scenario with $what exits 2 naming $path, creating nothing', ({ what, body, path, allowed }) => {
    const file = join(dir, `${what.replace(/\W+/g, '-')}.mts`);
    writeFileSync(file, body);
    const result = labSync(['run', file], { env: DEBUG });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(`${path}:`);
    expect(result.stderr).toContain(allowed);
    expect(commandsRun(result)).toEqual([]);
  });

  it('not root: verify, run, clean and bench refuse with a message naming sudo, creating nothing', () => {
    for (const args of [['verify', '--backend', 'none'], ['run', 'scenarios/none-same-node.ts'], ['clean'], ['bench', '--quick'], ['bench', '--noise-floor'], ['bench', '--scale', '10']]) {
      const result = labSync(args, { asUser: 65534, env: DEBUG });
      expect(result.code, `lab ${args.join(' ')}: ${result.stderr}`).toBe(1);
      expect(result.stderr).toContain('needs root: run it with sudo');
      expect(commandsRun(result)).toEqual([]);
    }
    // Bad input is still bad input for anyone: usage comes before privileges.
    expect(labSync(['verify', '--backend', 'nope'], { asUser: 65534 }).code).toBe(2);
    expect(labSync(['bench', '--backends', 'nope'], { asUser: 65534 }).code).toBe(2);
  });

  it('a missing tool is named with scripts/setup.sh before anything is created', () => {
    const env = { ...DEBUG, PATH: pathWithout(join(dir, 'no-haproxy'), ['haproxy']) };
    // A sidecar backend and the last (eBPF) one: the check is the same code for every backend.
    for (const backend of [...new Set(['redirect', backends.at(-1)!])]) {
      const result = labSync(['verify', '--backend', backend], { env });
      expect(result.code, `${backend}: ${result.stderr}`).toBe(1);
      expect(result.stderr).toContain('`haproxy` is not installed');
      expect(result.stderr).toContain('scripts/setup.sh');
      expect(commandsRun(result)).toEqual([]);
    }
    const iperfless = labSync(['verify', '--backend', 'none'], { env: { ...DEBUG, PATH: pathWithout(join(dir, 'no-iperf3'), ['iperf3']) } });
    expect(iperfless.code).toBe(1);
    expect(iperfless.stderr).toContain('`iperf3` is not installed');
  });

  it('bench names a missing tool with scripts/setup.sh before it builds anything, in every mode that measures', () => {
    const env = { ...DEBUG, PATH: pathWithout(join(dir, 'bench-no-iperf3'), ['iperf3']) };
    for (const args of [['bench', '--quick'], ['bench', '--noise-floor']]) {
      const result = labSync(args, { env });
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(1);
      expect(result.stderr).toContain('`iperf3` is not installed');
      expect(result.stderr).toContain('scripts/setup.sh');
      expect(commandsRun(result)).toEqual([]);
    }
    const tasksetless = labSync(['bench', '--backends', 'none', '--pin', 'pods'], { env: { ...DEBUG, PATH: pathWithout(join(dir, 'bench-no-taskset'), ['taskset']) } });
    expect(tasksetless.code).toBe(1);
    expect(tasksetless.stderr).toContain('`taskset` is not installed');
    expect(commandsRun(tasksetless)).toEqual([]);
  });

  it('lab doctor with a required tool missing exits 1 and gives the fix', () => {
    const result = labSync(['doctor', '--json'], { env: { ...process.env, PATH: pathWithout(join(dir, 'doctor'), ['haproxy', 'conntrack']) } });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { ok: boolean; items: Array<{ name: string; ok: boolean; required: boolean; fix?: string }> };
    expect(report.ok).toBe(false);
    for (const tool of ['haproxy', 'conntrack']) {
      expect(report.items.find((i) => i.name === tool)).toMatchObject({ ok: false, required: true, fix: expect.stringContaining('scripts/setup.sh') });
    }
    expect(report.items.filter((i) => !i.ok && i.required).map((i) => i.name).sort()).toEqual(['conntrack', 'haproxy']);
  });
});
