// What one kernel-path trace saw, as plain serializable data, and the parser that builds it from the
// loader's output (bpf/tools/kpath-trace.c prints one JSON object per line).
import { FUNCTION_POINT_BASE, TRACEPOINTS, flagNames, functionName, tracepointName, type FlagName, type PointName } from './points.ts';

export const KERNEL_PATH_FORMAT = 'lab-kernel-path/1';

/** What a traced namespace is to the path: the expectations name roles, not namespaces. */
export const NETNS_ROLES = ['client', 'server', 'client-node', 'server-node', 'client-proxy', 'server-proxy'] as const;
export type NetnsRole = (typeof NETNS_ROLES)[number];

export interface TracedNamespace {
  /** The lab's name for it: a pod or node name (client, server, node-a, ztunnel-1). */
  name: string;
  roles: NetnsRole[];
  inode: number;
}

export interface PointStatus {
  point: PointName;
  available: boolean;
  /** Why the point could not be traced on this kernel (absent, inlined, refused). */
  reason?: string;
}

export interface PointCount {
  netns: string;
  point: PointName;
  flags: FlagName[];
  count: number;
}

/** One step of the trail, in time order. Addresses are `ip:port`. */
export interface TrailEvent {
  /** Microseconds since the trail's first event. */
  us: number;
  netns: string;
  point: PointName;
  flags: FlagName[];
  dev?: string;
  /** The packet's 4-tuple (or the route lookup's flow), with TCP flags such as S, SA, PA, F. */
  packet?: { from: string; to: string; tcp?: string; payload: number; mark?: number };
  /** The owning socket's own 4-tuple: local then remote. */
  socket?: { local: string; remote: string };
  /** Point-specific: the route table, a state change, bytes moved, a drop reason. */
  detail?: string;
}

export interface KernelPathEvidence {
  format: typeof KERNEL_PATH_FORMAT;
  /** `uname -r` of the kernel traced. */
  kernel: string;
  namespaces: TracedNamespace[];
  /** Every point asked for, available or not: nothing is dropped silently. */
  points: PointStatus[];
  counts: PointCount[];
  trail: TrailEvent[];
  /** The trail keeps at most this many events (0: counts only); `trailFull` says the bound was reached. */
  trailLimit: number;
  trailFull: boolean;
  /** Events the ring buffer could not take. */
  trailLost: number;
  /**
   * Milliseconds: what the trace adds to a run is startMs (build check, loader start, load and
   * attach) plus stopMs (detach, print, parse); setupMs is the loader's own share of startMs, and
   * tracedMs how long it counted.
   */
  startMs: number;
  setupMs: number;
  tracedMs: number;
  stopMs: number;
}

/** The loader's lines, as bpf/tools/kpath-trace.c prints them. */
type LoaderLine =
  | { type: 'point'; point: number; name: string; kind: 'tracepoint' | 'function'; available: boolean; reason?: string }
  | { type: 'ready'; setup_ms: number }
  | {
      type: 'event';
      ts_ns: number;
      netns: number;
      point: number;
      flags: number;
      ifindex: number;
      dev: string;
      len: number;
      aux: number;
      mark: number;
      saddr: string;
      sport: number;
      daddr: string;
      dport: number;
      sk_saddr: string;
      sk_sport: number;
      sk_daddr: string;
      sk_dport: number;
      tcp_flags: number;
      /** kfree_skb: the drop reason's name, from the kernel's BTF. */
      drop_reason?: string;
    }
  | { type: 'count'; netns: number; point: number; flags: number; count: number }
  | { type: 'end'; trail_emitted: number; trail_lost: number };
type EventLine = Extract<LoaderLine, { type: 'event' }>;

