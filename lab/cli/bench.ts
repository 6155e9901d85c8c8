// `lab bench [--backends a,b] [--placements same-node,cross-node] [--metrics latency,throughput,cps]
//            [--repeats N] [--quick] [--out DIR] [--name NAME] [--json] [--scale N]`
import type { Command } from 'commander';
import { backendNames } from '../backends/index.ts';
import { parseBackends, parseMetrics, parsePlacements, parsePositiveInteger } from '../bench/options.ts';
import { runBench, type BenchOutcome } from '../bench/run.ts';
import { MAX_SCALE_PODS, runScaleBench } from '../bench/scale.ts';
import { UsageError } from '../errors.ts';
import { formatRatio, formatValue, formatPercent } from '../report/markdown.ts';
import { METRICS } from '../report/results.ts';
import { PRIMARY, type CellSummary } from '../report/summarize.ts';
import type { LatencyTool } from '../traffic/latency.ts';
import { PLACEMENTS } from '../judge/plan.ts';
import { printJson } from './output.ts';

interface BenchFlags {
  backends?: string;
  placements?: string;
  metrics?: string;
  repeats?: string;
  quick?: boolean;
  out?: string;
  name?: string;
  json?: boolean;
  scale?: string;
  latencyTool?: string;
}

const LATENCY_TOOLS: readonly LatencyTool[] = ['fortio', 'sockperf'];

/** One line per cell for the terminal; the report holds the full tables. */
export function summaryLines(cells: readonly CellSummary[]): string[] {
  return cells.map((cell) => {
    const where = `${cell.metric.padEnd(10)} ${cell.backend.padEnd(9)} ${cell.placement.padEnd(10)}`;
    if (!cell.valid) return `${where} INVALID: ${cell.invalidReason ?? 'no evidence'}`;
    if (!cell.primary) return `${where} no successful run`;
    const p = cell.primary;
    const cv = p.n > 1 ? ` CV ${formatPercent(p.cv)}${cell.missedCvTarget || cell.noisy ? ' (!)' : ''}` : '';
    return `${where} ${formatValue(cell.metric, p.median)} ${PRIMARY[cell.metric].unit} (n ${p.n}${cv}) vs none ${formatRatio(cell.ratios.none)}`;
  });
}

function printOutcome(outcome: BenchOutcome, json: boolean): void {
  const { results } = outcome;
  if (json) {
    printJson({ dir: outcome.dir, status: outcome.status, durationSeconds: Math.round(results.durationSeconds * 10) / 10, summaries: results.summaries, scale: results.scale });
    return;
  }
  for (const line of summaryLines(results.summaries)) process.stdout.write(line + '\n');
  for (const s of results.scale ?? []) process.stdout.write(`scale ${s.pods} pods: up ${s.createSeconds.toFixed(2)} s, down ${s.teardownSeconds.toFixed(2)} s (${(s.secondsPerPod * 1000).toFixed(1)} ms per pod)\n`);
  process.stdout.write(`${outcome.status} in ${results.durationSeconds.toFixed(0)} s: ${outcome.dir}/report.md\n`);
}

export function registerBenchCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('bench')
    .description('benchmark backends x placements x metrics x repeats; writes reports/<date>-<name>/ (results.json, report.md, SVG charts)')
    .option('--backends <list>', `comma-separated backends (default: every available one: ${backendNames().join(', ')})`)
    .option('--placements <list>', `comma-separated placements (default: ${PLACEMENTS.join(',')})`)
    .option('--metrics <list>', `comma-separated metrics (default: ${METRICS.join(',')})`)
    .option('--repeats <n>', 'repeats per cell (default 5, or 3 with --quick)')
    .option('--quick', 'short runs, 3 repeats: the whole matrix in under 5 minutes')
    .option('--out <dir>', 'report directory (default reports/<date>-<name>)')
    .option('--name <name>', 'report name (default "quick" or "bench")')
    .option('--latency-tool <tool>', `force a latency tool (${LATENCY_TOOLS.join(' or ')}; default fortio when installed)`)
    .option('--scale <pods>', `instead of the matrix: time bringing N pods up and down (1..${MAX_SCALE_PODS})`)
    .option('--json', 'print the summaries as JSON')
    .action(async (flags: BenchFlags) => {
      const repeats = flags.repeats === undefined ? undefined : parsePositiveInteger('--repeats', flags.repeats, 100);
      if (flags.name !== undefined && !/^[\w.-]+$/.test(flags.name)) throw new UsageError('--name takes letters, digits, ".", "_" and "-"');
      if (flags.scale !== undefined) {
        const pods = parsePositiveInteger('--scale', flags.scale, MAX_SCALE_PODS);
        const outcome = await runScaleBench({ pods, ...(repeats === undefined ? {} : { repeats }), ...(flags.out ? { outDir: flags.out } : {}), ...(flags.name ? { name: flags.name } : {}) });
        printOutcome(outcome, flags.json ?? false);
        setExit(outcome.status === 'complete' ? 0 : 1);
        return;
      }
      const available = backendNames();
      if (flags.latencyTool !== undefined && !(LATENCY_TOOLS as readonly string[]).includes(flags.latencyTool)) {
        throw new UsageError(`--latency-tool: unknown value "${flags.latencyTool}": allowed values are ${LATENCY_TOOLS.join(', ')}`);
      }
      const outcome = await runBench({
        ...(flags.backends === undefined ? {} : { backends: parseBackends(flags.backends, available) }),
        ...(flags.placements === undefined ? {} : { placements: parsePlacements(flags.placements) }),
        ...(flags.metrics === undefined ? {} : { metrics: parseMetrics(flags.metrics) }),
        ...(repeats === undefined ? {} : { repeats }),
        ...(flags.out ? { outDir: flags.out } : {}),
        ...(flags.name ? { name: flags.name } : {}),
        ...(flags.latencyTool ? { latencyTool: flags.latencyTool as LatencyTool } : {}),
        quick: flags.quick ?? false,
      });
      printOutcome(outcome, flags.json ?? false);
      // 130 like a shell for an interrupted run; 1 when any cell lacked evidence.
      setExit(outcome.status === 'interrupted' ? 130 : outcome.results.summaries.some((c) => !c.valid) ? 1 : 0);
    });
}
