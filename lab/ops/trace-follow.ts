// scripts/trace.mjs: the lab's tagged trace_pipe lines, live, for one run or for every run. It reads
// from a tracefs instance of its own (TraceReader), never from the global trace_pipe, so it takes no
// line from a verify that is running meanwhile. The instance belongs to a session with a ledger of its
// own: Ctrl-C (the lab's signal teardown) and `lab clean` (after a crash) remove it as they would a run's.
import { registerTeardown } from '../topology/interrupts.ts';
import type { Stoppable } from '../topology/lab.ts';
import { Ledger, newRunId, type LedgerEntry } from '../topology/ledger.ts';
import { undoEntries, type TeardownReport } from '../topology/teardown.ts';
import { runTag, TraceReader, type TraceLine, type TraceOwner } from '../evidence/trace-pipe.ts';
import { UsageError } from '../errors.ts';
import { followedLine, type FollowedLine } from './trace-format.ts';
import { checkArgs, flag, integerOption, stringOption, type ParsedArgs, type ScriptSpec } from './script-options.ts';

/** How often new lines are picked up from the reader. */
const POLL_MS = 100;

export const TRACE_SPEC: ScriptSpec = {
  command: 'scripts/trace.mjs',
  summary: [
    "Follows the lab's tagged trace_pipe lines live and prints them readably: the sockmap programs'",
    'ESTABLISHED events with both ends, their connect rewrites and closes, and the tc programs\' redirect',
    'and steering lines. Reads a tracefs instance of its own, so a verify running meanwhile loses no line.',
  ].join('\n'),
  options: [
    { name: 'run', value: '<id>', help: 'only this run\'s lines (the id that `lab verify` and the scripts print); default every run' },
    { name: 'seconds', value: '<n>', help: 'stop after this long, 1 to 3600 (default 30); Ctrl-C stops earlier' },
    { name: 'json', help: 'print each line as one JSON object (runId, task, cpu, timestamp, message)' },
  ],
  notes: [
    'examples:',
    '  sudo scripts/trace.mjs --seconds 60',
    '  sudo scripts/trace.mjs --run k3x9q',
    '',
    'exit codes: 0 followed for the time asked; 1 the lab failed; 2 bad input; 130 Ctrl-C (after removing its instance)',
  ],
};

export interface TraceRequest {
  runId?: string;
  seconds: number;
  json: boolean;
}

export function traceRequestFrom(args: ParsedArgs, rejected: readonly string[]): TraceRequest {
  checkArgs(TRACE_SPEC, args, rejected);
  const runId = stringOption(args, 'run');
  if (runId !== undefined && !/^[a-z0-9]+$/.test(runId)) {
    throw new UsageError(`--run takes a run id as the lab prints it, e.g. "(run k3x9q)" -> --run k3x9q; "${runId}" is not one`);
  }
  return { ...(runId === undefined ? {} : { runId }), seconds: integerOption(args, 'seconds', { min: 1, max: 3600, fallback: 30 }), json: flag(args, 'json') };
}

/**
 * A run without a topology: an id, a ledger and teardown, which is all a trace reader needs. Its
 * objects (a tracefs instance lab-<id>-trace and its reader) are named and recorded like a run's.
 */
export class TraceSession implements TraceOwner {
  readonly runId = newRunId();
  private readonly ledger = new Ledger(this.runId);
  private readonly owned = new Set<Stoppable>();
  private readonly unregister = registerTeardown(() => this.close());
  private closed: Promise<TeardownReport> | undefined;

  record(entry: LedgerEntry): void {
    this.ledger.record(entry);
  }

  own<T extends Stoppable>(resource: T): T {
    this.owned.add(resource);
    return resource;
  }

  /** Stops what it owns, then removes what it recorded, newest first. Safe to call more than once. */
  close(): Promise<TeardownReport> {
    this.closed ??= (async () => {
      await Promise.allSettled([...this.owned].map((r) => r.stop()));
      const report = await undoEntries(this.ledger.entriesNewestFirst());
      this.ledger.close();
      this.unregister();
      return report;
    })();
    return this.closed;
  }
}

export interface FollowSummary {
  /** The session's own id (its tracefs instance is lab-<id>-trace). */
  sessionId: string;
  lines: number;
  /** Lines per run followed. */
  byRun: Record<string, number>;
  /** What the session could not remove (for `lab clean`); empty when all went well. */
  leftovers: string[];
}

export interface FollowHooks {
  /** Called once the instance exists and lines are being read. */
  onStart(sessionId: string): void;
  onLine(line: FollowedLine): void;
}

/**
 * Follows the tagged lines of one run (`runId`) or of every run for `seconds`, handing each to
 * `onLine` as it arrives. Removes its instance at the end; Ctrl-C tears it down through the session.
 */
export async function followTrace(request: TraceRequest, hooks: FollowHooks): Promise<FollowSummary> {
  const session = new TraceSession();
  const summary: FollowSummary = { sessionId: session.runId, lines: 0, byRun: {}, leftovers: [] };
  try {
    const count = (line: FollowedLine) => {
      summary.lines += 1;
      summary.byRun[line.runId] = (summary.byRun[line.runId] ?? 0) + 1;
      hooks.onLine(line);
    };
    await follow(session, request, { onStart: hooks.onStart, onLine: count });
  } finally {
    summary.leftovers = (await session.close()).failed;
  }
  return summary;
}

async function follow(session: TraceSession, request: TraceRequest, hooks: FollowHooks): Promise<void> {
  const reader = TraceReader.start(session, request.runId === undefined ? { name: 'trace', anyRun: true } : { name: 'trace', tag: runTag(request.runId) });
  hooks.onStart(session.runId);
  let seen = 0;
  const take = (all: readonly TraceLine[]) => {
    for (const line of all.slice(seen)) {
      const followed = followedLine(line, request.runId);
      if (followed) hooks.onLine(followed);
    }
    seen = all.length;
  };
  const deadline = Date.now() + request.seconds * 1000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
    take(reader.lines());
  }
  // stop() waits for lines still in flight and returns every line, the last ones included.
  take(await reader.stop());
}
