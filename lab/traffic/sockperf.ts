// sockperf: the latency fallback when fortio is not installed. `under-load` sends at a fixed message
// rate whatever the replies do (open loop, so a stall shows up in the tail instead of silently
// lowering the rate), and every message asks for a reply (`--reply-every 1`; the default of 100 would
// leave one sample in a hundred). `ping-pong` sends the next message when the reply arrives (closed
// loop). `--full-rtt` makes sockperf report the round trip: without it, it halves every number to
// estimate one-way latency, which would not compare with fortio's request time.
//
// Timing facts of sockperf 3.7's client that the bench plans around: it connects, then sleeps 2 s
// (a fixed `sleep(2)` in its client start-up), then sends for `-t` whole seconds and counts only the
// "[Valid Duration]" (the first 400 ms are its warm-up, the last 50 ms its drain). It prints
// "Starting test..." and "Test end" on standard output as those moments happen.
import { stripVTControlCharacters } from 'node:util';
import type { BackgroundProcess } from '../host/exec.ts';
import { spawnLineProcess } from '../host/exec.ts';
import { commandIn } from '../host/namespaces.ts';
import { pinnedCommand } from '../host/pinning.ts';
import type { Lab, Pod } from '../topology/lab.ts';
import type { LatencyMode, LatencyResult, LatencyRun } from './types.ts';

/** Seconds from starting a sockperf client until it sends: its fixed 2 s sleep plus start-up and connect. */
export const SOCKPERF_LEAD_SECONDS = 2.1;

export interface SockperfLoad {
  /** Server address (the server pod's IPv4) and port. */
  host: string;
  port: number;
  /** Messages per second, held whatever the replies do. */
  rate: number;
  seconds: number;
  /** Bytes per message (sockperf's minimum is 14). */
  messageBytes?: number;
}

const DEFAULT_MESSAGE_BYTES = 64;

/** The arguments of the client run; exported so the report can state exactly what ran. */
export function sockperfClientArgs(load: SockperfLoad): string[] {
  return [
    'under-load',
    '--tcp',
    '-i',
    load.host,
    '-p',
    String(load.port),
    '--mps',
    String(load.rate),
    '-t',
    String(load.seconds),
    '--reply-every',
    '1',
    '--full-rtt',
    '-m',
    String(load.messageBytes ?? DEFAULT_MESSAGE_BYTES),
  ];
}

export interface SockperfPingPong {
  host: string;
  port: number;
  /** Whole seconds (sockperf's -t takes no fraction). */
  seconds: number;
  messageBytes?: number;
}

/** Closed loop: one message in flight, the next sent when the reply arrives. */
export function sockperfPingPongArgs(load: SockperfPingPong): string[] {
  return ['ping-pong', '--tcp', '-i', load.host, '-p', String(load.port), '-t', String(load.seconds), '--full-rtt', '-m', String(load.messageBytes ?? DEFAULT_MESSAGE_BYTES)];
}

/** Starts a TCP sockperf server bound to one IPv4 address (never a dual-stack wildcard). */
export async function startSockperfServer(lab: Lab, pod: Pod, port: number, options: { host?: string; maxLifetimeMs?: number; cpus?: readonly number[] } = {}): Promise<BackgroundProcess> {
  const host = options.host ?? pod.ip;
  const [file, args] = pinnedCommand(options.cpus, 'sockperf', ['server', '--tcp', '-i', host, '-p', String(port)]);
  return lab.spawnServer(pod, file, args, { ports: [port], maxLifetimeMs: options.maxLifetimeMs ?? 30 * 60_000 });
}

/**
 * Starts a sockperf client in a pod and returns at once: `started` and `ended` follow the client's
 * own "Starting test..." and "Test end" lines, `result` its parsed summary.
 */
