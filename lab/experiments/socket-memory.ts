// Socket memory, as the kernel reports it, sampled in a pod while traffic flows: each TCP socket's
// skmem (`ss -tmi`: r = sk_rmem_alloc, rb = sk_rcvbuf, w = sk_wmem_queued, tb = sk_sndbuf, d = drops),
// the host's TCP memory in pages (/proc/net/sockstat "TCP: ... mem", one figure for the whole
// kernel), and how often TCP entered memory pressure in the pod's namespace (TcpExt
// TCPMemoryPressures). The thresholds the kernel compares that figure with are net.ipv4.tcp_mem.
import { PeriodicSampler } from '../evidence/periodic-sampler.ts';
import type { Lab, Place } from '../topology/lab.ts';

export interface SocketMemory {
  /** ss's state name: ESTAB, CLOSE-WAIT, ... */
  state: string;
  local: string;
  peer: string;
  /** sk_rmem_alloc: bytes queued for the reader (for sk_msg ingress, the psock's ingress queue too). */
  rmemAlloc: number;
  /** sk_rcvbuf. */
  rcvbuf: number;
  /** sk_wmem_queued. */
  wmemQueued: number;
  /** sk_sndbuf. */
  sndbuf: number;
  /** sk_drops. */
  drops: number;
}

export interface MemorySample {
  /** Milliseconds since the sampler started. */
  atMs: number;
  /** The kernel's TCP memory in pages (all namespaces: tcp_mem is one budget for the host). */
  tcpMemPages: number;
  /** TcpExt TCPMemoryPressures in the pod's namespace (a running count). */
  memoryPressures: number;
  sockets: SocketMemory[];
}

const field = (skmem: string, name: string) => Number(new RegExp(`(?:^|,)${name}(\\d+)`).exec(skmem)?.[1] ?? Number.NaN);

/** Parses `ss -tmiHnO` (one socket per line) into each socket's memory figures. */
export function parseSsMemory(text: string): SocketMemory[] {
  return text
    .split('\n')
    .flatMap((line) => {
      const skmem = /skmem:\(([^)]*)\)/.exec(line)?.[1];
      // State, Recv-Q, Send-Q, local, peer; -O puts the details on the same line.
      const [state, , , local, peer] = line.trim().split(/\s+/);
      if (!skmem || !state || !local || !peer) return [];
      return [{ state, local, peer, rmemAlloc: field(skmem, 'r'), rcvbuf: field(skmem, 'rb'), wmemQueued: field(skmem, 'w'), sndbuf: field(skmem, 'tb'), drops: field(skmem, 'd') }];
    })
    .filter((s) => Number.isFinite(s.rmemAlloc));
}

/** The `mem` figure of the TCP line of /proc/net/sockstat (pages). */
export function parseSockstatTcpPages(text: string): number {
  const pages = /^TCP:.*\smem (\d+)/m.exec(text)?.[1];
  if (pages === undefined) throw new Error(`no TCP mem in sockstat: ${text.slice(0, 200)}`);
  return Number(pages);
}

/** One counter of /proc/net/netstat, whose sections are pairs of header and value lines. */
export function parseNetstatCounter(text: string, section: string, name: string): number {
  const lines = text.split('\n').filter((l) => l.startsWith(`${section}: `));
  const [header, values] = lines.map((l) => l.split(' ').slice(1));
  const index = header?.indexOf(name) ?? -1;
  if (index < 0 || values?.[index] === undefined) throw new Error(`no ${section} ${name} in /proc/net/netstat`);
  return Number(values[index]);
}

const SEPARATOR = '--lab-sample--';

/** Takes one sample of a pod's (or node's) sockets and of the host's TCP memory. */
export async function sampleMemory(lab: Lab, place: Place, startedAt: number): Promise<MemorySample> {
  // One command, so that the three readings are of the same moment.
  const script = `ss -tmiHnO; echo ${SEPARATOR}; cat /proc/net/sockstat; echo ${SEPARATOR}; cat /proc/net/netstat`;
  const out = (await lab.exec(place, 'sh', ['-c', script], { inCgroup: false, timeoutMs: 10_000 })).stdout;
  const [ss = '', sockstat = '', netstat = ''] = out.split(`${SEPARATOR}\n`);
  return {
    atMs: Math.round(performance.now() - startedAt),
    tcpMemPages: parseSockstatTcpPages(sockstat),
    memoryPressures: parseNetstatCounter(netstat, 'TcpExt', 'TCPMemoryPressures'),
    sockets: parseSsMemory(ss),
  };
}

/**
 * Samples a place's socket memory every intervalMs until stopped (bounded by maxSamples). Samples
 * run one after another, never overlapping; `lab.own(sampler)` makes the run's teardown stop it.
 */
export class MemorySampler {
  private readonly startedAt = performance.now();
  private readonly readings: PeriodicSampler<MemorySample>;

  private constructor(lab: Lab, place: Place, options: { intervalMs: number; maxSamples: number }) {
    this.readings = PeriodicSampler.start({ ...options, readAtStart: true, read: () => sampleMemory(lab, place, this.startedAt) });
  }

  static start(lab: Lab, place: Place, options: { intervalMs: number; maxSamples: number }): MemorySampler {
    return new MemorySampler(lab, place, options);
  }

  /** One sample now, between the scheduled ones (waits for one in flight first). */
  sampleNow(): Promise<void> {
    return this.readings.sampleNow();
  }

  /** Milliseconds since this sampler started (the samples' time base). */
  now(): number {
    return Math.round(performance.now() - this.startedAt);
  }

  all(): readonly MemorySample[] {
    return this.readings.samples;
  }

  /** Readings that failed (a namespace gone under a sampler not yet stopped), with the first error. */
  get failedReads(): { count: number; first?: string } {
    return this.readings.failedReads;
  }

  stop(): Promise<void> {
    return this.readings.stop();
  }
}
