// One measured slice on one live setup, and the pipeline that runs the latency slices back to back.
// Around every slice: the backend's path counters (before, and after its traffic settled), judged by
// the backend's per-slice judge; the setup's CPU by part and the machine's noise over the exact
// measurement window.
import type { PathCounters, SliceTraffic } from '../backends/descriptor.ts';
import { measureConntrackCost } from '../evidence/conntrack.ts';
import type { BackgroundProcess } from '../host/exec.ts';
import { pinnedCommand } from '../host/pinning.ts';
import type { Metric, SliceRecord } from '../report/results.ts';
import type { LatencyDriver } from '../traffic/latency.ts';
import { parseIperf3Json } from '../traffic/iperf3.ts';
import type { ConnectLoopResult } from '../traffic/agent-protocol.ts';
import type { ConnectionRateResult, LatencyRun, TrafficResult } from '../traffic/types.ts';
import { between, clientCpusOf, findProcesses, pinSetup, serverCpusOf, snapshot, type Pinning, type SetupProcesses, type Snapshot } from './instruments.ts';
import type { LiveSetup } from './live-setups.ts';
import { BENCH_PORTS, CPS_CONCURRENCY, LATENCY_RATE, MESSAGE_BYTES } from './options.ts';
import type { PlannedSlice } from './plan.ts';

/** A live setup with its servers started, its processes found and pinned. */
export interface MeasuredSetup extends LiveSetup {
  processes: SetupProcesses;
  servers: BackgroundProcess[];
}

export interface SliceEnvironment {
  driver: LatencyDriver | undefined;
  pinning: Pinning;
  cpus: number;
  sliceSeconds: Record<Metric, number>;
  /** Seconds between starts of consecutive latency clients (when the tool needs a lead). */
  latencyStartPeriodSeconds: number;
  /** Count conntrack entries around connection-rate slices (a census of every namespace: costly, so once). */
  conntrackCensus: (round: number) => boolean;
  /** Warm each setup's connection-rate driver up before the first round (when cps is measured). */
  warmUpConnectionRate: boolean;
}

/** Gives the per-slice judge time for proxies and programs to count connections as they close. */
const SETTLE_MS = 1000;
const SETTLE_STEP_MS = 50;
/** The most connections one connection-rate slice opens (the slice ends at its time first). */
const CPS_MAX_CONNECTIONS = 50_000;
/**
 * The unrecorded warm-up of a setup's connection-rate driver. The driver is the lab's Node agent,
 * whose connect loop V8 optimises as it runs: on none, whose rate the agent itself bounds, 0.5 s
 * slices in a row measured 1540, 1511, 2244, 3045, 3550, 4018 connections/s, flat (3700-4200) only
 * after about 6000 connections. Unwarmed, none's rate climbed round after round and every ratio
 * against none drifted with it. The bound in time keeps the bench's length; where 2 s give fewer
 * than 5000 connections, the warm-up is partial.
 */
const CPS_WARM_UP = { count: 5000, maxSeconds: 2 } as const;
/** An iperf3 test opens a control connection and one data connection per stream. */
const IPERF3_CONNECTIONS = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n').slice(0, 4).join(' | ');

/**
 * Work the bench does besides measuring (counter reads, process starts). A slice whose window saw
 * any of it in flight is marked disturbed: the pipeline is meant to keep it in the gaps.
 */
export class Activity {
  private inFlight = 0;
  private begun = 0;

  async around<T>(work: () => Promise<T>): Promise<T> {
    this.inFlight++;
    this.begun++;
    try {
      return await work();
    } finally {
      this.inFlight--;
    }
  }

  mark(): { inFlight: number; begun: number } {
    return { inFlight: this.inFlight, begun: this.begun };
  }

  static disturbed(start: { inFlight: number; begun: number }, end: { inFlight: number; begun: number }): boolean {
    return start.inFlight > 0 || end.inFlight > 0 || end.begun !== start.begun;
  }
}

