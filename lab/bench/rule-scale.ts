// Rule scale: what a growing list of excluded ports and CIDRs costs a sidecar's capture, with the rules
// written as iptables (iptables-nft on this host) and as Istio's native nftables, in REDIRECT and TPROXY
// mode. Istio's design note for the nftables backend (tools/istio-nftables/pkg/README.md) claims that
// native nftables "overcomes the scalability issues seen with iptables, where performance tends to drop
// as the number of rules grows". The lists that grow the rules are the excluded ones, and both of
// Istio's generators (and the lab's, rule for rule) write one rule per entry, no sets: an excluded
// inbound port is one RETURN in the inbound chain, an excluded outbound port two (TCP and UDP) at the
// head of the output chain, an excluded outbound CIDR one before the final redirect. So all three lists
// grow together, N entries each (scaledCapture), and for each N:
//  - install: the time to apply the whole ruleset in a fresh pod (one iptables-restore, or one
//    `nft -f`: the command's whole run), the rules read back and counted afterwards;
//  - connect latency, outbound: connects timed one after the other (connect-timer.mjs: from connect()
//    to the SYN-ACK, then reset) from a pod holding the rules and no sidecar to a plain pod whose
//    address is the LAST excluded CIDR: each SYN walks every excluded port and CIDR rule of the output
//    chain before its RETURN (and in TPROXY mode each SYN-ACK walks the excluded inbound ports);
//  - connect latency, inbound: connects from the plain pod to that pod's LAST excluded inbound port:
//    each SYN walks every excluded inbound port rule (nat in REDIRECT mode, mangle in TPROXY mode).
//    Each walk is proven by the counter of the rule it must end on. A round's figure is the median of
//    its connects, which scheduling noise on a shared machine moves far less than a mean;
//  - through the sidecars: connections (connect, one echo, close, one at a time) through a captured
//    client/server pair, the cost a user sees, each round judged with the backend's judgeSlice.
// Invalid rounds (counters that do not account for every connection) are reported, never averaged.
// The setups of one N live side by side in one lab and are measured in rotating order, round after
// round, so that drift of the shared machine falls on all of them alike.
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackendDescriptor, PathCounters } from '../backends/descriptor.ts';
import { redirectBackendOf } from '../backends/redirect/redirect.ts';
import { sidecarRules } from '../backends/sidecar-rules.ts';
import { prepareTproxyPod, tproxyBackendOf } from '../backends/tproxy/tproxy.ts';
import { packetsOfRule, type IptablesSnapshot } from '../evidence/iptables.ts';
import { ISTIO_PORTS } from '../istio/ports.ts';
import { sidecarRuleIds, type RulesFlavour } from '../istio/rule-ids.ts';
import { DEFAULT_TPROXY_CAPTURE, type TproxyCaptureConfig } from '../istio/sidecar-config.ts';
import type { Check } from '../judge/check.ts';
import { VERIFY_PORTS } from '../judge/plan.ts';
import { rulesIn } from '../judge/sidecar.ts';
import { countersAccountFor } from '../judge/slice.ts';
import { withLab, type Lab, type Pod } from '../topology/lab.ts';
import { AgentPool } from '../traffic/agent-pool.ts';
import type { ConnectLoopResult } from '../traffic/agent-protocol.ts';
import { preparePair, type CapturedPair } from '../verify/setup.ts';

export const RULE_SCALE_SIZES = [10, 100, 1000] as const;
export const RULE_FLAVOURS: readonly RulesFlavour[] = ['iptables', 'nftables'];
export const SIDECAR_MODES = ['REDIRECT', 'TPROXY'] as const;
export type SidecarMode = (typeof SIDECAR_MODES)[number];

/** The largest N: 1000 entries make about 4000 rules per pod. */
const MAX_SIZE = 1000;
/** Where the excluded port lists start: above every port the lab's traffic uses, below the ephemeral range. */
const EXCLUDED_INBOUND_BASE = 20_000;
const EXCLUDED_OUTBOUND_BASE = 30_000;
/** The plain pod's app port, which no list excludes. */
const WALK_PORT = VERIFY_PORTS.app;
/** How long the sidecars may take to log the last connections of a round (they log on close). */
const SETTLE_MS = 3_000;
const CONNECT_TIMER = fileURLToPath(new URL('./connect-timer.mjs', import.meta.url));