export function startSockperfClient(lab: Lab, client: Pod, args: readonly string[], options: { mode: LatencyMode; requestedRate: number | null; seconds: number; cpus?: readonly number[] }): LatencyRun {
  const [pinnedFile, pinnedArgs] = pinnedCommand(options.cpus, 'sockperf', args);
  const [file, argv] = commandIn(lab.targetOf(client), pinnedFile, pinnedArgs);
  const child = spawnLineProcess(file, argv, { maxLifetimeMs: (options.seconds + SOCKPERF_LEAD_SECONDS + 30) * 1000 });
  lab.record({ kind: 'process', pid: child.pid, command: child.command });
  const lines: string[] = [];
  let markStarted: (ms: number) => void = () => undefined;
  let markEnded: (ms: number) => void = () => undefined;
  const started = new Promise<number>((resolve) => (markStarted = resolve));
  const ended = new Promise<number>((resolve) => (markEnded = resolve));
  child.onLine((line) => {
    lines.push(line);
    if (line.includes('Starting test')) markStarted(performance.now());
    else if (line.includes('Test end')) markEnded(performance.now());
  });
  const result = child.exited.then(() => {
    // A client that died early never printed its markers: release whoever waits on them.
    const now = performance.now();
    markStarted(now);
    markEnded(now);
    return parseSockperf(lines.join('\n') + '\n' + child.stderr(), { mode: options.mode, requestedRate: options.requestedRate });
  });
  return { started, ended, result };
}



function numberAfter(text: string, pattern: RegExp, what: string): number {
  const match = pattern.exec(text);
  if (!match?.[1]) throw new Error(`sockperf output has no ${what}: ${text.trim().split('\n').slice(-4).join(' | ')}`);
  return Number(match[1]);
}

/** Parses the summary of `sockperf under-load --full-rtt` (open loop). */
export function parseSockperfUnderLoad(raw: string, options: { requestedRate: number | null; connections?: number }): LatencyResult {
  return parseSockperf(raw, { ...options, mode: 'open-loop' });
}

/**
 * Parses the summary of `sockperf under-load` or `ping-pong` with --full-rtt. Only the "[Valid
 * Duration]" block counts: it excludes sockperf's own warm-up and the drain at the end.
 */
export function parseSockperf(raw: string, options: { mode: LatencyMode; requestedRate: number | null; connections?: number }): LatencyResult {
  // sockperf colours some lines; the escapes sit inside the numbers' lines.
  const text = stripVTControlCharacters(raw);
  if (!/--full-rtt/.test(text) && /avg-lat=/.test(text)) {
    throw new Error('sockperf ran without --full-rtt: its numbers are half round trips and do not compare with other tools');
  }
  const valid = /\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)/.exec(text);
  if (!valid) throw new Error(`sockperf output has no [Valid Duration] summary: ${text.trim().split('\n').slice(-4).join(' | ')}`);
  const seconds = Number(valid[1]);
  // The whole run, warm-up included: the work the CPU was measured over.
  const totalRun = /\[Total Run\] RunTime=[\d.]+ sec; Warm up time=\d+ msec; SentMessages=\d+; ReceivedMessages=(\d+)/.exec(text);
  const sent = Number(valid[2]);
  const received = Number(valid[3]);
  const percentile = (p: string) => numberAfter(text, new RegExp(`percentile ${p.replace('.', '\\.')}\\s*=\\s*([\\d.]+)`), `percentile ${p}`);
  const dropped = numberAfter(text, /# dropped messages = (\d+)/, 'dropped-messages count');
  const duplicated = numberAfter(text, /# duplicated messages = (\d+)/, 'duplicated-messages count');
  const outOfOrder = numberAfter(text, /# out-of-order messages = (\d+)/, 'out-of-order count');
  return {
    kind: 'latency',
    tool: 'sockperf',
    mode: options.mode,
    requestedRate: options.requestedRate,
    achievedRate: seconds > 0 ? received / seconds : 0,
    connections: options.connections ?? 1,
    percentilesUs: {
      p50: percentile('50.000'),
      p75: percentile('75.000'),
      p90: percentile('90.000'),
      p99: percentile('99.000'),
      p999: percentile('99.900'),
    },
    minUs: numberAfter(text, /<MIN> observation\s*=\s*([\d.]+)/, 'minimum'),
    meanUs: numberAfter(text, /avg-rtt=([\d.]+)/, 'average round trip'),
    maxUs: numberAfter(text, /<MAX> observation\s*=\s*([\d.]+)/, 'maximum'),
    samples: numberAfter(text, /Total (\d+) observations/, 'observation count'),
    ...(totalRun ? { exchanges: Number(totalRun[1]) } : {}),
    // A message sent but never answered is an error even when sockperf's own counters stay at zero.
    errors: dropped + duplicated + outOfOrder + Math.max(0, sent - received),
    seconds,
  };
}
