// Every setup of the matrix (backend x placement) live at the same time, each in its own run (its
// own namespaces, cgroups, pins and ledger), so they can stand side by side. Each is built, installed
// and proven with the backend's verify checks, one after the other; then the body measures them all;
// then all are torn down, newest first, also when the body throws. Ctrl-C is the lab's own handler:
// it tears down every live run (the bench writes its results first).
import type { Placement } from '../judge/plan.ts';
import { withCapturedPair, type CapturedPair, type VerifyOutcome } from '../verify/setup.ts';

export interface SetupSpec {
  id: number;
  backend: string;
  placement: Placement;
}

export interface LiveSetup {
  spec: SetupSpec;
  pair: CapturedPair;
  verdict: VerifyOutcome;
}

/** How one setup's build ended: proven (and kept live), unproven (kept out), or failed. */
export type BuildOutcome = { spec: SetupSpec; seconds: number } & ({ pair: CapturedPair; verdict: VerifyOutcome } | { error: string });

export interface BuildHooks {
  verifyIperfSeconds: number;
  /** Called after each setup's verify (or failure); `prepare` runs before the next setup is built. */
  onBuilt(outcome: BuildOutcome): Promise<void> | void;
  /** Stop building (Ctrl-C): the body then runs with the setups built so far. */
  shouldStop(): boolean;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Builds each spec in turn (nested, so each stays live while the next is built), runs `body` with the
 * setups whose evidence passed, and tears every one down. A setup that fails to build is reported
 * and skipped; an error thrown by `body` propagates after teardown.
 */
export async function withLiveSetups<T>(specs: readonly SetupSpec[], hooks: BuildHooks, body: (live: LiveSetup[]) => Promise<T>): Promise<T> {
  const live: LiveSetup[] = [];
  const build = async (index: number): Promise<T> => {
    const spec = specs[index];
    if (!spec || hooks.shouldStop()) return body(live);
    const started = performance.now();
    const seconds = () => Math.round((performance.now() - started) / 100) / 10;
    // Set once this setup is up and the next one is being built: from then on an error comes from
    // further in (a later setup's body, or the measurement) and must not be taken for this build's.
    let nested = false;
    try {
      return await withCapturedPair(spec.backend, spec.placement, async (pair) => {
        const verdict = await pair.verify({ iperfSeconds: hooks.verifyIperfSeconds });
        await hooks.onBuilt({ spec, seconds: seconds(), pair, verdict });
        if (verdict.ok) live.push({ spec, pair, verdict });
        nested = true;
        return build(index + 1);
      });
    } catch (e) {
      if (nested) throw e;
      await hooks.onBuilt({ spec, seconds: seconds(), error: message(e) });
      return build(index + 1);
    }
  };
  return build(0);
}
