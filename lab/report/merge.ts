// `lab report --merge DIR...`: one report from several benches' results.json, e.g. one per kernel of
// the CI matrix, or several machines' runs of the same bench. Runs merge only when they measured the
// same way: every configuration field must be equal, except the few that are the table's axes or the
// machine's own (MACHINE_OR_AXIS_FIELDS); otherwise the merge is refused, naming the fields.
//
// The report has two tables: each run's verify outcomes per backend (both placements), and each
// headline ratio (backend over baseline, paired by round) per run with its bootstrap interval, plus
// the ratios of all runs pooled into one interval.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { analyze, formatChange, MIN_PAIRED_ROUNDS, PRIMARY, type Comparison } from './analysis.ts';
import { describeStallRule, STALL_RULE, type StallRule } from './stall.ts';
import { bootstrapInterval, type Interval } from './bootstrap.ts';
import { deriveSeed, seededRandom } from './random.ts';
import { readResults, RESULTS_FILE, type Metric, type ResultsFile } from './results.ts';

/**
 * Configuration fields that may differ between merged runs, and why:
 * - name: a label;
 * - backends: the verify table's columns; a kernel that cannot run a backend benches without it;
 * - pinning.clientCpus/serverCpus: which CPU numbers were pinned follows the machine's CPU count
 *   (pinning.mode, the method, must still be equal).
 */
export const MACHINE_OR_AXIS_FIELDS = ['name', 'backends', 'pinning.clientCpus', 'pinning.serverCpus', 'pinning.benchCpus'] as const;

/** `lab doctor --json`'s per-backend findings, when a run directory holds a doctor.json beside results.json. */
export const DOCTOR_FILE = 'doctor.json';
interface DoctorBackend {
  backend: string;
  status: string;
  reason: string;
}

export interface MergeRun {
  dir: string;
  /** The shortest trailing part of `dir` that tells the runs apart. */
  name: string;
  /** How the run is named in the tables: its kernel and its directory. */
  label: string;
  results: ResultsFile;
  doctor?: DoctorBackend[];
}

export interface ConfigurationDifference {
  field: string;
  values: Array<{ run: string; value: string }>;
}

/** The runs measured differently: a merged table would compare unlike numbers. */
export class MergeRefusedError extends UsageError {
  constructor(readonly differences: ConfigurationDifference[]) {
    super(
      `refusing to merge: the runs' configurations differ in ${differences.map((d) => d.field).join(', ')}\n` +
        differences.map((d) => `  ${d.field}: ${d.values.map((v) => `${v.value} (${v.run})`).join(' vs ')}`).join('\n'),
    );
  }
}

/** Leaf paths of a JSON value ("latency.rate" -> "1000"); arrays are leaves, compared whole. */
function leaves(value: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) for (const [path, leaf] of leaves(child, prefix ? `${prefix}.${key}` : key)) out.set(path, leaf);
  } else {
    out.set(prefix, JSON.stringify(value) ?? 'undefined');
  }
  return out;
}

/** Every configuration field whose value is not the same in all runs (a field one run lacks counts). */
export function configurationDifferences(runs: readonly Pick<MergeRun, 'label' | 'results'>[]): ConfigurationDifference[] {
  const flat = runs.map((run) => ({ run: run.label, fields: leaves(run.results.configuration) }));
  const ignored = new Set<string>(MACHINE_OR_AXIS_FIELDS);
  const fields = [...new Set(flat.flatMap((f) => [...f.fields.keys()]))].filter((f) => !ignored.has(f)).sort();
  return fields.flatMap((field) => {
    const values = flat.map((f) => ({ run: f.run, value: f.fields.get(field) ?? '(absent)' }));
    return new Set(values.map((v) => v.value)).size > 1 ? [{ field, values }] : [];
  });
}

/**
 * The shortest trailing parts of each directory's path that tell the runs apart: "run-a" and
 * "run-b", or "kernel-6.1-…/bench" and "kernel-6.6-…/bench" when every run sits in a "bench".
 */
export function distinctNames(dirs: readonly string[]): string[] {
  const parts = dirs.map((dir) => resolve(dir).split('/').filter(Boolean));
  const longest = Math.max(...parts.map((p) => p.length));
  for (let depth = 1; depth <= longest; depth++) {
    const names = parts.map((p) => p.slice(-depth).join('/'));
    if (new Set(names).size === names.length) return names;
  }
  return dirs.map((dir) => resolve(dir));
}

/** Reads each directory's results.json (and doctor.json, when there is one). */
export function readMergeRuns(dirs: readonly string[]): MergeRun[] {
  const names = distinctNames(dirs);
  return dirs.map((dir, i) => {
    const file = join(dir, RESULTS_FILE);
    if (!existsSync(file)) throw new UsageError(`${dir} has no ${RESULTS_FILE}: give directories written by \`lab bench\``);
    const results = readResults(file);
    const doctorFile = join(dir, DOCTOR_FILE);
    const doctor = existsSync(doctorFile) ? (JSON.parse(readFileSync(doctorFile, 'utf8')) as { backends?: DoctorBackend[] }).backends : undefined;
    const name = names[i]!;
    return { dir, name, label: `${results.environment.kernel} (${name})`, results, ...(doctor ? { doctor } : {}) };
  });
}

