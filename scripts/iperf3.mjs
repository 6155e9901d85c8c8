#!/usr/bin/env node
// iperf3 between two lab pods through one backend, by hand: build, install, prove the path with the
// backend's checks, run the test, show the figures and how the path counters moved, tear down.
// A thin layer: everything it does is lab library code (lab/ops/iperf3-wrapper.ts and what it calls);
// this file parses the command line (zx's minimist) and prints. `--help` says how to use it.
import { setTimeout } from 'node:timers';
import { register } from 'tsx/esm/api';
import { echo, minimist } from 'zx';

// The library is TypeScript; tsx compiles it on the fly, as for bin/lab.mjs.
register();
const { IPERF3_SPEC, iperfRequestFrom, runIperfWrapper } = await import('../lab/ops/iperf3-wrapper.ts');
const { formatIperf3, formatPathCounters } = await import('../lab/ops/iperf3-format.ts');
const { exitLeavingRunUp, formatKeptRun } = await import('../lab/ops/kept-run.ts');
const { exitCodeFor, helpText, minimistSettings, requireRoot } = await import('../lab/ops/script-options.ts');
const { backendByName } = await import('../lab/backends/index.ts');
const { requireKernelFeatures, UnsupportedOnKernelError, requireTools } = await import('../lab/cli/preflight.ts');
const { EXIT_UNSUPPORTED } = await import('../lab/cli/verify.ts');
const { fail, pass, printChecks, printJson } = await import('../lab/cli/output.ts');
const { newRunId } = await import('../lab/topology/ledger.ts');

const NAME = 'iperf3.mjs';

function printReport(report) {
  echo(`${report.backend} / ${report.placement} (run ${report.runId})`);
  const passed = report.verify.checks.filter((c) => c.ok).length;
  echo(`verify: ${passed} of ${report.verify.checks.length} checks passed`);
  printChecks(report.verify.checks);
  if (report.iperf3) echo(formatIperf3(report, report.iperf3).join('\n'));
  const counters = formatPathCounters(report);
  if (counters.length > 0) echo(counters.join('\n'));
  if (report.path?.slice) printChecks([report.path.slice]);
  const verdict = report.ok ? pass('OK') : fail('FAILED');
  const why = !report.verify.ok ? 'the path was not proven, iperf3 not run' : report.ok ? 'path proven, test run on it' : 'the test ran, but the path counters do not account for it';
  echo(`${verdict}: ${why}`);
}

function print(report, json) {
  if (json) printJson(report);
  else printReport(report);
  if (report.kept && !json) echo(`\n${formatKeptRun(report.kept)}`);
}

const rejected = [];
const args = minimist(process.argv.slice(2), minimistSettings(IPERF3_SPEC, rejected));
if (args.help) {
  echo(helpText(IPERF3_SPEC));
} else {
  try {
    const request = iperfRequestFrom(args, rejected);
    requireRoot(IPERF3_SPEC);
    const descriptor = backendByName(request.backend);
    requireTools(descriptor, ['iperf3']);
    await requireKernelFeatures(descriptor);
    // Said first, so that someone who interrupts the run knows what lab-<run>-* belongs to it.
    const runId = newRunId();
    process.stderr.write(`${NAME}: ${request.backend}, ${request.placement} (run ${runId})...\n`);
    const report = await runIperfWrapper(request, runId, {
      progress: (line) => process.stderr.write(`${NAME}: ${line}\n`),
      leaveRunUp: (kept) => {
        print(kept, request.json);
        return exitLeavingRunUp(kept.ok ? 0 : 1);
      },
    });
    print(report, request.json);
    process.exitCode = report.ok ? 0 : 1;
  } catch (e) {
    // A kernel without a feature the run needs is a finding about the kernel (exit 3, as `lab verify`).
    process.exitCode = e instanceof UnsupportedOnKernelError ? EXIT_UNSUPPORTED : exitCodeFor(e);
    process.stderr.write(`${NAME}: ${e.message}\n`);
  }
}
// Teardown has run by now (or Ctrl-C's handler exited 130). Should anything still hold the event
// loop, exit anyway rather than leave a terminal waiting; the timer itself keeps nothing alive.
setTimeout(() => process.exit(), 1000).unref();
