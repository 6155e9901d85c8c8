// Why sustained bulk traffic through sockmap can end in ENOMEM: the smallest setups that show it,
// with the kernel's own memory figures sampled while it happens.
//
// Shapes (one pod each, so nothing but the path under study runs):
//   seed     the classic example: sockops + sk_msg only (SOCKMAP_MODE_ALL), iperf3 client and server
//            on 127.0.0.1. The sk_msg program sends every message straight into the peer socket's
//            receive queue (bpf_msg_redirect_hash with BPF_F_INGRESS). The receiver is iperf3.
//   sidecar  the same hop into a sidecar: the mesh programs send the app's connect to its pod IP
//            through its HAProxy sidecar (connect4, sockops, sk_msg), and the sidecar forwards over
//            plain TCP to the app's server in the same pod. The receiver is the sidecar.
//   tcp      the seed's two sockets with no program at all: plain TCP, for comparison.
//
// What the kernel does (net/ipv4/tcp_bpf.c, bpf_tcp_ingress): a redirected message is charged to
// the receiving socket (sk_rmem_alloc) and queued on its psock, checked only against the memory
// accounting of the protocol (net.ipv4.tcp_mem, one budget for the whole host) and of the socket's
// memory cgroup, never against the socket's own receive buffer (sk_rcvbuf). The sender is never
// made to wait for the reader. When the receiver reads more slowly than the sender writes, its
// queue grows without a per-socket bound, until a charge fails: then the sender's sendmsg returns
// ENOMEM and those bytes are dropped. Plain TCP instead stops the sender when the receive window
// (sized by sk_rcvbuf) is full.
//
// Options make the failure come when the study wants it: `freezeReceiver` stops the reader
// (SIGSTOP) for a while, `bitrate` paces the sender so that the queue grows at a known rate, and
// `tcpMemLimitBytes` gives the receiving process a TCP memory budget of its own (cgroup v1, see
// tcp-memcg.ts) so that the limit is reached in seconds whatever the host's RAM.
import { rmSync } from 'node:fs';
import type { BackgroundProcess } from '../host/exec.ts';
import { describeCounters, type SockmapCounters } from '../backends/sockmap/counters.ts';
import { installDatapath } from '../backends/sockmap/datapath.ts';
import { installSockmap } from '../backends/sockmap/sockmap.ts';
import { counterDelta } from '../evidence/bpf.ts';
import { ISTIO_PORTS } from '../istio/ports.ts';
import type { Check } from '../judge/check.ts';
import { withLab, type Lab, type Pod } from '../topology/lab.ts';
import { runIperf3Detailed, type Iperf3Run } from './iperf3-run.ts';
import { readTcpMemLimits, type TcpMemLimits } from '../host/sysctl.ts';
import { MemorySampler, type MemorySample, type SocketMemory } from './socket-memory.ts';
import { createTcpMemcg, type TcpMemcg, type TcpMemcgUsage } from './tcp-memcg.ts';

export const PRESSURE_POD = 'app';
export const PRESSURE_PORT = 5201;
export type PressureShape = 'seed' | 'sidecar' | 'tcp';
export const PRESSURE_SHAPES: readonly PressureShape[] = ['seed', 'sidecar', 'tcp'];

export interface PressureOptions {
  shape: PressureShape;
  seconds: number;
  /** iperf3 -l. */
  length: string;
  bitrate?: string;
  window?: string;
  /** Stop the receiving process (SIGSTOP) from `atSeconds` for `forSeconds` after the client starts. */
  freezeReceiver?: { atSeconds: number; forSeconds: number };
  /** A TCP memory budget for the receiving process (cgroup v1 memory.kmem.tcp.limit_in_bytes). */
  tcpMemLimitBytes?: number;
  sampleMs?: number;
}

/** The receiving socket (the one whose queue grows) in one sample. */
export interface ReceiverMoment {
  atMs: number;
  rmemAlloc: number;
  rcvbuf: number;
  tcpMemPages: number;
  memoryPressures: number;
}

