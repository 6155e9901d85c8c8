// conntrack entries as evidence: whether a connection was NATed (REDIRECT rewrites the reply tuple's
// source, TPROXY does not) and how many entries traffic created.
import { countConntrack, listConntrack } from '../host/conntrack.ts';
import type { Lab } from '../topology/lab.ts';

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

/** Entries in the conntrack table of every namespace of a lab (nodes and pods), by place name. */
export async function conntrackCensus(lab: Lab): Promise<Map<string, number>> {
  const places = [...lab.nodes.values(), ...lab.pods.values()];
  const counts = await Promise.all(places.map((place) => countConntrack(place.netns)));
  return new Map(places.map((place, i) => [place.name, counts[i] ?? 0]));
}

/** What a batch of short connections cost in conntrack entries, across all of a lab's namespaces. */
export interface ConntrackCost {
  /** Connections the driver completed. */
  connections: number;
  /** Entries created in all namespaces together. */
  entriesCreated: number;
  /** entriesCreated scaled to 1000 connections (the figure `lab bench` reports). */
  entriesPer1000: number;
  /** Entries created per namespace (node and pod names); namespaces without conntrack show 0. */
  byPlace: Record<string, number>;
}

/**
 * Counts the conntrack entries `drive` creates: the table of every lab namespace before and after.
 * A closed TCP connection stays in the table in TIME_WAIT for 120 s (nf_conntrack_tcp_timeout_time_wait),
 * so for a driver that closes its connections cleanly and runs for well under two minutes the
 * difference is the number of entries created. Run it when nothing else in the lab makes connections.
 */
export async function measureConntrackCost(lab: Lab, drive: () => Promise<{ connections: number }>): Promise<ConntrackCost> {
  const before = await conntrackCensus(lab);
  const { connections } = await drive();
  const after = await conntrackCensus(lab);
  const byPlace = Object.fromEntries([...after].map(([place, count]) => [place, Math.max(0, count - (before.get(place) ?? 0))]));
  const entriesCreated = Object.values(byPlace).reduce((a, b) => a + b, 0);
  return { connections, entriesCreated, entriesPer1000: connections > 0 ? Math.round((entriesCreated * 1000 * 10) / connections) / 10 : 0, byPlace };
}