export interface RuleScaleOptions {
  /** Entries in each excluded list; 0 is the injector's default pod (plus the one walk CIDR). */
  sizes?: readonly number[];
  /** Measured rounds per setup and measurement (default 7). */
  rounds?: number;
  /** Installs timed per flavour and mode, each in a fresh pod (default 5). */
  installRepeats?: number;
  /** Limits of one round: at most this many connections, for at most this long (default 1000, 1 s). */
  roundConnections?: number;
  roundSeconds?: number;
  progress?: (line: string) => void;
}

/**
 * Microseconds per connection, one value per valid round: a round's median connect latency (walks),
 * or its seconds / connections (through the sidecars).
 */
export interface PerConnection {
  us: number[];
  connections: number;
  /** Rounds whose counters did not account for every connection, with the check's detail. */
  invalid: string[];
}

export interface RuleScaleRow {
  flavour: RulesFlavour;
  mode: SidecarMode;
  /** Entries in each excluded list (the outbound CIDR list has one more: the plain pod's /32). */
  size: number;
  /** Rules in a pod after install, as the flavour's reader counts them (both tables in TPROXY mode). */
  rules: number;
  /** Milliseconds to apply the ruleset in a fresh pod, one per repeat. */
  installMs: number[];
  walkOut: PerConnection;
  walkIn: PerConnection;
  throughSidecars: PerConnection;
}

export interface RuleScaleResult {
  kernel: string;
  startedAt: string;
  options: Required<Omit<RuleScaleOptions, 'progress'>>;
  rows: RuleScaleRow[];
}

const range = (count: number, from = 0) => Array.from({ length: count }, (_, i) => from + i);

/**
 * The injector's capture (with TPROXY's marks) plus `size` entries in each excluded list; `walkCidr`
 * (a lab pod's /32) is the last excluded CIDR, so that traffic to it walks every entry before it.
 */
export function scaledCapture(size: number, walkCidr: string): TproxyCaptureConfig {
  if (!Number.isInteger(size) || size < 0 || size > MAX_SIZE) throw new Error(`rule scale sizes are 0 to ${MAX_SIZE} entries per list`);
  return {
    ...DEFAULT_TPROXY_CAPTURE,
    excludedInboundPorts: [...ISTIO_PORTS.excludedInbound, ...range(size, EXCLUDED_INBOUND_BASE)],
    excludedOutboundPorts: range(size, EXCLUDED_OUTBOUND_BASE),
    // 10.0.0.0/8 is outside the lab's 198.18.0.0/15: no lab traffic goes there, and none is sent there.
    excludedOutboundCidrs: [...range(size).map((i) => `10.${i >> 8}.${i & 255}.0/24`), walkCidr],
  };
}

/** The ruleset the backend of this flavour and mode applies, and how many rules the kernel must then hold. */
export function rulesetOf(flavour: RulesFlavour, mode: SidecarMode, capture: TproxyCaptureConfig): { text: string; rules: number } {
  const flavourRules = sidecarRules(flavour);
  const text = mode === 'REDIRECT' ? flavourRules.redirectMode(capture) : flavourRules.tproxyMode(capture);
  const isRule = flavour === 'iptables' ? (l: string) => /^-[AI] /.test(l) : (l: string) => /^(add|insert) rule /.test(l);
  return { text, rules: text.split('\n').filter(isRule).length };
}

/** Applies the ruleset in a fresh pod, timed; throws unless the kernel then holds every rule. */
async function timeInstall(pod: Pod, flavour: RulesFlavour, mode: SidecarMode, capture: TproxyCaptureConfig): Promise<{ ms: number; rules: number }> {
  const rules = sidecarRules(flavour);
  const ruleset = rulesetOf(flavour, mode, capture);
  // As istio-init: TPROXY's sysctls and policy routing first (not timed: the same in both flavours).
  if (mode === 'TPROXY') await prepareTproxyPod(pod, capture);
  const started = performance.now();
  await rules.apply(pod.netns, ruleset.text);
  const ms = performance.now() - started;
  const held = (await rules.read(pod.netns)).ruleCount;
  if (held !== ruleset.rules) throw new Error(`${flavour} ${mode}: the kernel holds ${held} rules after install, the ruleset has ${ruleset.rules}`);
  return { ms, rules: held };
}

const noConnection = (loop: ConnectLoopResult): Check => ({
  name: 'slice-on-path',
  ok: false,
  detail: `no connection succeeded (${loop.errors} errors${loop.firstError ? `, first: ${loop.firstError}` : ''})`,
});

function counterDelta(after: PathCounters, before: PathCounters): PathCounters {
  return Object.fromEntries(Object.entries(after).map(([name, value]) => [name, value - (before[name] ?? 0)]));
}