export interface PressureResult {
  runId: string;
  options: PressureOptions;
  iperf: Iperf3Run;
  /** Milliseconds after the client started at which it exited with an error. */
  failedAtMs?: number;
  tcpMem: TcpMemLimits;
  /** The receiving socket at its fullest. */
  peak?: ReceiverMoment;
  /** The last sample taken before the client failed (the queue is freed once it closes). */
  lastBeforeFailure?: ReceiverMoment;
  /** TCPMemoryPressures in the pod's namespace during the run. */
  memoryPressures: number;
  counters?: SockmapCounters;
  memcg?: TcpMemcgUsage;
  /** Bytes the client sent in the iperf3 intervals that lie wholly inside the freeze. */
  sentWhileFrozen?: { bytes: number; seconds: number };
  samples: number;
  checks: Check[];
}

/** The port the receiving process accepted on: where the growing queue is. */
const receiverPort = (shape: PressureShape) => (shape === 'sidecar' ? ISTIO_PORTS.outboundCapture : PRESSURE_PORT);

const portOf = (endpoint: string) => Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));

/** The receiving socket of a sample: accepted on the receiver's port, the one holding the most. */
export function receiverSocket(sample: MemorySample, port: number): SocketMemory | undefined {
  const accepted = sample.sockets.filter((s) => portOf(s.local) === port);
  return accepted.sort((a, b) => b.rmemAlloc - a.rmemAlloc)[0];
}

const momentOf = (sample: MemorySample, socket: SocketMemory, clientStartMs: number): ReceiverMoment => ({
  atMs: sample.atMs - clientStartMs,
  rmemAlloc: socket.rmemAlloc,
  rcvbuf: socket.rcvbuf,
  tcpMemPages: sample.tcpMemPages,
  memoryPressures: sample.memoryPressures,
});

const MiB = 1024 * 1024;
export const formatMiB = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const pagesMiB = (pages: number) => formatMiB(pages * 4096);

interface Shape {
  /** The process whose socket receives the redirected messages. */
  receiverPid(server: BackgroundProcess): number;
  counters?: () => Promise<SockmapCounters>;
  address: string;
  /** Detaches and unpins what the shape installed, so that the next study can load its own. */
  remove(): Promise<void>;
}

/** Unpins an object's directory (the run's teardown would; a second study in the same lab needs it gone now). */
const unpin = (dir: string) => rmSync(dir, { recursive: true, force: true });

async function installShape(lab: Lab, pod: Pod, shape: PressureShape): Promise<Shape> {
  if (shape === 'tcp') return { receiverPid: (server) => server.pid, address: '127.0.0.1', remove: async () => undefined };
  if (shape === 'seed') {
    const datapath = await installDatapath(lab, { mode: 'all', pods: [pod], hooks: ['sockops'] });
    return {
      receiverPid: (server) => server.pid,
      counters: () => datapath.counters(),
      address: '127.0.0.1',
      remove: async () => {
        await datapath.detach();
        unpin(datapath.object.pinDir);
      },
    };
  }
  const installation = await installSockmap(lab, [pod]);
  const sidecar = installation.sidecars.get(pod.name);
  if (!sidecar) throw new Error(`no sidecar started in ${pod.name}`);
  // The app dials its own pod IP: connect4 sends it to the sidecar, which forwards to the server.
  return {
    receiverPid: () => sidecar.pid,
    counters: () => installation.datapath.counters(),
    address: pod.ip,
    remove: async () => {
      await installation.uninstall();
      unpin(installation.datapath.object.pinDir);
    },
  };
}

/** How many studies each lab ran (names the memory cgroups of the second and later ones apart). */
const studiesIn = new WeakMap<Lab, number>();

