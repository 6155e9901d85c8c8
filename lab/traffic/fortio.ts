// fortio: the preferred latency tool (Istio's own perf harness uses it). `load -uniform -qps R` sends
// at a fixed, evenly spaced rate (open loop per connection); `-qps 0` sends each request as soon as
// the previous reply arrived (closed loop); `-json -` puts the result on stdout.
// fortio is not packaged for Debian, so the driver runs only where someone installed the binary;
// the parser is tested on a real sample either way.
import type { BackgroundProcess } from '../host/exec.ts';
import { spawnLineProcess } from '../host/exec.ts';
import { commandIn } from '../host/namespaces.ts';
import { pinnedCommand } from '../host/pinning.ts';
import type { Lab, Pod } from '../topology/lab.ts';
import type { LatencyPercentiles, LatencyResult, LatencyRun } from './types.ts';

export interface FortioLoad {
  /** `tcp://host:port` (fortio's TCP echo) or `http://host:port/...`. */
  url: string;
  /** Requests per second, evenly spaced; 0 for closed loop (as fast as replies come back). */
  rate: number;
  connections: number;
  seconds: number;
  /** Payload bytes per request. */
  payloadBytes?: number;
}

/** Histogram resolution: 1 µs. */
export const FORTIO_RESOLUTION_SECONDS = 0.000001;

export function fortioClientArgs(load: FortioLoad): string[] {
  return [
    'load',
    '-json',
    '-',
    // Even spacing only means something at a fixed rate; -qps 0 is closed loop.
    ...(load.rate > 0 ? ['-uniform'] : []),
    '-qps',
    String(load.rate),
    '-c',
    String(load.connections),
    '-t',
    // fortio takes Go durations: "1500ms" keeps a fractional second exact.
    `${Math.round(load.seconds * 1000)}ms`,
    '-p',
    '50,75,90,99,99.9',
    // fortio's lowest histogram bucket is 1 ms by default; its docs advise a tenth of the typical
    // latency, and a pod-to-pod round trip here is tens of microseconds.
    '-r',
    String(FORTIO_RESOLUTION_SECONDS),
    '-payload-size',
    String(load.payloadBytes ?? 64),
    '-quiet',
    load.url,
  ];
}

/**
 * Starts fortio's TCP echo server on one IPv4 address. Every other listener fortio opens by default
 * is disabled (they would bind the wildcard and could collide with the pod's other ports).
 */
export async function startFortioTcpServer(lab: Lab, pod: Pod, port: number, options: { cpus?: readonly number[] } = {}): Promise<BackgroundProcess> {
  const args = ['server', '-tcp-port', `${pod.ip}:${port}`, '-http-port', 'disabled', '-grpc-port', 'disabled', '-redirect-port', 'disabled', '-udp-port', 'disabled'];
  const [file, argv] = pinnedCommand(options.cpus, 'fortio', args);
  return lab.spawnServer(pod, file, argv, { ports: [port] });
}

/**
 * Starts a fortio client and returns at once. fortio sends from its first moment, so `started` is
 * when it was started and `ended` when it exited.
 */
export function startFortioClient(lab: Lab, client: Pod, load: FortioLoad, options: { cpus?: readonly number[] } = {}): LatencyRun {
  const [pinnedFile, pinnedArgs] = pinnedCommand(options.cpus, 'fortio', fortioClientArgs(load));
  const [file, argv] = commandIn(lab.targetOf(client), pinnedFile, pinnedArgs);
  const startedAt = performance.now();
  const child = spawnLineProcess(file, argv, { maxLifetimeMs: (load.seconds + 30) * 1000 });
  lab.record({ kind: 'process', pid: child.pid, command: child.command });
  const lines: string[] = [];
  child.onLine((line) => lines.push(line));
  let endedAt = startedAt;
  const exited = child.exited.then(() => (endedAt = performance.now()));
  return {
    started: Promise.resolve(startedAt),
    ended: exited.then(() => endedAt),
    result: exited.then(() => {
      const text = lines.join('\n');
      if (!text.trim().startsWith('{')) throw new Error(`fortio printed no JSON: ${(text + child.stderr()).trim().split('\n').slice(-4).join(' | ')}`);
      return parseFortioJson(text);
    }),
  };
}

