// The lab's tagged trace_pipe lines in a form a person reads at a glance: the sockmap programs'
// events (ESTABLISHED with both ends' ports, connect rewrites, closes, misses) and the tc programs'
// redirect and steering lines, each after its kernel time, run and task. Lines of programs this file
// does not know are shown as the program wrote them.
import { formatEndpoint } from '../backends/sockmap/layout.ts';
import { parseSockmapEvent, type SockmapTraceEvent } from '../backends/sockmap/trace-events.ts';
import type { TraceLine } from '../evidence/trace-pipe.ts';

/** A trace line of one run, its tag taken off. */
export interface FollowedLine extends TraceLine {
  runId: string;
}

// "lab-ab1cd sockmap established ..."
const TAGGED = /^lab-([a-z0-9]+) (.*)$/;

/** Splits a line of any run (parseAnyRunTraceLine's, tag in front) into its run and its message. */
export function followedLine(line: TraceLine, runId?: string): FollowedLine | undefined {
  if (runId !== undefined) return { ...line, runId };
  const match = TAGGED.exec(line.message);
  return match ? { ...line, runId: match[1]!, message: match[2]! } : undefined;
}

/** TCP states by number, as include/net/tcp_states.h numbers them. */
const TCP_STATES = ['', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV'];
const tcpState = (state: number) => (TCP_STATES[state] ? `${state} ${TCP_STATES[state]}` : String(state));

function describeSockmap(event: SockmapTraceEvent): string {
  switch (event.event) {
    case 'established':
      return event.key
        ? `sockmap ESTABLISHED ${event.side.padEnd(7)} ${formatEndpoint(event.key.local)} -> ${formatEndpoint(event.key.remote)} (${event.family}, ${event.action})`
        : `sockmap ESTABLISHED ${event.side.padEnd(7)} ${[event.family, event.action].filter(Boolean).join(', ')}`.trimEnd();
    case 'connect':
      return `sockmap connect     uid ${event.uid} to ${formatEndpoint(event.dst)}: ${event.action}${event.to ? ` -> ${formatEndpoint(event.to)}` : ''}`;
    case 'connect6':
      return `sockmap connect6    port ${event.port}: ${event.action}`;
    case 'closing':
      return `sockmap closing     ${formatEndpoint(event.key.local)} -> ${formatEndpoint(event.key.remote)} (state ${tcpState(event.state)})`;
    case 'msg-miss':
      return `sockmap sk_msg miss ${formatEndpoint(event.key.local)} -> ${formatEndpoint(event.key.remote)} (${event.size} B not redirected)`;
    case 'original-dst':
      return `sockmap SO_ORIGINAL_DST for ${formatEndpoint(event.local)}: ${event.action}${event.original ? ` -> ${formatEndpoint(event.original)}` : ''}`;
  }
}

// "tc outbound 198.18.1.10->198.18.2.10:8080 if=5", "tc assign ... listener=15001", "tc mark ... mark=1337"
const TC_LINE = /^tc (\S+) (\d+\.\d+\.\d+\.\d+)->(\d+\.\d+\.\d+\.\d+:\d+)(?: (.*))?$/;
/** What each tc line says happened to a connection's first packet (bpf/tc/tc_redirect.bpf.c). */
const TC_WHAT: Readonly<Record<string, string>> = {
  outbound: 'from a captured pod, redirected to the node proxy',
  inbound: 'to a captured pod, redirected to the node proxy',
  'proxy-to-pod': 'from the node proxy, redirected to the pod',
  assign: 'steer to proxy listener (bpf_sk_assign)',
  mark: 'steer to proxy listener (mark)',
};

function describeTc(message: string): string | undefined {
  const match = TC_LINE.exec(message);
  if (!match) return undefined;
  const [, what, source, destination, rest] = match as unknown as [string, string, string, string, string | undefined];
  return `tc ${source} -> ${destination}: ${TC_WHAT[what] ?? what}${rest ? ` (${rest})` : ''}`;
}

/** The message in readable form. */
export function describeTraceMessage(line: TraceLine): string {
  const sockmap = parseSockmapEvent(line);
  if (sockmap) return describeSockmap(sockmap);
  return describeTc(line.message) ?? line.message;
}

/** One line as trace.mjs prints it: kernel time, run, task, then what happened. */
export function formatFollowedLine(line: FollowedLine): string {
  return `${line.timestamp.toFixed(6)}  run ${line.runId}  ${line.task.padEnd(18)}  ${describeTraceMessage(line)}`;
}