// --- verify outcomes ---------------------------------------------------------------------------

export interface VerifyOutcome {
  backend: string;
  placement: string;
  /** pass/fail: the setup's verify checks; unsupported: doctor said so; not-run: absent from the run. */
  outcome: 'pass' | 'fail' | 'error' | 'unsupported' | 'not-run';
  detail: string;
}

function verifyOutcome(run: MergeRun, backend: string, placement: string): VerifyOutcome {
  const base = { backend, placement };
  const setup = run.results.setups.find((s) => s.backend === backend && s.placement === placement);
  if (!setup) {
    const doctor = run.doctor?.find((d) => d.backend === backend);
    if (doctor && doctor.status !== 'supported') return { ...base, outcome: 'unsupported', detail: doctor.reason };
    return { ...base, outcome: 'not-run', detail: run.results.configuration.backends.includes(backend) ? 'no setup recorded' : 'not in this run' };
  }
  if (setup.error !== undefined) return { ...base, outcome: 'error', detail: setup.error.split('\n')[0] ?? '' };
  if (!setup.evidence) return { ...base, outcome: 'error', detail: 'no verify evidence' };
  const { checks } = setup.evidence;
  const passed = checks.filter((c) => c.ok).length;
  if (setup.evidence.ok) return { ...base, outcome: 'pass', detail: `${passed}/${checks.length} checks` };
  return { ...base, outcome: 'fail', detail: `${passed}/${checks.length} checks; failed: ${checks.filter((c) => !c.ok).map((c) => c.name).join(', ')}` };
}

// --- headline ratios ---------------------------------------------------------------------------

export interface HeadlineRow {
  metric: Metric;
  placement: string;
  backend: string;
  baseline: string;
  /** Per run, in run order: the run's interval (null when it has no paired rounds or no such comparison). */
  perRun: Array<{ run: string; interval: Interval | null; unproven: boolean }>;
  /** Every run's paired ratios together. */
  pooled: Interval | null;
}

const keyOf = (c: Pick<Comparison, 'metric' | 'placement' | 'backend' | 'baseline'>) => `${c.metric}|${c.placement}|${c.backend}|${c.baseline}`;

function headlines(runs: readonly MergeRun[], seed: number, rule: StallRule): HeadlineRow[] {
  const analyses = runs.map((run) => ({ run, comparisons: analyze(run.results, rule).comparisons }));
  const keys = [...new Set(analyses.flatMap((a) => a.comparisons.map(keyOf)))];
  return keys.map((key) => {
    const found = analyses.map((a) => ({ run: a.run.label, comparison: a.comparisons.find((c) => keyOf(c) === key) }));
    const first = found.find((f) => f.comparison)!.comparison!;
    const ratios = found.flatMap((f) => f.comparison?.pairs.map((p) => p.ratio) ?? []);
    return {
      metric: first.metric,
      placement: first.placement,
      backend: first.backend,
      baseline: first.baseline,
      perRun: found.map((f) => ({ run: f.run, interval: f.comparison?.interval ?? null, unproven: f.comparison?.unproven ?? false })),
      // The same floor as one run's: a bootstrap over one or two ratios would show a range that is no interval.
      pooled: ratios.length < MIN_PAIRED_ROUNDS ? null : bootstrapInterval(ratios, seededRandom(deriveSeed(seed, `merged|${key}`))),
    };
  });
}

// --- the merged report -------------------------------------------------------------------------

export interface MergedReport {
  runs: Array<{
    dir: string;
    name: string;
    label: string;
    kernel: string;
    hostname: string;
    gitCommit: string;
    gitDirty: boolean;
    status: string;
    roundsCompleted: number;
    /** Slices that count toward the ratios, and why the others do not (analysis under `stallRule`). */
    slices: { total: number; counted: number; stalled: number; failed: number; invalid: number };
  }>;
  /** The stall rule the ratios were computed under. */
  stallRule: StallRule;
  /** The configuration every run shared (the fields of MACHINE_OR_AXIS_FIELDS from the first run). */
  configuration: ResultsFile['configuration'];
  backends: string[];
  placements: string[];
  verify: Array<{ run: string; outcomes: VerifyOutcome[] }>;
  headlines: HeadlineRow[];
}

/**
 * Merges runs measured the same way; throws MergeRefusedError naming the fields that differ. `rule`
 * replaces the current stall rule (as `analyze` allows), e.g. to see what a busy machine measured.
 */
