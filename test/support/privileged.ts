// Gate for tests that need root and real kernel features. A skipped privileged test prints why; with
// LAB_REQUIRE_PRIVILEGED=1 (CI) a test that cannot run fails instead of skipping.
import { describe } from 'vitest';
import { missingTools } from '../../lab/host/tools.ts';

/** Why privileged tests cannot run here, or undefined when they can. */
export function privilegedBlocker(tools: readonly string[] = []): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root (run `sudo npm test`)';
  const missing = missingTools(['ip', 'nsenter', ...tools]);
  if (missing.length > 0) return `missing tools: ${missing.join(', ')} (run scripts/setup.sh)`;
  return undefined;
}

export const describePrivileged = (name: string, tools: readonly string[], body: () => void): void => {
  const blocker = privilegedBlocker(tools);
  if (blocker === undefined) {
    describe(name, body);
  } else if (process.env.LAB_REQUIRE_PRIVILEGED === '1') {
    throw new Error(`privileged test "${name}" cannot run but LAB_REQUIRE_PRIVILEGED=1: ${blocker}`);
  } else {
    process.stderr.write(`skipping privileged tests "${name}": ${blocker}\n`);
    describe.skip(name, body);
  }
};
