// A verdict: one question about a path, answered from evidence. `detail` says what was seen (counter
// values, log lines), so that a reader can check the verdict without rerunning anything.
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** A list of checks passes only when it is not empty and every check in it passed. */
export function allPassed(checks: readonly Check[]): boolean {
  return checks.length > 0 && checks.every((c) => c.ok);
}
