// Checks a command makes before it creates anything: root, the tools the work will run, and the
// kernel features the backend needs. Each failure names its fix (sudo, scripts/setup.sh), or for a
// kernel that lacks a feature says so ("unsupported on this kernel: <feature>"), rather than
// surfacing as an odd error midway.
import type { BackendDescriptor } from '../backends/descriptor.ts';
import { missingFeaturesFor, unsupportedReason, type BackendRequirements } from '../doctor/support.ts';
import { TOPOLOGY_TOOLS } from '../doctor/requirements.ts';
import type { FeatureResult } from '../features/names.ts';
import { probeKernelFeatures } from '../features/probe.ts';
import { missingTools } from '../host/tools.ts';

export class PreflightError extends Error {
  override readonly name = 'PreflightError';
}

/** The backend cannot run on this kernel: a finding about the kernel, not a failure of the lab. */
export class UnsupportedOnKernelError extends PreflightError {
  constructor(
    readonly backend: string,
    readonly missing: readonly FeatureResult[],
  ) {
    super(`the ${backend} backend is ${unsupportedReason(missing)}`);
  }
}

export function requireRoot(command: string): void {
  const uid = process.getuid?.();
  if (uid !== 0) throw new PreflightError(`\`lab ${command}\` creates and removes network namespaces, cgroups and BPF objects, which needs root: run it with sudo (sudo lab ${command} ...); you are uid ${uid}`);
}

/** The tools a run of `backend` needs, plus `extra` (e.g. iperf3 for verify). */
export function requireTools(backend: BackendDescriptor, extra: readonly string[] = []): void {
  const missing = missingTools([...TOPOLOGY_TOOLS, ...backend.requires.tools, ...extra]);
  if (missing.length === 0) return;
  const list = missing.map((t) => `\`${t}\``).join(', ');
  throw new PreflightError(`${list} ${missing.length === 1 ? 'is' : 'are'} not installed (needed by the ${backend.name} backend's run): run scripts/setup.sh as root to install ${missing.length === 1 ? 'it' : 'them'}, and \`lab doctor\` to check the rest`);
}

/**
 * The kernel features a run of `backend` needs, from the process's one feature probe (the first call
 * probes, about 1.7 s on a 2-core VM; later calls reuse it). Throws UnsupportedOnKernelError naming
 * the first absent feature.
 */
export async function requireKernelFeatures(backend: BackendRequirements): Promise<void> {
  const { results } = await probeKernelFeatures();
  const missing = missingFeaturesFor(backend, results);
  if (missing.length > 0) throw new UnsupportedOnKernelError(backend.name, missing);
}
