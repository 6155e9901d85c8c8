// Gate for tests that need root, tools and real kernel features. A skipped privileged test prints
// why, naming the missing tool or the absent kernel feature; with LAB_REQUIRE_PRIVILEGED=1 (CI) a test
// that cannot run fails instead of skipping.
//
// Kernel features come from the lab's one feature probe (lab/features/probe.ts), the same one doctor
// and `lab verify` use. A suite is skipped only when a feature it names is absent, never for a
// feature some other suite needs.
import { describe } from 'vitest';
import { backendByName } from '../../lab/backends/index.ts';
import { absentFeatures } from '../../lab/features/derive.ts';
import type { KernelFeature } from '../../lab/features/names.ts';
import { probeKernelFeatures } from '../../lab/features/probe.ts';
import { missingTools } from '../../lab/host/tools.ts';

export interface PrivilegedNeeds {
  /** Commands the suite runs (ip and nsenter are always needed). */
  tools?: readonly string[];
  /** Kernel features the suite exercises (lab/features/names.ts). */
  features?: readonly KernelFeature[];
}

/** What a backend's tests need: its descriptor's tools and kernel features, plus `extraTools`. */
export function backendNeeds(backend: string, extraTools: readonly string[] = []): PrivilegedNeeds {
  const { requires } = backendByName(backend);
  return { tools: [...requires.tools, ...extraTools], features: [...requires.features] };
}

const required = () => process.env.LAB_REQUIRE_PRIVILEGED === '1';

/** Why privileged tests cannot run here for want of root or tools, or undefined when they can. */
export function privilegedBlocker(tools: readonly string[] = []): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root (run `sudo npm test`)';
  const missing = missingTools(['ip', 'nsenter', ...tools]);
  if (missing.length > 0) return `missing tools: ${missing.join(', ')} (run scripts/setup.sh)`;
  return undefined;
}

/** Why the kernel cannot run the suite: the absent features it names, each with the probe's evidence. */
export async function kernelBlocker(features: readonly KernelFeature[]): Promise<string | undefined> {
  if (features.length === 0) return undefined;
  const absent = absentFeatures((await probeKernelFeatures()).results, features);
  if (absent.length === 0) return undefined;
  return `kernel feature${absent.length > 1 ? 's' : ''} absent: ${absent.map((r) => `${r.feature} (${r.detail})`).join('; ')}`;
}

/** Fails under LAB_REQUIRE_PRIVILEGED=1, else registers the suite as skipped and says why. */
function cannotRun(name: string, blocker: string, body: () => void, suiteName = name): void {
  if (required()) throw new Error(`privileged test "${name}" cannot run but LAB_REQUIRE_PRIVILEGED=1: ${blocker}`);
  process.stderr.write(`skipping privileged tests "${name}": ${blocker}\n`);
  describe.skip(suiteName, body);
}

/**
 * describe() for privileged tests. `needs` is the tools the suite runs, or `{ tools, features }`.
 * Features are checked while the suite is collected (vitest awaits an async describe body), so a
 * file that names none never starts the probe.
 */
export function describePrivileged(name: string, needs: readonly string[] | PrivilegedNeeds, body: () => void): void {
  const { tools = [], features = [] }: PrivilegedNeeds = Array.isArray(needs) ? { tools: needs as readonly string[] } : (needs as PrivilegedNeeds);
  const blocker = privilegedBlocker(tools);
  if (blocker !== undefined) {
    cannotRun(name, blocker, body);
  } else if (features.length === 0) {
    describe(name, body);
  } else {
    describe(name, async () => {
      const absent = await kernelBlocker(features);
      if (absent === undefined) body();
      else cannotRun(name, absent, body, 'skipped: kernel feature absent');
    });
  }
}
