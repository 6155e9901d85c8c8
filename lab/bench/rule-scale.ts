// Rule scale: what a growing list of excluded ports and CIDRs costs a sidecar's capture, with the rules
// written as iptables (iptables-nft on this host) and as Istio's native nftables, in REDIRECT and TPROXY
// mode. Istio's design note for the nftables backend (tools/istio-nftables/pkg/README.md) claims that
// native nftables "overcomes the scalability issues seen with iptables, where performance tends to drop
// as the number of rules grows". The lists that grow the rules are the excluded ones, and both of
// Istio's generators (and the lab's, rule for rule) write one rule per entry, no sets: an excluded
// inbound port is one RETURN in the inbound chain, an excluded outbound port two (TCP and UDP) at the
// head of the output chain, an excluded outbound CIDR one before the final redirect. So all three lists
// grow together, N entries each, and two costs are measured for each N:
//  - install: the time to apply the whole ruleset in a fresh pod (one iptables-restore, or one
//    `nft -f`), the rules read back and counted afterwards;
//  - per connection: connections opened one at a time (connect, one echo, close) through a captured
//    client/server pair, each of which crosses the grown chains several times (client output, the
//    client sidecar's own upstream connection, server inbound, the server sidecar's hand-off over lo;
//    in TPROXY mode every inbound packet, not just the first, walks the excluded inbound ports). Every
//    round is judged with the backend's judgeSlice: a round whose counters do not account for every
//    connection is reported invalid, not averaged.
// The four setups of one N are live side by side in one lab and measured in rotating order, round after
// round, so that drift of the shared machine falls on all of them alike.
import { release } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackendDescriptor, PathCounters } from '../backends/descriptor.ts';
import { redirectBackendOf } from '../backends/redirect/redirect.ts';
import { sidecarRules } from '../backends/redirect/rules.ts';
import { tproxyBackendOf } from '../backends/tproxy/tproxy.ts';
import { ISTIO_PORTS } from '../istio/ports.ts';
import type { RulesFlavour } from '../istio/rule-ids.ts';
import { DEFAULT_TPROXY_CAPTURE, type TproxyCaptureConfig } from '../istio/sidecar-config.ts';
import type { Check } from '../judge/check.ts';
import { VERIFY_PORTS } from '../judge/plan.ts';
import { withLab, type Lab, type Pod } from '../topology/lab.ts';
import type { ConnectLoopResult } from '../traffic/agent-protocol.ts';
import { preparePair, type CapturedPair } from '../verify/setup.ts';

export const RULE_SCALE_SIZES = [10, 100, 1000] as const;
export const RULE_FLAVOURS: readonly RulesFlavour[] = ['iptables', 'nftables'];
export const SIDECAR_MODES = ['REDIRECT', 'TPROXY'] as const;
export type SidecarMode = (typeof SIDECAR_MODES)[number];

/** The largest N: 1000 entries make about 4000 rules per pod, applied in well under a second. */
const MAX_SIZE = 1000;
/** Where the excluded port lists start: above every port the lab's traffic uses, below the ephemeral range. */
const EXCLUDED_INBOUND_BASE = 20_000;
const EXCLUDED_OUTBOUND_BASE = 30_000;
/** How long the sidecars may take to log the last connections of a round (they log on close). */
const SETTLE_MS = 3_000;

export interface RuleScaleOptions {
  /** Entries in each excluded list; 0 is the injector's default pod (3 excluded inbound ports). */
  sizes?: readonly number[];
  /** Measured connection rounds per setup (default 5). */
  rounds?: number;
  /** Installs timed per flavour and mode, each in a fresh pod (default 5). */
  installRepeats?: number;
  /** Limits of one round: at most this many connections, for at most this long (default 1000, 1.5 s). */
  roundConnections?: number;
  roundSeconds?: number;
  progress?: (line: string) => void;
}

export interface RuleScaleRow {
  flavour: RulesFlavour;
  mode: SidecarMode;
  /** Entries in each excluded list. */
  size: number;
  /** Rules in a pod after install, as the flavour's reader counts them (both tables in TPROXY mode). */
  rules: number;
  /** Milliseconds to apply the ruleset in a fresh pod, one per repeat (the command's whole run: spawn, parse, commit). */
  installMs: number[];
  /** Microseconds per connection, one per valid round (round seconds / connections). */
  usPerConnection: number[];
  /** Connections the valid rounds opened. */
  connections: number;
  /** Rounds whose path counters did not account for every connection, with the check's detail. */
  invalid: string[];
}

