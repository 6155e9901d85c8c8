// `lab bench`: the matrix runner. For each repeat, for each placement, for each backend (interleaved):
// build a client/server pair, install the backend, prove its path with the backend's own verify
// checks, then measure. Results go to disk after every run; Ctrl-C keeps what finished.
import { backendNames } from '../backends/index.ts';
import { collectEnvironment, keyOffloads, parseEthtoolFeatures } from '../report/environment.ts';
import { METRICS, type BenchConfiguration, type Metric, type ResultsFile } from '../report/results.ts';
import { chooseLatencyDriver, type LatencyDriver, type LatencyTool } from '../traffic/latency.ts';
import type { TrafficResult } from '../traffic/types.ts';
import { PLACEMENTS, type Placement } from '../judge/plan.ts';
import { withCapturedPair, type CapturedPair } from '../verify/setup.ts';
import { measureSetup } from './measure.ts';
import { DEFAULT_REPEATS, defaultDurations, QUICK_REPEATS, quickDurations, type Durations } from './options.ts';
import { estimateRemainingSeconds, formatDuration, planSetups } from './plan.ts';
import { BenchRecorder } from './recorder.ts';
import { prepareReportDir } from './report-dir.ts';

export interface BenchOptions {
  backends?: string[];
  placements?: Placement[];
  metrics?: Metric[];
  repeats?: number;
  quick?: boolean;
  /** Report directory; default reports/<date>-<name>. */
  outDir?: string;
  name?: string;
  latencyTool?: LatencyTool;
  /** Overrides the profile's durations (tests use tiny runs). */
  durations?: Partial<Durations>;
  /** Progress lines; default stderr. */
  progress?: (line: string) => void;
}

export interface BenchOutcome {
  dir: string;
  results: ResultsFile;
  status: ResultsFile['status'];
}

/** One number per run for the progress line. */
function brief(result: TrafficResult): string {
  switch (result.kind) {
    case 'latency':
      return `latency p50 ${result.percentilesUs.p50.toFixed(1)} µs p99 ${result.percentilesUs.p99.toFixed(1)} µs`;
    case 'throughput':
      return `throughput ${(result.bitsPerSecond / 1e9).toFixed(2)} Gbit/s`;
    case 'connection-rate':
      return `cps ${result.connectionsPerSecond.toFixed(0)}/s`;
  }
}

/** Records the offloads of the client pod's host-side veth, once per bench (they do not vary). */
async function recordOffloads(pair: CapturedPair, recorder: BenchRecorder): Promise<void> {
  const result = await pair.lab.exec(pair.client.node, 'ethtool', ['-k', pair.client.hostVeth], { allowFailure: true, timeoutMs: 5000 }).catch(() => undefined);
  if (result && result.exitCode === 0) recorder.setVethOffloads(keyOffloads(parseEthtoolFeatures(result.stdout)));
}

/** Resolves defaults: every available backend, both placements, all metrics, 5 repeats (3 quick). */
export function resolveConfiguration(options: BenchOptions, latencyTool: string): { configuration: BenchConfiguration; durations: Durations } {
  const quick = options.quick ?? false;
  const base = quick ? quickDurations(latencyTool) : defaultDurations(latencyTool);
  const durations = { ...base, ...options.durations };
  const name = options.name ?? (quick ? 'quick' : 'bench');
  return {
    durations,
    configuration: {
      name,
      backends: options.backends ?? backendNames(),
      placements: options.placements ?? [...PLACEMENTS],
      metrics: options.metrics ?? [...METRICS],
      repeats: options.repeats ?? (quick ? QUICK_REPEATS : DEFAULT_REPEATS),
      quick,
      latency: durations.latency,
      throughput: durations.throughput,
      cps: durations.cps,
    },
  };
}

