// report.md: environment, configuration, one table per metric, the cells that missed their
// variation targets, the evidence behind every cell, the comparison with published results, charts.
import type { Figure } from './figures.ts';
import type { Metric, ResultsFile } from './results.ts';
import { BASELINES, CV_FLAG, CV_TARGETS, judgesItsCell, PRIMARY, type CellSummary } from './summarize.ts';
import type { Summary } from './stats.ts';

const METRIC_TITLES: Record<Metric, string> = {
  latency: 'Latency (round trip at a fixed rate, open loop)',
  throughput: 'Throughput (iperf3, one TCP stream)',
  cps: 'Connection rate (open, one exchange, close)',
};

const escapeCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map(escapeCell).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A value in the metric's display unit, with precision that suits its size. */
export function formatValue(metric: Metric, value: number): string {
  switch (metric) {
    case 'throughput':
      return value.toFixed(2);
    case 'latency':
      return value >= 1000 ? value.toFixed(0) : value.toFixed(1);
    case 'cps':
      return value.toFixed(0);
  }
}

export const formatPercent = (fraction: number) => `${(fraction * 100).toFixed(1)}%`;

/** "×0.88 (−12.0%)": the ratio and the change it means. */
export function formatRatio(value: number | null): string {
  if (value === null) return '–';
  const change = (value - 1) * 100;
  return `×${value.toFixed(2)} (${change >= 0 ? '+' : '−'}${Math.abs(change).toFixed(1)}%)`;
}

function cvCell(cell: CellSummary): string {
  if (!cell.primary || cell.primary.n < 2) return 'n<2';
  const text = formatPercent(cell.primary.cv);
  return cell.missedCvTarget || cell.noisy ? `**${text}** ⚠` : text;
}

function environmentSection(env: ResultsFile['environment']): string {
  const rows: string[][] = [
    ['kernel', env.kernel],
    ['CPU', `${env.cpuModel} × ${env.cpuCount}`],
    ['memory', `${env.memoryGiB} GiB`],
    ['virtualization', env.virtualization],
    ['iptables backend', env.iptablesBackend],
    ['Node.js', env.node],
    ['lab commit', `${env.gitCommit.slice(0, 12)}${env.gitDirty ? ' (working tree had uncommitted changes)' : ''}`],
    ['load average at start', env.loadAverage.map((l) => l.toFixed(2)).join(' / ')],
    ...Object.entries(env.toolVersions).map(([tool, version]) => [tool, version]),
  ];
  const offloads = Object.entries(env.vethOffloads);
  const offloadLine = offloads.length === 0 ? 'not recorded' : offloads.map(([k, v]) => `${k} ${v}`).join(', ');
  return `## Environment\n\n${table(['', ''], rows)}\n\nOffloads of a lab pod's host-side veth: ${offloadLine}.\n`;
}

function configurationSection(results: ResultsFile): string {
  const c = results.configuration;
  const lines = [
    `- Matrix: backends ${c.backends.join(', ')}; placements ${c.placements.join(', ')}; metrics ${c.metrics.join(', ')}; ${c.repeats} repeat(s)${c.quick ? ' (quick profile: short runs)' : ''}.`,
    '- Each repeat builds a fresh topology per backend and placement, installs the backend, proves its path with the backend\'s verify checks, then measures. Backends are interleaved within each repeat (A B C, A B C) so drift of the machine falls on all of them alike.',
    `- Latency: ${c.latency.tool}, ${c.latency.rate} requests/s fixed rate (open loop), ${c.latency.connections} connection(s), ${c.latency.messageBytes}-byte messages, ${c.latency.seconds} s${c.latency.warmupSeconds > 0 ? ` after ${c.latency.warmupSeconds} s warm-up` : ''}${c.latency.tool === 'sockperf' ? ' (sockperf discards its own first 400 ms)' : ''}; round-trip times. A p99.9 needs well over 1,000 samples per run to mean more than "the slowest few".`,
    c.throughput.fromVerifyPlan
      ? `- Throughput: the verify plan's own iperf3 run on each setup (${c.throughput.streams} stream, -l ${c.throughput.blockSize}, ${c.throughput.seconds} s, nothing omitted): the quick profile saves a second run.`
      : `- Throughput: iperf3, ${c.throughput.streams} stream, -l ${c.throughput.blockSize}, ${c.throughput.seconds} s measured after ${c.throughput.omitSeconds} s omitted (-O).`,
    `- Connection rate: the pod agent opens a connection, exchanges one byte, closes; ${c.cps.concurrency} in parallel, up to ${c.cps.maxConnections} connections or ${c.cps.seconds} s${c.cps.warmupSeconds > 0 ? `, after ${c.cps.warmupSeconds} s warm-up` : ' (the verify probes just warmed the path)'}. Conntrack entries: \`conntrack -C\` in every lab namespace before and after the measured connections, scaled to 1000 connections.`,
    '- Spread: median and interquartile range over repeats; CV = standard deviation / mean across repeats (the targets are stated in CV); robust CV = (IQR / 1.349) / median, which one outlying repeat barely moves: a high CV beside a low robust CV means an outlier (a stalled machine), not a spread.',
  ];
  return `## Configuration\n\n${lines.join('\n')}\n`;
}