export interface RuleScaleResult {
  kernel: string;
  startedAt: string;
  options: Required<Omit<RuleScaleOptions, 'progress'>>;
  rows: RuleScaleRow[];
}

const range = (count: number, from = 0) => Array.from({ length: count }, (_, i) => from + i);

/** The injector's capture (with TPROXY's marks) plus `size` entries in each excluded list. */
export function scaledCapture(size: number): TproxyCaptureConfig {
  if (!Number.isInteger(size) || size < 0 || size > MAX_SIZE) throw new Error(`rule scale sizes are 0 to ${MAX_SIZE} entries per list`);
  return {
    ...DEFAULT_TPROXY_CAPTURE,
    excludedInboundPorts: [...ISTIO_PORTS.excludedInbound, ...range(size, EXCLUDED_INBOUND_BASE)],
    excludedOutboundPorts: range(size, EXCLUDED_OUTBOUND_BASE),
    // 10.0.0.0/8 is outside the lab's 198.18.0.0/15: no lab traffic goes there, and none is sent there.
    excludedOutboundCidrs: range(size).map((i) => `10.${i >> 8}.${i & 255}.0/24`),
  };
}

function descriptorOf(flavour: RulesFlavour, mode: SidecarMode, capture: TproxyCaptureConfig): BackendDescriptor {
  return (mode === 'REDIRECT' ? redirectBackendOf(flavour, capture) : tproxyBackendOf(flavour, capture)) as BackendDescriptor;
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
  const started = performance.now();
  await rules.apply(pod.netns, ruleset.text);
  const ms = performance.now() - started;
  const held = (await rules.read(pod.netns)).ruleCount;
  if (held !== ruleset.rules) throw new Error(`${flavour} ${mode}: the kernel holds ${held} rules after install, the ruleset has ${ruleset.rules}`);
  return { ms, rules: held };
}

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
  if (loop.connections === 0) {
    const detail = `no connection succeeded (${loop.errors} errors${loop.firstError ? `, first: ${loop.firstError}` : ''})`;
    return { loop, delta: {}, check: { name: 'slice-on-path', ok: false, detail } };
  }
  const deadline = performance.now() + SETTLE_MS;
  for (;;) {
    const delta = counterDelta(await installation.pathCounters(), before);
    const check = descriptor.judgeSlice(delta, { metric: 'connection-rate', connections: loop.connections });
    if (check.ok || performance.now() >= deadline) return { loop, delta, check };
    await sleep(100);
  }
}

interface Setup {
  row: RuleScaleRow;
  pair: CapturedPair;
}

