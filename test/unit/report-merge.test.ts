// `lab report --merge` on three real bench runs of this machine (test/fixtures/report/merge/README.md
// gives the commands): two with one configuration, which merge, and one with another, which must be
// refused naming the fields. Cases of a broken run are made by altering a copy of real results, and
// say so.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allBackends } from '../../lab/backends/index.ts';
import { assembleDoctorReport } from '../../lab/doctor/report.ts';
import { deriveFeatures } from '../../lab/features/derive.ts';
import { readSavedProbe } from '../../lab/features/probe.ts';
import { analyze } from '../../lab/report/analysis.ts';
import {
  configurationDifferences,
  distinctNames,
  MergeRefusedError,
  mergeRuns,
  readMergeRuns,
  renderMergedMarkdown,
  writeMergedReport,
  type MergeRun,
} from '../../lab/report/merge.ts';
import type { StallRule } from '../../lab/report/stall.ts';

const DIR = join(import.meta.dirname, '../fixtures/report/merge');
const [runA, runB, runC] = readMergeRuns(['run-a', 'run-b', 'run-c'].map((r) => join(DIR, r))) as [MergeRun, MergeRun, MergeRun];
/** A copy of a real run, to alter. */
const copy = (run: MergeRun): MergeRun => structuredClone(run);

// These runs were taken on a busy machine, where the current stall rule flags every slice; lifted,
// the slices they measured count (the bench's own "work in flight" flag still applies).
const LIFTED: StallRule = { stealFraction: 1, foreignFraction: 1, overrunFraction: 10 };

