// Every setup of the matrix (backend x placement) live at the same time, each in its own run (its
// own namespaces, cgroups, pins and ledger), so they can stand side by side. Setups are built,
// installed and proven with the backend's verify checks, a few at a time, then quietened (their
// trace readers and map samplers stopped: see Installation.quiet) and handed to onBuilt, which
// keeps the ones it will measure; then the body measures them; then all are torn down, also when
// the body throws. Ctrl-C is the lab's own handler: it tears down every live run (the bench writes
// its results first).
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

/** How one setup's build ended: proven or not (the verdict says), or failed. */
export type BuildOutcome = { spec: SetupSpec; seconds: number } & ({ pair: CapturedPair; verdict: VerifyOutcome } | { error: string });

export interface BuildHooks {
  verifyIperfSeconds: number;
  /** Setups built at the same time (building is mostly waiting on commands; 2 suits two cores). */
  concurrency: number;
  /** Called after each setup's verify (or failure). */
  onBuilt(outcome: BuildOutcome): Promise<void> | void;
  /** Stop building (Ctrl-C): the body then runs with the setups built so far. */
  shouldStop(): boolean;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Builds every spec (at most `concurrency` at once), handing each outcome to `hooks.onBuilt`, runs
 * `body` once every build has ended, and tears every setup down before returning. A setup that fails
 * to build is reported and skipped; an error thrown by `body` propagates after teardown.
 */
export async function withLiveSetups<T>(specs: readonly SetupSpec[], hooks: BuildHooks, body: () => Promise<T>): Promise<T> {
  /** Setups whose onBuilt with a verdict returned: a later failure of theirs is not reported twice. */
  const reported = new Set<number>();
  // Each setup's build holds its lab open until the body is done: `release` lets them all go.
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const holders: Array<Promise<void>> = [];

  const build = (spec: SetupSpec) =>
    new Promise<void>((ready) => {
      const started = performance.now();
      const seconds = () => Math.round((performance.now() - started) / 100) / 10;
      const holder = withCapturedPair(spec.backend, spec.placement, async (pair) => {
        const verdict = await pair.verify({ iperfSeconds: hooks.verifyIperfSeconds });
        // Judged: the verify-only instruments would now only cost the measured slices of every setup.
        await pair.installation.quiet?.();
        await hooks.onBuilt({ spec, seconds: seconds(), pair, verdict });
        reported.add(spec.id);
        ready();
        await released;
      }).catch(async (e: unknown) => {
        if (!reported.has(spec.id)) await hooks.onBuilt({ spec, seconds: seconds(), error: message(e) });
        ready();
      });
      holders.push(holder);
    });

  try {
    const queue = [...specs];
    const worker = async () => {
      for (let spec = queue.shift(); spec && !hooks.shouldStop(); spec = queue.shift()) await build(spec);
    };
    await Promise.all(Array.from({ length: Math.max(1, hooks.concurrency) }, worker));
    return await body();
  } finally {
    release();
    await Promise.all(holders);
  }
}
