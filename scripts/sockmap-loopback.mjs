#!/usr/bin/env node
// The sockmap seed example end to end (its load.sh, trace.sh and unload.sh in one): one lab pod,
// iperf3 on 127.0.0.1 without and with sockops + sk_msg, the four ESTABLISHED events, then unload.
// A thin layer: the experiment is the one scenarios/sockmap-loopback.ts runs (see
// lab/ops/sockmap-loopback.ts); this file parses the command line (zx's minimist) and prints.
import { setTimeout } from 'node:timers';
import { register } from 'tsx/esm/api';
import { echo, minimist } from 'zx';

// The library is TypeScript; tsx compiles it on the fly, as for bin/lab.mjs.
register();
const { LOOPBACK_REQUIREMENTS, LOOPBACK_SPEC, formatLoopback, loopbackRequestFrom, runLoopback } = await import('../lab/ops/sockmap-loopback.ts');
const { loopbackChecks } = await import('../lab/experiments/sockmap-loopback.ts');
const { exitCodeFor, helpText, minimistSettings, requireRoot } = await import('../lab/ops/script-options.ts');
const { requireKernelFeatures, UnsupportedOnKernelError } = await import('../lab/cli/preflight.ts');
const { EXIT_UNSUPPORTED } = await import('../lab/cli/verify.ts');
const { fail, pass, printChecks, printJson } = await import('../lab/cli/output.ts');
const { missingTools } = await import('../lab/host/tools.ts');
const { newRunId } = await import('../lab/topology/ledger.ts');

const NAME = 'sockmap-loopback.mjs';

const rejected = [];
const args = minimist(process.argv.slice(2), minimistSettings(LOOPBACK_SPEC, rejected));
if (args.help) {
  echo(helpText(LOOPBACK_SPEC));
} else {
  try {
    const request = loopbackRequestFrom(args, rejected);
    requireRoot(LOOPBACK_SPEC);
    const missing = missingTools(['ip', 'nsenter', ...LOOPBACK_REQUIREMENTS.requires.tools]);
    if (missing.length > 0) throw new Error(`${missing.join(', ')} not installed: run scripts/setup.sh as root, and \`lab doctor\` to check the rest`);
    await requireKernelFeatures(LOOPBACK_REQUIREMENTS);
    const runId = newRunId();
    const runs = request.listeners.length * 2;
    process.stderr.write(`${NAME}: ${runs} iperf3 runs of ${request.seconds} s (${request.listeners.join(', ')}; without, then with the programs) (run ${runId})...\n`);
    const result = await runLoopback(request, runId);
    const checks = loopbackChecks(result);
    if (request.json) {
      printJson({ ...result, checks });
    } else {
      echo(formatLoopback(result).join('\n'));
      echo('');
      printChecks(checks);
      echo(`${result.ok ? pass('OK') : fail('FAILED')}: ${checks.filter((c) => c.ok).length} of ${checks.length} checks passed`);
    }
    process.exitCode = result.ok ? 0 : 1;
  } catch (e) {
    // A kernel without a feature the run needs is a finding about the kernel (exit 3, as `lab verify`).
    process.exitCode = e instanceof UnsupportedOnKernelError ? EXIT_UNSUPPORTED : exitCodeFor(e);
    process.stderr.write(`${NAME}: ${e.message}\n`);
  }
}
// Teardown has run by now (or Ctrl-C's handler exited 130). Should anything still hold the event
// loop, exit anyway; the timer itself keeps nothing alive.
setTimeout(() => process.exit(), 1000).unref();
