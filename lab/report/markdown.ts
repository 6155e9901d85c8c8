// report.md: the answer first (one line per comparison, with its 95 % interval), then the absolute
// figures behind it, the CPU cost, the evidence that each slice took its path, the machine's noise,
// how the numbers were made, and the machine they were made on.
import { analyze, BASELINES, CI_TARGETS, NO_STALL_RULE, formatChange, headlineLine, PRIMARY, type Analysis, type Comparison, type SetupSummary } from './analysis.ts';
import type { Figure } from './figures.ts';
import type { BenchConfiguration, Metric, ResultsFile } from './results.ts';
import { describeStallRule, foreignFraction, stallReasons, stealFraction } from './stall.ts';
import { median } from './stats.ts';
import { sliceDeviations, stealBands } from './steal-bands.ts';
import { DEFAULT_RESAMPLES } from './bootstrap.ts';

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
    case 'round-trip':
      return value >= 1000 ? value.toFixed(0) : value.toFixed(1);
    case 'cps':
      return value.toFixed(0);
  }
}

export const formatPercent = (fraction: number) => `${(fraction * 100).toFixed(1)} %`;

const PLACEMENT_WORDS: Record<string, string> = { 'same-node': 'same node', 'cross-node': 'across nodes' };

/** The CI target of this run's profile (custom runs are held to the quick one). */
export function ciTarget(results: Pick<ResultsFile, 'configuration'>): number {
  return results.configuration.profile === 'default' ? CI_TARGETS.default : CI_TARGETS.quick;
}

function headerSection(results: ResultsFile, analysis: Analysis): string {
  const c = results.configuration;
  const started = results.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const phases = results.phases ? ` (setups ${results.phases.setupSeconds.toFixed(0)} s, measuring ${results.phases.measureSeconds.toFixed(0)} s, teardown ${results.phases.teardownSeconds.toFixed(0)} s)` : '';
  const counts = analysis.counts;
  const notes: string[] = [];
  if (results.status !== 'complete') notes.push(`**This run is ${results.status}**: it holds ${results.roundsCompleted} finished round(s) of ${c.rounds}.`);
  if (results.environment.loadAverage[0] > results.environment.cpuCount * 0.25) {
    notes.push(`The machine was busy when the run started (load ${results.environment.loadAverage[0].toFixed(2)} on ${results.environment.cpuCount} cores)${results.slices.length > 0 ? ': expect slices flagged by the stall rule' : ''}.`);
  }
  const failedSetups = results.setups.filter((s) => s.error !== undefined || s.evidence?.ok !== true);
  if (failedSetups.length > 0) notes.push(`${failedSetups.length} setup(s) failed to build or to prove their path and were not measured: ${failedSetups.map((s) => `${s.backend}/${s.placement}`).join(', ')}.`);
  const scaleOnly = results.slices.length === 0 && (results.scale?.length ?? 0) > 0;
  const what = scaleOnly
    ? `pod scale, ${results.scale!.length} repeat(s)`
    : `${c.profile} profile, ${results.roundsCompleted} of ${c.rounds} rounds; ${counts.slices} slices: ${counts.counted} counted, ${counts.stalled} flagged by the stall rule, ${counts.invalid} off the path (invalid), ${counts.failed} failed`;
  return [
    `# Interception backends benchmark: ${c.name}`,
    '',
    `Run ${started}, **${results.durationSeconds.toFixed(0)} s wall**${phases}; ${what}; status ${results.status}.`,
    ...(notes.length > 0 ? ['', ...notes.map((n) => `> ${n}`)] : []),
    '',
  ].join('\n');
}

