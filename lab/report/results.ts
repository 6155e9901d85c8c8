// results.json: everything a report is made from. Every raw run is kept (a summary can always be
// recomputed, a lost run cannot), next to the environment and configuration that produced it. The
// bench writes the file after every finished run, so an interrupted bench still leaves a report.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { TrafficResult } from '../traffic/types.ts';
import type { CellSummary } from './summarize.ts';

export const RESULTS_SCHEMA = 1;
export const RESULTS_FILE = 'results.json';

export const METRICS = ['latency', 'throughput', 'cps'] as const;
export type Metric = (typeof METRICS)[number];

export interface EnvironmentInfo {
  hostname: string;
  kernel: string;
  cpuModel: string;
  cpuCount: number;
  memoryGiB: number;
  virtualization: string;
  node: string;
  /** First line of each tool's version output; "missing" when not installed. */
  toolVersions: Record<string, string>;
  /** "nf_tables" or "legacy", from `iptables -V`. */
  iptablesBackend: string;
  /** ethtool -k of a lab pod's host-side veth: feature -> on/off. */
  vethOffloads: Record<string, string>;
  gitCommit: string;
  /** True when the working tree had uncommitted changes: the commit alone does not reproduce the run. */
  gitDirty: boolean;
  /** Load average when the bench started: other work on the machine makes numbers noisy. */
  loadAverage: [number, number, number];
}

export interface BenchConfiguration {
  name: string;
  backends: string[];
  placements: string[];
  metrics: Metric[];
  repeats: number;
  quick: boolean;
  latency: { tool: string; rate: number; seconds: number; connections: number; warmupSeconds: number; messageBytes: number };
  /** `fromVerifyPlan`: the throughput run is the verify plan's own iperf3 run (quick profile). */
  throughput: { seconds: number; omitSeconds: number; blockSize: string; streams: number; fromVerifyPlan?: boolean };
  cps: { maxConnections: number; seconds: number; concurrency: number; warmupSeconds: number };
}

export interface EvidenceCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** One topology with one backend installed: its evidence covers every run made on it. */
export interface SetupRecord {
  id: number;
  repeat: number;
  backend: string;
  placement: string;
  startedAt: string;
  seconds: number;
  /** The backend's verify checks on this setup; null when the setup failed before verify ran. */
  evidence: { ok: boolean; checks: EvidenceCheck[] } | null;
  error?: string;
  /** The bench was stopped while this setup ran: it judges no cell unless it already has evidence. */
  interrupted?: boolean;
}

export interface RunRecord {
  setupId: number;
  repeat: number;
  backend: string;
  placement: string;
  metric: Metric;
  startedAt: string;
  /** 'verify-plan' when the number came from the verify plan's traffic rather than a run of its own. */
  source?: 'verify-plan';
  result?: TrafficResult;
  error?: string;
}

export interface ScaleRecord {
  pods: number;
  createSeconds: number;
  teardownSeconds: number;
  /** (create + teardown) / pods. */
  secondsPerPod: number;
}

export interface ResultsFile {
  schema: typeof RESULTS_SCHEMA;
  startedAt: string;
  finishedAt?: string;
  status: 'running' | 'complete' | 'interrupted' | 'failed';
  /** Wall-clock seconds from start to the last write. */
  durationSeconds: number;
  environment: EnvironmentInfo;
  configuration: BenchConfiguration;
  setups: SetupRecord[];
  runs: RunRecord[];
  /** Derived from `runs` at write time, for readers that do not want to recompute; reports recompute. */
  summaries: CellSummary[];
  scale?: ScaleRecord[];
}

/** Writes via a temporary file and rename, so a reader (or a crash) never sees half a file. */
export function writeResults(path: string, results: ResultsFile): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, JSON.stringify(results, null, 1) + '\n');
  renameSync(temporary, path);
}

export function readResults(path: string): ResultsFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  const file = parsed as Partial<ResultsFile>;
  if (file.schema !== RESULTS_SCHEMA) throw new Error(`${path} is not a lab results file of schema ${RESULTS_SCHEMA} (schema: ${String(file.schema)})`);
  for (const key of ['environment', 'configuration', 'setups', 'runs'] as const) {
    if (file[key] === undefined) throw new Error(`${path} has no "${key}"`);
  }
  return file as ResultsFile;
}
