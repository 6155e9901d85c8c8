// `lab verify --backend <name> [--placement same-node|cross-node] [--json]`
import type { Command } from 'commander';
import { backendByName } from '../backends/index.ts';
import { UsageError } from '../errors.ts';
import { newRunId } from '../topology/ledger.ts';
import { PLACEMENTS, type Placement } from '../verify/context.ts';
import { verifyBackend } from '../verify/run.ts';
import { fail, pass, printChecks, printJson } from './output.ts';
import { requireRoot, requireTools } from './preflight.ts';

export function parsePlacement(value: string): Placement {
  if (!(PLACEMENTS as readonly string[]).includes(value)) throw new UsageError(`unknown placement "${value}": valid placements are ${PLACEMENTS.join(', ')}`);
  return value as Placement;
}

export function registerVerifyCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('verify')
    .description('build a client/server topology, install a backend, drive traffic, and judge it from kernel and proxy evidence')
    .requiredOption('-b, --backend <name>', 'backend to verify')
    .option('-p, --placement <placement>', `where the pods run: ${PLACEMENTS.join(' or ')}`, 'same-node')
    .option('--iperf-seconds <n>', 'iperf3 duration', '2')
    .option('--json', 'print the verdict as JSON')
    .action(async (options: { backend: string; placement: string; iperfSeconds: string; json?: boolean }) => {
      const backend = backendByName(options.backend).name;
      const placement = parsePlacement(options.placement);
      const seconds = Number(options.iperfSeconds);
      if (!(seconds > 0 && seconds <= 60)) throw new UsageError('--iperf-seconds takes a number of seconds from 1 to 60');
      // Usage first (exit 2 even for a non-root user), then what the machine lacks, then work.
      requireRoot('verify');
      requireTools(backendByName(backend), ['iperf3']);
      // The run id names every object of this run (lab-<run>-...): said first, so a user who
      // interrupts the run knows what to look for.
      const runId = newRunId();
      process.stderr.write(`lab verify: ${backend}, ${placement} (run ${runId})...\n`);
      const report = await verifyBackend(backend, placement, { iperfSeconds: seconds, runId });
      if (options.json) {
        printJson({ backend: report.backend, placement: report.placement, ok: report.ok, runId: report.runId, seconds: report.seconds, checks: report.checks });
      } else {
        process.stdout.write(`${backend} / ${placement} (run ${report.runId}, ${report.seconds} s)\n`);
        printChecks(report.checks);
        const passed = report.checks.filter((c) => c.ok).length;
        process.stdout.write(`${report.ok ? pass('OK') : fail('FAILED')}: ${passed} of ${report.checks.length} checks passed\n`);
      }
      setExit(report.ok ? 0 : 1);
    });
}
