// results.json: everything a report is made from, in one schema (zod) that both writes and reads go
// through. Every measured slice is kept raw (a summary can always be recomputed, a lost slice
// cannot), next to the environment and configuration that produced it. The bench writes the file
// after every slice, so an interrupted bench still leaves a report of the rounds it finished.
//
// Schema 2 (this one): live setups measured in interleaved slices, round by round. Schema 1 files
// (one fresh setup per repeat, `runs` instead of `slices`) predate it and are refused with that
// reason: their design cannot give paired ratios.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { PLACEMENTS } from '../judge/plan.ts';
import type { ConnectionRateResult, LatencyResult, ThroughputResult } from '../traffic/types.ts';
import type { SliceNoise, StallRule } from './stall.ts';

export const RESULTS_FORMAT = 'lab-bench-results';
export const RESULTS_SCHEMA = 2;
export const RESULTS_FILE = 'results.json';

/**
 * What a slice measures. `latency`: p50 round trip at a fixed request rate (open loop);
 * `round-trip`: p50 round trip with one request in flight (closed loop); `throughput`: iperf3, one
 * stream; `cps`: connections opened, used for one exchange and closed, per second.
 */
export const METRICS = ['latency', 'round-trip', 'throughput', 'cps'] as const;
export type Metric = (typeof METRICS)[number];

export const PROFILES = ['quick', 'default', 'custom'] as const;
export const PIN_MODES = ['off', 'apps', 'pods', 'one-cpu'] as const;
export type PinMode = (typeof PIN_MODES)[number];

const count = z.number().int().nonnegative();
const finite = z.number().refine(Number.isFinite, 'a finite number');
const microseconds = finite;

const percentilesSchema = z.object({ p50: finite, p75: finite, p90: finite, p99: finite, p999: finite });

const latencySchema: z.ZodType<LatencyResult> = z.object({
  kind: z.literal('latency'),
  tool: z.enum(['fortio', 'sockperf']),
  mode: z.enum(['open-loop', 'closed-loop']).optional(),
  requestedRate: finite.nullable(),
  achievedRate: finite,
  connections: count,
  percentilesUs: percentilesSchema,
  minUs: finite,
  meanUs: finite,
  maxUs: finite,
  samples: count,
  exchanges: count.optional(),
  errors: count,
  seconds: finite,
});

const throughputSchema: z.ZodType<ThroughputResult> = z.object({
  kind: z.literal('throughput'),
  tool: z.literal('iperf3'),
  bitsPerSecond: finite,
  bytesSent: count,
  bytesReceived: count,
  seconds: finite,
  retransmits: count.nullable(),
});

const connectionRateSchema: z.ZodType<ConnectionRateResult> = z.object({
  kind: z.literal('connection-rate'),
  tool: z.literal('lab-agent'),
  connectionsPerSecond: finite,
  connections: count,
  errors: count,
  seconds: finite,
  conntrackEntriesPer1000: finite.optional(),
  conntrackByPlace: z.record(z.string(), finite).optional(),
});

const trafficResultSchema = z.union([latencySchema, throughputSchema, connectionRateSchema]);

const checkSchema = z.object({ name: z.string(), ok: z.boolean(), detail: z.string() });
export type EvidenceCheck = z.infer<typeof checkSchema>;

const environmentSchema = z.object({
  hostname: z.string(),
  kernel: z.string(),
  cpuModel: z.string(),
  cpuCount: count,
  memoryGiB: finite,
  virtualization: z.string(),
  node: z.string(),
  /** First line of each tool's version output; "missing" when not installed. */
  toolVersions: z.record(z.string(), z.string()),
  /** "nf_tables" or "legacy", from `iptables -V`. */
  iptablesBackend: z.string(),
  /** ethtool -k of a lab pod's host-side veth: feature -> on/off. */
  vethOffloads: z.record(z.string(), z.string()),
  gitCommit: z.string(),
  /** True when the working tree had uncommitted changes: the commit alone does not reproduce the run. */
  gitDirty: z.boolean(),
  /** Load average when the bench started: other work on the machine makes numbers noisy. */
  loadAverage: z.tuple([finite, finite, finite]),
});
export type EnvironmentInfo = z.infer<typeof environmentSchema>;

const stallRuleSchema: z.ZodType<StallRule> = z.object({ stealFraction: finite, foreignFraction: finite, overrunFraction: finite });

const configurationSchema = z.object({
  name: z.string(),
  profile: z.enum(PROFILES),
  backends: z.array(z.string()),
  placements: z.array(z.enum(PLACEMENTS)),
  metrics: z.array(z.enum(METRICS)),
  /** Rounds asked for; each round measures every setup once per metric, in a fresh random order. */
  rounds: count,
  /** Seed of the slice order and of the bootstrap intervals. */
  seed: count,
  /** Seconds each slice measures, per metric. */
  sliceSeconds: z.object({ latency: finite, 'round-trip': finite, throughput: finite, cps: finite }),
  latency: z.object({ tool: z.string(), rate: finite, messageBytes: count }),
  throughput: z.object({ blockSize: z.string(), streams: count }),
  cps: z.object({ concurrency: count }),
  /** Where the client and server pods' processes were pinned (taskset), and how. */
  pinning: z.object({
    mode: z.enum(PIN_MODES),
    clientCpus: z.array(count),
    serverCpus: z.array(count),
    /** CPUs the bench's own process kept to while it measured (one-cpu mode; absent before it existed). */
    benchCpus: z.array(count).optional(),
  }),
  /** Seconds between starts of consecutive latency clients (sockperf is started ahead of its slice). */
  latencyStartPeriodSeconds: finite,
  /** The stall rule in force when the slices were recorded (the report applies the current one). */
  stallRule: stallRuleSchema,
});
export type BenchConfiguration = z.infer<typeof configurationSchema>;