function spread(metric: Metric, summary: Summary | null | undefined): string {
  return summary ? `${formatValue(metric, summary.iqr)}` : '–';
}

function metricSection(metric: Metric, cells: CellSummary[]): string {
  const primary = PRIMARY[metric];
  const extraHeader =
    metric === 'latency' ? ['p90', 'p99', 'p99.9', 'samples/run', 'tool'] : metric === 'throughput' ? ['retransmits (median)'] : ['errors (median)', 'conntrack entries per 1000 conns (median)'];
  const header = ['backend', 'placement', `median ${primary.label} (${primary.unit})`, 'IQR', 'CV', 'robust CV', 'n', ...BASELINES.map((b) => `vs ${b}`), ...extraHeader];
  const rows = cells.map((cell) => {
    if (!cell.valid || !cell.primary) {
      const why = cell.valid ? `no successful run (${cell.failedRuns} failed)` : `invalid: ${cell.invalidReason ?? 'no evidence'}`;
      return [cell.backend, cell.placement, why, '–', '–', '–', String(cell.primary?.n ?? 0), '–', '–', ...extraHeader.map(() => '–')];
    }
    const s = cell.secondary;
    const extra =
      metric === 'latency'
        ? [s.p90, s.p99, s.p999].map((v) => (v ? formatValue('latency', v.median) : '–')).concat(s.samples ? s.samples.median.toFixed(0) : '–', cell.tools.join(', '))
        : metric === 'throughput'
          ? [s.retransmits ? s.retransmits.median.toFixed(0) : '–']
          : [s.errors ? s.errors.median.toFixed(0) : '–', s.conntrackPer1000 ? s.conntrackPer1000.median.toFixed(0) : '–'];
    return [
      cell.backend,
      cell.placement,
      formatValue(metric, cell.primary.median) + (cell.failedRuns > 0 ? ` (${cell.failedRuns} run(s) failed)` : ''),
      spread(metric, cell.primary),
      cvCell(cell),
      cell.primary.n < 2 ? 'n<2' : formatPercent(cell.primary.robustCv),
      String(cell.primary.n),
      ...BASELINES.map((b) => formatRatio(cell.ratios[b])),
      ...extra,
    ];
  });
  const direction = primary.higherIsBetter ? 'higher is better' : 'lower is better';
  return `### ${METRIC_TITLES[metric]}\n\n${primary.label} in ${primary.unit}, ${direction}. Ratios are medians over the baseline's median, same placement.\n\n${table(header, rows)}\n`;
}