/**
 * Opens connections one at a time from the pair's client to its server's `port`, and judges the
 * movement of the backend's path counters with its judgeSlice: did every connection cross the path?
 */
export async function connectThroughPath(pair: CapturedPair, port: number, limits: { count: number; maxSeconds: number }): Promise<{ loop: ConnectLoopResult; delta: PathCounters; check: Check }> {
  const { installation, descriptor } = pair;
  if (!installation.pathCounters || !descriptor.judgeSlice) throw new Error(`${descriptor.name} has no path counters to judge a connection loop by`);
  const before = await installation.pathCounters();
  const loop = await pair.clientAgent.connectLoop(pair.server.ip, port, { ...limits, concurrency: 1 });
  if (loop.connections === 0) return { loop, delta: {}, check: noConnection(loop) };
  const deadline = performance.now() + SETTLE_MS;
  for (;;) {
    const delta = counterDelta(await installation.pathCounters(), before);
    const check = descriptor.judgeSlice(delta, { metric: 'connection-rate', connections: loop.connections });
    if (check.ok || performance.now() >= deadline) return { loop, delta, check };
    await sleep(100);
  }
}

/** A walk: connects from `from` to `to`, proven by the one rule every one of them must have reached in `rulesPod`. */
interface Walk {
  from: Pod;
  to: { ip: string; port: number };
  rulesPod: Pod;
  flavour: RulesFlavour;
  /** The packets of the rule the walk ends on, and its name for the check. */
  endRule: { name: string; packets: (snapshot: IptablesSnapshot) => number };
}

interface ConnectTimes {
  connects: number;
  errors: number;
  firstError?: string;
  seconds: number;
  p10: number | null;
  p50: number | null;
  p90: number | null;
}

async function walkOnce(lab: Lab, walk: Walk, limits: { count: number; maxSeconds: number }): Promise<{ us: number; connections: number; check: Check }> {
  const read = async () => walk.endRule.packets(await sidecarRules(walk.flavour).read(walk.rulesPod.netns));
  const before = await read();
  const args = [CONNECT_TIMER, walk.to.ip, String(walk.to.port), String(limits.count), String(limits.maxSeconds)];
  const timed = JSON.parse((await lab.exec(walk.from, process.execPath, args, { timeoutMs: (limits.maxSeconds + 20) * 1000 })).stdout) as ConnectTimes;
  if (timed.connects === 0 || timed.p50 === null) {
    return { us: NaN, connections: 0, check: { name: 'slice-on-path', ok: false, detail: `no connect succeeded (${timed.errors} errors${timed.firstError ? `, first: ${timed.firstError}` : ''})` } };
  }
  const delta = { [walk.endRule.name]: (await read()) - before };
  const check = countersAccountFor(delta, [{ counter: walk.endRule.name, atLeast: timed.connects, why: 'each connect walked every excluded entry to this RETURN' }]);
  return { us: timed.p50, connections: timed.connects, check };
}

function record(into: PerConnection, round: number, run: { us: number; connections: number; check: Check }): void {
  if (!run.check.ok) {
    into.invalid.push(`round ${round}: ${run.check.detail}`);
    return;
  }
  into.us.push(run.us);
  into.connections += run.connections;
}

/** A round that could not run (its timer or loop failed) is an invalid round, with the error as its detail. */
async function failedAsInvalid(round: () => Promise<{ us: number; connections: number; check: Check }>): Promise<{ us: number; connections: number; check: Check }> {
  try {
    return await round();
  } catch (e) {
    const error = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
    return { us: NaN, connections: 0, check: { name: 'slice-on-path', ok: false, detail: `the round failed: ${error}` } };
  }
}

/** A round through the sidecars, as µs per connection. */
async function throughPair(pair: CapturedPair, limits: { count: number; maxSeconds: number }): Promise<{ us: number; connections: number; check: Check }> {
  const { loop, check } = await connectThroughPath(pair, WALK_PORT, limits);
  return { us: (loop.seconds * 1e6) / Math.max(1, loop.connections), connections: loop.connections, check };
}

