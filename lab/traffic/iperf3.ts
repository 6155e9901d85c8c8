// iperf3: bulk throughput, always --json; one TCP stream unless asked for more (runIperf3Detailed:
// parallel streams, reverse, both directions, UDP). The server binds the pod's IPv4 address: a
// default iperf3 server listens on a dual-stack [::] socket, which IPv4-only BPF programs never see.
import type { Lab, Place } from '../topology/lab.ts';
import type { ThroughputResult } from './types.ts';

export interface Iperf3Options {
  client: Place;
  server: Place;
  /** Address the client dials (the server's pod IP, or 127.0.0.1 within one pod). */
  address: string;
  port?: number;
  seconds: number;
  /** Write size (-l), e.g. "64K". */
  length?: string;
  /** Seconds at the start left out of the result (-O), so TCP slow start does not count. */
  omitSeconds?: number;
  /** Bind the server to `address` (default) or leave it on iperf3's dual-stack default. */
  serverBind?: 'address' | 'dual-stack';
}

/** What an operator may vary beyond the bench's one TCP stream (scripts/iperf3.mjs). */
export interface Iperf3Modes {
  /** Parallel streams (-P); default 1. */
  parallel?: number;
  /** The server sends and the client receives (-R). */
  reverse?: boolean;
  /** Both directions at once (--bidir); the main figures are then client to server. */
  bidir?: boolean;
  /** UDP instead of TCP (-u). */
  udp?: boolean;
  /** Target bitrate (-b), e.g. "1G"; iperf3's own default is 1 Mbit/s for UDP and unlimited for TCP. */
  bitrate?: string;
}

/** One direction of a test, as its receiver counted it (its sender's retransmits for TCP). */
export interface Iperf3Direction {
  bitsPerSecond: number;
  bytesSent: number;
  bytesReceived: number;
  seconds: number;
  retransmits: number | null;
  /** UDP only: the datagrams the receiver expected, those it never got, and the jitter it saw. */
  udp?: { packets: number; lostPackets: number; lostPercent: number; jitterMs: number };
}

/** A test in any mode: the main figures are its one direction (client to server under --bidir). */
export interface Iperf3Result extends ThroughputResult {
  protocol: 'tcp' | 'udp';
  streams: number;
  /** Who sent the main direction's bytes: the client, or the server under -R. */
  sender: 'client' | 'server';
  udp?: Iperf3Direction['udp'];
  /** --bidir: the server-to-client direction. */
  bidirReverse?: Iperf3Direction;
  /**
   * TCP connections the test opened between client and server: iperf3's control connection plus
   * one per stream and direction (UDP streams are not connections).
   */
  tcpConnections: number;
}

interface Iperf3Sum {
  bytes: number;
  bits_per_second: number;
  seconds: number;
  retransmits?: number;
  /** UDP receivers only. */
  packets?: number;
  lost_packets?: number;
  lost_percent?: number;
  jitter_ms?: number;
}

interface Iperf3Json {
  error?: string;
  start?: { test_start?: { protocol?: string; num_streams?: number } };
  end?: {
    sum_sent?: Iperf3Sum;
    sum_received?: Iperf3Sum;
    sum_sent_bidir_reverse?: Iperf3Sum;
    sum_received_bidir_reverse?: Iperf3Sum;
  };
}

function readJson(text: string): Iperf3Json {
  try {
    return JSON.parse(text) as Iperf3Json;
  } catch {
    throw new Error(`iperf3 printed no JSON: ${text.slice(0, 300)}`);
  }
}

export function parseIperf3Json(text: string): ThroughputResult {
  const json = readJson(text);
  if (json.error) throw new Error(`iperf3: ${json.error}`);
  const sent = json.end?.sum_sent;
  const received = json.end?.sum_received;
  if (!sent || !received) throw new Error('iperf3 JSON has no end.sum_sent/sum_received');
  return {
    kind: 'throughput',
    tool: 'iperf3',
    bitsPerSecond: received.bits_per_second,
    bytesSent: sent.bytes,
    bytesReceived: received.bytes,
    seconds: received.seconds,
    retransmits: sent.retransmits ?? null,
  };
}