function targetsSection(cells: CellSummary[]): string {
  const stated = Object.entries(CV_TARGETS)
    .map(([metric, target]) => `${PRIMARY[metric as Metric].label} CV ≤ ${formatPercent(target)}`)
    .join(', ');
  const measured = cells.filter((c) => c.valid && c.primary && c.primary.n > 1);
  const missed = measured.filter((c) => c.missedCvTarget);
  const noisy = measured.filter((c) => c.noisy && !c.missedCvTarget);
  const lines = [`Targets per cell: ${stated}; any cell above ${formatPercent(CV_FLAG)} is flagged ⚠.`];
  if (measured.length === 0) lines.push('No cell has two or more runs: variation was not measured.');
  else if (missed.length === 0) lines.push(`Every cell with a target met it (${measured.filter((c) => c.cvTarget !== null).length} cells).`);
  else lines.push(`Cells that missed their target (${missed.length} of ${measured.filter((c) => c.cvTarget !== null).length}): ${missed.map((c) => `${c.metric} ${c.backend}/${c.placement} (${formatPercent(c.primary!.cv)})`).join(', ')}.`);
  if (noisy.length > 0) lines.push(`Other cells above ${formatPercent(CV_FLAG)}: ${noisy.map((c) => `${c.metric} ${c.backend}/${c.placement} (${formatPercent(c.primary!.cv)})`).join(', ')}.`);
  return `### Variation targets\n\n${lines.join('\n\n')}\n`;
}

function failedRunsSection(results: ResultsFile): string {
  const failed = results.runs.filter((r) => r.error !== undefined);
  if (failed.length === 0) return '';
  const groups = new Map<string, { count: number; errors: Set<string> }>();
  for (const run of failed) {
    const key = `${run.metric}|${run.backend}|${run.placement}`;
    const group = groups.get(key) ?? { count: 0, errors: new Set<string>() };
    group.count++;
    group.errors.add((run.error ?? '').split('\n')[0]!.slice(0, 200));
    groups.set(key, group);
  }
  const rows = [...groups].map(([key, g]) => [...key.split('|'), String(g.count), [...g.errors].join('; ')]);
  return `### Failed runs\n\nRuns that produced no number (kept in results.json with their error).\n\n${table(['metric', 'backend', 'placement', 'runs', 'error'], rows)}\n`;
}

