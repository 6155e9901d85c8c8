// sockperf: the latency fallback when fortio is not installed. `under-load` sends at a fixed message
// rate whatever the replies do (open loop, so a stall shows up in the tail instead of silently
// lowering the rate), and every message asks for a reply (`--reply-every 1`; the default of 100 would
// leave one sample in a hundred). `--full-rtt` makes sockperf report the round trip: without it, it
// halves every number to estimate one-way latency, which would not compare with fortio's request time.
import type { BackgroundProcess } from '../host/exec.ts';
import type { Lab, Pod } from '../topology/lab.ts';
import type { LatencyResult } from './types.ts';

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

/** Starts a TCP sockperf server bound to one IPv4 address (never a dual-stack wildcard). */
export async function startSockperfServer(lab: Lab, pod: Pod, port: number, options: { host?: string; maxLifetimeMs?: number } = {}): Promise<BackgroundProcess> {
  const host = options.host ?? pod.ip;
  return lab.spawnServer(pod, 'sockperf', ['server', '--tcp', '-i', host, '-p', String(port)], { ports: [port], maxLifetimeMs: options.maxLifetimeMs ?? 30 * 60_000 });
}

/** Runs one open-loop latency measurement from a pod and parses it. */
export async function runSockperf(lab: Lab, client: Pod, load: SockperfLoad): Promise<LatencyResult> {
  const result = await lab.exec(client, 'sockperf', sockperfClientArgs(load), { timeoutMs: (load.seconds + 20) * 1000 });
  return parseSockperfUnderLoad(result.stdout + result.stderr, { requestedRate: load.rate });
}

// sockperf colours some lines; the escapes sit inside the numbers' lines.
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
export const stripAnsi = (text: string) => text.replace(ANSI_COLOUR, '');

function numberAfter(text: string, pattern: RegExp, what: string): number {
  const match = pattern.exec(text);
  if (!match?.[1]) throw new Error(`sockperf output has no ${what}: ${text.trim().split('\n').slice(-4).join(' | ')}`);
  return Number(match[1]);
}

/**
 * Parses the summary of `sockperf under-load --full-rtt`. Only the "[Valid Duration]" block counts:
 * it excludes sockperf's own warm-up and the drain at the end.
 */
export function parseSockperfUnderLoad(raw: string, options: { requestedRate: number | null; connections?: number }): LatencyResult {
  const text = stripAnsi(raw);
  if (!/--full-rtt/.test(text) && /avg-lat=/.test(text)) {
    throw new Error('sockperf ran without --full-rtt: its numbers are half round trips and do not compare with other tools');
  }
  const valid = /\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)/.exec(text);
  if (!valid) throw new Error(`sockperf output has no [Valid Duration] summary: ${text.trim().split('\n').slice(-4).join(' | ')}`);
  const seconds = Number(valid[1]);
  const sent = Number(valid[2]);
  const received = Number(valid[3]);
  const percentile = (p: string) => numberAfter(text, new RegExp(`percentile ${p.replace('.', '\\.')}\\s*=\\s*([\\d.]+)`), `percentile ${p}`);
  const dropped = numberAfter(text, /# dropped messages = (\d+)/, 'dropped-messages count');
  const duplicated = numberAfter(text, /# duplicated messages = (\d+)/, 'duplicated-messages count');
  const outOfOrder = numberAfter(text, /# out-of-order messages = (\d+)/, 'out-of-order count');
  return {
    kind: 'latency',
    tool: 'sockperf',
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
    // A message sent but never answered is an error even when sockperf's own counters stay at zero.
    errors: dropped + duplicated + outOfOrder + Math.max(0, sent - received),
    seconds,
  };
}
