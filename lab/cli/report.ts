// `lab report DIR [--against OTHER]`: re-renders report.md and the charts from DIR/results.json
// alone (after a change to the report's rendering, or for a bench that was interrupted). A
// results.json written before the current format is named as such and left alone. With --against,
// it also prints whether two runs give the same answer: every ratio side by side, and the largest
// disagreement.
// `lab report --merge DIR... [--out DIR]`: one report from several runs' results.json (lab/report/merge.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { agreement, agreementMarkdown } from '../report/agreement.ts';
import { analyze } from '../report/analysis.ts';
import { defaultReportDir } from '../bench/report-dir.ts';
import { mergeRuns, readMergeRuns, writeMergedReport } from '../report/merge.ts';
import { renderReportDir } from '../report/render.ts';
import { OutdatedResultsError, readResults, RESULTS_FILE } from '../report/results.ts';
import { printJson } from './output.ts';

/** `--merge`: reads every run, refuses differing configurations (exit 2), writes report.md and merged.json. */
function mergeCommand(dirs: readonly string[], flags: { json?: boolean; out?: string }): void {
  let merged;
  try {
    merged = mergeRuns(readMergeRuns(dirs));
  } catch (e) {
    if (e instanceof OutdatedResultsError) throw new UsageError(e.message);
    throw e;
  }
  const out = flags.out ?? defaultReportDir('merged');
  const files = writeMergedReport(out, merged);
  if (flags.json) printJson({ dir: out, files });
  else for (const file of files) process.stdout.write(`${file}\n`);
}

function resultsOf(dir: string) {
  if (!existsSync(join(dir, RESULTS_FILE))) throw new UsageError(`${dir} has no ${RESULTS_FILE}: give a directory written by \`lab bench\``);
  try {
    return readResults(join(dir, RESULTS_FILE));
  } catch (e) {
    if (e instanceof OutdatedResultsError) throw new UsageError(e.message);
    throw e;
  }
}

export function registerReportCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('report')
    .description('re-render a bench report (report.md, SVG charts) from its results.json, or merge several runs into one report (--merge)')
    .argument('<dirs...>', 'a report directory written by `lab bench` (several with --merge)')
    .option('--against <other>', 'also compare its ratios with another run\'s, side by side')
    .option('--json', 'print the files written (and the comparison) as JSON')
    .option('--merge', 'merge several runs of the same bench configuration (kernels, machines) into one report; refuses runs whose configurations differ')
    .option('--out <dir>', 'with --merge: where to write the merged report (default reports/<date>-merged)')
    .action((dirs: string[], flags: { json?: boolean; against?: string; merge?: boolean; out?: string }) => {
      if (flags.merge) {
        if (flags.against !== undefined) throw new UsageError('--against compares two runs; --merge merges several: give one or the other');
        mergeCommand(dirs, flags);
        setExit(0);
        return;
      }
      if (flags.out !== undefined) throw new UsageError('--out goes with --merge (a single report is re-rendered in its own directory)');
      if (dirs.length !== 1) throw new UsageError(`give one report directory to re-render, or several with --merge (got ${dirs.length})`);
      const dir = dirs[0]!;
      resultsOf(dir);
      const files = renderReportDir(dir);
      const rows = flags.against === undefined ? undefined : agreement(analyze(resultsOf(dir)), analyze(resultsOf(flags.against)));
      if (flags.json) {
        printJson({ dir, files, ...(rows ? { agreement: rows.map((r) => ({ comparison: r.key, first: r.first.interval?.estimate ?? null, second: r.second.interval?.estimate ?? null, disagreement: r.disagreement })) } : {}) });
      } else {
        for (const file of files) process.stdout.write(`${file}\n`);
        if (rows && flags.against) process.stdout.write('\n' + agreementMarkdown(rows, [dir, flags.against]));
      }
      setExit(0);
    });
}
