// hey: an optional HTTP latency driver. Two limits the report must not hide: `-q` is a per-worker
// rate limiter in front of a closed loop (a slow response delays the next request, so coordinated
// omission is present, unlike fortio -uniform or sockperf under-load), and its CSV has 100 µs
// resolution. The lab therefore prefers fortio or sockperf; hey is for HTTP spot checks.
import type { Lab, Pod } from '../topology/lab.ts';
import { percentileOf } from '../report/stats.ts';
import type { LatencyResult } from './types.ts';

export interface HeyLoad {
  url: string;
  /** Total requests per second across all workers (hey's -q is per worker). */
  rate: number;
  connections: number;
  seconds: number;
}

export function heyArgs(load: HeyLoad): string[] {
  const perWorker = Math.max(1, Math.round(load.rate / load.connections));
  return ['-z', `${load.seconds}s`, '-q', String(perWorker), '-c', String(load.connections), '-o', 'csv', load.url];
}

export async function runHey(lab: Lab, client: Pod, load: HeyLoad): Promise<LatencyResult> {
  const result = await lab.exec(client, 'hey', heyArgs(load), { timeoutMs: (load.seconds + 30) * 1000 });
  return parseHeyCsv(result.stdout, { requestedRate: load.rate, connections: load.connections });
}

/** Parses `hey -o csv`: one line per request, times in seconds, `offset` = start since the run began. */
export function parseHeyCsv(text: string, options: { requestedRate: number | null; connections: number }): LatencyResult {
  const lines = text.trim().split('\n');
  const header = lines.shift()?.split(',') ?? [];
  const column = (name: string) => {
    const index = header.indexOf(name);
    if (index < 0) throw new Error(`hey CSV has no "${name}" column (header: ${header.join(',')})`);
    return index;
  };
  const timeCol = column('response-time');
  const statusCol = column('status-code');
  const offsetCol = column('offset');
  const latenciesUs: number[] = [];
  let errors = 0;
  let firstStart = Infinity;
  let lastEnd = 0;
  for (const line of lines) {
    const fields = line.split(',');
    const seconds = Number(fields[timeCol]);
    const offset = Number(fields[offsetCol]);
    if (!Number.isFinite(seconds) || !Number.isFinite(offset)) continue;
    if (!/^2\d\d$/.test(fields[statusCol] ?? '')) errors++;
    latenciesUs.push(seconds * 1e6);
    firstStart = Math.min(firstStart, offset);
    lastEnd = Math.max(lastEnd, offset + seconds);
  }
  if (latenciesUs.length === 0) throw new Error('hey CSV holds no requests');
  const sorted = [...latenciesUs].sort((a, b) => a - b);
  const span = lastEnd - firstStart;
  return {
    kind: 'latency',
    tool: 'hey',
    requestedRate: options.requestedRate,
    achievedRate: span > 0 ? latenciesUs.length / span : 0,
    connections: options.connections,
    percentilesUs: {
      p50: percentileOf(sorted, 50),
      p75: percentileOf(sorted, 75),
      p90: percentileOf(sorted, 90),
      p99: percentileOf(sorted, 99),
      p999: percentileOf(sorted, 99.9),
    },
    minUs: sorted[0]!,
    meanUs: latenciesUs.reduce((a, b) => a + b, 0) / latenciesUs.length,
    maxUs: sorted[sorted.length - 1]!,
    samples: latenciesUs.length,
    errors,
    seconds: span,
  };
}