/** The two walks of one flavour and mode: out of `walker` to the plain pod, and from the plain pod into `walker`. */
async function walksOf(agents: AgentPool, walker: Pod, plain: Pod, row: RuleScaleRow, capture: TproxyCaptureConfig): Promise<{ out: Walk; in: Walk }> {
  const ids = sidecarRuleIds(row.flavour, capture);
  const lastCidr = capture.excludedOutboundCidrs.at(-1)!;
  const lastPort = capture.excludedInboundPorts.at(-1)!;
  const inboundTable = row.mode === 'REDIRECT' ? ids.tables.nat : ids.tables.mangle;
  await agents.listen(walker, walker.ip, lastPort);
  return {
    out: {
      from: walker,
      to: { ip: plain.ip, port: WALK_PORT },
      rulesPod: walker,
      flavour: row.flavour,
      endRule: { name: `${ids.chains.output} RETURN ${lastCidr}`, packets: (s) => packetsOfRule(rulesIn(s, ids.tables.nat), ids.chains.output, ids.rules.excludedOutboundCidr(lastCidr)) },
    },
    in: {
      from: plain,
      to: { ip: walker.ip, port: lastPort },
      rulesPod: walker,
      flavour: row.flavour,
      endRule: { name: `${ids.chains.inbound} RETURN :${lastPort}`, packets: (s) => packetsOfRule(rulesIn(s, inboundTable), ids.chains.inbound, ids.rules.excludedInbound(lastPort)) },
    },
  };
}

function descriptorOf(flavour: RulesFlavour, mode: SidecarMode, capture: TproxyCaptureConfig): BackendDescriptor {
  return (mode === 'REDIRECT' ? redirectBackendOf(flavour, capture) : tproxyBackendOf(flavour, capture)) as BackendDescriptor;
}

/** A captured client/server pair per row, with the scaled rules, the app listening and the path proven by a warm-up. */
async function buildPairs(lab: Lab, rows: readonly RuleScaleRow[], capture: TproxyCaptureConfig): Promise<CapturedPair[]> {
  const pairs: CapturedPair[] = [];
  for (const [i, row] of rows.entries()) {
    const client = lab.pod(`c${i}`);
    const server = lab.pod(`s${i}`);
    const descriptor = descriptorOf(row.flavour, row.mode, capture);
    const pair = await preparePair(lab, descriptor, await descriptor.install({ lab, captured: [client, server] }), client, server);
    await pair.agents.listen(server, server.ip, WALK_PORT);
    const warm = await connectThroughPath(pair, WALK_PORT, { count: 50, maxSeconds: 5 });
    if (!warm.check.ok) throw new Error(`${descriptor.name} with ${row.size} excluded entries per list: the warm-up left the path: ${warm.check.detail}`);
    pairs.push(pair);
  }
  return pairs;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const perConnection = (): PerConnection => ({ us: [], connections: 0, invalid: [] });

/** One N: one lab with a plain pod, fresh pods for the timed installs (the first of each row then walked), and a captured pair per row. */
async function measureSize(size: number, o: RuleScaleResult['options'], progress: (line: string) => void): Promise<RuleScaleRow[]> {
  const cells = SIDECAR_MODES.flatMap((mode) => RULE_FLAVOURS.map((flavour) => ({ flavour, mode })));
  const rows: RuleScaleRow[] = cells.map(({ flavour, mode }) => ({ flavour, mode, size, rules: 0, installMs: [], walkOut: perConnection(), walkIn: perConnection(), throughSidecars: perConnection() }));
  const installPods = range(rows.length * o.installRepeats).map((i) => `i${i}`);
  const pairPods = range(rows.length).flatMap((i) => [`c${i}`, `s${i}`]);
  return withLab({ nodes: [{ name: 'node-a', pods: ['plain', ...pairPods, ...installPods] }] }, async (lab) => {
    const plain = lab.pod('plain');
    const capture = scaledCapture(size, `${plain.ip}/32`);
    const walkers = new Map<RuleScaleRow, Pod>();
    let fresh = 0;
    for (let repeat = 0; repeat < o.installRepeats; repeat++) {
      for (const k of range(rows.length)) {
        const row = rows[(k + repeat) % rows.length]!;
        const pod = lab.pod(installPods[fresh++]!);
        const installed = await timeInstall(pod, row.flavour, row.mode, capture);
        row.installMs.push(installed.ms);
        row.rules = installed.rules;
        if (!walkers.has(row)) walkers.set(row, pod);
      }
    }
    const agents = new AgentPool(lab);
    await agents.listen(plain, plain.ip, WALK_PORT);
    const walks = await Promise.all(rows.map((row) => walksOf(agents, walkers.get(row)!, plain, row, capture)));
    const pairs = await buildPairs(lab, rows, capture);
    const limits = { count: o.roundConnections, maxSeconds: o.roundSeconds };
    // Warm-up, not measured: each walk once, proven, so that a broken walk fails before the rounds.
    for (const walk of walks) {
      for (const w of [walk.out, walk.in]) {
        const warm = await walkOnce(lab, w, { count: 50, maxSeconds: 5 });
        if (!warm.check.ok) throw new Error(`the walk to ${w.to.ip}:${w.to.port} with ${size} excluded entries per list did not reach ${w.endRule.name}: ${warm.check.detail}`);
      }
    }
    for (let round = 1; round <= o.rounds; round++) {
      for (const k of range(rows.length)) {
        const i = (k + round) % rows.length;
        const row = rows[i]!;
        record(row.walkOut, round, await failedAsInvalid(() => walkOnce(lab, walks[i]!.out, limits)));
        record(row.walkIn, round, await failedAsInvalid(() => walkOnce(lab, walks[i]!.in, limits)));
        record(row.throughSidecars, round, await failedAsInvalid(() => throughPair(pairs[i]!, limits)));
      }
    }
    for (const row of rows) {
      const us = (p: PerConnection) => `${median(p.us).toFixed(0)} µs${p.invalid.length ? ` (${p.invalid.length} invalid)` : ''}`;
      progress(`N=${size} ${row.mode} ${row.flavour}: ${row.rules} rules, install ${median(row.installMs).toFixed(1)} ms; connect out ${us(row.walkOut)}, connect in ${us(row.walkIn)}; through sidecars ${us(row.throughSidecars)} per connection`);
    }
    return rows;
  });
}

/** Runs every N in turn, each in its own lab, torn down before the next. */
export async function runRuleScale(options: RuleScaleOptions = {}): Promise<RuleScaleResult> {
  const progress = options.progress ?? ((line: string) => process.stderr.write(line + '\n'));
  const o: RuleScaleResult['options'] = {
    sizes: options.sizes ?? [0, ...RULE_SCALE_SIZES],
    rounds: Math.min(options.rounds ?? 7, 50),
    installRepeats: Math.min(options.installRepeats ?? 5, 20),
    roundConnections: Math.min(options.roundConnections ?? 1000, 5000),
    roundSeconds: Math.min(options.roundSeconds ?? 1, 10),
  };
  for (const size of o.sizes) scaledCapture(size, '198.18.0.1/32');
  const startedAt = new Date().toISOString();
  const rows: RuleScaleRow[] = [];
  for (const size of o.sizes) rows.push(...(await measureSize(size, o, progress)));
  return { kernel: release(), startedAt, options: o, rows };
}

const fmt = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
/** "median [min–max]", and how many rounds were invalid. */
const cell = (values: readonly number[], digits: number, invalid = 0) =>
  `${values.length ? `${fmt(median(values), digits)} [${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)}]` : 'n/a'}${invalid ? ` (${invalid} invalid)` : ''}`;