/** Starts what the slices talk to: the latency echo server, an iperf3 server, the agent's listener; then pins, and warms the connection-rate driver up. */
export async function prepareSetup(setup: LiveSetup, env: SliceEnvironment): Promise<MeasuredSetup> {
  const { pair } = setup;
  const servers: BackgroundProcess[] = [];
  const serverCpus = serverCpusOf(env.pinning);
  if (env.driver) servers.push(await env.driver.startServer(pair.lab, pair.server, BENCH_PORTS.latency, serverCpus ? { cpus: serverCpus } : {}));
  const [file, args] = pinnedCommand(serverCpus, 'iperf3', ['-s', '-p', String(BENCH_PORTS.throughput), '-B', pair.server.ip]);
  servers.push(await pair.lab.spawnServer(pair.server, file, args, { ports: [BENCH_PORTS.throughput] }));
  await pair.agents.listen(pair.server, pair.server.ip, BENCH_PORTS.cps);
  await pinSetup(pair, env.pinning);
  if (env.warmUpConnectionRate) await pair.clientAgent.connectLoop(pair.server.ip, BENCH_PORTS.cps, { ...CPS_WARM_UP, concurrency: CPS_CONCURRENCY });
  return { ...setup, servers, processes: await findProcesses(pair) };
}

function counterDelta(after: PathCounters, before: PathCounters): PathCounters {
  return Object.fromEntries(Object.entries(after).map(([name, value]) => [name, value - (before[name] ?? 0)]));
}

async function readCounters(setup: MeasuredSetup): Promise<PathCounters | undefined> {
  const installation = setup.pair.installation;
  return installation.pathCounters ? installation.pathCounters() : undefined;
}

/** After the slice: the counters' movement, judged; waits (bounded) for connections to be counted as they close. */
async function provePath(setup: MeasuredSetup, before: PathCounters | undefined, traffic: SliceTraffic | undefined): Promise<{ path: SliceRecord['path']; after?: PathCounters }> {
  const { descriptor } = setup.pair;
  if (descriptor.name === 'none') return { path: { status: 'no-path' } };
  const judge = descriptor.judgeSlice?.bind(descriptor);
  if (!judge) {
    await sleep(SETTLE_STEP_MS * 2);
    const after = before ? await readCounters(setup) : undefined;
    return { path: { status: 'unproven', ...(after && before ? { delta: counterDelta(after, before) } : {}) }, ...(after ? { after } : {}) };
  }
  if (!traffic) return { path: { status: 'invalid', check: { name: 'slice-traffic', ok: false, detail: 'the slice moved no traffic to judge' } } };
  const deadline = performance.now() + SETTLE_MS;
  for (;;) {
    const after = (await readCounters(setup).catch(() => undefined)) ?? {};
    const delta = counterDelta(after, before ?? {});
    const check = judge(delta, traffic);
    if (check.ok || performance.now() >= deadline) return { path: { status: check.ok ? 'valid' : 'invalid', delta, check }, after };
    await sleep(SETTLE_STEP_MS);
  }
}

function trafficOf(result: TrafficResult | undefined): SliceTraffic | undefined {
  if (!result) return undefined;
  switch (result.kind) {
    case 'latency':
      // Every message of the run, warm-up included, went through the path: that is what the counters saw.
      return { metric: 'latency', connections: result.connections, bytesSent: (result.exchanges ?? result.samples) * MESSAGE_BYTES };
    case 'throughput':
      return { metric: 'throughput', connections: IPERF3_CONNECTIONS, bytesSent: result.bytesSent };
    case 'connection-rate':
      return { metric: 'connection-rate', connections: result.connections };
  }
}

/** Requests over the CPU window: sockperf's whole run (its warm-up included), fortio's samples. */
function requestsOf(result: TrafficResult | undefined): number | undefined {
  if (result?.kind !== 'latency') return undefined;
  return result.exchanges ?? result.samples;
}

interface Window {
  a: Snapshot;
  b: Snapshot;
  disturbed: boolean;
}

async function record(
  setup: MeasuredSetup,
  planned: PlannedSlice,
  env: SliceEnvironment,
  startedAt: string,
  before: PathCounters | undefined,
  outcome: { result?: TrafficResult; error?: string },
  window: Window | undefined,
  activity: Activity,
): Promise<{ record: SliceRecord; after?: PathCounters }> {
  const traffic = trafficOf(outcome.result);
  const { path, after } = await activity.around(() => provePath(setup, before, traffic));
  const measured = window ? between(window.a, window.b, { plannedMs: env.sliceSeconds[planned.metric] * 1000, cpus: env.cpus, disturbed: window.disturbed }) : undefined;
  const requests = requestsOf(outcome.result);
  const sliceRecord: SliceRecord = {
    round: planned.round,
    position: planned.position,
    setupId: setup.spec.id,
    backend: setup.spec.backend,
    placement: setup.spec.placement,
    metric: planned.metric,
    startedAt,
    ...(outcome.result ? { result: outcome.result } : {}),
    ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    ...(traffic ? { traffic: { connections: traffic.connections, ...(traffic.bytesSent !== undefined ? { bytesSent: traffic.bytesSent } : {}), ...(requests !== undefined ? { requests } : {}) } } : {}),
    path,
    ...(measured ? { cpu: measured.cpu, noise: measured.noise } : {}),
  };
  return { record: sliceRecord, ...(after ? { after } : {}) };
}