/** include/net/tcp_states.h */
const TCP_STATES = ['', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV'];

export function tcpFlagString(bits: number): string {
  const names: Array<[number, string]> = [
    [0x02, 'S'],
    [0x01, 'F'],
    [0x04, 'R'],
    [0x08, 'P'],
    [0x10, 'A'],
  ];
  return names.map(([bit, name]) => (bits & bit ? name : '')).join('') || '.';
}

function pointNameOf(point: number, functions: readonly string[]): PointName {
  if (point >= FUNCTION_POINT_BASE) return functionName(functions[point - FUNCTION_POINT_BASE] ?? `#${point}`);
  return tracepointName((TRACEPOINTS as Record<number, string>)[point] ?? `#${point}`);
}

function trailEvent(line: EventLine, netnsName: (inode: number) => string, functions: readonly string[], firstNs: number): TrailEvent {
  const point = pointNameOf(line.point, functions);
  const flags = flagNames(line.flags);
  const event: TrailEvent = { us: Math.round((line.ts_ns - firstNs) / 1000), netns: netnsName(line.netns), point, flags };
  if (line.dev) event.dev = line.dev;
  const hasSocket = line.sk_sport !== 0 || line.sk_saddr !== '0.0.0.0';
  if (hasSocket) event.socket = { local: `${line.sk_saddr}:${line.sk_sport}`, remote: `${line.sk_daddr}:${line.sk_dport}` };
  switch (point) {
    case 'tp:fib_table_lookup':
      event.packet = { from: `${line.saddr}:${line.sport}`, to: `${line.daddr}:${line.dport}`, payload: 0, ...(line.mark ? { mark: line.mark } : {}) };
      event.detail = `table ${line.aux}`;
      break;
    case 'tp:inet_sock_set_state':
      event.detail = `${TCP_STATES[line.aux >> 8] ?? line.aux >> 8} -> ${TCP_STATES[line.aux & 0xff] ?? line.aux & 0xff}`;
      break;
    case 'tp:sock_send_length':
    case 'tp:sock_recv_length':
      event.detail = line.aux ? `error ${line.aux}` : `${line.len} B`;
      break;
    case 'tp:skb_copy_datagram_iovec':
      event.detail = `${line.len} B`;
      break;
    case 'tp:kfree_skb':
      event.detail = `drop ${line.drop_reason?.replace(/^SKB_DROP_REASON_/, '') ?? `reason ${line.aux}`}`;
      break;
  }
  if (line.saddr !== '0.0.0.0' && point !== 'tp:fib_table_lookup') {
    event.packet = { from: `${line.saddr}:${line.sport}`, to: `${line.daddr}:${line.dport}`, tcp: tcpFlagString(line.tcp_flags), payload: line.len, ...(line.mark ? { mark: line.mark } : {}) };
  }
  return event;
}

/** Builds the evidence from the loader's output lines. Lines that are not JSON are ignored. */
export function parseTracerOutput(
  lines: readonly string[],
  context: { kernel: string; namespaces: readonly TracedNamespace[]; functions: readonly string[]; trailLimit: number; startMs?: number; tracedMs: number; stopMs?: number },
): KernelPathEvidence {
  const parsed = lines.flatMap((line): LoaderLine[] => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as LoaderLine];
    } catch {
      return [];
    }
  });
  const byInode = new Map(context.namespaces.map((n) => [n.inode, n.name]));
  const netnsName = (inode: number) => byInode.get(inode) ?? `netns:${inode}`;
  const points: PointStatus[] = [];
  const counts: PointCount[] = [];
  const events: EventLine[] = [];
  let setupMs = 0;
  let end: Extract<LoaderLine, { type: 'end' }> | undefined;
  for (const line of parsed) {
    if (line.type === 'point') {
      const point = pointNameOf(line.point, context.functions);
      points.push({ point, available: line.available, ...(line.reason ? { reason: line.reason } : {}) });
    } else if (line.type === 'ready') setupMs = line.setup_ms;
    else if (line.type === 'event') events.push(line);
    else if (line.type === 'count') counts.push({ netns: netnsName(line.netns), point: pointNameOf(line.point, context.functions), flags: flagNames(line.flags), count: line.count });
    else end = line;
  }
  if (!end) throw new Error('the kernel-path tracer ended without its summary line (it was killed, or crashed)');
  events.sort((a, b) => a.ts_ns - b.ts_ns);
  const firstNs = events[0]?.ts_ns ?? 0;
  counts.sort((a, b) => a.netns.localeCompare(b.netns) || a.point.localeCompare(b.point) || a.flags.join().localeCompare(b.flags.join()));
  return {
    format: KERNEL_PATH_FORMAT,
    kernel: context.kernel,
    namespaces: [...context.namespaces],
    points,
    counts,
    trail: events.map((e) => trailEvent(e, netnsName, context.functions, firstNs)),
    trailLimit: context.trailLimit,
    trailFull: context.trailLimit > 0 && end.trail_emitted >= context.trailLimit,
    trailLost: end.trail_lost,
    startMs: context.startMs ?? 0,
    setupMs,
    tracedMs: context.tracedMs,
    stopMs: context.stopMs ?? 0,
  };
}
