// The seam between collect and judge: a verdict is reached whatever broke, and a failed step is
// always reported (plan-completed), even by a judge that would not notice it.
import { expect, it } from 'vitest';
import { redirectBackend } from '../../lab/backends/redirect/redirect.ts';
import type { BackendDescriptor } from '../../lab/backends/descriptor.ts';
import { allPassed } from '../../lab/judge/check.ts';
import { judgeEvidence } from '../../lab/verify/collect.ts';
import { checkNamed, failStep, loadEvidence } from '../support/evidence.ts';

it('adds a failed plan-completed check naming every failed step', () => {
  const evidence = loadEvidence('redirect', 'same-node');
  failStep(evidence, 'iperf3', 'iperf3: unable to write to stream socket: Cannot allocate memory');
  evidence.plan.failures.push({ step: 'probe loopback', error: 'agent in pod client exited' });
  const checks = judgeEvidence(redirectBackend as BackendDescriptor, evidence);
  expect(checks[0]).toEqual({
    name: 'plan-completed',
    ok: false,
    detail: 'iperf3: iperf3: unable to write to stream socket: Cannot allocate memory; probe loopback: agent in pod client exited',
  });
  expect(checkNamed(checks, 'iperf3-through-path').ok).toBe(false);
  expect(allPassed(checks)).toBe(false);
});

it('omits plan-completed when every step ran', () => {
  const checks = judgeEvidence(redirectBackend as BackendDescriptor, loadEvidence('redirect', 'same-node'));
  expect(checks.map((c) => c.name)).not.toContain('plan-completed');
  expect(allPassed(checks)).toBe(true);
});

it('fails, rather than judging nothing, when the backend could not collect', () => {
  const evidence = loadEvidence('redirect', 'same-node');
  evidence.collected = undefined as never;
  evidence.plan.failures.push({ step: 'collect', error: 'iptables-save: exit 1' });
  const checks = judgeEvidence(redirectBackend as BackendDescriptor, evidence);
  // kernel-path is judged from the plan's own trace, so it still has a verdict.
  expect(checks.map((c) => c.name)).toEqual(['plan-completed', 'kernel-path']);
  expect(checks[0]).toEqual({ name: 'plan-completed', ok: false, detail: 'collect: iptables-save: exit 1' });
  expect(checks[1]!.ok).toBe(true);
  expect(allPassed(checks)).toBe(false);
});

it('turns a judge that cannot read its evidence into a failed check', () => {
  const evidence = loadEvidence('redirect', 'same-node');
  (evidence.collected as { clientLog: unknown }).clientLog = undefined;
  const checks = judgeEvidence(redirectBackend as BackendDescriptor, evidence);
  expect(checks.map((c) => c.name)).toEqual(['judged', 'kernel-path']);
  expect(checks[0]).toMatchObject({ name: 'judged', ok: false });
  expect(checks[0]!.detail).toMatch(/the redirect judge could not read this evidence/);
});