describe('lab report --merge on runs of this machine', () => {
  it('refuses the run with a different configuration, naming each field that differs and every value', () => {
    expect(() => mergeRuns([runA, runB, runC])).toThrow(MergeRefusedError);
    expect(() => mergeRuns([runA, runB, runC])).toThrow(
      [
        "refusing to merge: the runs' configurations differ in profile, rounds",
        '  profile: "quick" (6.18.44-fc-v782 (run-a)) vs "quick" (6.18.44-fc-v782 (run-b)) vs "custom" (6.18.44-fc-v782 (run-c))',
        '  rounds: 3 (6.18.44-fc-v782 (run-a)) vs 3 (6.18.44-fc-v782 (run-b)) vs 4 (6.18.44-fc-v782 (run-c))',
      ].join('\n'),
    );
    expect(configurationDifferences([runA, runB])).toEqual([]);
  });

  it('a field one run lacks is a difference (run-b altered: its latency.rate removed)', () => {
    const older = copy(runB);
    delete (older.results.configuration.latency as Partial<typeof older.results.configuration.latency>).rate;
    expect(configurationDifferences([runA, older])).toEqual([
      { field: 'latency.rate', values: [{ run: runA.label, value: String(runA.results.configuration.latency.rate) }, { run: runB.label, value: '(absent)' }] },
    ]);
  });

  it('merges the two runs: each backend proven by its verify checks in each run', () => {
    const merged = mergeRuns([runA, runB]);
    expect(merged.runs.map((r) => r.name)).toEqual(['run-a', 'run-b']);
    expect(merged.backends).toEqual(['none', 'redirect']);
    for (const row of merged.verify) {
      expect(row.outcomes.map((o) => [o.backend, o.placement, o.outcome, o.detail])).toEqual([
        ['none', 'same-node', 'pass', '5/5 checks'],
        ['redirect', 'same-node', 'pass', '9/9 checks'],
      ]);
    }
  });

  it('under the current stall rule, the busy machine left no counted rounds, and the report says so', () => {
    const merged = mergeRuns([runA, runB]);
    expect(merged.runs.map((r) => r.slices)).toEqual([
      { total: 6, counted: 0, stalled: 6, failed: 0, invalid: 0 },
      { total: 6, counted: 0, stalled: 6, failed: 0, invalid: 0 },
    ]);
    expect(merged.headlines).toHaveLength(1);
    expect(merged.headlines[0]).toMatchObject({ metric: 'round-trip', backend: 'redirect', baseline: 'none', pooled: null });
    expect(renderMergedMarkdown(merged)).toContain('| redirect vs none | same-node | – | – | – |');
  });

  it("with the stall rule lifted, each run's interval is its own analysis's and the pooled one covers every run's paired rounds", () => {
    const merged = mergeRuns([runA, runB], { rule: LIFTED });
    const [row] = merged.headlines;
    const own = [runA, runB].map((run) => analyze(run.results, LIFTED).comparisons.find((c) => c.backend === 'redirect' && c.baseline === 'none')!);
    expect(row!.perRun.map((p) => p.interval)).toEqual(own.map((c) => c.interval));
    expect(row!.pooled?.n).toBe(own[0]!.pairs.length + own[1]!.pairs.length);
    const ratios = own.flatMap((c) => c.pairs.map((p) => p.ratio)).sort((a, b) => a - b);
    expect(row!.pooled!.low).toBeGreaterThanOrEqual(ratios[0]!);
    expect(row!.pooled!.high).toBeLessThanOrEqual(ratios.at(-1)!);
    expect(row!.pooled!.estimate).toBe((ratios[2]! + ratios[3]!) / 2); // the median of 6 ratios
  });

  it('pools no interval from fewer paired rounds than one run needs for its own (a median of two is no answer)', () => {
    const firstRoundOnly = (run: MergeRun): MergeRun => {
      const altered = copy(run);
      altered.results.slices = altered.results.slices.filter((s) => s.round === 1);
      return altered;
    };
    const merged = mergeRuns([firstRoundOnly(runA), firstRoundOnly(runB)], { rule: LIFTED });
    const own = [runA, runB].map((run) => analyze(firstRoundOnly(run).results, LIFTED).comparisons.find((c) => c.backend === 'redirect' && c.baseline === 'none')!);
    expect(own.map((c) => c.pairs.length)).toEqual([1, 1]);
    expect(merged.headlines[0]!.pooled).toBeNull();
    expect(renderMergedMarkdown(merged)).toContain('| redirect vs none | same-node | – | – | – |');
  });

  it('writes report.md and merged.json', () => {
    const out = mkdtempSync(join(tmpdir(), 'lab-merge-test-'));
    try {
      const files = writeMergedReport(out, mergeRuns([runA, runB]));
      expect(files.map((f) => f.slice(out.length + 1))).toEqual(['report.md', 'merged.json']);
      expect(readFileSync(files[0]!, 'utf8')).toContain('## Verify outcomes (kernel × backend)');
      expect(JSON.parse(readFileSync(files[1]!, 'utf8'))).toMatchObject({ runs: [{ name: 'run-a' }, { name: 'run-b' }] });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('verify outcomes in the merged table', () => {
  it("a failed check shows as FAIL naming it (run-b altered: redirect's inbound-captured check marked failed)", () => {
    const broken = copy(runB);
    const setup = broken.results.setups.find((s) => s.backend === 'redirect')!;
    const check = setup.evidence!.checks.find((c) => c.name === 'inbound-captured')!;
    check.ok = false;
    setup.evidence!.ok = false;
    const outcome = mergeRuns([runA, broken]).verify[1]!.outcomes.find((o) => o.backend === 'redirect');
    expect(outcome).toMatchObject({ outcome: 'fail', detail: '8/9 checks; failed: inbound-captured' });
  });

  it('a setup that failed to build shows as ERROR with its first line (run-b altered)', () => {
    const broken = copy(runB);
    const setup = broken.results.setups.find((s) => s.backend === 'none')!;
    setup.evidence = null;
    setup.error = 'the kernel refused to load sockmap.bpf.o\nverifier log...';
    expect(mergeRuns([runA, broken]).verify[1]!.outcomes[0]).toMatchObject({ outcome: 'error', detail: 'the kernel refused to load sockmap.bpf.o' });
  });

  it("a backend the kernel cannot run shows doctor's reason; one the run merely left out shows 'not run'", () => {
    // doctor.json as `lab doctor --json` writes it, for the recorded probe of this machine altered to
    // a kernel without sockmap (test/fixtures/features/README.md).
    const probe = join(import.meta.dirname, '../fixtures/features/debian12-6.18.44');
    const results = deriveFeatures(readSavedProbe(join(probe, 'lab-probes.json'), join(probe, 'bpftool-feature-probe.ALTERED-no-sockmap.json')));
    const tools = [...new Set(allBackends().flatMap((b) => b.requires.tools))].map((name) => ({ name, ok: true, required: true, detail: 'v1' }));
    const doctor = assembleDoctorReport({ kernelRelease: '6.18.44-fc-v782', results, items: tools, backends: allBackends() }).backends;
    const withDoctor: MergeRun = { ...copy(runB), doctor };
    const merged = mergeRuns([runA, withDoctor]);
    expect(merged.backends).toEqual(['none', 'redirect', ...allBackends().map((b) => b.name).filter((n) => n !== 'none' && n !== 'redirect')]);
    const outcomes = merged.verify[1]!.outcomes;
    expect(outcomes.find((o) => o.backend === 'sockmap')).toMatchObject({ outcome: 'unsupported', detail: expect.stringMatching(/^unsupported on this kernel: (sockops|sk-msg) \(bpftool feature probe: no sockhash map type\)/) });
    expect(outcomes.find((o) => o.backend === 'tc')).toMatchObject({ outcome: 'not-run', detail: 'not in this run' });
    expect(merged.verify[0]!.outcomes.find((o) => o.backend === 'sockmap')).toMatchObject({ outcome: 'not-run' });
  });
});

describe('run names', () => {
  it('are the shortest path suffixes that tell the runs apart', () => {
    expect(distinctNames(['/r/a', '/r/b'])).toEqual(['a', 'b']);
    expect(distinctNames(['/k/kernel-6.1/bench', '/k/kernel-6.6/bench'])).toEqual(['kernel-6.1/bench', 'kernel-6.6/bench']);
  });
});
