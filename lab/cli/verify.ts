// `lab verify --backend <name> [--placement same-node|cross-node] [--json] [--save-evidence DIR]`
// Exit codes: 0 every check passed, 1 a check failed, 2 bad input, 3 the kernel lacks a feature the
// backend needs (named, from the lab's one feature probe).
import { InvalidArgumentError, Option, type Command } from 'commander';
import { backendByName, backendNames } from '../backends/index.ts';
import { PLACEMENTS, type Placement } from '../judge/plan.ts';
import { newRunId } from '../topology/ledger.ts';
import { verifyBackend } from '../verify/run.ts';
import { fail, pass, printChecks, printJson } from './output.ts';
import { requireKernelFeatures, requireRoot, requireTools, UnsupportedOnKernelError } from './preflight.ts';

/** Exit code of a backend this kernel cannot run: a finding about the kernel, neither a pass nor a failed check. */
export const EXIT_UNSUPPORTED = 3;

// commander's argParser does the validation; the messages are the ones users have always seen.
function parseBackend(value: string): string {
  return backendByName(value).name;
}

function parsePlacement(value: string): Placement {
  if (!(PLACEMENTS as readonly string[]).includes(value)) throw new InvalidArgumentError(`unknown placement "${value}": valid placements are ${PLACEMENTS.join(', ')}`);
  return value as Placement;
}

function parseIperfSeconds(value: string): number {
  const seconds = Number(value);
  if (!(seconds > 0 && seconds <= 60)) throw new InvalidArgumentError('--iperf-seconds takes a number of seconds from 1 to 60');
  return seconds;
}

export function registerVerifyCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('verify')
    .description('build a client/server topology, install a backend, drive traffic, and judge it from kernel and proxy evidence')
    .addOption(new Option('-b, --backend <name>', `backend to verify: ${backendNames().join(', ')}`).argParser(parseBackend).makeOptionMandatory())
    .addOption(new Option('-p, --placement <placement>', `where the pods run: ${PLACEMENTS.join(' or ')}`).argParser(parsePlacement).default('same-node'))
    .addOption(new Option('--iperf-seconds <n>', 'iperf3 duration').argParser(parseIperfSeconds).default(2))
    .option('--json', 'print the verdict as JSON')
    .option('--save-evidence <dir>', "write the run's evidence (what the plan saw and the backend collected) to <dir>/<backend>-<placement>.json")
    .action(async (options: { backend: string; placement: Placement; iperfSeconds: number; json?: boolean; saveEvidence?: string }) => {
      const { backend, placement } = options;
      // Usage first (exit 2 even for a non-root user), then what the machine lacks, then work.
      requireRoot('verify');
      requireTools(backendByName(backend), ['iperf3']);
      try {
        await requireKernelFeatures(backendByName(backend));
      } catch (e) {
        if (!(e instanceof UnsupportedOnKernelError)) throw e;
        if (options.json) printJson({ backend, placement, ok: false, unsupported: e.message, checks: [] });
        process.stderr.write(`lab verify: unsupported on this kernel: ${e.message}\n`);
        setExit(EXIT_UNSUPPORTED);
        return;
      }
      // The run id names every object of this run (lab-<run>-...): said first, so a user who
      // interrupts the run knows what to look for.
      const runId = newRunId();
      process.stderr.write(`lab verify: ${backend}, ${placement} (run ${runId})...\n`);
      const report = await verifyBackend(backend, placement, { iperfSeconds: options.iperfSeconds, runId, ...(options.saveEvidence ? { saveEvidenceDir: options.saveEvidence } : {}) });
      if (report.evidenceFile) process.stderr.write(`lab verify: evidence written to ${report.evidenceFile}\n`);
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
