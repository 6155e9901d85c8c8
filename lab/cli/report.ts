// `lab report DIR`: re-renders report.md and the charts from DIR/results.json alone (after a change
// to the report's rendering, or for a bench that was interrupted). A results.json written before the
// current format is named as such and left alone, with its report.md as it was.
// `lab report --merge DIR... [--out DIR]`: one report from several runs' results.json (lab/report/merge.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { defaultReportDir } from '../bench/report-dir.ts';
import { mergeRuns, readMergeRuns, writeMergedReport } from '../report/merge.ts';
import { renderReportDir } from '../report/render.ts';
import { OutdatedResultsError, RESULTS_FILE } from '../report/results.ts';
import { printJson } from './output.ts';

export function registerReportCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('report')
    .description('re-render a bench report (report.md, SVG charts) from its results.json, or merge several runs into one report (--merge)')
    .argument('<dirs...>', 'a report directory written by `lab bench` (several with --merge)')
    .option('--json', 'print the files written as JSON')
    .option('--merge', 'merge several runs of the same bench configuration (kernels, machines) into one report; refuses runs whose configurations differ')
    .option('--out <dir>', 'with --merge: where to write the merged report (default reports/<date>-merged)')
    .action((dirs: string[], flags: { json?: boolean; merge?: boolean; out?: string }) => {
      if (flags.merge) {
        let merged;
        try {
          merged = mergeRuns(readMergeRuns(dirs));
        } catch (e) {
          if (e instanceof OutdatedResultsError) throw new UsageError(e.message);
          throw e;
        }
        const out = flags.out ?? defaultReportDir('merged');
        const written = writeMergedReport(out, merged);
        if (flags.json) printJson({ dir: out, files: written });
        else for (const file of written) process.stdout.write(`${file}\n`);
        setExit(0);
        return;
      }
      if (flags.out !== undefined) throw new UsageError('--out goes with --merge (a single report is re-rendered in its own directory)');
      if (dirs.length !== 1) throw new UsageError(`give one report directory to re-render, or several with --merge (got ${dirs.length})`);
      const dir = dirs[0]!;
      if (!existsSync(join(dir, RESULTS_FILE))) throw new UsageError(`${dir} has no ${RESULTS_FILE}: give a directory written by \`lab bench\``);
      let files: string[];
      try {
        files = renderReportDir(dir);
      } catch (e) {
        if (e instanceof OutdatedResultsError) throw new UsageError(e.message);
        throw e;
      }
      if (flags.json) printJson({ dir, files });
      else for (const file of files) process.stdout.write(`${file}\n`);
      setExit(0);
    });
}
