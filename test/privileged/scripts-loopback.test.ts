// scripts/sockmap-loopback.mjs run as a user runs it (the file itself), short: the seed example end to
// end, with the same library code as scenarios/sockmap-loopback.ts.
import { execFile } from 'node:child_process';
import { expect, it } from 'vitest';
import { labDebris } from '../support/host-state.ts';
import { describePrivileged } from '../support/privileged.ts';

const SCRIPT = new URL('../../scripts/sockmap-loopback.mjs', import.meta.url).pathname;

function run(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(SCRIPT, [...args], { timeout: 150_000 }, (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
  });
}

describePrivileged('scripts/sockmap-loopback.mjs', { tools: ['iperf3', 'bpftool', 'clang'], features: ['sockops', 'sk-msg', 'tracefs', 'bpf-enable-stats'] }, () => {
  it('sockmap-loopback.mjs shows the four ESTABLISHED events and both rates, then unloads', async () => {
    const result = await run(['--seconds', '1', '--listener', 'dual-stack']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const runId = /\(run (\w+)\)/.exec(result.stderr)![1]!;
    // The seed's server port and write size, by default.
    expect(result.stdout).toContain(`sockmap loopback, one pod "app" (run ${runId}): iperf3 -c 127.0.0.1 -p 10000 -t 1 --json --connect-timeout 3000 -l 64K`);
    expect(result.stdout).toContain('ESTABLISHED events on :10000 (4;');
    expect(result.stdout).toMatch(/^ {2}without programs +[\d.]+ [GM]bit\/s/m);
    expect(result.stdout).toMatch(/^ {2}sockops \+ sk_msg +[\d.]+ [GM]bit\/s .* x[\d.]+$/m);
    const events = result.stdout.split('\n').filter((l) => /^ {4}(active|passive) /.test(l));
    expect(events).toHaveLength(4);
    expect(events.filter((l) => l.includes('passive ipv4-mapped-ipv6'))).toHaveLength(2);
    expect(events.every((l) => l.endsWith('inserted'))).toBe(true);
    expect(result.stdout).toContain(`unloaded: sockops detached from the run's cgroup (lab-${runId}`);
    expect(result.stdout).toMatch(/PASS dual-stack: four-established-events/);
    expect(result.stdout).toMatch(/OK: (\d+) of \1 checks passed\n$/);
    expect(labDebris(runId)).toEqual([]);
  });

});
