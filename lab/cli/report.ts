// `lab report DIR`: re-renders report.md and the charts from DIR/results.json alone (after a change
// to the report's rendering, or for a bench that was interrupted).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { renderReportDir } from '../report/render.ts';
import { RESULTS_FILE } from '../report/results.ts';
import { printJson } from './output.ts';

export function registerReportCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('report')
    .description('re-render a bench report (report.md, SVG charts) from its results.json')
    .argument('<dir>', 'a report directory written by `lab bench`')
    .option('--json', 'print the files written as JSON')
    .action((dir: string, flags: { json?: boolean }) => {
      if (!existsSync(join(dir, RESULTS_FILE))) throw new UsageError(`${dir} has no ${RESULTS_FILE}: give a directory written by \`lab bench\``);
      const files = renderReportDir(dir);
      if (flags.json) printJson({ dir, files });
      else for (const file of files) process.stdout.write(`${file}\n`);
      setExit(0);
    });
}