function answerSection(results: ResultsFile, analysis: Analysis): string {
  const target = ciTarget(results);
  // The same comparisons with no slice flagged: shown only where the stall rule left no pair, so a
  // run on a busy machine still says what it saw, marked as such.
  const unflagged = analyze(results, NO_STALL_RULE);
  const lines: string[] = [];
  for (const baseline of BASELINES) {
    for (const placement of results.configuration.placements) {
      const comparisons = analysis.comparisons.filter((c) => c.baseline === baseline && c.placement === placement);
      if (comparisons.length === 0) continue;
      lines.push('', `**Against ${baseline}, ${PLACEMENT_WORDS[placement] ?? placement}**`, '');
      for (const c of comparisons) {
        const wide = c.halfWidth !== null && c.halfWidth > target ? ` ⚠ interval ±${(c.halfWidth * 100).toFixed(1)} %` : '';
        const all = c.interval ? undefined : unflagged.comparisons.find((u) => u.metric === c.metric && u.placement === c.placement && u.backend === c.backend && u.baseline === c.baseline);
        const fallback = all?.interval ? ` — with flagged slices included (not a result): ${formatChange(all.interval.estimate)} [${formatChange(all.interval.low)}, ${formatChange(all.interval.high)}] (n ${all.interval.n})` : '';
        lines.push(`- ${headlineLine(c)}${wide}${fallback}`);
      }
    }
  }
  if (lines.length === 0) return '## The answer\n\nNo comparison could be made: a baseline (none or redirect) and another backend must both have counted slices in the same rounds.\n';
  const withInterval = analysis.comparisons.filter((c) => c.halfWidth !== null);
  const met = withInterval.filter((c) => c.halfWidth! <= target);
  const widest = [...withInterval].sort((a, b) => b.halfWidth! - a.halfWidth!)[0];
  const unproven = [...new Set(analysis.comparisons.filter((c) => c.unproven).map((c) => c.backend))];
  return [
    '## The answer',
    '',
    'Change of each backend against its baseline on the same placement: the median over rounds of the per-round ratio (each backend\'s figure over the baseline\'s figure from the same round), ' +
      'with a bootstrap 95 % interval over rounds, and n, the rounds paired. For latency and round trip lower is better; for throughput and connection rate higher is better.',
    ...lines,
    '',
    `Interval target for this profile: half-width ≤ ${(target * 100).toFixed(0)} % of the ratio. ${met.length} of ${withInterval.length} intervals meet it` +
      (widest ? `; the widest is ±${(widest.halfWidth! * 100).toFixed(1)} % (${widest.backend} vs ${widest.baseline}, ${widest.placement}, ${PRIMARY[widest.metric].label}).` : '.'),
    ...(unproven.length > 0 ? ['', `"path unproven": ${unproven.join(', ')} has no per-slice judge yet, so its slices are counted but not proven to have taken the path (see "Path evidence per slice").`] : []),
    '',
    'The two latency views: the open-loop figure sends 1000 requests/s whatever the replies do, so on a machine this idle each request starts by waking sleeping CPUs and the wake-ups dominate the time. ' +
      'The closed-loop round trip sends the next request as soon as the reply arrives, so the CPUs stay awake and the figure is each mechanism\'s own per-message cost.',
    '',
  ].join('\n');
}

function absoluteSection(results: ResultsFile, analysis: Analysis): string {
  const parts: string[] = ['## Absolute figures', '', 'Medians over the counted slices of each setup (every slice is in results.json). IQR: interquartile range over slices.'];
  for (const metric of results.configuration.metrics) {
    const summaries = analysis.setups.filter((s) => s.metric === metric);
    if (summaries.length === 0) continue;
    const primary = PRIMARY[metric];
    const isLatency = metric === 'latency' || metric === 'round-trip';
    const header = ['backend', 'placement', `median ${primary.label} (${primary.unit})`, 'IQR', 'slices counted / flagged / invalid / failed', 'path', ...(isLatency ? ['p90', 'p99', 'p99.9', 'samples/slice', 'tool'] : metric === 'cps' ? ['conntrack entries per 1000 conns'] : [])];
    const rows = summaries.map((s) => {
      const value = s.median === null ? 'no counted slice' : formatValue(metric, s.median);
      const iqr = s.q1 === null || s.q3 === null ? '–' : formatValue(metric, s.q3 - s.q1);
      const extra = isLatency
        ? [s.percentilesUs ? formatValue(metric, s.percentilesUs.p90) : '–', s.percentilesUs ? formatValue(metric, s.percentilesUs.p99) : '–', s.percentilesUs ? formatValue(metric, s.percentilesUs.p999) : '–', s.samplesPerSlice?.toFixed(0) ?? '–', s.tools.join(', ') || '–']
        : metric === 'cps'
          ? [s.conntrackPer1000 === undefined ? '–' : s.conntrackPer1000.toFixed(0)]
          : [];
      return [s.backend, s.placement, value, iqr, `${s.counted} / ${s.stalled} / ${s.invalid} / ${s.failed}`, proofText(s), ...extra];
    });
    parts.push('', `### ${primary.label} (${primary.unit}, ${primary.higherIsBetter ? 'higher' : 'lower'} is better)`, '', table(header, rows));
  }
  return parts.join('\n') + '\n';
}

