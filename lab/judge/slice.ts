// Judging one measured slice of the bench: did the path's counters move enough to account for every
// connection the slice opened? A number counts only if the path carried it.
import type { Check } from './check.ts';

/** Each named counter must have moved by at least `atLeast` during the slice. */
export function countersAccountFor(delta: Readonly<Record<string, number>>, requirements: ReadonlyArray<{ counter: string; atLeast: number; why: string }>): Check {
  const short = requirements.filter((r) => (delta[r.counter] ?? 0) < r.atLeast);
  const seen = requirements.map((r) => `${r.counter} +${delta[r.counter] ?? 0} (needs ${r.atLeast}: ${r.why})`).join('; ');
  return { name: 'slice-on-path', ok: requirements.length > 0 && short.length === 0, detail: short.length ? `short: ${short.map((r) => r.counter).join(', ')}; ${seen}` : seen };
}
