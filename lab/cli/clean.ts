// `lab clean [--json] [--all]`
import type { Command } from 'commander';
import { cleanEverything } from '../topology/clean.ts';
import { printJson } from './output.ts';
import { requireRoot } from './preflight.ts';

export function registerCleanCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('clean')
    .description('remove every lab leftover: namespaces, cgroups, bpffs pins, tracefs instances, processes')
    .option('--all', 'also remove runs whose lab process is still alive')
    .option('--json', 'print what was removed as JSON')
    .action(async (options: { all?: boolean; json?: boolean }) => {
      // As another user, every leftover looks unreadable or alive: "nothing to clean" would be a lie.
      requireRoot('clean');
      const report = await cleanEverything({ includeLive: options.all === true });
      if (options.json) printJson(report);
      else {
        for (const what of report.removed) process.stdout.write(`removed ${what}\n`);
        for (const what of report.failed) process.stdout.write(`FAILED to remove ${what}\n`);
        for (const run of report.liveRuns) process.stdout.write(`left run ${run} alone: its lab process is still running (--all removes it)\n`);
        if (report.removed.length === 0 && report.failed.length === 0) process.stdout.write('nothing to clean\n');
      }
      setExit(report.failed.length === 0 ? 0 : 1);
    });
}
