// From raw runs to one summary per cell (metric x backend x placement): the numbers of the report's
// tables. A cell counts only when every setup it ran on passed the backend's evidence checks; a
// cell without that evidence is shown as invalid, never as that backend's number.
import type { Metric, ResultsFile, RunRecord, SetupRecord } from './results.ts';
import { ratio, summarize, type Summary } from './stats.ts';

/** The number each metric is judged on, and whether more is better. */
export const PRIMARY: Record<Metric, { label: string; unit: string; higherIsBetter: boolean }> = {
  latency: { label: 'p50 latency', unit: 'µs', higherIsBetter: false },
  throughput: { label: 'throughput', unit: 'Gbit/s', higherIsBetter: true },
  cps: { label: 'connection rate', unit: 'conn/s', higherIsBetter: true },
};

/** Stated targets for the coefficient of variation per cell (issue 6); cells above are named. */
export const CV_TARGETS: Partial<Record<Metric, number>> = { throughput: 0.03, latency: 0.05 };
/** Any cell whose CV exceeds this is flagged as noisy, whatever its metric. */
export const CV_FLAG = 0.05;

export const BASELINES = ['none', 'redirect'] as const;

/** The primary value of one run, in the unit the report shows. */
export function primaryValue(run: RunRecord): number | undefined {
  const result = run.result;
  if (!result) return undefined;
  switch (result.kind) {
    case 'latency':
      return result.percentilesUs.p50;
    case 'throughput':
      return result.bitsPerSecond / 1e9;
    case 'connection-rate':
      return result.connectionsPerSecond;
  }
}

/** Secondary series a metric's table and charts show besides the primary one. */
export function secondaryValues(run: RunRecord): Record<string, number> {
  const result = run.result;
  if (!result) return {};
  switch (result.kind) {
    case 'latency':
      return { p75: result.percentilesUs.p75, p90: result.percentilesUs.p90, p99: result.percentilesUs.p99, p999: result.percentilesUs.p999, achievedRate: result.achievedRate, errors: result.errors, samples: result.samples };
    case 'throughput':
      return result.retransmits === null ? {} : { retransmits: result.retransmits };
    case 'connection-rate':
      return result.conntrackEntriesPer1000 === undefined ? { errors: result.errors } : { errors: result.errors, conntrackPer1000: result.conntrackEntriesPer1000 };
  }
}

/**
 * A setup cut short by Ctrl-C before its evidence came in neither proves nor disproves its cell.
 * (`interrupted` is set when the bench stops; an unfinished setup of an interrupted run counts too.)
 */
export function judgesItsCell(setup: SetupRecord, status: ResultsFile['status']): boolean {
  const cutShort = setup.interrupted === true || (status === 'interrupted' && setup.seconds === 0);
  return !(cutShort && setup.evidence === null && setup.error === undefined);
}

export interface CellSummary {
  metric: Metric;
  backend: string;
  placement: string;
  /** False when any setup of this cell failed its evidence checks (or never reached them). */
  valid: boolean;
  invalidReason?: string;
  /** Runs that produced a number; failed runs are counted in `failedRuns`. */
  primary: Summary | null;
  secondary: Record<string, Summary>;
  failedRuns: number;
  /** Tools that produced the numbers (a sockperf p99 is not a fortio p99). */
  tools: string[];
  evidence: { setups: number; passed: number; failedChecks: string[] };
  /** Median primary value over the baseline's median primary value, same metric and placement. */
  ratios: Record<(typeof BASELINES)[number], number | null>;
  /** The CV target for this metric, when one is stated, and whether this cell missed it. */
  cvTarget: number | null;
  missedCvTarget: boolean;
  noisy: boolean;
}

function summarizeCell(metric: Metric, backend: string, placement: string, runs: RunRecord[], setups: SetupRecord[]): Omit<CellSummary, 'ratios'> {
  const failedChecks = new Set<string>();
  let passed = 0;
  for (const setup of setups) {
    if (setup.evidence?.ok) {
      passed++;
    } else if (setup.evidence) {
      for (const check of setup.evidence.checks.filter((c) => !c.ok)) failedChecks.add(check.name);
    } else {
      failedChecks.add(setup.error ? `setup failed: ${setup.error.split('\n')[0]}` : 'no evidence');
    }
  }
  const valid = setups.length > 0 && passed === setups.length;
  const values = runs.map(primaryValue).filter((v): v is number => v !== undefined);
  const secondaryNames = [...new Set(runs.flatMap((r) => Object.keys(secondaryValues(r))))];
  const secondary = Object.fromEntries(
    secondaryNames.flatMap((name) => {
      const series = runs.map((r) => secondaryValues(r)[name]).filter((v): v is number => v !== undefined);
      return series.length > 0 ? [[name, summarize(series)]] : [];
    }),
  );
  const primary = values.length > 0 ? summarize(values) : null;
  const cvTarget = CV_TARGETS[metric] ?? null;
  return {
    metric,
    backend,
    placement,
    valid,
    ...(valid ? {} : { invalidReason: setups.length === 0 ? 'no setup ran' : `${setups.length - passed} of ${setups.length} setup(s) lacked evidence: ${[...failedChecks].join('; ')}` }),
    primary,
    secondary,
    failedRuns: runs.length - values.length,
    tools: [...new Set(runs.flatMap((r) => (r.result ? [r.result.tool] : [])))],
    evidence: { setups: setups.length, passed, failedChecks: [...failedChecks] },
    cvTarget,
    missedCvTarget: cvTarget !== null && primary !== null && primary.n > 1 && primary.cv > cvTarget,
    noisy: primary !== null && primary.n > 1 && primary.cv > CV_FLAG,
  };
}

/** One summary per metric x backend x placement that has runs, in the configuration's order. */
export function summarizeResults(results: Pick<ResultsFile, 'configuration' | 'setups' | 'runs' | 'status'>): CellSummary[] {
  const { backends, placements, metrics } = results.configuration;
  const cells: Array<Omit<CellSummary, 'ratios'>> = [];
  for (const metric of metrics) {
    for (const placement of placements) {
      for (const backend of backends) {
        const runs = results.runs.filter((r) => r.metric === metric && r.backend === backend && r.placement === placement);
        const setups = results.setups.filter((s) => s.backend === backend && s.placement === placement && judgesItsCell(s, results.status));
        if (runs.length === 0 && setups.length === 0) continue;
        cells.push(summarizeCell(metric, backend, placement, runs, setups));
      }
    }
  }
  // Ratios only against a valid baseline: an invalid `none` cell is not "none".
  const baselineMedian = (metric: Metric, placement: string, backend: string) => {
    const cell = cells.find((c) => c.metric === metric && c.placement === placement && c.backend === backend);
    return cell?.valid ? cell.primary?.median : undefined;
  };
  return cells.map((cell) => ({
    ...cell,
    ratios: Object.fromEntries(BASELINES.map((b) => [b, cell.valid ? ratio(cell.primary?.median, baselineMedian(cell.metric, cell.placement, b)) : null])) as CellSummary['ratios'],
  }));
}
