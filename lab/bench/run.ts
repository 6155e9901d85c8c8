// `lab bench`: every setup of the matrix (backend x placement) is built, installed and proven once,
// and all stay live side by side; then they are measured in short slices, round after round, every
// setup once per metric per round, in a fresh random order each round; then all are torn down. A
// backend's figure is then compared with its baseline's from the same round (report/analysis.ts).
// Results go to disk after every slice; Ctrl-C keeps what finished.
import { backendByName, backendNames } from '../backends/index.ts';
import type { Placement } from '../judge/plan.ts';
import { PLACEMENTS } from '../judge/plan.ts';
import { cpuCount } from '../host/procstat.ts';
import { collectEnvironment, keyOffloads, parseEthtoolFeatures } from '../report/environment.ts';
import { METRICS, type BenchConfiguration, type Metric, type PinMode, type ResultsFile, type SliceRecord } from '../report/results.ts';
import { stallReasons, STALL_RULE } from '../report/stall.ts';
import { chooseLatencyDriver, type LatencyDriver, type LatencyTool } from '../traffic/latency.ts';
import type { CapturedPair } from '../verify/setup.ts';
import { pinningFor } from './instruments.ts';
import { withLiveSetups, type BuildOutcome, type SetupSpec } from './live-setups.ts';
import { BUILD_CONCURRENCY, CPS_CONCURRENCY, DEFAULT_PIN_MODE, DEFAULT_SEED, LATENCY_RATE, MESSAGE_BYTES, QUICK_BACKENDS, QUICK_METRICS, ROUNDS, SLICE_SECONDS, VERIFY_IPERF_SECONDS } from './options.ts';
import { estimateRemainingSeconds, formatDuration, isLatencyMetric } from './plan.ts';
import { measureRounds } from './rounds.ts';
import { BenchRecorder } from './recorder.ts';
import { prepareReportDir } from './report-dir.ts';
import { prepareSetup, type MeasuredSetup, type SliceEnvironment } from './slices.ts';

export interface BenchOptions {
  backends?: string[];
  placements?: Placement[];
  metrics?: Metric[];
  rounds?: number;
  quick?: boolean;
  seed?: number;
  pin?: PinMode;
  /** Report directory; default reports/<date>-<name>. */
  outDir?: string;
  name?: string;
  latencyTool?: LatencyTool;
  /** Overrides the slice lengths (tests use tiny runs). */
  sliceSeconds?: Partial<BenchConfiguration['sliceSeconds']>;
  /** Progress lines; default stderr. */
  progress?: (line: string) => void;
  /** Called after each finished round with the live setups (tests break a path here). */
  afterRound?: (round: number, setups: readonly MeasuredSetup[]) => Promise<void>;
}

export interface BenchOutcome {
  dir: string;
  results: ResultsFile;
  status: ResultsFile['status'];
}

/**
 * Seconds between starts of consecutive latency clients. With a lead (sockperf's sleep) each client
 * starts two slices ahead: half of lead + slice + a gap for the counter reads and the next start.
 */
export function latencyStartPeriod(leadSeconds: number, sliceSeconds: number): number {
  if (leadSeconds <= 0) return sliceSeconds;
  const gap = 0.5;
  return Math.round(Math.max(sliceSeconds + 0.6, (leadSeconds + sliceSeconds + gap) / 2) * 100) / 100;
}

/** The backends a bench measures: those named, else quick's five, else every registered one. */
export function benchBackends(options: Pick<BenchOptions, 'backends' | 'quick'>): string[] {
  return options.backends ?? (options.quick ? [...QUICK_BACKENDS] : backendNames());
}