export async function runBench(options: BenchOptions = {}): Promise<BenchOutcome> {
  const progress = options.progress ?? ((line: string) => process.stderr.write(line + '\n'));
  const wantsLatency = (options.metrics ?? METRICS).includes('latency');
  const driver: LatencyDriver | undefined = wantsLatency ? chooseLatencyDriver(options.latencyTool) : undefined;
  const { configuration, durations } = resolveConfiguration(options, driver?.tool ?? 'not used');
  const dir = prepareReportDir(options.outDir, configuration.name);
  const recorder = new BenchRecorder(dir, await collectEnvironment(), configuration);
  const plan = planSetups(configuration.backends, configuration.placements as Placement[], configuration.repeats);
  progress(`lab bench: ${plan.length} setups (${configuration.backends.join(', ')} x ${configuration.placements.join(', ')} x ${configuration.repeats} repeats), metrics ${configuration.metrics.join(', ')}; writing ${dir}`);

  // Ctrl-C: write what finished, synchronously, before the lab's own handler tears down and exits.
  let stopRequested = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) return;
    stopRequested = true;
    recorder.close('interrupted');
    progress(`lab bench: ${signal}: stopped; ${recorder.results.runs.length} run(s) kept in ${dir}`);
  };
  const signals = ['SIGINT', 'SIGTERM'] as const;
  for (const s of signals) process.on(s, onSignal);

  const started = performance.now();
  let offloadsRecorded = false;
  try {
    for (const planned of plan) {
      if (stopRequested) break;
      const setupStarted = performance.now();
      const tag = `[${planned.index}/${plan.length}] repeat ${planned.repeat}/${configuration.repeats} ${planned.backend} ${planned.placement}`;
      const id = planned.index;
      recorder.addSetup({ id, repeat: planned.repeat, backend: planned.backend, placement: planned.placement, startedAt: new Date().toISOString(), seconds: 0, evidence: null });
      const notes: string[] = [];
      try {
        await withCapturedPair(planned.backend, planned.placement, async (pair) => {
          if (!offloadsRecorded) {
            await recordOffloads(pair, recorder);
            offloadsRecorded = true;
          }
          const verifyStarted = new Date().toISOString();
          const verdict = await pair.verify({ iperfSeconds: durations.throughput.fromVerifyPlan ? durations.throughput.seconds : durations.verifyIperfSeconds });
          recorder.updateSetup(id, { evidence: { ok: verdict.ok, checks: verdict.checks } });
          notes.push(verdict.ok ? 'evidence ok' : `EVIDENCE FAILED (${verdict.checks.filter((c) => !c.ok).map((c) => c.name).join(', ')})`);
          if (configuration.metrics.includes('throughput') && durations.throughput.fromVerifyPlan && verdict.throughput) {
            recorder.addRun({ setupId: id, repeat: planned.repeat, backend: planned.backend, placement: planned.placement, metric: 'throughput', startedAt: verifyStarted, source: 'verify-plan', result: verdict.throughput });
            notes.push(brief(verdict.throughput));
          }
          await measureSetup(
            pair,
            configuration.metrics,
            driver,
            durations,
            (run) => {
              recorder.addRun({ setupId: id, repeat: planned.repeat, backend: planned.backend, placement: planned.placement, ...run });
              notes.push(run.result ? brief(run.result) : `${run.metric} FAILED: ${run.error?.split('\n')[0]}`);
            },
            () => stopRequested,
          );
        });
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        recorder.updateSetup(id, { error: message });
        notes.push(`SETUP FAILED: ${message.split('\n')[0]}`);
      }
      recorder.updateSetup(id, { seconds: Math.round((performance.now() - setupStarted) / 100) / 10 });
      const elapsed = (performance.now() - started) / 1000;
      const eta = estimateRemainingSeconds(elapsed, planned.index, plan.length);
      progress(`${tag}: ${notes.join(', ')} (${((performance.now() - setupStarted) / 1000).toFixed(1)} s; elapsed ${formatDuration(elapsed)}${eta === undefined ? '' : `, ETA ${formatDuration(eta)}`})`);
    }
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
  const status = stopRequested ? 'interrupted' : 'complete';
  recorder.close(status);
  return { dir, results: recorder.results, status };
}
