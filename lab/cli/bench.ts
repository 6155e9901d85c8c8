// `lab bench [--backends a,b] [--placements same-node,cross-node] [--metrics latency,round-trip,throughput,cps]
//            [--rounds N] [--quick] [--seed N] [--pin off|apps|pods|one-cpu] [--out DIR] [--name NAME] [--json]
//            [--scale N | --rule-scale [SIZES] | --noise-floor]`
import { Option, type Command } from 'commander';
import { backendByName, backendNames } from '../backends/index.ts';
import { parseBackends, parseMetrics, parsePlacements, parsePositiveInteger, parseSeed, QUICK_BACKENDS, QUICK_METRICS } from '../bench/options.ts';
import { benchBackends, runBench, type BenchOutcome } from '../bench/run.ts';
import { invalidRounds, RULE_SCALE_SIZES, ruleScaleTable, runRuleScale } from '../bench/rule-scale.ts';
import { MAX_SCALE_PODS, runScaleBench } from '../bench/scale.ts';
import { NOISE_FLOOR_ROUNDS, noiseFloorTable, runNoiseFloor } from '../bench/noise-floor.ts';
import { UsageError } from '../errors.ts';
import { PLACEMENTS } from '../judge/plan.ts';
import { analyze, headlineLine, type Analysis } from '../report/analysis.ts';
import { METRICS, PIN_MODES, type PinMode } from '../report/results.ts';
import type { LatencyTool } from '../traffic/latency.ts';
import { printJson } from './output.ts';
import { requireRoot, requireTools } from './preflight.ts';

interface BenchFlags {
  backends?: string;
  placements?: string;
  metrics?: string;
  rounds?: string;
  quick?: boolean;
  seed?: string;
  pin?: PinMode;
  out?: string;
  name?: string;
  json?: boolean;
  scale?: string;
  ruleScale?: string | boolean;
  noiseFloor?: boolean;
  latencyTool?: LatencyTool;
}

function parseRuleScaleSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 1000) throw new UsageError(`--rule-scale takes sizes from 0 to 1000, comma-separated: "${value}" is not one`);
  return n;
}

/**
 * Before anything is built: root, and the tools each measured backend's runs need, with iperf3 for
 * the verify plan and the throughput slices, and taskset when anything is pinned. (The latency tool
 * is checked when the bench chooses it; a backend the kernel cannot run is built, fails its
 * setup and is reported, as on the kernel matrix.)
 */
function benchPreflight(backends: readonly string[], pin: PinMode | undefined): void {
  requireRoot('bench');
  const extra = ['iperf3', ...(pin === 'off' ? [] : ['taskset'])];
  for (const backend of backends) requireTools(backendByName(backend), extra);
}

/** The answer for the terminal, one line per comparison; the report holds the rest. */
export function answerLines(analysis: Analysis): string[] {
  return analysis.comparisons.map(headlineLine);
}

function printOutcome(outcome: BenchOutcome, json: boolean): void {
  const { results } = outcome;
  const analysis = analyze(results);
  if (json) {
    printJson({
      dir: outcome.dir,
      status: outcome.status,
      durationSeconds: Math.round(results.durationSeconds * 10) / 10,
      counts: analysis.counts,
      comparisons: analysis.comparisons.map((c) => ({
        metric: c.metric,
        placement: c.placement,
        backend: c.backend,
        baseline: c.baseline,
        ratio: c.interval?.estimate ?? null,
        low: c.interval?.low ?? null,
        high: c.interval?.high ?? null,
        rounds: c.interval?.n ?? 0,
        halfWidth: c.halfWidth,
        unproven: c.unproven,
      })),
      scale: results.scale,
    });
    return;
  }
  for (const line of answerLines(analysis)) process.stdout.write(line + '\n');
  for (const s of results.scale ?? []) process.stdout.write(`scale ${s.pods} pods: up ${s.createSeconds.toFixed(2)} s, down ${s.teardownSeconds.toFixed(2)} s (${(s.secondsPerPod * 1000).toFixed(1)} ms per pod)\n`);
  const c = analysis.counts;
  if (c.slices > 0) process.stdout.write(`${c.slices} slices: ${c.counted} counted, ${c.stalled} flagged by the stall rule, ${c.invalid} invalid, ${c.failed} failed\n`);
  process.stdout.write(`${outcome.status} in ${results.durationSeconds.toFixed(0)} s wall: ${outcome.dir}/report.md\n`);
}