export function resolveConfiguration(options: BenchOptions, driver: Pick<LatencyDriver, 'tool' | 'leadSeconds'> | undefined): BenchConfiguration {
  const quick = options.quick ?? false;
  const sliceSeconds = { ...SLICE_SECONDS, ...options.sliceSeconds };
  const profile = options.rounds !== undefined || options.sliceSeconds !== undefined ? 'custom' : quick ? 'quick' : 'default';
  const pin = options.pin ?? DEFAULT_PIN_MODE;
  const pinning = pinningFor(pin, cpuCount());
  return {
    name: options.name ?? (quick ? 'quick' : 'bench'),
    profile,
    backends: benchBackends(options),
    placements: options.placements ?? [...PLACEMENTS],
    metrics: options.metrics ?? (quick ? [...QUICK_METRICS] : [...METRICS]),
    rounds: options.rounds ?? ROUNDS[quick ? 'quick' : 'default'],
    seed: options.seed ?? DEFAULT_SEED,
    sliceSeconds,
    latency: { tool: driver?.tool ?? 'not used', rate: LATENCY_RATE, messageBytes: MESSAGE_BYTES },
    throughput: { blockSize: '64K', streams: 1 },
    cps: { concurrency: CPS_CONCURRENCY },
    pinning: { mode: pinning.mode, clientCpus: pinning.clientCpus, serverCpus: pinning.serverCpus, ...(pinning.benchCpus ? { benchCpus: pinning.benchCpus } : {}) },
    latencyStartPeriodSeconds: latencyStartPeriod(driver?.leadSeconds ?? 0, Math.max(sliceSeconds.latency, sliceSeconds['round-trip'])),
    stallRule: STALL_RULE,
  };
}

/** Records the offloads of the client pod's host-side veth, once per bench (they do not vary). */
async function recordOffloads(pair: CapturedPair, recorder: BenchRecorder): Promise<void> {
  const result = await pair.lab.exec(pair.client.node, 'ethtool', ['-k', pair.client.hostVeth], { allowFailure: true, timeoutMs: 5000 }).catch(() => undefined);
  if (result && result.exitCode === 0) recorder.setVethOffloads(keyOffloads(parseEthtoolFeatures(result.stdout)));
}

const sliceProofOf = (pair: CapturedPair) => (pair.descriptor.name === 'none' ? 'no-path' : pair.descriptor.judgeSlice ? 'judged' : 'unproven');

function roundSummary(slices: readonly SliceRecord[]): string {
  const failed = slices.filter((s) => s.error !== undefined).length;
  const invalid = slices.filter((s) => s.path.status === 'invalid').length;
  const stalled = slices.filter((s) => s.noise && stallReasons(s.noise).length > 0).length;
  return `${slices.length} slices, ${failed} failed, ${invalid} off the path, ${stalled} flagged by the stall rule`;
}

