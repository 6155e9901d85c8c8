// scripts/iperf3.mjs: iperf3 between two pods through a backend, by hand. The same pieces as `lab
// verify` and the bench: withCapturedPair builds the placement and installs the backend, the pair's
// verify proves the path with the backend's own checks, then the lab's iperf3 driver runs the user's
// test while the backend's path counters are read around it, and the backend's slice judge (where it
// has one) says whether that movement accounts for every connection of the test.
import type { Check } from '../judge/check.ts';
import { PLACEMENTS, type Placement } from '../judge/plan.ts';
import { backendByName, backendNames } from '../backends/index.ts';
import { UsageError } from '../errors.ts';
import { counterDelta } from '../evidence/bpf.ts';
import { runIperf3Detailed, type Iperf3Result } from '../traffic/iperf3.ts';
import { withCapturedPair, type CapturedPair } from '../verify/setup.ts';
import { keptRunAccess, type KeptRun } from './kept-run.ts';
import { checkArgs, choiceOption, flag, integerOption, stringOption, type ParsedArgs, type ScriptSpec } from './script-options.ts';

/** The port of the user's test: apart from the verify plan's 5201, so its evidence is its own. */
export const WRAPPER_IPERF_PORT = 5202;
/** Proxies and programs count a connection as it closes: let the test's last close land first. */
const SETTLE_MS = 300;

/**
 * Why a backend's path cannot carry iperf3's UDP streams. Every interception backend here captures
 * TCP only, so UDP datagrams would go around it and the figures would not be the backend's. A backend
 * missing from this table is refused too, with a reason that says it makes no claim to carry UDP.
 */
const UDP_BYPASS: Readonly<Record<string, string>> = {
  redirect: 'its ISTIO_* nat rules match TCP only (-p tcp) and its HAProxy sidecars carry TCP only',
  tproxy: 'its ISTIO_* nat and mangle TPROXY rules match TCP only (-p tcp) and its HAProxy sidecars carry TCP only',
  sockmap: 'its cgroup connect4 program rewrites TCP sockets only, and sockops/sk_msg act on TCP sockets only',
  tc: 'its app_outbound tc program redirects TCP only (the node proxy serves TCP)',
  'redirect-nft': 'its istio-* nft rules redirect TCP only (meta l4proto tcp) and its HAProxy sidecars carry TCP only',
  'tproxy-nft': 'its istio-* nft redirect and tproxy rules match TCP only (meta l4proto tcp) and its HAProxy sidecars carry TCP only',
  ambient: 'its in-pod ISTIO_* rules redirect TCP only (the lab builds them without DNS capture) to a node proxy that carries TCP only',
};
/** Backends whose path UDP takes like TCP: only the one that captures nothing. */
const UDP_CARRIERS: ReadonlySet<string> = new Set(['none']);

export const IPERF3_SPEC: ScriptSpec = {
  command: 'scripts/iperf3.mjs',
  summary: [
    'Builds a client and a server pod, installs a backend, proves its path with the backend\'s own checks',
    '(as `lab verify` does), then runs iperf3 from the client pod to the server pod through it and prints',
    'the rate, the retransmits, and how the path counters moved during the test.',
  ].join('\n'),
  options: [
    { name: 'backend', value: '<name>', help: `backend to install: ${backendNames().join(', ')} (required)` },
    { name: 'placement', value: '<where>', help: `${PLACEMENTS.join(' or ')} (default same-node)` },
    { name: 'seconds', value: '<n>', help: 'iperf3 -t, 1 to 600 (default 10)' },
    { name: 'length', value: '<size>', help: 'iperf3 -l, the write size, e.g. 64K (default: iperf3\'s own, 128K for TCP)' },
    { name: 'parallel', value: '<n>', help: 'iperf3 -P, streams, 1 to 32 (default 1)' },
    { name: 'reverse', help: 'iperf3 -R: the server sends' },
    { name: 'bidir', help: 'iperf3 --bidir: both directions at once' },
    { name: 'udp', help: 'iperf3 -u; only through a backend that carries UDP (none: the others capture TCP only)' },
    { name: 'bitrate', value: '<rate>', help: 'iperf3 -b, e.g. 1G (UDP defaults to 1M without it)' },
    { name: 'json', help: 'print the result as JSON' },
    { name: 'keep', help: 'leave the topology up at the end, and print how to enter each pod and how to remove it' },
  ],
  notes: [
    'examples:',
    '  sudo scripts/iperf3.mjs --backend redirect --placement cross-node --seconds 5 --parallel 2',
    '  sudo scripts/iperf3.mjs --backend sockmap --reverse --json',
    '  sudo scripts/iperf3.mjs --backend none --udp --bitrate 1G',
    '',
    'exit codes: 0 path proven and the test on it; 1 a check failed or the lab failed; 2 bad input; 3 the kernel lacks a feature it needs (named); 130 Ctrl-C (after teardown)',
  ],
};