const recordOnly = async (...args: Parameters<typeof record>): Promise<SliceRecord> => (await record(...args)).record;

/** Runs `drive` between two snapshots of the setup; the window is the drive itself. */
interface Measured<T> {
  value?: T;
  error?: string;
  window?: Window;
}

async function measured<T>(setup: MeasuredSetup, activity: Activity, drive: () => Promise<T>): Promise<Measured<T>> {
  const startMark = activity.mark();
  const a = snapshot(setup.pair, setup.processes);
  let value: T | undefined;
  let error: string | undefined;
  try {
    value = await drive();
  } catch (e) {
    error = errorText(e);
  }
  const b = snapshot(setup.pair, setup.processes);
  return { ...(value !== undefined ? { value } : {}), ...(error !== undefined ? { error } : {}), window: { a, b, disturbed: Activity.disturbed(startMark, activity.mark()) } };
}

async function throughputSlice(setup: MeasuredSetup, planned: PlannedSlice, env: SliceEnvironment, activity: Activity): Promise<SliceRecord> {
  const { pair } = setup;
  const before = await activity.around(() => readCounters(setup));
  const startedAt = new Date().toISOString();
  const seconds = Math.max(1, Math.round(env.sliceSeconds.throughput));
  const [file, args] = pinnedCommand(clientCpusOf(env.pinning), 'iperf3', ['-c', pair.server.ip, '-p', String(BENCH_PORTS.throughput), '-t', String(seconds), '-l', '64K', '--json', '--connect-timeout', '3000']);
  const run = await measured(setup, activity, async () => parseIperf3Json((await pair.lab.exec(pair.client, file, args, { timeoutMs: (seconds + 20) * 1000, allowFailure: true })).stdout));
  return recordOnly(setup, planned, env, startedAt, before, { ...(run.value ? { result: run.value } : {}), ...(run.error ? { error: run.error } : {}) }, run.window, activity);
}

async function connectionRateSlice(setup: MeasuredSetup, planned: PlannedSlice, env: SliceEnvironment, activity: Activity): Promise<SliceRecord> {
  const { pair } = setup;
  const before = await activity.around(() => readCounters(setup));
  const startedAt = new Date().toISOString();
  const loopOnce = () => pair.clientAgent.connectLoop(pair.server.ip, BENCH_PORTS.cps, { count: CPS_MAX_CONNECTIONS, maxSeconds: env.sliceSeconds.cps, concurrency: CPS_CONCURRENCY });
  let run: Measured<ConnectLoopResult> | undefined;
  let conntrack: { entriesPer1000: number; byPlace: Record<string, number> } | undefined;
  try {
    if (env.conntrackCensus(planned.round)) {
      // The census brackets the measured loop; closed connections stay in TIME_WAIT (120 s), so every entry the loop made is still counted.
      conntrack = await measureConntrackCost(pair.lab, async () => {
        run = await measured(setup, activity, loopOnce);
        return { connections: run.value?.connections ?? 0 };
      });
    } else {
      run = await measured(setup, activity, loopOnce);
    }
  } catch (e) {
    run ??= { error: errorText(e) };
  }
  const loop = run?.value;
  let outcome: { result?: ConnectionRateResult; error?: string };
  if (!loop || loop.connections === 0) outcome = { error: run?.error ?? `no connection succeeded (${loop?.errors ?? 0} errors${loop?.firstError ? `, first: ${loop.firstError}` : ''})` };
  else {
    outcome = {
      result: {
        kind: 'connection-rate',
        tool: 'lab-agent',
        connectionsPerSecond: loop.connections / loop.seconds,
        connections: loop.connections,
        errors: loop.errors,
        seconds: loop.seconds,
        ...(conntrack ? { conntrackEntriesPer1000: conntrack.entriesPer1000, conntrackByPlace: conntrack.byPlace } : {}),
      },
    };
  }
  return recordOnly(setup, planned, env, startedAt, before, outcome, run?.window, activity);
}

/** Runs a non-latency slice, start to finish. */
export function runSlice(setup: MeasuredSetup, planned: PlannedSlice, env: SliceEnvironment, activity: Activity): Promise<SliceRecord> {
  if (planned.metric === 'throughput') return throughputSlice(setup, planned, env, activity);
  if (planned.metric === 'cps') return connectionRateSlice(setup, planned, env, activity);
  throw new Error(`${planned.metric} slices run in the latency pipeline`);
}

