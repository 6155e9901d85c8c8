// conntrack entries as evidence: whether a connection was NATed (REDIRECT rewrites the reply tuple's
// source, TPROXY does not) and how many entries traffic created.
import { listConntrack } from '../host/conntrack.ts';

export interface ConntrackEntry {
  state: string;
  original: { src: string; dst: string; sport: number; dport: number };
  reply: { src: string; dst: string; sport: number; dport: number };
  /** True when the reply tuple is not the mirror of the original: the kernel NATed it. */
  nat: boolean;
  raw: string;
}

/** Parses `conntrack -L` lines: "tcp 6 431999 ESTABLISHED src=.. dst=.. sport=.. dport=.. src=.. ...". */
export function parseConntrack(text: string): ConntrackEntry[] {
  const entries: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('tcp')) continue;
    const values = (key: string) => [...line.matchAll(new RegExp(`\\b${key}=(\\S+)`, 'g'))].map((m) => m[1] ?? '');
    const [src, rsrc] = values('src');
    const [dst, rdst] = values('dst');
    const [sport, rsport] = values('sport').map(Number);
    const [dport, rdport] = values('dport').map(Number);
    if (!src || !dst || !rsrc || !rdst) continue;
    const original = { src, dst, sport: sport ?? 0, dport: dport ?? 0 };
    const reply = { src: rsrc, dst: rdst, sport: rsport ?? 0, dport: rdport ?? 0 };
    const nat = reply.src !== original.dst || reply.sport !== original.dport || reply.dst !== original.src || reply.dport !== original.sport;
    entries.push({ state: /\b(ESTABLISHED|TIME_WAIT|CLOSE|SYN_SENT|SYN_RECV|FIN_WAIT|CLOSE_WAIT|LAST_ACK)\b/.exec(line)?.[1] ?? '', original, reply, nat, raw: line.trim() });
  }
  return entries;
}

export async function readConntrack(netns: string): Promise<ConntrackEntry[]> {
  return parseConntrack(await listConntrack(netns));
}
