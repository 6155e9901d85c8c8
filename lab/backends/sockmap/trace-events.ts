// The sockmap programs' trace lines, typed. Each line (after the run tag) is
// "sockmap <event> key=value ...", printed by bpf/sockmap/sockmap.bpf.c.
import type { TraceLine } from '../../evidence/trace-pipe.ts';
import type { Endpoint, SockKey } from './layout.ts';

export type SockmapTraceEvent =
  | { event: 'connect'; at: number; uid: number; dst: Endpoint; action: string; to?: Endpoint }
  | { event: 'connect6'; at: number; action: string; port: number }
  | { event: 'established'; at: number; side: 'active' | 'passive'; family: string; key?: SockKey; action: string }
  | { event: 'closing'; at: number; key: SockKey; state: number }
  | { event: 'msg-miss'; at: number; key: SockKey; size: number }
  | { event: 'original-dst'; at: number; action: string; local: Endpoint; original?: Endpoint };

export function parseEndpoint(text: string | undefined): Endpoint | undefined {
  const match = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(text ?? '');
  return match ? { ip: match[1]!, port: Number(match[2]) } : undefined;
}

function fieldsOf(words: readonly string[]): Record<string, string> {
  return Object.fromEntries(words.filter((w) => w.includes('=')).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
}

/** Parses one tagged trace line; undefined for lines of other programs sharing the tag. */
export function parseSockmapEvent(line: TraceLine): SockmapTraceEvent | undefined {
  const [program, event, ...rest] = line.message.split(/\s+/);
  if (program !== 'sockmap') return undefined;
  const f = fieldsOf(rest);
  const at = line.timestamp;
  const local = parseEndpoint(f.local);
  const remote = parseEndpoint(f.remote);
  switch (event) {
    case 'connect': {
      const dst = parseEndpoint(f.dst);
      const to = parseEndpoint(f.to);
      return dst ? { event, at, uid: Number(f.uid), dst, action: f.action ?? '', ...(to ? { to } : {}) } : undefined;
    }
    case 'connect6':
      return { event, at, action: f.action ?? '', port: Number(f.port) };
    case 'established':
      return { event, at, side: f.side === 'passive' ? 'passive' : 'active', family: f.family ?? '', action: f.action ?? '', ...(local && remote ? { key: { local, remote } } : {}) };
    case 'closing':
      return local && remote ? { event, at, key: { local, remote }, state: Number(f.state) } : undefined;
    case 'msg-miss':
      return local && remote ? { event, at, key: { local, remote }, size: Number(f.size) } : undefined;
    case 'original-dst': {
      const original = parseEndpoint(f.original);
      return local ? { event, at, action: f.action ?? '', local, ...(original ? { original } : {}) } : undefined;
    }
    default:
      return undefined;
  }
}

export function parseSockmapEvents(lines: readonly TraceLine[]): SockmapTraceEvent[] {
  return lines.flatMap((line) => parseSockmapEvent(line) ?? []);
}

export type EventOf<E extends SockmapTraceEvent['event']> = Extract<SockmapTraceEvent, { event: E }>;

export function eventsOf<E extends SockmapTraceEvent['event']>(events: readonly SockmapTraceEvent[], kind: E): Array<EventOf<E>> {
  return events.filter((e): e is EventOf<E> => e.event === kind);
}