interface Started {
  before: PathCounters | undefined;
  startedAt: string;
  spawnedMs: number;
  run: LatencyRun;
  window: Promise<Window>;
}

function startLatency(setup: MeasuredSetup, planned: PlannedSlice, env: SliceEnvironment, before: PathCounters | undefined, activity: Activity): Started {
  const driver = env.driver;
  if (!driver) throw new Error('latency slices need a latency driver');
  const { pair } = setup;
  const cpus = clientCpusOf(env.pinning);
  const run = driver.start(pair.lab, pair.client, pair.server, BENCH_PORTS.latency, {
    mode: planned.metric === 'round-trip' ? 'closed-loop' : 'open-loop',
    rate: LATENCY_RATE,
    seconds: env.sliceSeconds[planned.metric],
    messageBytes: MESSAGE_BYTES,
    ...(cpus ? { cpus } : {}),
  });
  // The snapshots are taken the moment the tool says it starts and stops sending, not when the
  // pipeline gets round to awaiting them.
  const window = run.started.then(() => {
    const startMark = activity.mark();
    const a = snapshot(pair, setup.processes);
    return run.ended.then(() => ({ a, b: snapshot(pair, setup.processes), disturbed: Activity.disturbed(startMark, activity.mark()) }));
  });
  return { before, startedAt: new Date().toISOString(), spawnedMs: performance.now(), run, window };
}

interface Finished {
  planned: PlannedSlice;
  current: Started;
  outcome: { result?: TrafficResult; error?: string };
  window: Window;
}

/**
 * Runs latency slices back to back. A tool with a lead (sockperf sleeps 2 s after connecting) gets
 * its client started two slices ahead, on a fixed period, so that each client's sleep overlaps the
 * slices before it and every start and counter read falls in the gaps between windows. A client is
 * never started ahead while an earlier slice of the same setup is unfinished (its counters would mix).
 * Each slice is judged when its setup is next read: the counters read before the setup's next slice
 * are this one's "after" (the setup was idle in between), so a gap holds one read and one start.
 */
export async function runLatencyPipeline(
  slices: readonly PlannedSlice[],
  setupOf: (planned: PlannedSlice) => MeasuredSetup,
  env: SliceEnvironment,
  activity: Activity,
  onSlice: (record: SliceRecord) => void,
  shouldStop: () => boolean,
): Promise<void> {
  const lead = env.driver?.leadSeconds ?? 0;
  const periodMs = lead > 0 ? env.latencyStartPeriodSeconds * 1000 : 0;
  const started: Array<Started | undefined> = [];
  /** Finished slices not yet judged, by setup id. */
  const unjudged = new Map<number, Finished>();
  const judge = async (done: Finished): Promise<PathCounters | undefined> => {
    unjudged.delete(done.planned.setupId);
    const { record: sliceRecord, after } = await record(setupOf(done.planned), done.planned, env, done.current.startedAt, done.current.before, done.outcome, done.window, activity);
    onSlice(sliceRecord);
    return after;
  };
  const start = async (i: number, notBeforeMs: number) => {
    const planned = slices[i]!;
    const setup = setupOf(planned);
    const previous = unjudged.get(planned.setupId);
    // The judgement of the setup's previous slice reads its counters (waiting for late closes): that
    // reading is also where this slice starts from.
    const before = previous ? await judge(previous) : await activity.around(() => readCounters(setup));
    await sleep(notBeforeMs - performance.now());
    started[i] = startLatency(setup, planned, env, before, activity);
  };
  const sameSetup = (a: number, b: number) => slices[a]!.setupId === slices[b]!.setupId;
  await start(0, 0);
  if (lead > 0 && slices.length > 1 && !sameSetup(0, 1)) await start(1, started[0]!.spawnedMs + periodMs);
  for (let i = 0; i < slices.length; i++) {
    if (!started[i]) await start(i, 0);
    const current = started[i]!;
    const planned = slices[i]!;
    let outcome: { result?: TrafficResult; error?: string };
    try {
      outcome = { result: await current.run.result };
    } catch (e) {
      outcome = { error: errorText(e) };
    }
    unjudged.set(planned.setupId, { planned, current, outcome, window: await current.window });
    if (shouldStop()) return;
    if (lead > 0 && i + 2 < slices.length && !started[i + 2] && !sameSetup(i + 1, i + 2)) await start(i + 2, current.spawnedMs + 2 * periodMs);
  }
  for (const done of [...unjudged.values()]) await judge(done);
}