/** How a backend's slices are proven: by its per-slice judge, not at all (no judge yet), or not needed (no path). */
export const SLICE_PROOF = ['judged', 'unproven', 'no-path'] as const;

const setupSchema = z.object({
  id: count,
  backend: z.string(),
  placement: z.enum(PLACEMENTS),
  /** Which Istio release's rules the backend installed (its descriptor's `istio`); absent for backends without Istio rules, and in results written before it was recorded. */
  istio: z.string().optional(),
  runId: z.string().optional(),
  /** Seconds to build, install and prove this setup. */
  buildSeconds: finite,
  /** The backend's verify checks on this setup; null when it failed before verify ran. */
  evidence: z.object({ ok: z.boolean(), checks: z.array(checkSchema) }).nullable(),
  sliceProof: z.enum(SLICE_PROOF),
  /** Proxy processes (sidecars, node proxies) found in the setup's pods: their CPU is the "proxy" share. */
  proxyProcesses: count,
  error: z.string().optional(),
});
export type SetupRecord = z.infer<typeof setupSchema>;

/** A slice's path: proven by the backend's judge (valid/invalid), not provable (unproven), or no path at all (none). */
export const PATH_STATUS = ['valid', 'invalid', 'unproven', 'no-path'] as const;
export type PathStatus = (typeof PATH_STATUS)[number];

const noiseSchema: z.ZodType<SliceNoise> = z.object({
  windowMs: finite,
  plannedMs: finite,
  cpus: count,
  stealUs: microseconds,
  machineBusyUs: microseconds,
  setupUs: microseconds,
  softirqThreadsUs: microseconds,
  cpuPressureUs: microseconds.nullable(),
  involuntarySwitches: count,
  contextSwitches: count,
  loadAverage1: finite,
  disturbed: z.boolean(),
});

const cpuSchema = z.object({
  /** This setup's pods minus its proxies: the apps, their syscalls and the softirq work done in them. */
  appUs: microseconds,
  /** Sidecars or node proxies. */
  proxyUs: microseconds,
  /** The kernel's softirq threads (whole machine; during the window only this setup was measured). */
  softirqThreadsUs: microseconds,
  /** /proc/stat softirq and system time of the whole machine (tick-sampled); softirq run inside a task is also in that task's figure. */
  machineSoftirqUs: microseconds,
  machineSystemUs: microseconds,
});
export type SliceCpu = z.infer<typeof cpuSchema>;

const sliceSchema = z.object({
  round: count,
  /** Position in the round's order (0-based). */
  position: count,
  setupId: count,
  backend: z.string(),
  placement: z.enum(PLACEMENTS),
  metric: z.enum(METRICS),
  startedAt: z.string(),
  result: trafficResultSchema.optional(),
  error: z.string().optional(),
  /** What the slice moved, as the per-slice judge is told: connections, bytes, requests. */
  traffic: z.object({ connections: count, bytesSent: count.optional(), requests: count.optional() }).optional(),
  path: z.object({ status: z.enum(PATH_STATUS), delta: z.record(z.string(), finite).optional(), check: checkSchema.optional() }),
  cpu: cpuSchema.optional(),
  noise: noiseSchema.optional(),
});
export type SliceRecord = z.infer<typeof sliceSchema>;

const scaleSchema = z.object({ pods: count, createSeconds: finite, teardownSeconds: finite, secondsPerPod: finite });
export type ScaleRecord = z.infer<typeof scaleSchema>;

export const resultsSchema = z.object({
  format: z.literal(RESULTS_FORMAT),
  schema: z.literal(RESULTS_SCHEMA),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  status: z.enum(['running', 'complete', 'interrupted', 'failed']),
  /** Wall-clock seconds from start to the last write. */
  durationSeconds: finite,
  /** Seconds spent building and proving the setups, measuring, and tearing down. */
  phases: z.object({ setupSeconds: finite, measureSeconds: finite, teardownSeconds: finite }).optional(),
  environment: environmentSchema,
  configuration: configurationSchema,
  setups: z.array(setupSchema),
  slices: z.array(sliceSchema),
  /** Rounds that finished: every slice of them was attempted. */
  roundsCompleted: count,
  scale: z.array(scaleSchema).optional(),
});
export type ResultsFile = z.infer<typeof resultsSchema>;

/** Writes via a temporary file and rename, so a reader (or a crash) never sees half a file. */
export function writeResults(path: string, results: ResultsFile): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, JSON.stringify(results, null, 1) + '\n');
  renameSync(temporary, path);
}

/** Thrown for a results file written by an older bench whose design this report cannot analyse. */
export class OutdatedResultsError extends Error {}

/** Parses and validates a results file; a schema-1 file gets an OutdatedResultsError that says so. */
export function parseResults(text: string, path = RESULTS_FILE): ResultsFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  const schema = (parsed as { schema?: unknown } | null)?.schema;
  if (schema === 1) {
    throw new OutdatedResultsError(
      `${path} predates the current results format: it is schema 1 (one fresh setup per repeat, no slices), this lab reads schema ${RESULTS_SCHEMA} (live setups measured in paired, interleaved slices). ` +
        'Its numbers cannot be turned into paired ratios; its report.md stays as it was rendered. Run `lab bench` again for a current report.',
    );
  }
  const checked = resultsSchema.safeParse(parsed);
  if (!checked.success) throw new Error(`${path} is not a lab results file of schema ${RESULTS_SCHEMA}:\n${z.prettifyError(checked.error)}`);
  return checked.data;
}

export function readResults(path: string): ResultsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  return parseResults(text, path);
}