function proofText(s: SetupSummary): string {
  switch (s.proof) {
    case 'judged':
      return 'proven per slice';
    case 'unproven':
      return 'unproven (no per-slice judge)';
    case 'no-path':
      return 'no path (baseline)';
    case 'mixed':
      return 'mixed';
  }
}

function cpuSection(results: ResultsFile, analysis: Analysis): string {
  const rows: string[][] = [];
  for (const s of analysis.setups) {
    if (!s.cpu) continue;
    const digits = s.cpu.unit === 's/GB' ? 3 : 1;
    const total = s.cpu.app + s.cpu.proxy + s.cpu.kernel;
    rows.push([PRIMARY[s.metric].label, s.backend, s.placement, s.cpu.unit === 's/GB' ? 'CPU-s per GB' : 'CPU-µs per request', s.cpu.app.toFixed(digits), s.cpu.proxy.toFixed(digits), s.cpu.kernel.toFixed(digits), total.toFixed(digits), s.cpu.machineSoftirq.toFixed(digits), String(s.cpu.slices)]);
  }
  if (rows.length === 0) return '';
  const rate = results.configuration.latency.rate;
  const sidecarSizing = analysis.setups
    .filter((s) => s.metric === 'latency' && s.cpu && s.backend === 'redirect')
    .map((s) => `${s.placement}: ${((s.cpu!.proxy * rate) / 1e6).toFixed(3)} vCPU for both sidecars at ${rate} req/s`);
  return [
    '## CPU cost',
    '',
    'Medians over every slice that took its path, per unit of work: per request for the latency views and the connection rate (one connection is one request), per GB sent for throughput. ' +
      'Slices flagged by the stall rule are included here: their CPU time is the setup\'s own, counted by its cgroups and threads. ' +
      '**app**: the setup\'s pods (cgroup `cpu.stat` usage) minus its proxies: the apps, their system calls and the softirq work the kernel did while running them. ' +
      '**proxy**: the sidecars\' or node proxies\' threads (`/proc/PID/task/*/schedstat`). **kernel**: the ksoftirqd threads (softirq work deferred out of every task). ' +
      'The three add up to the CPU the path cost. **machine softirq** is `/proc/stat` softirq of the whole machine, tick-sampled (10 ms): it overlaps app and proxy, which include softirq run inside them, and is shown for reference only.',
    '',
    table(['metric', 'backend', 'placement', 'unit', 'app', 'proxy', 'kernel', 'total', 'machine softirq', 'slices'], rows),
    '',
    ...(results.configuration.latency.tool === 'sockperf' && results.configuration.metrics.includes('latency')
      ? ['sockperf `under-load` paces its sends by spinning on a CPU, so in the open-loop rows the app share is mostly that spin (about one CPU-second per second), not the path\'s cost: read the path\'s cost from the proxy share there, and from the closed-loop rows.', '']
      : []),
    ...(sidecarSizing.length > 0 ? [`Istio sizes a sidecar at about 0.20 vCPU per 1000 requests/s. This run's open-loop proxy share for redirect: ${sidecarSizing.join('; ')} (HAProxy forwarding bytes, not Envoy with HTTP and mTLS).`, ''] : []),
  ].join('\n');
}

