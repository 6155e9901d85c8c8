// scripts/sockmap-loopback.mjs: the sockmap seed example end to end, by hand. It runs the very
// experiment scenarios/sockmap-loopback.ts runs (measureLoopback: one pod, sockops + sk_msg loaded into
// its cgroup, iperf3 on 127.0.0.1 without and then with the programs, the programs detached at the end),
// in a one-pod lab of its own, and shows what the seed's load.sh / trace.sh / unload.sh showed.
import { LOOPBACK_POD, measureLoopback, type ListenerKind, type LoopbackResult } from '../experiments/sockmap-loopback.ts';
import { iperf3ClientArgs } from '../traffic/iperf3.ts';
import { withLab, type TopologySpec } from '../topology/lab.ts';
import { checkArgs, choiceOption, flag, integerOption, stringOption, type ParsedArgs, type ScriptSpec } from './script-options.ts';
import { UsageError } from '../errors.ts';
import { formatRate } from './iperf3-format.ts';

/** What the experiment needs of the machine (it loads sockmap's programs, not the whole backend). */
export const LOOPBACK_REQUIREMENTS = {
  name: 'sockmap loopback experiment',
  requires: {
    tools: ['bpftool', 'iperf3'],
    features: ['bpf-syscall', 'bpffs', 'tracefs', 'cgroup2', 'sockops', 'sk-msg', 'bpf-enable-stats'],
  },
} as const;

const LISTENER_CHOICES = ['ipv4', 'dual-stack', 'both'] as const;
/** The seed example's server port (`iperf3 -s -p 10000`). */
export const SEED_PORT = 10000;

export const LOOPBACK_SPEC: ScriptSpec = {
  command: 'scripts/sockmap-loopback.mjs',
  summary: [
    'The sockmap seed example end to end: in one lab pod, iperf3 from the pod to itself on 127.0.0.1,',
    "first without programs, then with sockops + sk_msg loaded into the pod's cgroup; shows the four",
    'ESTABLISHED events (two connections, both ends), the throughput with and without, then unloads.',
    'It runs the same library code as scenarios/sockmap-loopback.ts.',
  ].join('\n'),
  options: [
    { name: 'seconds', value: '<n>', help: 'iperf3 -t per run, 1 to 60 (default 10, as the seed)' },
    { name: 'length', value: '<size>', help: 'iperf3 -l (default 64K, as the seed)' },
    { name: 'port', value: '<port>', help: `the iperf3 server's port, 1024 to 65535 (default ${SEED_PORT}, as the seed)` },
    {
      name: 'listener',
      value: '<kind>',
      help: "ipv4 (server bound to 127.0.0.1), dual-stack (iperf3's default [::] server, as the seed's), or both (default, as the scenario)",
    },
    { name: 'json', help: 'print the result as JSON' },
  ],
  notes: ['examples:', '  sudo scripts/sockmap-loopback.mjs', '  sudo scripts/sockmap-loopback.mjs --seconds 3 --listener dual-stack', '', 'exit codes: 0 every check passed; 1 a check failed or the lab failed; 2 bad input; 3 the kernel lacks a feature it needs (named); 130 Ctrl-C (after teardown)'],
};

export interface LoopbackRequest {
  seconds: number;
  length: string;
  listeners: ListenerKind[];
  port: number;
  json: boolean;
}

export function loopbackRequestFrom(args: ParsedArgs, rejected: readonly string[]): LoopbackRequest {
  checkArgs(LOOPBACK_SPEC, args, rejected);
  const length = stringOption(args, 'length') ?? '64K';
  if (!/^\d+[KMG]?$/i.test(length)) throw new UsageError(`--length takes a size in bytes with an optional K, M or G, e.g. 64K, not "${length}"`);
  const listener = choiceOption(args, 'listener', LISTENER_CHOICES, 'both')!;
  return {
    seconds: integerOption(args, 'seconds', { min: 1, max: 60, fallback: 10 }),
    length,
    listeners: listener === 'both' ? ['ipv4', 'dual-stack'] : [listener],
    port: integerOption(args, 'port', { min: 1024, max: 65535, fallback: SEED_PORT }),
    json: flag(args, 'json'),
  };
}

const TOPOLOGY: TopologySpec = { nodes: [{ name: 'node-a', pods: [LOOPBACK_POD] }] };

/** The iperf3 client command each run executes in the pod, as the lab's driver builds it. */
export function loopbackClientCommand(result: LoopbackResult): string {
  return ['iperf3', ...iperf3ClientArgs({ address: '127.0.0.1', port: result.port, seconds: result.seconds, length: result.length })].join(' ');
}

const LISTENER_TEXT: Readonly<Record<ListenerKind, string>> = {
  ipv4: 'server bound to 127.0.0.1',
  'dual-stack': "server on iperf3's default dual-stack [::] socket (accepted sockets are IPv4-mapped IPv6)",
};

/** Builds the one-pod lab, runs the experiment, tears down (Ctrl-C: the lab's signal teardown). */
export function runLoopback(request: LoopbackRequest, runId: string): Promise<LoopbackResult> {
  return withLab(TOPOLOGY, (lab) => measureLoopback(lab, lab.pod(LOOPBACK_POD), { seconds: request.seconds, length: request.length, listeners: request.listeners, port: request.port }), { runId });
}

/** The result for a person: per listener, the commands, the four events, the two rates, the checks' verdict lines. */
export function formatLoopback(result: LoopbackResult): string[] {
  const lines = [`sockmap loopback, one pod "${LOOPBACK_POD}" (run ${result.runId}): ${loopbackClientCommand(result)}`];
  for (const v of result.variants) {
    lines.push(
      '',
      `${v.listener}: ${LISTENER_TEXT[v.listener]}`,
      `  without programs  ${formatRate(v.baseline.bitsPerSecond)}  (${v.baseline.bytesReceived} B received, retransmits ${v.baseline.retransmits ?? 'not reported'})`,
      `  sockops + sk_msg  ${formatRate(v.sockmap.bitsPerSecond)}  (${v.sockmap.bytesReceived} B received, retransmits ${v.sockmap.retransmits ?? 'not reported'})  x${v.speedup.toFixed(2)}`,
      `  ESTABLISHED events on :${result.port} (${v.established.length}; the control and the data connection, both ends):`,
      ...v.established.map((e) => `    ${e.side.padEnd(7)} ${e.family.padEnd(16)} ${e.socket.padEnd(32)} ${e.action}`),
      `  SOCKHASH held ${v.sockhashSeen.length} sockets while iperf3 ran; sk_msg ran ${v.skMsgRuns} times and redirected ${v.counters.msgRedirected} messages (${v.counters.msgRedirectedBytes} B)`,
    );
  }
  lines.push(
    '',
    `unloaded: sockops detached from the run's cgroup (lab-${result.runId}, the pod's parent), sk_msg from the SOCKHASH; the lab's teardown removed the pins`,
  );
  return lines;
}
