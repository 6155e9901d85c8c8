#!/usr/bin/env node
// The lab's tagged trace_pipe lines, live and readable, for one run or all (the seed's trace.sh, for
// the sockmap and the tc programs). A thin layer over lab/ops/trace-follow.ts, which reads from a
// tracefs instance of its own and removes it on exit. `--help` says how to use it.
import { setTimeout } from 'node:timers';
import { register } from 'tsx/esm/api';
import { echo, minimist } from 'zx';

// The library is TypeScript; tsx compiles it on the fly, as for bin/lab.mjs.
register();
const { TRACE_SPEC, followTrace, traceRequestFrom } = await import('../lab/ops/trace-follow.ts');
const { formatFollowedLine } = await import('../lab/ops/trace-format.ts');
const { exitCodeFor, helpText, minimistSettings, requireRoot } = await import('../lab/ops/script-options.ts');

const NAME = 'trace.mjs';

const rejected = [];
const args = minimist(process.argv.slice(2), minimistSettings(TRACE_SPEC, rejected));
if (args.help) {
  echo(helpText(TRACE_SPEC));
} else {
  try {
    const request = traceRequestFrom(args, rejected);
    requireRoot(TRACE_SPEC);
    const which = request.runId === undefined ? 'every lab run' : `run ${request.runId}`;
    const summary = await followTrace(request, {
      onStart: (sessionId) => process.stderr.write(`${NAME}: following ${which} for ${request.seconds} s (Ctrl-C stops; own tracefs instance lab-${sessionId}-trace)\n`),
      onLine: (line) => echo(request.json ? JSON.stringify(line) : formatFollowedLine(line)),
    });
    const perRun = Object.entries(summary.byRun).map(([run, n]) => `${n} from run ${run}`);
    process.stderr.write(`${NAME}: ${summary.lines} line${summary.lines === 1 ? '' : 's'}${perRun.length ? ` (${perRun.join(', ')})` : ''}\n`);
    if (summary.leftovers.length > 0) {
      process.stderr.write(`${NAME}: could not remove ${summary.leftovers.join('; ')}: run \`sudo npx lab clean\`\n`);
      process.exitCode = 1;
    }
  } catch (e) {
    process.exitCode = exitCodeFor(e);
    process.stderr.write(`${NAME}: ${e.message}\n`);
  }
}
// The instance is removed by now (or Ctrl-C's handler exited 130). Should anything still hold the
// event loop, exit anyway; the timer itself keeps nothing alive.
setTimeout(() => process.exit(), 1000).unref();