function evidenceSection(results: ResultsFile): string {
  const rows = results.setups.map((setup) => {
    const slices = results.slices.filter((s) => s.setupId === setup.id);
    const byStatus = (status: string) => slices.filter((s) => s.path.status === status).length;
    const invalid = slices.find((s) => s.path.status === 'invalid');
    const example = slices.find((s) => s.path.delta && Object.keys(s.path.delta).length > 0);
    const verify = setup.error !== undefined ? `setup failed: ${setup.error.split('\n')[0]}` : setup.evidence ? `${setup.evidence.checks.filter((c) => c.ok).length}/${setup.evidence.checks.length} checks passed${setup.evidence.ok ? '' : ` (failed: ${setup.evidence.checks.filter((c) => !c.ok).map((c) => c.name).join(', ')})`}` : 'no evidence';
    const proof =
      setup.sliceProof === 'no-path'
        ? 'none has no path to prove: its slices are the baseline'
        : setup.sliceProof === 'unproven'
          ? `no per-slice judge: ${byStatus('unproven')} slices unproven`
          : `${byStatus('valid')} valid, ${byStatus('invalid')} invalid`;
    const detail = invalid?.path.check ? `invalid e.g. ${invalid.metric} round ${invalid.round}: ${invalid.path.check.detail}` : example?.path.check ? example.path.check.detail : example?.path.delta ? `e.g. ${example.metric}: ${Object.entries(example.path.delta).map(([k, v]) => `${k} +${v}`).join(', ')}` : '–';
    return [setup.backend, setup.placement, verify, proof, detail.length > 240 ? detail.slice(0, 237) + '...' : detail];
  });
  return [
    '## Path evidence',
    '',
    'Each setup was proven once with the backend\'s verify checks (the same as `lab verify`) before it was measured. Then, around every slice, the backend\'s path counters were read and its per-slice judge decided whether their movement accounts for that slice\'s traffic (every connection through the path). ' +
      'A slice whose traffic left the path is invalid and left out; a backend without a per-slice judge has its slices marked unproven.',
    '',
    table(['backend', 'placement', 'verify', 'slices', 'detail'], rows),
    '',
    ...istioRulesLine(results),
  ].join('\n');
}

/** Which Istio release's rules each backend installed, as recorded per setup (absent in older results). */
function istioRulesLine(results: ResultsFile): string[] {
  const backendsByRules = new Map<string, string[]>();
  for (const setup of results.setups) {
    if (setup.istio === undefined) continue;
    const backends = backendsByRules.get(setup.istio) ?? [];
    if (!backends.includes(setup.backend)) backends.push(setup.backend);
    backendsByRules.set(setup.istio, backends);
  }
  if (backendsByRules.size === 0) return [];
  return [`Istio rules installed: ${[...backendsByRules].map(([rules, backends]) => `${backends.join(', ')}: ${rules}`).join('; ')}.`, ''];
}

function noiseSection(results: ResultsFile, analysis: Analysis): string {
  const withNoise = results.slices.filter((s) => s.noise);
  const reasonCounts = new Map<string, number>();
  const rule = analysis.rule === NO_STALL_RULE ? undefined : analysis.rule;
  for (const slice of withNoise) for (const reason of stallReasons(slice.noise!, rule)) reasonCounts.set(reason.split(' ')[0]!, (reasonCounts.get(reason.split(' ')[0]!) ?? 0) + 1);
  const flagged = withNoise.filter((s) => stallReasons(s.noise!, rule).length > 0);
  const pct = (values: number[]) => (values.length === 0 ? '–' : formatPercent(median(values)));
  const maxPct = (values: number[]) => (values.length === 0 ? '–' : formatPercent(Math.max(...values)));
  const steal = withNoise.map((s) => stealFraction(s.noise!));
  const foreign = withNoise.map((s) => foreignFraction(s.noise!));
  const pressure = withNoise.flatMap((s) => (s.noise!.cpuPressureUs === null ? [] : [s.noise!.cpuPressureUs / Math.max(1, s.noise!.windowMs * 1000)]));
  const involuntary = withNoise.map((s) => s.noise!.involuntarySwitches);
  return [
    '## Machine noise',
    '',
    `The stall rule: ${describeStallRule(rule)}. Flagged slices are left out of the ratios.`,
    '',
    `${flagged.length} of ${withNoise.length} slices flagged` + (reasonCounts.size > 0 ? ` (${[...reasonCounts].map(([reason, n]) => `${reason}: ${n}`).join(', ')}; a slice can have several reasons).` : '.'),
    '',
    table(
      ['per slice', 'median', 'max'],
      [
        ['steal, share of the machine', pct(steal), maxPct(steal)],
        ['foreign load, share of the machine', pct(foreign), maxPct(foreign)],
        ['CPU pressure (PSI some), share of the window', pct(pressure), maxPct(pressure)],
        ['involuntary context switches of the setup', involuntary.length ? median(involuntary).toFixed(0) : '–', involuntary.length ? String(Math.max(...involuntary)) : '–'],
      ],
    ),
    '',
    'Did steal move the numbers? Slices by the steal during their window, and how far each slice\'s figure sits from the median of its own setup and metric (every slice with a figure, flagged or not). A band no further out than the first shows no sign that its steal moved the figures.',
    '',
    table(
      ['steal, share of the machine', 'slices', 'median distance from its setup\'s median', '90th percentile'],
      stealBands(sliceDeviations(results.slices)).map((band) => [
        band.to === null ? `≥ ${formatPercent(band.from)}` : `${formatPercent(band.from)} to ${formatPercent(band.to)}`,
        String(band.slices),
        band.medianDeviation === null ? '–' : formatPercent(band.medianDeviation),
        band.p90Deviation === null ? '–' : formatPercent(band.p90Deviation),
      ]),
    ),
    '',
  ].join('\n');
}

