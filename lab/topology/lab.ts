// A Lab is one live topology: nodes and pods as network namespaces joined by veth pairs (the shape
// of a ptp CNI), a cgroup v2 group per pod, and the ledger that lets everything be removed again.
// Running processes inside it is processes.ts's job; reaping dead runs is clean.ts's, called by
// withLab before it builds.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createCgroup, requireCgroup2Mount } from '../host/cgroup.ts';
import type { BackgroundProcess, RunOptions, RunResult } from '../host/exec.ts';
import { ipBatch } from '../host/ip.ts';
import type { ExecTarget } from '../host/namespaces.ts';
import { setNetnsSysctls } from '../host/sysctl.ts';
import {
  hostVethName,
  MAX_NODES,
  MAX_PODS_PER_NODE,
  netnsName,
  nodeGateway,
  nodePodCidr,
  POD_DEVICE,
  podAddress,
  UNDERLAY_DEVICE,
  underlayAddress,
} from './addressing.ts';
import { reapStaleRuns } from './clean.ts';
import { registerTeardown } from './interrupts.ts';
import { Ledger, newRunId, type LedgerEntry } from './ledger.ts';
import { execIn, spawnIn, spawnServerIn } from './processes.ts';
import { undoEntries, type TeardownReport } from './teardown.ts';

export interface TopologySpec {
  nodes: Array<{ name: string; pods: string[] }>;
}

export interface LabNode {
  kind: 'node';
  name: string;
  /** 1-based; picks the node's pod subnet. */
  index: number;
  netns: string;
  gateway: string;
  podCidr: string;
  underlayIp: string;
}

export interface Pod {
  kind: 'pod';
  name: string;
  node: LabNode;
  ip: string;
  netns: string;
  /** The pod's veth end in the node namespace. */
  hostVeth: string;
  /** Absolute path of the pod's cgroup v2 directory. */
  cgroupDir: string;
}

export type Place = Pod | LabNode;

export interface ProcessOptions {
  uid?: number;
  /** The GID to run as with `uid` (default: the same number). */
  gid?: number;
  /** Join the pod's cgroup (default true for pods; false puts the process outside any lab cgroup). */
  inCgroup?: boolean;
}

/** Something a run starts that must stop with it: a sampler, a reader, a timer. */
export interface Stoppable {
  stop(): Promise<unknown>;
}

export class Lab {
  readonly nodes = new Map<string, LabNode>();
  /** Samplers, readers and timers the run owns: teardown stops them before it removes any object. */
  private readonly owned = new Set<Stoppable>();
  readonly pods = new Map<string, Pod>();
  readonly cgroupParent: string;
  private readonly unregister: () => void;
  private torndown: Promise<TeardownReport> | undefined;

  private constructor(
    readonly runId: string,
    readonly ledger: Ledger,
    readonly cgroupMount: string,
  ) {
    this.cgroupParent = join(cgroupMount, `lab-${runId}`);
    this.unregister = registerTeardown(() => this.teardown());
  }

  /** Builds a topology. On any failure, whatever was created is removed before the error surfaces. */
  static async create(spec: TopologySpec, options: { runId?: string } = {}): Promise<Lab> {
    if (process.getuid?.() !== 0) throw new Error('the lab creates namespaces and cgroups: run it as root (sudo)');
    if (spec.nodes.length === 0 || spec.nodes.length > MAX_NODES) throw new Error(`a topology has 1 to ${MAX_NODES} nodes`);
    const cgroupMount = await requireCgroup2Mount();
    const runId = options.runId ?? newRunId();
    const lab = new Lab(runId, new Ledger(runId), cgroupMount);
    try {
      lab.ledger.record({ kind: 'cgroup', dir: lab.cgroupParent });
      await createCgroup(lab.cgroupParent);
      await lab.addNodes(spec.nodes.map((n) => n.name));
      for (const nodeSpec of spec.nodes) await lab.addPods(lab.node(nodeSpec.name), nodeSpec.pods);
      return lab;
    } catch (e) {
      await lab.teardown();
      throw e;
    }
  }

  get runDir(): string {
    return this.ledger.dir;
  }