/** The result as a Markdown table: one line per mode and N, iptables beside nftables for each cost. */
export function ruleScaleTable(result: RuleScaleResult): string[] {
  const lines = [
    '| mode | N | rules | install ms, iptables-restore | install ms, nft -f | connect out µs, ipt | connect out µs, nft | connect in µs, ipt | connect in µs, nft | µs/conn via sidecars, ipt | µs/conn via sidecars, nft |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const mode of SIDECAR_MODES) {
    for (const size of result.options.sizes) {
      const ipt = result.rows.find((r) => r.mode === mode && r.size === size && r.flavour === 'iptables');
      const nft = result.rows.find((r) => r.mode === mode && r.size === size && r.flavour === 'nftables');
      if (!ipt || !nft) continue;
      const pc = (p: PerConnection) => cell(p.us, 0, p.invalid.length);
      lines.push(
        `| ${mode} | ${size} | ${ipt.rules === nft.rules ? ipt.rules : `${ipt.rules} / ${nft.rules}`} | ${cell(ipt.installMs, 0)} | ${cell(nft.installMs, 0)} | ` +
          `${pc(ipt.walkOut)} | ${pc(nft.walkOut)} | ${pc(ipt.walkIn)} | ${pc(nft.walkIn)} | ${pc(ipt.throughSidecars)} | ${pc(nft.throughSidecars)} |`,
      );
    }
  }
  return lines;
}

/** Rounds, over every row and measurement, whose counters did not account for every connection. */
export function invalidRounds(result: RuleScaleResult): number {
  return result.rows.reduce((sum, r) => sum + r.walkOut.invalid.length + r.walkIn.invalid.length + r.throughSidecars.invalid.length, 0);
}