function describePinning(p: BenchConfiguration['pinning']): string {
  if (p.mode === 'off') return 'no pinning';
  if (p.mode === 'one-cpu') {
    const bench = p.benchCpus ? `, and the bench itself (with the counter reads between slices) on CPU ${p.benchCpus.join(',')}` : '';
    return `every process of each setup (both pods, their proxies, node proxies) and every slice client on CPU ${p.clientCpus.join(',')} (taskset)${bench}, so no message of a measured path waits for a wake-up on another CPU`;
  }
  const pods = p.mode === 'pods';
  return `${pods ? 'every process of the client pod' : "the client pod's apps"} on CPU ${p.clientCpus.join(',')} and ${pods ? 'of the server pod' : "the server pod's apps"} on CPU ${p.serverCpus.join(',')} (taskset), slice clients started pinned`;
}

function methodSection(results: ResultsFile): string {
  const c = results.configuration;
  const pin = describePinning(c.pinning);
  const lines = [
    `- Matrix: backends ${c.backends.join(', ')}; placements ${c.placements.join(', ')}; metrics ${c.metrics.join(', ')}; ${c.rounds} rounds asked, seed ${c.seed}.`,
    '- Every setup (backend × placement) was built, installed and proven once, each in its own run (namespaces, cgroups, pins), and all stayed live side by side. Each round then measured every setup once per metric, in a fresh random order of the setups for each metric (seeded), so that machine drift falls on every backend within the same few seconds.',
    `- Slices: latency ${c.sliceSeconds.latency} s and round trip ${c.sliceSeconds['round-trip']} s (${c.latency.tool}${c.latency.tool === 'sockperf' ? `; sockperf counts its "valid duration", leaving out its first 400 ms and last 50 ms, and it sleeps 2 s after connecting, so each client was started two slices ahead, one every ${c.latencyStartPeriodSeconds} s, with counter reads and starts kept between windows` : ''}), ` +
      `throughput ${c.sliceSeconds.throughput} s (iperf3, ${c.throughput.streams} stream, -l ${c.throughput.blockSize}), connection rate ${c.sliceSeconds.cps} s (the pod agent, ${c.cps.concurrency} in parallel, open, one byte each way, close).`,
    `- Latency: ${c.latency.rate} requests/s open loop, and one request in flight closed loop; ${c.latency.messageBytes}-byte messages, round-trip times.`,
    `- Ratios: per round, the backend's figure over the baseline's (none, and redirect) on the same placement; the result is their median over rounds with a percentile bootstrap 95 % interval (${DEFAULT_RESAMPLES} resamples, seeded from the run's seed and the comparison, so the same data gives the same interval). Rounds where either slice is missing, failed, invalid or flagged are left out of that comparison.`,
    `- Pinning: ${pin}.`,
    '- Connection-rate conntrack entries: `conntrack -C` in every namespace of the setup around its first-round slice, scaled to 1000 connections.',
  ];
  return `## How the numbers were made\n\n${lines.join('\n')}\n`;
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

/** Published figures the issue asks this run to be placed beside, with the conditions they held under. */
export const PUBLISHED: Array<{ claim: string; published: string; comparison?: { backend: string; baseline: 'none' | 'redirect'; metric: Metric }; unmeasured?: string }> = [
  { claim: 'Merbridge: eBPF sockmap vs iptables redirect, latency', published: 'about −12 % latency (100 connections)', comparison: { backend: 'sockmap', baseline: 'redirect', metric: 'round-trip' } },
  {
    claim: 'Cilium: sockmap acceleration vs loopback TCP, request rate',
    published: 'about 2× requests/s',
    // The matrix compares mesh paths between pods; it never runs plain loopback TCP against
    // sockmap-accelerated loopback, so it has nothing to set beside this claim.
    unmeasured:
      'not measured by the matrix (it compares mesh paths between pods, not loopback); `lab run scenarios/sockmap-loopback.ts` measures iperf3 over 127.0.0.1 with and without sockops + sk_msg',
  },
];

function publishedSection(results: ResultsFile, analysis: Analysis): string {
  const rows = PUBLISHED.map((p) => {
    if (p.unmeasured || !p.comparison) return [p.claim, p.published, p.unmeasured ?? ''];
    const { backend, baseline, metric } = p.comparison;
    const measured = results.configuration.placements.map((placement) => {
      const c: Comparison | undefined = analysis.comparisons.find((x) => x.backend === backend && x.baseline === baseline && x.metric === metric && x.placement === placement);
      return `${PLACEMENT_WORDS[placement] ?? placement}: ${c?.interval ? `${formatChange(c.interval.estimate)} [${formatChange(c.interval.low)}, ${formatChange(c.interval.high)}] ${PRIMARY[metric].label}` : 'not measured'}`;
    });
    return [p.claim, p.published, measured.join('; ')];
  });
  return `## Compared with published results\n\n${table(['published claim', 'published', 'this run'], rows)}\n\nConditions differ: this run drives one connection between two pods, each with its own capture, on ${results.environment.cpuCount} cores; the published figures come from their authors' set-ups. Read the direction and rough size, not the digits.\n`;
}

function scaleSection(results: ResultsFile): string {
  if (!results.scale || results.scale.length === 0) return '';
  const rows = results.scale.map((s) => [String(s.pods), s.createSeconds.toFixed(2), s.teardownSeconds.toFixed(2), (s.createSeconds + s.teardownSeconds).toFixed(2), (s.secondsPerPod * 1000).toFixed(1)]);
  return `## Pod scale\n\nTarget: 100 pods up and down in under 10 s.\n\n${table(['pods', 'create (s)', 'teardown (s)', 'total (s)', 'ms per pod'], rows)}\n`;
}

export function renderMarkdown(results: ResultsFile, analysis: Analysis, figures: Figure[]): string {
  const measured = results.slices.length > 0;
  const ratioFigures = figures.filter((f) => f.file.startsWith('ratios-'));
  const otherFigures = figures.filter((f) => !f.file.startsWith('ratios-'));
  const sections = [
    headerSection(results, analysis),
    ...(measured
      ? [
          answerSection(results, analysis),
          ratioFigures.length > 0 ? ratioFigures.map((f) => `![${f.title}](${f.file})`).join('\n\n') + '\n' : '',
          absoluteSection(results, analysis),
          cpuSection(results, analysis),
          evidenceSection(results),
          noiseSection(results, analysis),
          publishedSection(results, analysis),
        ]
      : []),
    scaleSection(results),
    otherFigures.length > 0 ? `## Charts\n\n${otherFigures.map((f) => `![${f.title}](${f.file})`).join('\n\n')}\n` : '',
    methodSection(results),
    environmentSection(results.environment),
  ];
  return sections.filter((s) => s !== '').join('\n');
}