export function registerBenchCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('bench')
    .description('build every backend x placement once, measure them in interleaved slices round after round, report paired ratios with 95 % intervals; writes reports/<date>-<name>/')
    .option('--backends <list>', `comma-separated backends (default: every one: ${backendNames().join(', ')}; with --quick: ${QUICK_BACKENDS.join(', ')})`)
    .option('--placements <list>', `comma-separated placements (default: ${PLACEMENTS.join(',')})`)
    .option('--metrics <list>', `comma-separated metrics (default: ${METRICS.join(',')}; with --quick: ${QUICK_METRICS.join(',')})`)
    .option('--rounds <n>', 'rounds (default 9, or 5 with --quick); each measures every setup once per metric')
    .option('--quick', 'the quick profile: 5 rounds of none, redirect, tproxy, sockmap and tc, measuring latency, throughput and cps (unless --backends or --metrics name others)')
    .option('--seed <n>', 'seed of the slice order and of the bootstrap intervals (default 12)')
    .addOption(new Option('--pin <mode>', 'CPU pinning: one-cpu puts each whole setup on CPU 0 and the bench on the others; pods puts the client pod on the first CPU and the server pod on the last; apps is pods with the proxies unpinned; off pins nothing (default one-cpu)').choices(PIN_MODES))
    .option('--out <dir>', 'report directory (default reports/<date>-<name>)')
    .option('--name <name>', 'report name (default "quick" or "bench")')
    .addOption(new Option('--latency-tool <tool>', 'force a latency tool (default fortio when installed, else sockperf)').choices(['fortio', 'sockperf']))
    .option('--scale <pods>', `instead of the matrix: time bringing N pods up and down (1..${MAX_SCALE_PODS}), --rounds times`)
    .option(
      '--rule-scale [sizes]',
      `instead of the matrix: install time and per-connection cost of the sidecar rules, iptables against native nftables, REDIRECT and TPROXY, as every excluded list grows (default 0,${RULE_SCALE_SIZES.join(',')}); --rounds rounds`,
    )
    .option(
      '--noise-floor',
      `instead of the matrix: none against an identical none (an A/A comparison), measured the way the matrix measures a backend against its baseline; prints the spread any comparison on this machine starts from (--rounds, default ${NOISE_FLOOR_ROUNDS}; one --placements value; --metrics, --pin, --seed)`,
    )
    .option('--json', 'print the comparisons as JSON')
    .action(async (flags: BenchFlags) => {
      const rounds = flags.rounds === undefined ? undefined : parsePositiveInteger('--rounds', flags.rounds, 1000);
      if (flags.name !== undefined && !/^[\w.-]+$/.test(flags.name)) throw new UsageError('--name takes letters, digits, ".", "_" and "-"');
      if (flags.ruleScale !== undefined) {
        // The rule-scale case prints its table (or JSON) and writes no report directory.
        if (flags.out !== undefined || flags.name !== undefined) throw new UsageError('--rule-scale prints its table (--json: the whole result) and writes no report: leave out --out and --name, and redirect its output to keep it');
        const sizes = typeof flags.ruleScale === 'string' ? flags.ruleScale.split(',').map((s) => parseRuleScaleSize(s)) : undefined;
        requireRoot('bench');
        for (const backend of ['redirect', 'tproxy', 'redirect-nft', 'tproxy-nft']) requireTools(backendByName(backend));
        const result = await runRuleScale({ ...(sizes ? { sizes } : {}), ...(rounds === undefined ? {} : { rounds }) });
        if (flags.json) printJson(result);
        else for (const line of ruleScaleTable(result)) process.stdout.write(line + '\n');
        setExit(invalidRounds(result) === 0 ? 0 : 1);
        return;
      }
      if (flags.noiseFloor) {
        const clashing = (['backends', 'quick', 'out', 'name', 'scale', 'ruleScale'] as const).filter((flag) => flags[flag] !== undefined && flags[flag] !== false);
        if (clashing.length > 0) throw new UsageError(`--noise-floor measures none against itself and prints its table (--json: the whole result), writing no report: leave out ${clashing.map((f) => `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`);
        const placements = flags.placements === undefined ? undefined : parsePlacements(flags.placements);
        if (placements && placements.length !== 1) throw new UsageError('--noise-floor measures one placement: give --placements one of same-node, cross-node');
        const metrics = flags.metrics === undefined ? undefined : parseMetrics(flags.metrics);
        const seed = flags.seed === undefined ? undefined : parseSeed(flags.seed);
        benchPreflight(['none'], flags.pin);
        const result = await runNoiseFloor({
          ...(placements ? { placement: placements[0]! } : {}),
          ...(metrics === undefined ? {} : { metrics }),
          ...(rounds === undefined ? {} : { rounds }),
          ...(seed === undefined ? {} : { seed }),
          ...(flags.pin ? { pin: flags.pin } : {}),
          ...(flags.latencyTool ? { latencyTool: flags.latencyTool } : {}),
        });
        if (flags.json) printJson(result);
        else for (const line of noiseFloorTable(result)) process.stdout.write(line + '\n');
        setExit(0);
        return;
      }
      if (flags.scale !== undefined) {
        const pods = parsePositiveInteger('--scale', flags.scale, MAX_SCALE_PODS);
        requireRoot('bench');
        requireTools(backendByName('none'));
        const outcome = await runScaleBench({ pods, ...(rounds === undefined ? {} : { repeats: rounds }), ...(flags.out ? { outDir: flags.out } : {}), ...(flags.name ? { name: flags.name } : {}) });
        printOutcome(outcome, flags.json ?? false);
        setExit(outcome.status === 'complete' ? 0 : 1);
        return;
      }
      // Usage first (exit 2), then what the machine lacks (exit 1), then work.
      const options = {
        ...(flags.backends === undefined ? {} : { backends: parseBackends(flags.backends, backendNames()) }),
        ...(flags.placements === undefined ? {} : { placements: parsePlacements(flags.placements) }),
        ...(flags.metrics === undefined ? {} : { metrics: parseMetrics(flags.metrics) }),
        ...(rounds === undefined ? {} : { rounds }),
        ...(flags.seed === undefined ? {} : { seed: parseSeed(flags.seed) }),
        ...(flags.pin ? { pin: flags.pin } : {}),
        ...(flags.out ? { outDir: flags.out } : {}),
        ...(flags.name ? { name: flags.name } : {}),
        ...(flags.latencyTool ? { latencyTool: flags.latencyTool } : {}),
        quick: flags.quick ?? false,
      };
      benchPreflight(benchBackends(options), flags.pin);
      const outcome = await runBench(options);
      printOutcome(outcome, flags.json ?? false);
      // 130 like a shell for an interrupted run; 1 when a setup could not be proven or a slice left its path.
      const { results } = outcome;
      const unproven = results.setups.some((s) => s.error !== undefined || s.evidence?.ok !== true) || results.slices.some((s) => s.path.status === 'invalid');
      setExit(outcome.status === 'interrupted' ? 130 : unproven ? 1 : 0);
    });
}
