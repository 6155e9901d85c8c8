// iperf3 for experiments: like lab/traffic/iperf3.ts, but a failed run is a result, not an error.
// A study of failures needs what iperf3 saw up to the failure (its error, its per-interval bytes,
// when it stopped), a paced rate (-b), fixed socket buffers (-w), and the server's pid (to freeze it
// or move it into a memory cgroup before the client connects).
import type { BackgroundProcess } from '../host/exec.ts';
import type { Lab, Place } from '../topology/lab.ts';

export interface Iperf3RunOptions {
  client: Place;
  server: Place;
  address: string;
  port: number;
  seconds: number;
  /** Write size (-l), e.g. "64K". */
  length: string;
  /** Paced rate (-b), e.g. "100M": bounds what the sender can push whatever the receiver does. */
  bitrate?: string;
  /** Socket buffer size on both ends (-w), e.g. "256K": turns receive-buffer autotuning off. */
  window?: string;
  /** Called once the server listens, before the client connects (its accepted socket is not made yet). */
  onServerListening?: (server: BackgroundProcess) => Promise<void> | void;
  /** Called once the client started (its connection is being made). */
  onClientStarted?: () => void;
  /** Called once the client exited, before the server is stopped (e.g. to resume a stopped server). */
  onClientExited?: () => void;
  /** Awaited after the client exited and before the server is stopped (a last reading). */
  beforeServerStop?: () => Promise<void>;
}

export interface Iperf3Interval {
  /** Seconds since the test started, at the interval's end. */
  end: number;
  bytes: number;
}

export interface Iperf3Run {
  ok: boolean;
  /** iperf3's own error message ("unable to write to stream socket: Cannot allocate memory"). */
  error?: string;
  /** Wall-clock seconds from the client's start to its exit. */
  wallSeconds: number;
  bytesSent: number;
  bytesReceived: number;
  bitsPerSecond: number;
  /** What the client sent, interval by interval (one per second), up to the end or the failure. */
  intervals: Iperf3Interval[];
}

interface Iperf3Json {
  error?: string;
  intervals?: Array<{ sum?: { end: number; bytes: number } }>;
  end?: {
    sum_sent?: { bytes: number };
    sum_received?: { bytes: number; bits_per_second: number };
  };
}

/** Reads iperf3's --json output, also when the run failed part-way (then `error` is set). */
export function parseIperf3Run(text: string, wallSeconds: number): Iperf3Run {
  let json: Iperf3Json;
  try {
    json = JSON.parse(text) as Iperf3Json;
  } catch {
    return { ok: false, error: `iperf3 printed no JSON: ${text.trim().slice(0, 300)}`, wallSeconds, bytesSent: 0, bytesReceived: 0, bitsPerSecond: 0, intervals: [] };
  }
  const intervals = (json.intervals ?? []).flatMap((i) => (i.sum ? [{ end: i.sum.end, bytes: i.sum.bytes }] : []));
  const sent = json.end?.sum_sent?.bytes ?? intervals.reduce((sum, i) => sum + i.bytes, 0);
  const received = json.end?.sum_received;
  return {
    ok: json.error === undefined && received !== undefined,
    ...(json.error === undefined ? {} : { error: json.error }),
    wallSeconds,
    bytesSent: sent,
    bytesReceived: received?.bytes ?? 0,
    bitsPerSecond: received?.bits_per_second ?? 0,
    intervals,
  };
}

export async function runIperf3Detailed(lab: Lab, options: Iperf3RunOptions): Promise<Iperf3Run> {
  const port = String(options.port);
  // -1: serve one test and exit, so a stuck client cannot leave a server behind.
  const server = await lab.spawnServer(options.server, 'iperf3', ['-s', '-1', '-p', port, '-B', options.address], {
    ports: [options.port],
    maxLifetimeMs: (options.seconds + 60) * 1000,
  });
  try {
    await options.onServerListening?.(server);
    const args = ['-c', options.address, '-p', port, '-t', String(options.seconds), '-l', options.length, '--json', '--connect-timeout', '3000'];
    if (options.bitrate) args.push('-b', options.bitrate);
    if (options.window) args.push('-w', options.window);
    const started = performance.now();
    const client = lab.exec(options.client, 'iperf3', args, { timeoutMs: (options.seconds + 30) * 1000, allowFailure: true });
    options.onClientStarted?.();
    const result = await client.finally(() => options.onClientExited?.());
    const wallSeconds = (performance.now() - started) / 1000;
    await options.beforeServerStop?.();
    return parseIperf3Run(result.stdout, wallSeconds);
  } finally {
    // A frozen server would ignore SIGTERM until thawed: stop() escalates to SIGKILL.
    await server.stop();
  }
}