/** Runs one study in an existing one-pod lab (several may run one after another). */
export async function measurePressure(lab: Lab, pod: Pod, options: PressureOptions): Promise<PressureResult> {
  const shape = await installShape(lab, pod, options.shape);
  const study = (studiesIn.get(lab) ?? 0) + 1;
  studiesIn.set(lab, study);
  const memcg: TcpMemcg | undefined = options.tcpMemLimitBytes === undefined ? undefined : createTcpMemcg(lab, `receiver-${study}`, options.tcpMemLimitBytes);
  const sampler = lab.own(MemorySampler.start(lab, pod, { intervalMs: options.sampleMs ?? 250, maxSamples: Math.ceil(((options.seconds + 30) * 1000) / (options.sampleMs ?? 250)) }));
  const countersBefore = await shape.counters?.();
  const timers: NodeJS.Timeout[] = [];
  let receiverPid = 0;
  let clientStartMs = 0;
  const thaw = () => {
    try {
      if (receiverPid) process.kill(receiverPid, 'SIGCONT');
    } catch {
      /* already gone */
    }
  };
  let iperf: Iperf3Run;
  try {
    iperf = await runIperf3Detailed(lab, {
      client: pod,
      server: pod,
      address: shape.address,
      port: PRESSURE_PORT,
      seconds: options.seconds,
      length: options.length,
      ...(options.bitrate ? { bitrate: options.bitrate } : {}),
      ...(options.window ? { window: options.window } : {}),
      onServerListening: (server) => {
        receiverPid = shape.receiverPid(server);
        // Before the client connects: the socket the receiver accepts is charged to the group.
        memcg?.add(receiverPid);
      },
      onClientStarted: () => {
        clientStartMs = sampler.now();
        const freeze = options.freezeReceiver;
        if (!freeze) return;
        // receiverPid is set before the client starts; 0 would signal this whole process group.
        if (receiverPid <= 0) throw new Error('the receiving process is not known yet');
        const pid = receiverPid;
        timers.push(setTimeout(() => process.kill(pid, 'SIGSTOP'), freeze.atSeconds * 1000));
        timers.push(setTimeout(thaw, (freeze.atSeconds + freeze.forSeconds) * 1000));
      },
      onClientExited: () => {
        for (const timer of timers) clearTimeout(timer);
        thaw();
      },
      // One sample after the client's end, before its sockets close: counters the failure moved.
      beforeServerStop: () => sampler.sampleNow(),
    });
  } finally {
    for (const timer of timers) clearTimeout(timer);
    thaw();
    await sampler.stop();
  }
  const countersAfter = await shape.counters?.();
  await shape.remove();
  const counters = countersBefore && countersAfter ? counterDelta(countersAfter, countersBefore) : undefined;

  const port = receiverPort(options.shape);
  const samples = sampler.all();
  const failedAtMs = iperf.ok ? undefined : Math.round(iperf.wallSeconds * 1000);
  const moments = samples.flatMap((s) => {
    const socket = receiverSocket(s, port);
    return socket ? [momentOf(s, socket, clientStartMs)] : [];
  });
  const peak = [...moments].sort((a, b) => b.rmemAlloc - a.rmemAlloc)[0];
  const lastBeforeFailure = failedAtMs === undefined ? undefined : moments.filter((m) => m.atMs <= failedAtMs).at(-1);
  const pressures = samples.map((s) => s.memoryPressures);
  const freeze = options.freezeReceiver;
  const sentWhileFrozen = freeze
    ? (() => {
        // iperf3 intervals are one second long and its clock starts when its connection is up, a
        // little after ours: count those that lie inside the freeze with a quarter second to spare
        // (the paced client makes up for lost time right after the thaw).
        const inside = iperf.intervals.filter((i) => i.end - 1 >= freeze.atSeconds + 0.25 && i.end <= freeze.atSeconds + freeze.forSeconds - 0.25);
        return { bytes: inside.reduce((sum, i) => sum + i.bytes, 0), seconds: inside.length };
      })()
    : undefined;
  const result: PressureResult = {
    runId: lab.runId,
    options,
    iperf,
    ...(failedAtMs === undefined ? {} : { failedAtMs }),
    tcpMem: readTcpMemLimits(),
    ...(peak ? { peak } : {}),
    ...(lastBeforeFailure ? { lastBeforeFailure } : {}),
    memoryPressures: pressures.length > 0 ? Math.max(...pressures) - Math.min(...pressures) : 0,
    ...(counters ? { counters } : {}),
    ...(memcg ? { memcg: memcg.usage() } : {}),
    ...(sentWhileFrozen ? { sentWhileFrozen } : {}),
    samples: samples.length,
    checks: [],
  };
  result.checks = pressureChecks(result);
  return result;
}

/** One study in a one-pod lab of its own, torn down afterwards. */
export function runPressureStudy(options: PressureOptions): Promise<PressureResult> {
  return withLab({ nodes: [{ name: 'node-a', pods: [PRESSURE_POD] }] }, (lab) => measurePressure(lab, lab.pod(PRESSURE_POD), options));
}