  node(name: string): LabNode {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no node named ${name} (nodes: ${[...this.nodes.keys()].join(', ')})`);
    return node;
  }

  pod(name: string): Pod {
    const pod = this.pods.get(name);
    if (!pod) throw new Error(`no pod named ${name} (pods: ${[...this.pods.keys()].join(', ')})`);
    return pod;
  }

  podByIp(ip: string): Pod | undefined {
    return [...this.pods.values()].find((p) => p.ip === ip);
  }

  private async addNodes(names: readonly string[]): Promise<void> {
    const nodes = names.map((name, i): LabNode => {
      const index = i + 1;
      return { kind: 'node', name, index, netns: netnsName(this.runId, name), gateway: nodeGateway(index), podCidr: nodePodCidr(index), underlayIp: underlayAddress(index) };
    });
    for (const node of nodes) this.ledger.record({ kind: 'netns', name: node.netns });
    const rootLines = nodes.map((n) => `netns add ${n.netns}`);
    const [a, b] = nodes;
    if (a && b) rootLines.push(`link add name ${UNDERLAY_DEVICE} netns ${a.netns} type veth peer name ${UNDERLAY_DEVICE} netns ${b.netns}`);
    await ipBatch(rootLines);
    for (const node of nodes) {
      this.nodes.set(node.name, node);
      const lines = ['link set lo up'];
      const peer = nodes.find((n) => n !== node);
      if (peer) {
        lines.push(`addr add ${node.underlayIp}/24 dev ${UNDERLAY_DEVICE}`, `link set ${UNDERLAY_DEVICE} up`, `route add ${peer.podCidr} via ${peer.underlayIp} dev ${UNDERLAY_DEVICE}`);
      }
      await ipBatch(lines, node.netns);
      // A node routes between its pods and the underlay. Reverse-path filtering stays off: TPROXY
      // and tc redirects deliver packets on interfaces the route back would not pick.
      await setNetnsSysctls(node.netns, { 'net.ipv4.ip_forward': 1, 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0 });
    }
  }

  /** Adds pods to a node: one veth pair, a /32 address and host route, and a cgroup each. */
  async addPods(node: LabNode, names: readonly string[]): Promise<Pod[]> {
    const existing = [...this.pods.values()].filter((p) => p.node === node).length;
    if (existing + names.length > MAX_PODS_PER_NODE) throw new Error(`a node holds at most ${MAX_PODS_PER_NODE} pods`);
    const taken = new Set([...this.pods.keys(), ...this.nodes.keys()]);
    const pods = names.map((name, i): Pod => {
      if (taken.has(name)) throw new Error(`the name ${name} is used twice in this topology`);
      taken.add(name);
      return { kind: 'pod', name, node, ip: podAddress(node.index, existing + i), netns: netnsName(this.runId, name), hostVeth: hostVethName(name), cgroupDir: join(this.cgroupParent, name) };
    });
    for (const pod of pods) {
      this.ledger.record({ kind: 'netns', name: pod.netns });
      this.ledger.record({ kind: 'cgroup', dir: pod.cgroupDir });
    }
    // Both veth ends are created directly inside lab namespaces: the root namespace never sees them.
    await ipBatch(pods.flatMap((p) => [`netns add ${p.netns}`, `link add name ${p.hostVeth} netns ${node.netns} type veth peer name ${POD_DEVICE} netns ${p.netns}`]));
    await ipBatch(
      pods.flatMap((p) => [`link set ${p.hostVeth} up`, `addr add ${node.gateway}/32 dev ${p.hostVeth}`, `route add ${p.ip}/32 dev ${p.hostVeth}`]),
      node.netns,
    );
    for (const pod of pods) {
      await ipBatch(
        ['link set lo up', `addr add ${pod.ip}/32 dev ${POD_DEVICE}`, `link set ${POD_DEVICE} up`, `route add ${node.gateway} dev ${POD_DEVICE} scope link`, `route add default via ${node.gateway} dev ${POD_DEVICE}`],
        pod.netns,
      );
      await createCgroup(pod.cgroupDir);
      this.pods.set(pod.name, pod);
    }
    return pods;
  }

  /** Where a command runs: a pod's netns and cgroup, or a node's netns. */
  targetOf(place: Place, options: ProcessOptions = {}): ExecTarget {
    const inCgroup = place.kind === 'pod' && options.inCgroup !== false;
    return { netns: place.netns, ...(inCgroup ? { cgroupDir: place.cgroupDir } : {}), ...(options.uid === undefined ? {} : { uid: options.uid }), ...(options.gid === undefined ? {} : { gid: options.gid }) };
  }

  /** Runs a short command in a pod or node and waits for it. */
  exec(place: Place, file: string, args: readonly string[], options: RunOptions & ProcessOptions = {}): Promise<RunResult> {
    return execIn(this.targetOf(place, options), file, args, options);
  }

  /** Starts a long-running process in a pod or node; teardown kills it. */
  spawn(place: Place, file: string, args: readonly string[], options: ProcessOptions & { maxLifetimeMs?: number } = {}): BackgroundProcess {
    return spawnIn(this.ledger, this.targetOf(place, options), file, args, options);
  }

  /** Starts a server in a pod or node and resolves once every one of `ports` listens (see processes.ts). */
  spawnServer(place: Place, file: string, args: readonly string[], options: ProcessOptions & { ports: readonly number[]; maxLifetimeMs?: number }): Promise<BackgroundProcess> {
    return spawnServerIn(this.ledger, this.targetOf(place, options), { ...options, name: place.name, listeningTarget: this.targetOf(place, { inCgroup: false }) }, file, args);
  }

  /** Records an entry for an object a backend is about to create (pins, attachments, filters). */
  record(entry: LedgerEntry): void {
    this.ledger.record(entry);
  }

  /** A directory in the run directory for a backend's or driver's files (configs, logs). */
  workDir(name: string): string {
    const dir = join(this.runDir, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /**
   * Makes the run own something it started: teardown stops it, however the run ends (success, a
   * failed step, an error, a signal), so nothing of the run keeps polling after it is gone.
   */
  own<T extends Stoppable>(resource: T): T {
    this.owned.add(resource);
    return resource;
  }

  /** Removes everything this lab created, newest first. Safe to call more than once. */
  teardown(): Promise<TeardownReport> {
    this.torndown ??= (async () => {
      await Promise.allSettled([...this.owned].map((r) => r.stop()));
      this.owned.clear();
      const report = await undoEntries(this.ledger.entriesNewestFirst());
      this.ledger.close();
      this.unregister();
      return report;
    })();
    return this.torndown;
  }
}

/**
 * A whole run: first reap what dead runs left behind (an explicit step, so that building a topology
 * never removes anything by itself), then build, run `body`, and always tear down, also when `body`
 * throws.
 */
export async function withLab<T>(spec: TopologySpec, body: (lab: Lab) => Promise<T>, options: { runId?: string } = {}): Promise<T> {
  await reapStaleRuns();
  const lab = await Lab.create(spec, options);
  try {
    return await body(lab);
  } finally {
    const report = await lab.teardown();
    if (report.failed.length > 0) process.stderr.write(`lab: teardown left ${report.failed.length} object(s):\n  ${report.failed.join('\n  ')}\nrun \`lab clean\`\n`);
  }
}
