// iperf3: bulk throughput, one stream, always --json. The server binds the pod's IPv4 address: a
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

interface Iperf3Json {
  error?: string;
  end?: {
    sum_sent?: { bytes: number; bits_per_second: number; seconds: number; retransmits?: number };
    sum_received?: { bytes: number; bits_per_second: number; seconds: number };
  };
}

export function parseIperf3Json(text: string): ThroughputResult {
  let json: Iperf3Json;
  try {
    json = JSON.parse(text) as Iperf3Json;
  } catch {
    throw new Error(`iperf3 printed no JSON: ${text.slice(0, 300)}`);
  }
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

export async function runIperf3(lab: Lab, options: Iperf3Options): Promise<ThroughputResult> {
  const port = options.port ?? 5201;
  const bind = options.serverBind === 'dual-stack' ? [] : ['-B', options.address];
  // -1: serve one test and exit, so a stuck client cannot leave a server behind.
  const server = await lab.spawnServer(options.server, 'iperf3', ['-s', '-1', '-p', String(port), ...bind], { ports: [port], maxLifetimeMs: (options.seconds + 30) * 1000 });
  try {
    const args = ['-c', options.address, '-p', String(port), '-t', String(options.seconds), '--json', '--connect-timeout', '3000'];
    if (options.length) args.push('-l', options.length);
    if (options.omitSeconds) args.push('-O', String(options.omitSeconds));
    const client = await lab.exec(options.client, 'iperf3', args, { timeoutMs: (options.seconds + (options.omitSeconds ?? 0) + 20) * 1000, allowFailure: true });
    return parseIperf3Json(client.stdout);
  } finally {
    await server.stop();
  }
}