function direction(sent: Iperf3Sum, received: Iperf3Sum, udp: boolean): Iperf3Direction {
  const loss =
    udp && received.packets !== undefined
      ? { udp: { packets: received.packets, lostPackets: received.lost_packets ?? 0, lostPercent: received.lost_percent ?? 0, jitterMs: received.jitter_ms ?? 0 } }
      : {};
  return { bitsPerSecond: received.bits_per_second, bytesSent: sent.bytes, bytesReceived: received.bytes, seconds: received.seconds, retransmits: sent.retransmits ?? null, ...loss };
}

/** Parses a test in any mode. `modes` are the ones the client was run with (iperf3 3.12's JSON does not name --bidir). */
export function parseIperf3Details(text: string, modes: Iperf3Modes = {}): Iperf3Result {
  const json = readJson(text);
  if (json.error) throw new Error(`iperf3: ${json.error}`);
  const end = json.end ?? {};
  if (!end.sum_sent || !end.sum_received) throw new Error('iperf3 JSON has no end.sum_sent/sum_received');
  const udp = json.start?.test_start?.protocol === 'UDP';
  const streams = json.start?.test_start?.num_streams ?? modes.parallel ?? 1;
  const main = direction(end.sum_sent, end.sum_received, udp);
  const back = modes.bidir && end.sum_sent_bidir_reverse && end.sum_received_bidir_reverse ? direction(end.sum_sent_bidir_reverse, end.sum_received_bidir_reverse, udp) : undefined;
  if (modes.bidir && !back) throw new Error('iperf3 ran with --bidir but its JSON has no end.sum_sent_bidir_reverse/sum_received_bidir_reverse');
  return {
    kind: 'throughput',
    tool: 'iperf3',
    ...main,
    protocol: udp ? 'udp' : 'tcp',
    streams,
    sender: modes.reverse ? 'server' : 'client',
    ...(back ? { bidirReverse: back } : {}),
    tcpConnections: 1 + (udp ? 0 : streams * (back ? 2 : 1)),
  };
}

/** The client's arguments for a test. */
export function iperf3ClientArgs(options: Omit<Iperf3Options, 'client' | 'server'> & Iperf3Modes): string[] {
  const port = options.port ?? 5201;
  const args = ['-c', options.address, '-p', String(port), '-t', String(options.seconds), '--json', '--connect-timeout', '3000'];
  if (options.length) args.push('-l', options.length);
  if (options.omitSeconds) args.push('-O', String(options.omitSeconds));
  if (options.parallel !== undefined && options.parallel > 1) args.push('-P', String(options.parallel));
  if (options.reverse) args.push('-R');
  if (options.bidir) args.push('--bidir');
  if (options.udp) args.push('-u');
  if (options.bitrate) args.push('-b', options.bitrate);
  return args;
}

/** Starts a one-test server, runs the client, and returns what the client printed (JSON). */
async function runIperf3Client(lab: Lab, options: Iperf3Options & Iperf3Modes): Promise<string> {
  const port = options.port ?? 5201;
  const bind = options.serverBind === 'dual-stack' ? [] : ['-B', options.address];
  // -1: serve one test and exit, so a stuck client cannot leave a server behind.
  const server = await lab.spawnServer(options.server, 'iperf3', ['-s', '-1', '-p', String(port), ...bind], { ports: [port], maxLifetimeMs: (options.seconds + 30) * 1000 });
  try {
    const client = await lab.exec(options.client, 'iperf3', iperf3ClientArgs(options), { timeoutMs: (options.seconds + (options.omitSeconds ?? 0) + 20) * 1000, allowFailure: true });
    return client.stdout;
  } finally {
    await server.stop();
  }
}

export async function runIperf3(lab: Lab, options: Iperf3Options & Pick<Iperf3Modes, 'bitrate'>): Promise<ThroughputResult> {
  return parseIperf3Json(await runIperf3Client(lab, options));
}

/** A test in any mode (parallel streams, reverse, both directions, UDP), parsed in full. */
export async function runIperf3Detailed(lab: Lab, options: Iperf3Options & Iperf3Modes): Promise<Iperf3Result> {
  return parseIperf3Details(await runIperf3Client(lab, options), options);
}
