// Pure: doctor's report from a feature probe's results (real, or replayed from a saved probe) and the
// probed tools. The registry is passed in, so a test can replay a recorded kernel against any backends.
import { featureResult } from '../features/derive.ts';
import { FEATURE_INFO, type FeatureResult } from '../features/names.ts';
import { backendSupport, featuresNeeded, type BackendRequirements, type BackendSupport } from './support.ts';
import { TOPOLOGY_FEATURES } from './requirements.ts';

export interface DoctorItem {
  name: string;
  ok: boolean;
  /** Missing optional items are reported but do not fail the doctor. */
  required: boolean;
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  /** Root, the topology's kernel features and every required tool are present. */
  ok: boolean;
  kernelRelease: string;
  /** Root and the tools, each with its fix. */
  items: DoctorItem[];
  /** Every kernel feature the lab knows, present or not, with what the probe saw. */
  features: Array<FeatureResult & { summary: string; neededBy: string[]; fix?: string }>;
  backends: BackendSupport[];
}

export interface DoctorInput {
  kernelRelease: string;
  results: readonly FeatureResult[];
  /** Root and the tools, as probed. */
  items: DoctorItem[];
  backends: readonly BackendRequirements[];
}

/** Pure: the report from a feature probe (real, or replayed from a saved one) and the probed items. */
export function assembleDoctorReport({ kernelRelease, results, items, backends }: DoctorInput): DoctorReport {
  const missingTool = (tool: string) => items.some((i) => i.name === tool && !i.ok);
  const features = results.map((r) => {
    const neededBy = TOPOLOGY_FEATURES.includes(r.feature) ? ['every run'] : backends.filter((b) => featuresNeeded(b).includes(r.feature)).map((b) => b.name);
    return { ...r, summary: FEATURE_INFO[r.feature].summary, neededBy, ...(r.present ? {} : { fix: FEATURE_INFO[r.feature].fix }) };
  });
  const topologyReady = TOPOLOGY_FEATURES.every((f) => featureResult(results, f).present);
  const ok = items.every((i) => i.ok || !i.required) && topologyReady;
  return { ok, kernelRelease, items, features, backends: backends.map((b) => backendSupport(b, results, missingTool)) };
}

