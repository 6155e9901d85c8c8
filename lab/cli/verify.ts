// `lab verify --backend <name> [--placement same-node|cross-node] [--istio-version 1.N] [--json] [--save-evidence DIR]`
// Exit codes: 0 every check passed, 1 a check failed, 2 bad input, 3 the kernel lacks a feature the
// backend needs (named, from the lab's one feature probe).
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { BackendDescriptor } from '../backends/descriptor.ts';
import { allBackends, backendByName, backendNames } from '../backends/index.ts';
import { UsageError } from '../errors.ts';
import { CURRENT_ISTIO_LINE, istioLineOf } from '../istio/version.ts';
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

function parseIstioVersion(value: string): string {
  try {
    istioLineOf(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return value;
}

const withIstioVersions = () => allBackends().filter((b) => b.withIstioVersion).map((b) => b.name);

/** The descriptor verify installs: the named backend, or (with --istio-version) its rules of that Istio version. */
export function verifyDescriptor(backend: string, istioVersion?: string): BackendDescriptor {
  const descriptor = backendByName(backend);
  if (istioVersion === undefined) return descriptor;
  if (!descriptor.withIstioVersion) {
    const why = descriptor.istio === undefined ? `backend ${backend} installs no Istio rules` : `backend ${backend} has one set of rules, ${descriptor.istio}`;
    throw new UsageError(`--istio-version: ${why}; leave --istio-version out (it applies to ${withIstioVersions().join(', ')})`);
  }
  try {
    return descriptor.withIstioVersion(istioVersion);
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(`--istio-version ${istioVersion} with backend ${backend}: ${e.message}`);
    throw e;
  }
}

export function registerVerifyCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('verify')
    .description('build a client/server topology, install a backend, drive traffic, and judge it from kernel and proxy evidence')
    .addOption(new Option('-b, --backend <name>', `backend to verify: ${backendNames().join(', ')}`).argParser(parseBackend).makeOptionMandatory())
    .addOption(new Option('-p, --placement <placement>', `where the pods run: ${PLACEMENTS.join(' or ')}`).argParser(parsePlacement).default('same-node'))
    .addOption(new Option('--iperf-seconds <n>', 'iperf3 duration').argParser(parseIperfSeconds).default(2))
    .addOption(
      new Option('--istio-version <version>', `install the Istio rules of this version, 1.24 to 1.30 (default: the ${CURRENT_ISTIO_LINE} line); for ${withIstioVersions().join(', ')} (the -nft ones: 1.28 to 1.30)`).argParser(
        parseIstioVersion,
      ),
    )
    .option('--json', 'print the verdict as JSON')
    .option('--save-evidence <dir>', "write the run's evidence (what the plan saw and the backend collected) to <dir>/<backend>-<placement>.json")
    .action(async (options: { backend: string; placement: Placement; iperfSeconds: number; istioVersion?: string; json?: boolean; saveEvidence?: string }) => {
      const { backend, placement } = options;
      // Usage first (exit 2 even for a non-root user), then what the machine lacks, then work.
      const descriptor = verifyDescriptor(backend, options.istioVersion);
      const istio = descriptor.istio === undefined ? {} : { istio: descriptor.istio };
      requireRoot('verify');
      requireTools(descriptor, ['iperf3']);
      try {
        await requireKernelFeatures(descriptor);
      } catch (e) {
        if (!(e instanceof UnsupportedOnKernelError)) throw e;
        if (options.json) printJson({ backend, placement, ...istio, ok: false, unsupported: e.message, checks: [] });
        process.stderr.write(`lab verify: unsupported on this kernel: ${e.message}\n`);
        setExit(EXIT_UNSUPPORTED);
        return;
      }
      // The run id names every object of this run (lab-<run>-...): said first, so a user who
      // interrupts the run knows what to look for.
      const runId = newRunId();
      process.stderr.write(`lab verify: ${backend}, ${placement} (run ${runId})...\n`);
      const report = await verifyBackend(descriptor, placement, { iperfSeconds: options.iperfSeconds, runId, ...(options.saveEvidence ? { saveEvidenceDir: options.saveEvidence } : {}) });
      if (report.evidenceFile) process.stderr.write(`lab verify: evidence written to ${report.evidenceFile}\n`);
      if (options.json) {
        printJson({ backend: report.backend, placement: report.placement, ...istio, ok: report.ok, runId: report.runId, seconds: report.seconds, checks: report.checks });
      } else {
        process.stdout.write(`${backend} / ${placement} (run ${report.runId}, ${report.seconds} s)${descriptor.istio === undefined ? '' : `: ${descriptor.istio}`}\n`);
        printChecks(report.checks);
        const passed = report.checks.filter((c) => c.ok).length;
        process.stdout.write(`${report.ok ? pass('OK') : fail('FAILED')}: ${passed} of ${report.checks.length} checks passed\n`);
      }
      setExit(report.ok ? 0 : 1);
    });
}