export function mergeRuns(runs: readonly MergeRun[], options: { rule?: StallRule } = {}): MergedReport {
  if (runs.length === 0) throw new UsageError('nothing to merge: give at least one report directory');
  const differences = configurationDifferences(runs);
  if (differences.length > 0) throw new MergeRefusedError(differences);
  const configuration = runs[0]!.results.configuration;
  const backends = [...new Set(runs.flatMap((r) => [...r.results.configuration.backends, ...(r.doctor?.map((d) => d.backend) ?? [])]))];
  const placements = configuration.placements;
  const rule = options.rule ?? STALL_RULE;
  return {
    stallRule: rule,
    runs: runs.map((r) => {
      const { counts } = analyze(r.results, rule);
      return {
      dir: r.dir,
      name: r.name,
      label: r.label,
      kernel: r.results.environment.kernel,
      hostname: r.results.environment.hostname,
      gitCommit: r.results.environment.gitCommit,
      gitDirty: r.results.environment.gitDirty,
      status: r.results.status,
      roundsCompleted: r.results.roundsCompleted,
      slices: { total: counts.slices, counted: counts.counted, stalled: counts.stalled, failed: counts.failed, invalid: counts.invalid },
      };
    }),
    configuration,
    backends,
    placements,
    verify: runs.map((run) => ({ run: run.label, outcomes: backends.flatMap((b) => placements.map((p) => verifyOutcome(run, b, p))) })),
    headlines: headlines(runs, configuration.seed, rule),
  };
}

const escapeCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map(escapeCell).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const OUTCOME_WORD: Record<VerifyOutcome['outcome'], string> = { pass: 'pass', fail: 'FAIL', error: 'ERROR', unsupported: 'unsupported', 'not-run': 'not run' };

function verifyCell(outcomes: VerifyOutcome[]): string {
  return outcomes.map((o) => `${o.placement}: ${OUTCOME_WORD[o.outcome]} (${o.detail})`).join('; ');
}

function intervalCell(interval: Interval | null, unproven = false): string {
  if (!interval) return '–';
  return `${formatChange(interval.estimate)} [${formatChange(interval.low)}, ${formatChange(interval.high)}] n ${interval.n}${unproven ? ', unproven' : ''}`;
}

export function renderMergedMarkdown(merged: MergedReport): string {
  const out: string[] = [`# Merged report: ${merged.runs.length} runs`, ''];
  out.push(
    table(
      ['run', 'kernel', 'host', 'commit', 'status', 'rounds', 'slices counted'],
      merged.runs.map((r) => [
        r.name,
        r.kernel,
        r.hostname,
        `${r.gitCommit.slice(0, 12)}${r.gitDirty ? ' (dirty)' : ''}`,
        r.status,
        String(r.roundsCompleted),
        `${r.slices.counted} of ${r.slices.total}${r.slices.stalled ? `, ${r.slices.stalled} flagged by the stall rule` : ''}${r.slices.failed ? `, ${r.slices.failed} failed` : ''}${r.slices.invalid ? `, ${r.slices.invalid} off the path` : ''}`,
      ]),
    ),
    '',
    `Shared configuration: profile ${merged.configuration.profile}, ${merged.configuration.rounds} rounds, metrics ${merged.configuration.metrics.join(', ')}, placements ${merged.placements.join(', ')}, seed ${merged.configuration.seed}. ` +
      `Every other configuration field is equal across the runs; only ${MACHINE_OR_AXIS_FIELDS.join(', ')} may differ (a label, the table's columns, the machine's CPU numbers).`,
    '',
    '## Verify outcomes (kernel × backend)',
    '',
    'Each backend was proven by its verify checks on every setup the bench built. "unsupported" comes from the run\'s doctor.json (`lab doctor --json`), "not run" means the run left the backend out.',
    '',
    table(
      ['run', ...merged.backends],
      merged.verify.map((v) => [v.run, ...merged.backends.map((b) => verifyCell(v.outcomes.filter((o) => o.backend === b)))]),
    ),
    '',
    '## Headline ratios',
    '',
    `Each backend's figure over its baseline's from the same round: the median ratio over rounds with its bootstrap 95 % interval, per run, and over every run's rounds pooled. For latency and round trip a negative change is better; for throughput and connection rate a positive one. '–': fewer than ${MIN_PAIRED_ROUNDS} paired rounds (rounds with a counted slice on both sides), too few for an interval.`,
    '',
    `Stall rule: ${describeStallRule(merged.stallRule)}.`,
    '',
  );
  const metrics = [...new Set(merged.headlines.map((h) => h.metric))];
  for (const metric of metrics) {
    out.push(`### ${PRIMARY[metric].label}`, '');
    const rows = merged.headlines.filter((h) => h.metric === metric);
    out.push(
      table(
        ['comparison', 'placement', ...merged.runs.map((r) => r.label), 'all runs pooled'],
        rows.map((h) => [`${h.backend} vs ${h.baseline}`, h.placement, ...h.perRun.map((p) => intervalCell(p.interval, p.unproven)), intervalCell(h.pooled)]),
      ),
      '',
    );
  }
  return out.join('\n');
}

export const MERGED_REPORT_FILE = 'report.md';
export const MERGED_JSON_FILE = 'merged.json';

/** Writes report.md and merged.json into `outDir`; returns the files written. */
export function writeMergedReport(outDir: string, merged: MergedReport): string[] {
  mkdirSync(outDir, { recursive: true });
  const files = [join(outDir, MERGED_REPORT_FILE), join(outDir, MERGED_JSON_FILE)];
  writeFileSync(files[0]!, renderMergedMarkdown(merged));
  writeFileSync(files[1]!, `${JSON.stringify(merged, null, 1)}\n`);
  return files;
}