export interface IperfRequest {
  backend: string;
  placement: Placement;
  seconds: number;
  length?: string;
  parallel: number;
  reverse: boolean;
  bidir: boolean;
  udp: boolean;
  bitrate?: string;
  json: boolean;
  keep: boolean;
}

const SIZE = /^\d+[KMG]?$/i;

/** The request the command line asks for, or a usage error that says what to type instead. */
export function iperfRequestFrom(args: ParsedArgs, rejected: readonly string[]): IperfRequest {
  checkArgs(IPERF3_SPEC, args, rejected);
  const backend = stringOption(args, 'backend');
  if (backend === undefined) throw new UsageError(`--backend is required: one of ${backendNames().join(', ')}`);
  backendByName(backend); // an unknown name lists the valid ones
  const placement = choiceOption(args, 'placement', PLACEMENTS, 'same-node')!;
  const length = stringOption(args, 'length');
  if (length !== undefined && !SIZE.test(length)) throw new UsageError(`--length takes a size in bytes with an optional K, M or G, e.g. 64K, not "${length}"`);
  const bitrate = stringOption(args, 'bitrate');
  if (bitrate !== undefined && !SIZE.test(bitrate)) throw new UsageError(`--bitrate takes bits per second with an optional K, M or G, e.g. 1G, not "${bitrate}"`);
  const request: IperfRequest = {
    backend,
    placement,
    seconds: integerOption(args, 'seconds', { min: 1, max: 600, fallback: 10 }),
    parallel: integerOption(args, 'parallel', { min: 1, max: 32, fallback: 1 }),
    reverse: flag(args, 'reverse'),
    bidir: flag(args, 'bidir'),
    udp: flag(args, 'udp'),
    json: flag(args, 'json'),
    keep: flag(args, 'keep'),
    ...(length === undefined ? {} : { length }),
    ...(bitrate === undefined ? {} : { bitrate }),
  };
  if (request.reverse && request.bidir) throw new UsageError('--reverse and --bidir exclude each other: --bidir already sends both ways');
  if (request.udp && !UDP_CARRIERS.has(backend)) {
    const why = UDP_BYPASS[backend] ?? 'it does not say that its path carries UDP';
    throw new UsageError(`--udp cannot go through the ${backend} backend: ${why}, so the datagrams would bypass it. Drop --udp, or use --backend none for a UDP baseline`);
  }
  return request;
}

export interface PathEvidence {
  /** How each path counter moved during the test (counters that did not move are left out); absent without counters. */
  moved?: Record<string, number>;
  /** The backend's judgement of that movement, for backends with a slice judge. */
  slice?: Check;
  /** Why there is no judgement. */
  unjudged?: string;
}

export interface IperfReport {
  backend: string;
  placement: Placement;
  runId: string;
  ok: boolean;
  /** The backend's checks after the standard verify plan. */
  verify: { ok: boolean; checks: Check[] };
  /** The user's test: absent when the path was not proven (the test is then not run). */
  iperf3?: Iperf3Result;
  /** The iperf3 client's modes, as run in the client pod. */
  modes: string;
  path?: PathEvidence;
  /** Present with --keep: how to enter the pods, and how to remove the run. */
  kept?: KeptRun;
}