interface FortioBucket {
  Start: number;
  End: number;
  Percent: number;
  Count: number;
}

interface FortioJson {
  RunType?: string;
  RequestedQPS: string | number;
  ActualQPS: number;
  /** Nanoseconds (Go's time.Duration). */
  ActualDuration: number;
  NumThreads: number;
  DurationHistogram: {
    Count: number;
    Min: number;
    Max: number;
    Avg: number;
    Data: FortioBucket[] | null;
    Percentiles: Array<{ Percentile: number; Value: number }> | null;
  };
  RetCodes?: Record<string, number>;
  ErrorsDurationHistogram?: { Count: number };
}

/**
 * A percentile from fortio's histogram buckets, interpolated linearly inside the bucket the way
 * fortio itself does: used when the run did not ask for that percentile or Percentiles is null.
 */
export function percentileFromBuckets(buckets: readonly FortioBucket[], percentile: number): number {
  let previousPercent = 0;
  for (const bucket of buckets) {
    if (bucket.Percent >= percentile) {
      const span = bucket.Percent - previousPercent;
      const within = span > 0 ? (percentile - previousPercent) / span : 1;
      return bucket.Start + (bucket.End - bucket.Start) * within;
    }
    previousPercent = bucket.Percent;
  }
  const last = buckets[buckets.length - 1];
  if (!last) throw new Error('fortio histogram has no buckets');
  return last.End;
}

/** Response codes that mean the request succeeded: HTTP 2xx, or fortio's TCP/gRPC "OK"/"SERVING". */
const isSuccessCode = (code: string) => /^2\d\d$/.test(code) || code === 'OK' || code === 'SERVING';

/** Parses `fortio load -json` output. fortio reports seconds; the lab's unit is microseconds. */
export function parseFortioJson(text: string): LatencyResult {
  let json: FortioJson;
  try {
    json = JSON.parse(text) as FortioJson;
  } catch (e) {
    throw new Error(`fortio output is not JSON (${(e as Error).message}): ${text.slice(0, 200)}`);
  }
  const histogram = json.DurationHistogram;
  if (!histogram || typeof histogram.Count !== 'number') throw new Error('fortio JSON has no DurationHistogram');
  const us = (seconds: number) => seconds * 1e6;
  const wanted: Array<[keyof LatencyPercentiles, number]> = [
    ['p50', 50],
    ['p75', 75],
    ['p90', 90],
    ['p99', 99],
    ['p999', 99.9],
  ];
  const reported = new Map((histogram.Percentiles ?? []).map((p) => [p.Percentile, p.Value]));
  const percentilesUs = Object.fromEntries(
    wanted.map(([key, p]) => {
      const value = reported.get(p) ?? percentileFromBuckets(histogram.Data ?? [], p);
      return [key, us(value)];
    }),
  ) as unknown as LatencyPercentiles;
  const requested = String(json.RequestedQPS);
  const codes = json.RetCodes ?? {};
  const succeeded = Object.entries(codes).reduce((sum, [code, n]) => sum + (isSuccessCode(code) ? n : 0), 0);
  const errors = Object.keys(codes).length > 0 ? histogram.Count - succeeded : (json.ErrorsDurationHistogram?.Count ?? 0);
  const unthrottled = requested === 'max' || requested === '' || Number(requested) <= 0;
  return {
    kind: 'latency',
    tool: 'fortio',
    mode: unthrottled ? 'closed-loop' : 'open-loop',
    requestedRate: unthrottled ? null : Number(requested),
    achievedRate: json.ActualQPS,
    connections: json.NumThreads,
    percentilesUs,
    minUs: us(histogram.Min),
    meanUs: us(histogram.Avg),
    maxUs: us(histogram.Max),
    samples: histogram.Count,
    errors,
    seconds: json.ActualDuration / 1e9,
  };
}
