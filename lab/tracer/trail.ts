// The trail of one probe's first request, from the client app's connect to the server app's first
// read of the request, and its one-line-per-step rendering for `lab path`.
import type { KernelPathEvidence, TrailEvent } from './evidence.ts';

export interface RequestTrail {
  /** Every traced event from the start of the trace to the server app's first read, in order. */
  events: TrailEvent[];
  /** Whether the server app's read was found; false means the trail stops where the trace's bound did. */
  reachedServer: boolean;
}

/**
 * The events up to the server app's first read of the request: a read that moved bytes, in the
 * server pod, on a socket bound to the app's port that is not a transparent proxy socket (a TPROXY
 * sidecar's socket carries the app's port too, as its original destination).
 */
export function firstRequestTrail(evidence: KernelPathEvidence, serverPort: number): RequestTrail {
  const serverNamespaces = new Set(evidence.namespaces.filter((n) => n.roles.includes('server')).map((n) => n.name));
  const end = evidence.trail.findIndex(
    (e) =>
      e.point === 'tp:sock_recv_length' &&
      serverNamespaces.has(e.netns) &&
      e.flags.includes('payload') &&
      !e.flags.includes('transparent') &&
      e.socket?.local.endsWith(`:${serverPort}`) === true,
  );
  return end < 0 ? { events: evidence.trail, reachedServer: false } : { events: evidence.trail.slice(0, end + 1), reachedServer: true };
}

/**
 * The steps a reader needs to tell the paths apart: SYN, SYN-ACK and payload packets, sends and
 * reads that moved bytes, policy routes, new connections, drops, and every traced kernel function.
 * Pure ACKs, ordinary route lookups, and reads that found nothing are left to `--all`.
 */
export function isKeyStep(event: TrailEvent): boolean {
  switch (event.point) {
    case 'tp:net_dev_queue':
    case 'tp:netif_receive_skb':
      return event.packet?.tcp?.includes('S') === true || event.flags.includes('payload');
    case 'tp:fib_table_lookup':
      return event.flags.includes('policy-table');
    case 'tp:inet_sock_set_state':
      return event.flags.includes('established');
    case 'tp:sock_send_length':
    case 'tp:sock_recv_length':
      return event.flags.includes('payload');
    case 'tp:sk_data_ready':
      return event.socket !== undefined && !event.socket.remote.endsWith(':0');
    default:
      return true;
  }
}

/** One line per step: time, namespace, point, device, packet, socket, flags. */
export function formatTrail(events: readonly TrailEvent[]): string[] {
  const netnsWidth = Math.max(5, ...events.map((e) => e.netns.length));
  const pointWidth = Math.max(10, ...events.map((e) => e.point.length));
  const devWidth = Math.max(3, ...events.map((e) => (e.dev ?? '').length));
  return events.map((e) => {
    const packet = e.packet ? `${e.packet.from} > ${e.packet.to}${e.packet.tcp ? ` [${e.packet.tcp}]` : ''}${e.packet.payload ? ` ${e.packet.payload} B` : ''}${e.packet.mark ? ` mark 0x${e.packet.mark.toString(16)}` : ''}` : '';
    const socket = e.socket ? `sock ${e.socket.local}>${e.socket.remote}` : '';
    const text = [packet, socket, e.detail ?? ''].filter(Boolean).join('  ');
    const flags = e.flags.length > 0 ? `  {${e.flags.join(',')}}` : '';
    return `${`+${e.us}`.padStart(7)}us  ${e.netns.padEnd(netnsWidth)}  ${e.point.padEnd(pointWidth)}  ${(e.dev ?? '').padEnd(devWidth)}  ${text}${flags}`;
  });
}
