// A step of the plan that fails midway ends in a verdict, not a hang: the sidecar of a live
// `lab verify` is killed as the plan starts, and the command must still print its JSON verdict (ok
// false, the failure named), exit 1, and be gone within seconds of its teardown.
import { expect, it } from 'vitest';
import { describePrivileged } from '../support/privileged.ts';
import { LabProcess } from '../support/lab-cli.ts';
import { isAlive } from '../../lab/host/exec.ts';

describePrivileged('lab verify when a step fails midway', { tools: ['haproxy', 'iptables-restore', 'iperf3'], features: ['iptables-redirect'] }, () => {
  it('prints a JSON verdict with the failure and exits promptly', async () => {
    const run = new LabProcess(['verify', '--backend', 'redirect', '--json']);
    // The pod agents start once both sidecars listen; the plan's first probe follows at once.
    const processes = (fragment: string) => run.ledger().filter((e) => e.kind === 'process' && e.command.includes(fragment));
    const sidecars = () => processes('haproxy');
    expect(await run.waitForLedger(() => sidecars().length === 2 && processes('agent-').length > 0, 60_000)).toBe(true);
    const clientSidecar = sidecars()[0]!;
    if (clientSidecar.kind !== 'process') throw new Error('not a process entry');
    process.kill(clientSidecar.pid, 'SIGKILL');
    const killedAt = Date.now();

    const code = await Promise.race([run.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 90_000))]);
    expect(code, run.stderr).toBe(1);
    // From the kill to exit: the rest of the plan (each failed probe ends fast), collect, teardown.
    expect(Date.now() - killedAt).toBeLessThan(60_000);
    expect(isAlive(run.pid)).toBe(false);

    const verdict = JSON.parse(run.stdout) as { ok: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> };
    expect(verdict.ok).toBe(false);
    const failed = verdict.checks.filter((c) => !c.ok).map((c) => c.name);
    // The killed sidecar leaves the app's traffic nowhere to go: every capture check fails, named.
    expect(failed).toEqual(expect.arrayContaining(['outbound-captured', 'probes-echoed', 'bytes-intact', 'iperf3-through-path']));
  }, 150_000);
});