function evidenceSection(results: ResultsFile): string {
  const { backends, placements } = results.configuration;
  const rows: string[][] = [];
  for (const placement of placements) {
    for (const backend of backends) {
      const setups = results.setups.filter((s) => s.backend === backend && s.placement === placement && judgesItsCell(s, results.status));
      if (setups.length === 0) continue;
      const passed = setups.filter((s) => s.evidence?.ok).length;
      const checkNames = [...new Set(setups.flatMap((s) => s.evidence?.checks.map((c) => c.name) ?? []))];
      const failures = setups.flatMap((s) => (s.evidence ? s.evidence.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`) : [`setup ${s.id}: ${s.error ?? 'no evidence'}`]));
      const example = setups.find((s) => s.evidence?.ok)?.evidence?.checks.find((c) => c.ok);
      rows.push([
        backend,
        placement,
        `${passed}/${setups.length}`,
        passed === setups.length ? 'valid' : '**invalid**',
        checkNames.join(', ') || '–',
        failures.length > 0 ? [...new Set(failures)].slice(0, 3).join('; ') : example ? `e.g. ${example.name}: ${example.detail}` : '–',
      ]);
    }
  }
  return `## Evidence per cell\n\nA cell's numbers count only when every setup it ran on passed the backend's verify checks (the same checks as \`lab verify\`).\n\n${table(['backend', 'placement', 'setups passed', 'cell', 'checks', 'detail'], rows.map((r) => r.map((c) => (c.length > 300 ? c.slice(0, 297) + '...' : c))))}\n`;
}

/** Published figures the issue asks this run to be placed beside, with the conditions they held under. */
export const PUBLISHED: Array<{
  claim: string;
  published: string;
  compute: (cells: CellSummary[], placement: string) => number | null;
  thisRun: (value: number) => string;
  /** Why this run has no figure for the claim at all (instead of one per placement). */
  unmeasured?: string;
}> = [
  {
    claim: 'Merbridge: eBPF sockmap vs iptables redirect, latency',
    published: 'about −12% latency (100 connections)',
    compute: (cells: CellSummary[], placement: string) => {
      const sockmap = cells.find((c) => c.metric === 'latency' && c.backend === 'sockmap' && c.placement === placement);
      return sockmap?.valid ? sockmap.ratios.redirect : null;
    },
    thisRun: (value: number) => `${formatRatio(value)} p50, sockmap vs redirect`,
  },
  {
    claim: 'Cilium: sockmap acceleration vs loopback TCP, request rate',
    published: 'about 2× requests/s',
    // The matrix compares mesh paths between pods; it never runs plain loopback TCP against
    // sockmap-accelerated loopback, so it has nothing to set beside this claim.
    compute: () => null,
    thisRun: () => '',
    unmeasured:
      'not measured by the matrix (it compares mesh paths between pods, not loopback); `lab run scenarios/sockmap-loopback.ts` measures iperf3 over 127.0.0.1 with and without sockops + sk_msg',
  },
];

function publishedSection(results: ResultsFile, cells: CellSummary[]): string {
  const placements = results.configuration.placements;
  const rows = PUBLISHED.map((p) => {
    if (p.unmeasured) return [p.claim, p.published, p.unmeasured];
    const measured = placements.map((placement) => {
      const value = p.compute(cells, placement);
      return `${placement}: ${value === null ? 'not measured (needs valid sockmap and redirect latency cells)' : p.thisRun(value)}`;
    });
    return [p.claim, p.published, measured.join('; ')];
  });
  const connections = results.configuration.latency.connections;
  return `## Compared with published results\n\n${table(['published claim', 'published', 'this run'], rows)}\n\nConditions differ: this run drives ${connections} connection(s) at a fixed rate between two pods, each with its own capture, on ${results.environment.cpuCount} cores; the published figures come from their authors' set-ups. Read the direction and rough size, not the digits.\n`;
}

function scaleSection(results: ResultsFile): string {
  if (!results.scale || results.scale.length === 0) return '';
  const rows = results.scale.map((s) => [String(s.pods), s.createSeconds.toFixed(2), s.teardownSeconds.toFixed(2), (s.createSeconds + s.teardownSeconds).toFixed(2), (s.secondsPerPod * 1000).toFixed(1)]);
  return `## Pod scale\n\nTarget: 100 pods up and down in under 10 s.\n\n${table(['pods', 'create (s)', 'teardown (s)', 'total (s)', 'ms per pod'], rows)}\n`;
}

function headerSection(results: ResultsFile, cells: CellSummary[]): string {
  const c = results.configuration;
  const invalid = cells.filter((cell) => !cell.valid);
  const notes: string[] = [];
  if (results.status !== 'complete') notes.push(`**This run is ${results.status}**: the tables hold the cells that finished.`);
  if (results.environment.loadAverage[0] > results.environment.cpuCount * 0.25) {
    notes.push(`The machine was busy when the run started (load ${results.environment.loadAverage[0].toFixed(2)} on ${results.environment.cpuCount} cores): expect noisier numbers.`);
  }
  if (invalid.length > 0) notes.push(`${invalid.length} cell(s) lacked evidence and are marked invalid.`);
  const started = results.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return [
    `# Interception backends benchmark: ${c.name}`,
    '',
    `Run ${started}, ${results.durationSeconds.toFixed(0)} s; ${results.setups.length} setup(s), ${results.runs.length} run(s); status ${results.status}.`,
    ...(notes.length > 0 ? ['', ...notes.map((n) => `> ${n}`)] : []),
    '',
  ].join('\n');
}

export function renderMarkdown(results: ResultsFile, cells: CellSummary[], figures: Figure[]): string {
  const metrics = results.configuration.metrics.filter((m) => cells.some((c) => c.metric === m));
  const sections = [
    headerSection(results, cells),
    environmentSection(results.environment),
    configurationSection(results),
    ...(cells.length === 0
      ? []
      : [`## Results\n\n${metrics.map((m) => metricSection(m, cells.filter((c) => c.metric === m))).join('\n')}`, targetsSection(cells), failedRunsSection(results), evidenceSection(results), publishedSection(results, cells)].filter((section) => section !== '')),
    scaleSection(results),
    figures.length > 0 ? `## Charts\n\n${figures.map((f) => `![${f.title}](${f.file})`).join('\n\n')}\n` : '',
  ];
  return sections.filter((s) => s !== '').join('\n');
}
