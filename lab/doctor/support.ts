// Pure: whether each backend can run here, from the kernel feature results and the missing tools. A
// backend whose kernel features are absent is "unsupported on this kernel: <feature>", which is a
// finding about the kernel, not a failure of the lab; a missing tool is a set-up step not yet done.
import { absentFeatures } from '../features/derive.ts';
import { isKernelFeature, type FeatureResult, type KernelFeature } from '../features/names.ts';
import { SETUP_FIX, TOPOLOGY_FEATURES } from './requirements.ts';

/** The part of a backend descriptor doctor reads. */
export interface BackendRequirements {
  readonly name: string;
  readonly requires: { readonly tools: readonly string[]; readonly features: readonly string[]; readonly oneOf?: readonly (readonly string[])[] };
}

export type SupportStatus = 'supported' | 'unsupported' | 'missing-tools';

export interface BackendSupport {
  backend: string;
  status: SupportStatus;
  /** One line: "supported", "unsupported on this kernel: sk-msg (...)", "missing tools: tc (...)". */
  reason: string;
  missingFeatures: FeatureResult[];
  missingTools: string[];
}

/** The kernel features a backend's run needs: the topology's, then its own, without repeats. */
export function featuresNeeded(backend: BackendRequirements): KernelFeature[] {
  const unknown = backend.requires.features.filter((f) => !isKernelFeature(f));
  if (unknown.length > 0) throw new Error(`backend ${backend.name} requires unknown kernel features: ${unknown.join(', ')} (known: lab/features/names.ts)`);
  return [...new Set([...TOPOLOGY_FEATURES, ...(backend.requires.features as readonly KernelFeature[])])];
}

/**
 * What the kernel lacks for a backend: every absent required feature, and for each group of
 * alternatives with none present, its first feature, whose detail names the others and why they are absent too.
 */
export function missingFeaturesFor(backend: BackendRequirements, results: readonly FeatureResult[]): FeatureResult[] {
  const missing = absentFeatures(results, featuresNeeded(backend));
  for (const group of backend.requires.oneOf ?? []) {
    const unknown = group.filter((f) => !isKernelFeature(f));
    if (unknown.length > 0 || group.length === 0) throw new Error(`backend ${backend.name} has a bad group of alternative kernel features: [${group.join(', ')}] (known: lab/features/names.ts)`);
    const absent = absentFeatures(results, group as readonly KernelFeature[]);
    if (absent.length < group.length) continue;
    const [first, ...others] = absent;
    missing.push({ ...first!, detail: `${first!.detail}; its alternative${others.length > 1 ? 's' : ''} ${others.map((o) => `${o.feature} (${o.detail})`).join(', ')} ${others.length > 1 ? 'are' : 'is'} absent too` });
  }
  return missing;
}

/** "unsupported on this kernel: sk-msg (the kernel refused ...)" for the first absent feature, plus the count of others. */
export function unsupportedReason(missing: readonly FeatureResult[]): string {
  const [first, ...rest] = missing;
  if (!first) return 'supported';
  return `unsupported on this kernel: ${first.feature} (${first.detail})${rest.length ? `; also absent: ${rest.map((r) => r.feature).join(', ')}` : ''}`;
}

export function backendSupport(backend: BackendRequirements, features: readonly FeatureResult[], isMissingTool: (tool: string) => boolean): BackendSupport {
  const missingFeatures = missingFeaturesFor(backend, features);
  const missingTools = [...new Set(backend.requires.tools)].filter(isMissingTool);
  if (missingFeatures.length > 0) return { backend: backend.name, status: 'unsupported', reason: unsupportedReason(missingFeatures), missingFeatures, missingTools };
  if (missingTools.length > 0) return { backend: backend.name, status: 'missing-tools', reason: `missing tools: ${missingTools.join(', ')} (${SETUP_FIX})`, missingFeatures, missingTools };
  return { backend: backend.name, status: 'supported', reason: 'supported', missingFeatures, missingTools };
}