async function buildSetups(lab: Lab, size: number, capture: TproxyCaptureConfig, rows: RuleScaleRow[]): Promise<Setup[]> {
  const setups: Setup[] = [];
  for (const [i, row] of rows.entries()) {
    const client = lab.pod(`c${i}`);
    const server = lab.pod(`s${i}`);
    const descriptor = descriptorOf(row.flavour, row.mode, capture);
    const installation = await descriptor.install({ lab, captured: [client, server] });
    const pair = await preparePair(lab, descriptor, installation, client, server);
    await pair.agents.listen(server, server.ip, VERIFY_PORTS.app);
    // Warm-up, not measured: the agents' and sidecars' first connections, and proof the path works.
    const warm = await connectThroughPath(pair, VERIFY_PORTS.app, { count: 50, maxSeconds: 5 });
    if (!warm.check.ok) throw new Error(`${descriptor.name} with ${size} excluded entries per list: warm-up left the path: ${warm.check.detail}`);
    setups.push({ row, pair });
  }
  return setups;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** One N: a lab with a captured pair per flavour and mode, plus fresh pods for the timed installs. */
async function measureSize(size: number, o: RuleScaleResult['options'], progress: (line: string) => void): Promise<RuleScaleRow[]> {
  const capture = scaledCapture(size);
  const cells = SIDECAR_MODES.flatMap((mode) => RULE_FLAVOURS.map((flavour) => ({ flavour, mode })));
  const rows: RuleScaleRow[] = cells.map(({ flavour, mode }) => ({ flavour, mode, size, rules: 0, installMs: [], usPerConnection: [], connections: 0, invalid: [] }));
  const installPods = range(cells.length * o.installRepeats).map((i) => `i${i}`);
  const pairPods = range(cells.length).flatMap((i) => [`c${i}`, `s${i}`]);
  return withLab({ nodes: [{ name: 'node-a', pods: [...pairPods, ...installPods] }] }, async (lab) => {
    let fresh = 0;
    for (let repeat = 0; repeat < o.installRepeats; repeat++) {
      for (const k of range(rows.length)) {
        const row = rows[(k + repeat) % rows.length]!;
        const installed = await timeInstall(lab.pod(installPods[fresh++]!), row.flavour, row.mode, capture);
        row.installMs.push(installed.ms);
        row.rules = installed.rules;
      }
    }
    const setups = await buildSetups(lab, size, capture, rows);
    for (let round = 0; round < o.rounds; round++) {
      for (const k of range(setups.length)) {
        const { row, pair } = setups[(k + round) % setups.length]!;
        const { loop, check } = await connectThroughPath(pair, VERIFY_PORTS.app, { count: o.roundConnections, maxSeconds: o.roundSeconds });
        if (check.ok) {
          row.usPerConnection.push((loop.seconds * 1e6) / loop.connections);
          row.connections += loop.connections;
        } else row.invalid.push(`round ${round + 1}: ${check.detail}`);
      }
    }
    for (const row of rows) {
      progress(
        `N=${size} ${row.mode} ${row.flavour}: ${row.rules} rules, install ${median(row.installMs).toFixed(1)} ms, ` +
          `${median(row.usPerConnection).toFixed(0)} µs per connection (${row.usPerConnection.length} valid rounds, ${row.invalid.length} invalid)`,
      );
    }
    return rows;
  });
}

/** Runs every N in turn, each in its own lab, torn down before the next. */
export async function runRuleScale(options: RuleScaleOptions = {}): Promise<RuleScaleResult> {
  const progress = options.progress ?? ((line: string) => process.stderr.write(line + '\n'));
  const o: RuleScaleResult['options'] = {
    sizes: options.sizes ?? [0, ...RULE_SCALE_SIZES],
    rounds: options.rounds ?? 5,
    installRepeats: options.installRepeats ?? 5,
    roundConnections: Math.min(options.roundConnections ?? 1000, 5000),
    roundSeconds: Math.min(options.roundSeconds ?? 1.5, 10),
  };
  for (const size of o.sizes) scaledCapture(size);
  const startedAt = new Date().toISOString();
  const rows: RuleScaleRow[] = [];
  for (const size of o.sizes) rows.push(...(await measureSize(size, o, progress)));
  return { kernel: release(), startedAt, options: o, rows };
}

const fmt = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const spread = (values: readonly number[], digits: number) => (values.length ? `${fmt(median(values), digits)} (${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)})` : 'n/a');

/** The result as a Markdown table: one line per mode and N, iptables beside nftables (median, and min–max). */
export function ruleScaleTable(result: RuleScaleResult): string[] {
  const lines = [
    '| mode | excluded per list | rules ipt / nft | install ms, iptables-restore | install ms, nft -f | µs per connection, iptables | µs per connection, nft | nft / ipt per connection |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const mode of SIDECAR_MODES) {
    for (const size of result.options.sizes) {
      const ipt = result.rows.find((r) => r.mode === mode && r.size === size && r.flavour === 'iptables');
      const nft = result.rows.find((r) => r.mode === mode && r.size === size && r.flavour === 'nftables');
      if (!ipt || !nft) continue;
      const ratio = median(nft.usPerConnection) / median(ipt.usPerConnection);
      const invalid = ipt.invalid.length + nft.invalid.length;
      lines.push(
        `| ${mode} | ${size === 0 ? '0 (injector default)' : size} | ${ipt.rules} / ${nft.rules} | ${spread(ipt.installMs, 1)} | ${spread(nft.installMs, 1)} | ` +
          `${spread(ipt.usPerConnection, 0)} | ${spread(nft.usPerConnection, 0)} | ${fmt(ratio, 2)}${invalid ? ` (${invalid} invalid rounds)` : ''} |`,
      );
    }
  }
  return lines;
}
