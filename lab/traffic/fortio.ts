// fortio: the preferred latency tool (Istio's own perf harness uses it). `load -uniform -qps R` sends
// at a fixed, evenly spaced rate (open loop per connection); `-json -` puts the result on stdout.
// fortio is not packaged for Debian, so the driver runs only where someone installed the binary;
// the parser is tested on a real sample either way.
import type { BackgroundProcess } from '../host/exec.ts';
import type { Lab, Pod } from '../topology/lab.ts';
import type { LatencyPercentiles, LatencyResult } from './types.ts';

export interface FortioLoad {
  /** `tcp://host:port` (fortio's TCP echo) or `http://host:port/...`. */
  url: string;
  rate: number;
  connections: number;
  seconds: number;
  /** Payload bytes per request. */
  payloadBytes?: number;
}

export function fortioClientArgs(load: FortioLoad): string[] {
  return [
    'load',
    '-json',
    '-',
    '-uniform',
    '-qps',
    String(load.rate),
    '-c',
    String(load.connections),
    '-t',
    `${load.seconds}s`,
    '-p',
    '50,75,90,99,99.9',
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
export async function startFortioTcpServer(lab: Lab, pod: Pod, port: number): Promise<BackgroundProcess> {
  const args = ['server', '-tcp-port', `${pod.ip}:${port}`, '-http-port', 'disabled', '-grpc-port', 'disabled', '-redirect-port', 'disabled', '-udp-port', 'disabled'];
  return lab.spawnServer(pod, 'fortio', args, { ports: [port] });
}

export async function runFortio(lab: Lab, client: Pod, load: FortioLoad): Promise<LatencyResult> {
  const result = await lab.exec(client, 'fortio', fortioClientArgs(load), { timeoutMs: (load.seconds + 20) * 1000 });
  return parseFortioJson(result.stdout);
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
  return {
    kind: 'latency',
    tool: 'fortio',
    requestedRate: requested === 'max' || requested === '' ? null : Number(requested),
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
