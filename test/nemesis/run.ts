// Runs a backend's nemesis table as privileged tests (see break.ts).
import { expect, it } from 'vitest';
import type { Check } from '../../lab/judge/check.ts';
import { withCapturedPair } from '../../lab/verify/setup.ts';
import { backendNeeds, describePrivileged } from '../support/privileged.ts';
import type { Nemesis } from './break.ts';

/** A second of iperf3 is enough: the breaks change where bytes go, not how many. */
const IPERF_SECONDS = 1;

const describeFailed = (checks: readonly Check[]) =>
  checks
    .filter((c) => !c.ok)
    .map((c) => `${c.name}: ${c.detail}`)
    .join('\n') || '(every check passed)';

export function nemesisSuite(nemesis: Nemesis, extraTools: readonly string[] = []): void {
  describePrivileged(`nemesis: ${nemesis.backend}`, backendNeeds(nemesis.backend, extraTools), () => {
    for (const b of nemesis.breaks) {
      it(`${b.name} -> ${b.caughtBy.check} fails`, async () => {
        await withCapturedPair(nemesis.backend, b.placement ?? 'same-node', async (pair) => {
          await b.apply(pair);
          const outcome = await pair.verify({ iperfSeconds: IPERF_SECONDS });
          const failed = describeFailed(outcome.checks);
          const caught = outcome.checks.find((c) => c.name === b.caughtBy.check);
          expect(caught, `no check named ${b.caughtBy.check}; failed:\n${failed}`).toBeDefined();
          expect(caught!.ok, `${b.caughtBy.check} passed despite the break: ${caught!.detail}`).toBe(false);
          expect(caught!.detail).toMatch(b.caughtBy.detail);
          // Nothing else may fail but what the table says: a break caught "somewhere" is not the proof.
          const allowed = new Set([b.caughtBy.check, ...(b.alsoFailing ?? [])]);
          const unexpected = outcome.checks.filter((c) => !c.ok && !allowed.has(c.name)).map((c) => c.name);
          expect(unexpected, failed).toEqual([]);
          // NEMESIS_REPORT=1 prints what caught each break, for the docs table and reports.
          if (process.env.NEMESIS_REPORT === '1') process.stdout.write(`nemesis ${nemesis.backend} | ${b.name} | ${b.caughtBy.check}: ${caught!.detail} | also failed: ${outcome.checks.filter((c) => !c.ok && c !== caught).map((c) => c.name).join(', ') || 'none'}\n`);
        });
      });
    }
    for (const t of nemesis.tolerated ?? []) {
      it(`tolerates ${t.name}`, async () => {
        await withCapturedPair(nemesis.backend, t.placement ?? 'same-node', async (pair) => {
          await t.apply(pair);
          const outcome = await pair.verify({ iperfSeconds: IPERF_SECONDS });
          expect(outcome.ok, describeFailed(outcome.checks)).toBe(true);
        });
      });
    }
  });
}