function describeModes(request: IperfRequest): string {
  const parts = [`-t ${request.seconds}`];
  if (request.length) parts.push(`-l ${request.length}`);
  if (request.parallel > 1) parts.push(`-P ${request.parallel}`);
  if (request.reverse) parts.push('-R');
  if (request.bidir) parts.push('--bidir');
  if (request.udp) parts.push('-u');
  if (request.bitrate) parts.push(`-b ${request.bitrate}`);
  return parts.join(' ');
}

async function measureOnPath(pair: CapturedPair, request: IperfRequest): Promise<{ iperf3: Iperf3Result; path: PathEvidence }> {
  const readCounters = pair.installation.pathCounters?.bind(pair.installation);
  const before = readCounters ? await readCounters() : undefined;
  const iperf3 = await runIperf3Detailed(pair.lab, {
    client: pair.client,
    server: pair.server,
    address: pair.server.ip,
    port: WRAPPER_IPERF_PORT,
    seconds: request.seconds,
    parallel: request.parallel,
    reverse: request.reverse,
    bidir: request.bidir,
    udp: request.udp,
    ...(request.length ? { length: request.length } : {}),
    ...(request.bitrate ? { bitrate: request.bitrate } : {}),
  });
  if (!readCounters || !before) return { iperf3, path: { unjudged: `the ${pair.backend} backend has no path counters: its verify checks are the evidence` } };
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const delta = counterDelta(await readCounters(), before);
  const moved = Object.fromEntries(Object.entries(delta).filter(([, value]) => value !== 0));
  const judgeSlice = pair.descriptor.judgeSlice;
  if (!judgeSlice) return { iperf3, path: { moved, unjudged: `the ${pair.backend} backend has no slice judge: the counters are shown, not judged` } };
  // SliceTraffic.bytesSent is the client's payload: under -R the client sends none, so none is claimed.
  const clientBytes = iperf3.sender === 'client' ? { bytesSent: iperf3.bytesSent } : {};
  return { iperf3, path: { moved, slice: judgeSlice(delta, { metric: 'throughput', connections: iperf3.tcpConnections, ...clientBytes }) } };
}

export interface IperfHooks {
  /** Progress for people, one line at a time (stderr). */
  progress(line: string): void;
  /** --keep: given the finished report, ends the process with the run left up (never returns). */
  leaveRunUp(report: IperfReport): Promise<never>;
}

/** The whole wrapper: build, install, prove, measure, and tear down (or, with --keep, leave it up). */
export async function runIperfWrapper(request: IperfRequest, runId: string, hooks: IperfHooks): Promise<IperfReport> {
  return withCapturedPair(
    request.backend,
    request.placement,
    async (pair) => {
      const base = { backend: request.backend, placement: request.placement, runId, modes: describeModes(request) };
      hooks.progress(`proving the ${request.backend} path with its verify checks...`);
      const outcome = await pair.verify();
      let report: IperfReport = { ...base, ok: false, verify: { ok: outcome.ok, checks: outcome.checks } };
      if (outcome.ok) {
        hooks.progress(`path proven; iperf3 ${base.modes} from ${pair.client.name} (${pair.client.ip}) to ${pair.server.name} (${pair.server.ip}):${WRAPPER_IPERF_PORT}...`);
        const { iperf3, path } = await measureOnPath(pair, request);
        report = { ...report, iperf3, path, ok: path.slice?.ok ?? true };
      } else {
        hooks.progress(`the ${request.backend} path is not proven: iperf3 is not run (its figures would not be the backend's)`);
      }
      if (request.keep) return hooks.leaveRunUp({ ...report, kept: keptRunAccess(pair.lab) });
      return report;
    },
    { runId },
  );
}