/** How the run ended, in one line: the figures a bench must attach to a failed sockmap run. */
export function describePressure(r: PressureResult): string {
  const o = r.options;
  const how = [`${o.shape}`, `-l ${o.length}`, `${o.seconds} s`, o.bitrate ? `-b ${o.bitrate}` : '', o.window ? `-w ${o.window}` : '', o.tcpMemLimitBytes ? `TCP memcg ${formatMiB(o.tcpMemLimitBytes)}` : ''].filter(Boolean).join(', ');
  const ending = r.iperf.ok ? `completed, ${(r.iperf.bitsPerSecond / 1e9).toFixed(2)} Gbit/s` : `failed after ${((r.failedAtMs ?? 0) / 1000).toFixed(1)} s: ${r.iperf.error}`;
  const moment = (label: string, m: ReceiverMoment | undefined) =>
    m ? `${label} at ${(m.atMs / 1000).toFixed(1)} s: receiver r=${m.rmemAlloc} B (${formatMiB(m.rmemAlloc)}) rb=${m.rcvbuf} B, host TCP ${m.tcpMemPages} pages (${pagesMiB(m.tcpMemPages)})` : `${label}: no sample`;
  const parts = [
    `${how}: ${ending}`,
    `sent ${r.iperf.bytesSent} B, received ${r.iperf.bytesReceived} B`,
    moment('peak', r.peak),
    ...(r.iperf.ok ? [] : [moment('last sample before the failure', r.lastBeforeFailure)]),
    `tcp_mem ${r.tcpMem.min}/${r.tcpMem.pressure}/${r.tcpMem.max} pages (pressure above ${pagesMiB(r.tcpMem.pressure)}), TCPMemoryPressures +${r.memoryPressures}`,
    ...(r.memcg ? [`memcg TCP limit ${r.memcg.limitBytes} B, max usage ${r.memcg.maxUsageBytes} B`] : []),
    ...(r.sentWhileFrozen ? [`sent while the receiver was stopped: ${r.sentWhileFrozen.bytes} B in ${r.sentWhileFrozen.seconds} s`] : []),
    ...(r.counters ? [describeCounters(r.counters, ['msgRedirected', 'msgRedirectedBytes', 'msgMiss', 'sockhashInserted'])] : []),
  ];
  return parts.join('; ');
}

/** A failed run whose cause the kernel's figures show: the receiver could not be charged. */
function failureExplained(r: PressureResult): { ok: boolean; why: string } {
  if (r.iperf.ok) return { ok: true, why: 'iperf3 completed' };
  const enomem = /Cannot allocate memory/.test(r.iperf.error ?? '');
  const m = r.lastBeforeFailure;
  const overBuffer = m !== undefined && m.rmemAlloc > m.rcvbuf;
  const memcgFull = r.memcg !== undefined && r.memcg.maxUsageBytes >= 0.9 * r.memcg.limitBytes;
  // Entering pressure (above tcp_mem's second figure) is counted in the namespace of the socket
  // that crossed it: here, the receiver's.
  const hostPressure = r.memoryPressures > 0;
  const ok = enomem && overBuffer && (memcgFull || hostPressure);
  const why = [
    enomem ? 'ENOMEM' : `not ENOMEM (${r.iperf.error})`,
    m ? `receiver r=${m.rmemAlloc} B against rb=${m.rcvbuf} B at the last sample` : 'no sample of the receiver before the failure',
    r.memcg ? `memcg TCP max usage ${r.memcg.maxUsageBytes} of ${r.memcg.limitBytes} B` : '',
    `TCPMemoryPressures +${r.memoryPressures}`,
  ];
  return { ok, why: why.filter(Boolean).join(', ') };
}

/**
 * What a run shows about the kernel, as checks. Only the questions the options asked are judged: a
 * stopped receiver asks whether the sender was held back (when the run lasted through the stop); a
 * memory budget asks whether its overrun surfaced as ENOMEM; every run must either complete or fail
 * for the reason the memory figures give.
 */