export async function runBench(options: BenchOptions = {}): Promise<BenchOutcome> {
  const progress = options.progress ?? ((line: string) => process.stderr.write(line + '\n'));
  const wantsLatency = (options.metrics ?? METRICS).some(isLatencyMetric);
  const driver: LatencyDriver | undefined = wantsLatency ? chooseLatencyDriver(options.latencyTool) : undefined;
  const configuration = resolveConfiguration(options, driver);
  const dir = prepareReportDir(options.outDir, configuration.name);
  const recorder = new BenchRecorder(dir, await collectEnvironment(), configuration);
  const specs: SetupSpec[] = configuration.placements.flatMap((placement) => configuration.backends.map((backend) => ({ backend, placement }))).map((s, i) => ({ id: i + 1, ...s }));
  const slicesPerRound = specs.length * configuration.metrics.length;
  progress(
    `lab bench: ${specs.length} setups (${configuration.backends.join(', ')} x ${configuration.placements.join(', ')}), ${configuration.rounds} rounds of ${slicesPerRound} slices ` +
      `(${configuration.metrics.join(', ')}), seed ${configuration.seed}, pinning ${configuration.pinning.mode}; writing ${dir}`,
  );

  // Ctrl-C: write what finished, synchronously, before the lab's own handler tears down and exits.
  let stopRequested = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) return;
    stopRequested = true;
    recorder.close('interrupted');
    progress(`lab bench: ${signal}: stopped; ${recorder.results.roundsCompleted} round(s), ${recorder.results.slices.length} slice(s) kept in ${dir}`);
  };
  const signals = ['SIGINT', 'SIGTERM'] as const;
  for (const s of signals) process.on(s, onSignal);

  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  let measureStarted = 0;
  let measureEnded = 0;
  let offloadsRecorded = false;
  const env: SliceEnvironment = {
    driver,
    pinning: pinningFor(configuration.pinning.mode, cpuCount()),
    cpus: cpuCount(),
    sliceSeconds: configuration.sliceSeconds,
    latencyStartPeriodSeconds: configuration.latencyStartPeriodSeconds,
    conntrackCensus: (round) => round === 1,
    warmUpConnectionRate: configuration.metrics.includes('cps'),
  };

  /** Setups proven and ready to measure (servers up, pinned, warmed up), by setup id. */
  const measured = new Map<number, MeasuredSetup>();
  const onBuilt = async (outcome: BuildOutcome) => {
    const { spec } = outcome;
    const tag = `setup ${spec.id}/${specs.length} ${spec.backend} ${spec.placement}`;
    const istio = backendByName(spec.backend).istio;
    const recorded = { ...spec, ...(istio === undefined ? {} : { istio }) };
    if ('error' in outcome) {
      recorder.addSetup({ ...recorded, buildSeconds: outcome.seconds, evidence: null, sliceProof: 'unproven', proxyProcesses: 0, error: outcome.error });
      progress(`${tag}: SETUP FAILED: ${outcome.error.split('\n')[0]} (${outcome.seconds.toFixed(1)} s)`);
      return;
    }
    const { pair, verdict } = outcome;
    if (!offloadsRecorded) {
      await recordOffloads(pair, recorder);
      offloadsRecorded = true;
    }
    recorder.addSetup({ ...recorded, runId: pair.lab.runId, buildSeconds: outcome.seconds, evidence: { ok: verdict.ok, checks: verdict.checks }, sliceProof: sliceProofOf(pair), proxyProcesses: 0 });
    const proof = verdict.ok ? `evidence ok, slices ${sliceProofOf(pair)}` : `EVIDENCE FAILED (${verdict.checks.filter((c) => !c.ok).map((c) => c.name).join(', ')}): not measured`;
    progress(`${tag}: ${proof} (${outcome.seconds.toFixed(1)} s; elapsed ${formatDuration(elapsed())})`);
    if (!verdict.ok) return;
    // Prepared here rather than after every build: the connection-rate warm-up (up to 2 s a setup)
    // then overlaps the other setups' builds, which mostly wait on commands.
    try {
      const ready = await prepareSetup({ spec, pair, verdict }, env);
      measured.set(spec.id, ready);
      recorder.updateSetup(spec.id, { proxyProcesses: ready.processes.proxies.length });
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      recorder.updateSetup(spec.id, { error });
      progress(`${tag}: SETUP FAILED while starting its measurement servers: ${error.split('\n')[0]}: not measured`);
    }
  };

  try {
    await withLiveSetups(specs, { verifyIperfSeconds: VERIFY_IPERF_SECONDS, concurrency: BUILD_CONCURRENCY, onBuilt, shouldStop: () => stopRequested }, async () => {
      measureStarted = elapsed();
      await measureRounds(measured, configuration, env, {
        keep: (slice) => recorder.addSlice(slice),
        shouldStop: () => stopRequested,
        onRound: async (round, slices, seconds) => {
          recorder.completeRound(round);
          await options.afterRound?.(round, [...measured.values()]);
          const eta = estimateRemainingSeconds(elapsed() - measureStarted, round, configuration.rounds);
          progress(`round ${round}/${configuration.rounds}: ${roundSummary(slices)} (${seconds.toFixed(1)} s; elapsed ${formatDuration(elapsed())}${eta === undefined ? '' : `, ETA ${formatDuration(eta)} + teardown`})`);
        },
      });
      measureEnded = elapsed();
    });
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
  const total = elapsed();
  recorder.setPhases({ setupSeconds: measureStarted, measureSeconds: Math.max(0, measureEnded - measureStarted), teardownSeconds: Math.max(0, total - measureEnded) });
  const status = stopRequested ? 'interrupted' : 'complete';
  recorder.close(status);
  progress(`lab bench: ${status} in ${formatDuration(total)} (${total.toFixed(0)} s wall: setups ${measureStarted.toFixed(0)} s, measuring ${(measureEnded - measureStarted).toFixed(0)} s, teardown ${(total - measureEnded).toFixed(0)} s)`);
  return { dir, results: recorder.results, status };
}
