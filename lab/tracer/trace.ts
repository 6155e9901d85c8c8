// Starting and stopping a kernel-path trace in a lab: the loader (bpf/tools/kpath-trace) attaches the
// tracer's programs for the lab's namespaces, counts until it is told to stop, then prints what it
// saw. The lab owns the loader: teardown stops it (a trace never stopped ends with the lab), and
// `lab clean` finds it in the ledger.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { BPF_BUILD_DIR, BPF_SOURCE_DIR, builtTool } from '../bpf/objects.ts';
import { spawnLineProcess } from '../host/exec.ts';
import { NETNS_DIR } from '../host/namespaces.ts';
import type { Lab, Place, Pod } from '../topology/lab.ts';
import { parseTracerOutput, type KernelPathEvidence, type NetnsRole, type TracedNamespace } from './evidence.ts';
import { MAX_FUNCTIONS } from './points.ts';

export interface KernelFunction {
  name: string;
  /**
   * Which argument leads to the namespace, when the function's BTF prototype does not say (a BPF
   * helper's arguments are plain u64). By default the first sk_buff/sock/net/nf_conn/nft_pktinfo pointer.
   */
  argument?: { index: number; kind: 'skb' | 'sock' | 'net' | 'nf_conn' | 'nft_pktinfo' };
}

export interface KernelPathTraceOptions {
  /** Kernel functions to count with fentry, besides the tracepoints that are always attached. */
  functions?: ReadonlyArray<KernelFunction | string>;
  /** The namespaces to count in, with what each is to the path; events anywhere else are ignored. */
  netns: ReadonlyArray<{ place: Place; roles?: readonly NetnsRole[] }>;
  /** Keep the first this many events in order (the trail); 0 keeps counts only. */
  trail?: number;
}

export interface KernelPathTrace {
  /** Stops counting and returns what was seen. Safe to call more than once. */
  stop(): Promise<KernelPathEvidence>;
}

const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 10_000;

/** The inode number of a lab namespace: the identity the kernel's struct net carries (ns.inum). */
export function netnsInode(place: Place): number {
  return Number(statSync(join(NETNS_DIR, place.netns)).ino);
}

const TRACER_OBJECT = join(BPF_BUILD_DIR, 'kpath.bpf.o');
const TRACER_LOADER = join(BPF_BUILD_DIR, 'kpath-trace');

/**
 * The loader and the object, built. The build script checks all of bpf/ (0.16 s here with nothing to
 * rebuild); when both outputs are newer than the tracer's own sources (bpf/tracer/, and
 * bpf/tools/kpath-trace.c: they include nothing else of bpf/) it is not run.
 */
async function tracerBuilt(): Promise<void> {
  const sources = [...readdirSync(join(BPF_SOURCE_DIR, 'tracer')).map((f) => join(BPF_SOURCE_DIR, 'tracer', f)), join(BPF_SOURCE_DIR, 'tools', 'kpath-trace.c')];
  const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  const fresh = [TRACER_OBJECT, TRACER_LOADER].every((f) => existsSync(f) && statSync(f).mtimeMs > newest);
  if (!fresh) await builtTool('kpath-trace');
}

function functionArgument(fn: KernelFunction | string): string {
  if (typeof fn === 'string') return fn;
  return fn.argument ? `${fn.name}:${fn.argument.index}:${fn.argument.kind}` : fn.name;
}

/**
 * The namespaces of a client/server path with their roles: the two pods, their nodes, and the node
 * proxies where the backend has them (tc); `others` are traced too, without a role.
 */
export function pathNamespaces(places: { client: Pod; server: Pod; clientProxy?: Place; serverProxy?: Place; others?: readonly Place[] }): KernelPathTraceOptions['netns'] {
  const { client, server, clientProxy, serverProxy, others = [] } = places;
  return [
    { place: client, roles: ['client'] },
    { place: server, roles: ['server'] },
    { place: client.node, roles: ['client-node'] },
    { place: server.node, roles: ['server-node'] },
    ...(clientProxy ? [{ place: clientProxy, roles: ['client-proxy'] as NetnsRole[] }] : []),
    ...(serverProxy ? [{ place: serverProxy, roles: ['server-proxy'] as NetnsRole[] }] : []),
    ...others.map((place) => ({ place })),
  ];
}

/** Attaches the tracer for the given namespaces; resolves once it counts. */
export async function startKernelPathTrace(lab: Lab, options: KernelPathTraceOptions): Promise<KernelPathTrace> {
  const begun = performance.now();
  const functions = options.functions ?? [];
  if (functions.length > MAX_FUNCTIONS) throw new Error(`a kernel-path trace counts at most ${MAX_FUNCTIONS} functions (asked for ${functions.length})`);
  const namespaces: TracedNamespace[] = [];
  for (const { place, roles = [] } of options.netns) {
    const existing = namespaces.find((n) => n.name === place.name);
    if (existing) existing.roles.push(...roles.filter((r) => !existing.roles.includes(r)));
    else namespaces.push({ name: place.name, roles: [...roles], inode: netnsInode(place) });
  }
  const trailLimit = options.trail ?? 0;
  await tracerBuilt();
  const args = [TRACER_OBJECT, ...namespaces.flatMap((n) => ['--netns', String(n.inode)]), '--trail', String(trailLimit), ...functions.flatMap((f) => ['--fn', functionArgument(f)])];
  const loader = spawnLineProcess(TRACER_LOADER, args, { maxLifetimeMs: 4 * 60 * 60_000 });
  lab.record({ kind: 'process', pid: loader.pid, command: loader.command });
  const lines: string[] = [];
  loader.onLine((line) => lines.push(line));
  let exited = false;
  const summarized = new Promise<void>((resolve) => {
    loader.onLine((line) => line.startsWith('{"type":"end"') && resolve());
    void loader.exited.then(() => ((exited = true), resolve()));
  });
  // Teardown waits for the loader to exit (its programs detach then), whether or not stop() ran.
  lab.own({ stop: () => loader.stop(STOP_GRACE_MS) });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kpath-trace did not attach within ${READY_TIMEOUT_MS / 1000} s: ${loader.stderr().trim()}`)), READY_TIMEOUT_MS);
    loader.onLine((line) => line.startsWith('{"type":"ready"') && (clearTimeout(timer), resolve()));
    void loader.exited.then(() => (clearTimeout(timer), reject(new Error(`kpath-trace exited before attaching: ${loader.stderr().trim()}`))));
  });
  const started = performance.now();
  const startMs = Math.round(started - begun);
  let stopped: Promise<KernelPathEvidence> | undefined;
  const trace: KernelPathTrace = {
    stop() {
      stopped ??= (async () => {
        const stopping = performance.now();
        const tracedMs = Math.round(stopping - started);
        // The loader stops recording, prints, and then exits on its own, which detaches its programs:
        // only the printing is waited for. A loader that never prints its summary is killed.
        if (!exited) loader.send('stop');
        const timer = setTimeout(() => void loader.stop(0), STOP_GRACE_MS);
        await summarized;
        clearTimeout(timer);
        const names = functions.map((f) => (typeof f === 'string' ? f : f.name));
        const evidence = parseTracerOutput(lines, { kernel: release(), namespaces, functions: names, trailLimit, startMs, tracedMs });
        return { ...evidence, stopMs: Math.round(performance.now() - stopping) };
      })();
      return stopped;
    },
  };
  return trace;
}