export function pressureChecks(r: PressureResult): Check[] {
  const checks: Check[] = [];
  const o = r.options;
  const detail = describePressure(r);
  if (o.shape !== 'tcp' && r.counters) {
    checks.push({ name: 'sk-msg-redirected', ok: r.counters.msgRedirected > 0, detail: describeCounters(r.counters, ['msgRedirected', 'msgRedirectedBytes', 'msgMiss']) });
  }
  const freeze = o.freezeReceiver;
  const lastedThroughFreeze = freeze !== undefined && (r.iperf.ok || (r.failedAtMs ?? 0) >= (freeze.atSeconds + freeze.forSeconds) * 1000);
  if (lastedThroughFreeze && r.sentWhileFrozen && r.peak) {
    const frozen = r.sentWhileFrozen;
    if (o.shape === 'tcp') {
      // TCP's window stops the sender once the receiver's buffer and its own are full.
      const bound = 4 * MiB;
      checks.push({
        name: 'tcp-holds-the-sender-back',
        ok: frozen.seconds > 0 && frozen.bytes <= bound && r.peak.rmemAlloc <= 2 * r.peak.rcvbuf,
        detail: `${frozen.bytes} B sent in ${frozen.seconds} s of stopped receiver (bound ${bound} B); ${detail}`,
      });
    } else {
      // With sk_msg ingress the sender goes on writing, and the reader's queue outgrows its buffer.
      checks.push({ name: 'sk-msg-ingress-does-not-hold-the-sender-back', ok: frozen.seconds > 0 && frozen.bytes >= 8 * MiB, detail: `${frozen.bytes} B sent in ${frozen.seconds} s of stopped receiver; ${detail}` });
      checks.push({
        name: 'receiver-queue-beyond-its-buffer',
        ok: r.peak.rmemAlloc >= 16 * r.peak.rcvbuf,
        detail: `peak r=${r.peak.rmemAlloc} B against rb=${r.peak.rcvbuf} B (x${(r.peak.rmemAlloc / r.peak.rcvbuf).toFixed(0)})`,
      });
    }
  }
  if (o.tcpMemLimitBytes !== undefined && r.memcg) {
    const enomem = !r.iperf.ok && /Cannot allocate memory/.test(r.iperf.error ?? '');
    const reached = r.memcg.maxUsageBytes >= 0.9 * r.memcg.limitBytes;
    checks.push(
      o.shape === 'tcp'
        ? { name: 'tcp-stays-within-the-budget', ok: r.iperf.ok && !reached, detail }
        : { name: 'enomem-when-the-receiver-cannot-be-charged', ok: enomem && reached, detail },
    );
  }
  const explained = failureExplained(r);
  checks.push({ name: 'outcome-explained', ok: explained.ok, detail: `${explained.why}; ${detail}` });
  return checks;
}

/**
 * The reproducer's two plans. `stopped-receiver` is deterministic and light (the queue it builds is
 * bounded by 100 Mbit/s x 4 s = 50 MB): the receiver is stopped for 4 s while a paced sender writes,
 * which shows whether the sender is held back. `sustained` is the bulk load that ends in ENOMEM: 30 s
 * unpaced at -l 64K and at -l 1K, with whatever TCP memory the host has.
 */
export type PressurePlan = 'stopped-receiver' | 'sustained';

export function pressurePlan(plan: PressurePlan, shape: PressureShape): PressureOptions[] {
  if (plan === 'sustained') return ['64K', '1K'].map((length) => ({ shape, seconds: 30, length }));
  return [{ shape, seconds: 8, length: '64K', bitrate: '100M', window: '256K', freezeReceiver: { atSeconds: 1, forSeconds: 4 } }];
}

/** LAB_SOCKMAP_PRESSURE=sustained selects the 30 s runs (they can take the host into TCP memory pressure). */
export function pressurePlanFromEnv(env: NodeJS.ProcessEnv = process.env): PressurePlan {
  const value = env.LAB_SOCKMAP_PRESSURE ?? 'stopped-receiver';
  if (value !== 'stopped-receiver' && value !== 'sustained') throw new Error(`LAB_SOCKMAP_PRESSURE: "${value}" is not stopped-receiver or sustained`);
  return value;
}

/** A scenario step's checks: the study's own, named after the run. */
export async function pressureStep(lab: Lab, options: PressureOptions): Promise<Check[]> {
  const result = await measurePressure(lab, lab.pod(PRESSURE_POD), options);
  const label = `${options.shape} -l ${options.length}`;
  return result.checks.map((c) => ({ ...c, name: `${label}: ${c.name}` }));
}
