// The measurements made on one live setup (a client/server pair with a backend installed and its
// path proven): latency, throughput and connection rate, each after its warm-up. A failed
// measurement becomes a run with an error, never a missing row.
import { measureConntrackCost } from '../evidence/conntrack.ts';
import type { ConnectLoopResult } from '../traffic/agent-protocol.ts';
import type { CapturedPair } from '../verify/setup.ts';
import type { LatencyDriver } from '../traffic/latency.ts';
import { runIperf3 } from '../traffic/iperf3.ts';
import type { ConnectionRateResult, TrafficResult } from '../traffic/types.ts';
import type { Metric } from '../report/results.ts';
import type { Durations } from './options.ts';

/** Ports of the measurements, apart from the verify plan's so their evidence stays attributable. */
export const BENCH_PORTS = { latency: 11111, throughput: 5301, cps: 8090 } as const;

export interface MeasuredRun {
  metric: Metric;
  startedAt: string;
  result?: TrafficResult;
  error?: string;
}

async function measureLatency(pair: CapturedPair, driver: LatencyDriver | undefined, durations: Durations): Promise<TrafficResult> {
  if (!driver) throw new Error('latency was asked for without a latency driver');
  const { lab, client, server } = pair;
  const load = durations.latency;
  const serverProcess = await driver.startServer(lab, server, BENCH_PORTS.latency);
  try {
    if (load.warmupSeconds > 0) {
      await driver.measure(lab, client, server, BENCH_PORTS.latency, { rate: load.rate, seconds: load.warmupSeconds, connections: load.connections, messageBytes: load.messageBytes });
    }
    return await driver.measure(lab, client, server, BENCH_PORTS.latency, { rate: load.rate, seconds: load.seconds, connections: load.connections, messageBytes: load.messageBytes });
  } finally {
    await serverProcess.stop();
  }
}

function measureThroughput(pair: CapturedPair, durations: Durations): Promise<TrafficResult> {
  const t = durations.throughput;
  return runIperf3(pair.lab, { client: pair.client, server: pair.server, address: pair.server.ip, port: BENCH_PORTS.throughput, seconds: t.seconds, omitSeconds: t.omitSeconds, length: t.blockSize });
}

async function measureConnectionRate(pair: CapturedPair, durations: Durations, listening: { done: boolean }): Promise<ConnectionRateResult> {
  const c = durations.cps;
  if (!listening.done) {
    await pair.serverAgent.listen(pair.server.ip, BENCH_PORTS.cps);
    listening.done = true;
  }
  const options = { count: c.maxConnections, concurrency: c.concurrency };
  if (c.warmupSeconds > 0) await pair.clientAgent.connectLoop(pair.server.ip, BENCH_PORTS.cps, { ...options, maxSeconds: c.warmupSeconds });
  // The census brackets the measured loop only: closed connections stay in TIME_WAIT (120 s), so
  // every entry the loop created is still counted at the end.
  let loop: ConnectLoopResult | undefined;
  const conntrack = await measureConntrackCost(pair.lab, async () => {
    loop = await pair.clientAgent.connectLoop(pair.server.ip, BENCH_PORTS.cps, { ...options, maxSeconds: c.seconds });
    return loop;
  });
  if (!loop || loop.connections === 0) throw new Error(`no connection succeeded (${loop?.errors ?? 0} errors${loop?.firstError ? `, first: ${loop.firstError}` : ''})`);
  return {
    kind: 'connection-rate',
    tool: 'lab-agent',
    connectionsPerSecond: loop.connections / loop.seconds,
    connections: loop.connections,
    errors: loop.errors,
    seconds: loop.seconds,
    conntrackEntriesPer1000: conntrack.entriesPer1000,
    conntrackByPlace: conntrack.byPlace,
  };
}

/** Runs each metric once on the setup, in a fixed order, reporting each run as it finishes. */
export async function measureSetup(
  pair: CapturedPair,
  metrics: readonly Metric[],
  driver: LatencyDriver | undefined,
  durations: Durations,
  onRun: (run: MeasuredRun) => void,
  shouldStop: () => boolean,
): Promise<void> {
  const listening = { done: false };
  for (const metric of metrics) {
    if (metric === 'throughput' && durations.throughput.fromVerifyPlan) continue; // recorded from the verify plan

    if (shouldStop()) return;
    const startedAt = new Date().toISOString();
    try {
      const result =
        metric === 'latency' ? await measureLatency(pair, driver, durations) : metric === 'throughput' ? await measureThroughput(pair, durations) : await measureConnectionRate(pair, durations, listening);
      onRun({ metric, startedAt, result });
    } catch (e) {
      onRun({ metric, startedAt, error: e instanceof Error ? e.message : String(e) });
    }
  }
}
