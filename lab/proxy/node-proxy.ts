// The node proxy: the role ztunnel plays in Istio ambient. One HAProxy per node, run in its own
// namespace (joined to the node like a pod, as the ztunnel pod is) and its own cgroup. Its listeners
// live wherever the backend puts them: in its own namespace (ambient's eBPF mode steers traffic
// there) or inside each captured pod's namespace (`bind ... namespace`, ambient's in-pod mode).
//
// Nothing here knows how traffic reaches the proxy: the backend passes what its steering needs in
// the proxy namespace (sysctls, `ip` lines, a prepare step such as loading rules or attaching a
// socket marker to the proxy's cgroup) and the listeners.
//
// The proxy can be reconfigured while it runs (a pod joins or leaves capture): a new HAProxy with the
// new listeners starts beside the old one (HAProxy binds with SO_REUSEPORT), then the old one stops.
// Each process is a generation; the node proxy's log is every generation's log, oldest first.
import type { ProxyConnection } from '../evidence/proxy-log.ts';
import { ipBatch } from '../host/ip.ts';
import { setNetnsSysctls } from '../host/sysctl.ts';
import type { Lab, LabNode, Pod } from '../topology/lab.ts';
import type { ProxyListener } from './haproxy-config.ts';
import { RunningProxy } from './proxy.ts';

export interface NodeProxyOptions {
  listeners: ProxyListener[];
  /** sysctls of the proxy namespace, set before anything else. */
  sysctls?: Record<string, string | number>;
  /** `ip -batch` lines run in the proxy namespace before the proxy starts (policy routing). */
  ipSetup?: string[];
  /** Runs after sysctls and `ip` lines, before the proxy starts (loading rules, attaching a socket marker). */
  prepare?: (pod: Pod) => Promise<void>;
}

export const nodeProxyName = (node: LabNode) => `ztunnel-${node.index}`;

export class NodeProxy {
  /** Every HAProxy this node proxy ran, oldest first; the last one is running unless stopped. */
  private readonly generations: RunningProxy[] = [];
  private stopped = false;

  private constructor(
    private readonly lab: Lab,
    readonly node: LabNode,
    /** The proxy's namespace and cgroup, built like a pod (eth0, /32 address, host veth on the node). */
    readonly pod: Pod,
  ) {}

  /**
   * Adds the node's proxy namespace and starts the proxy in it; resolves once every listener listens,
   * wherever it lives, so that nothing steered to it afterwards finds an empty port. The run's ledger
   * records the process, so teardown stops it however the run ends.
   */
  static async start(lab: Lab, node: LabNode, options: NodeProxyOptions): Promise<NodeProxy> {
    const [pod] = await lab.addPods(node, [nodeProxyName(node)]);
    if (!pod) throw new Error(`could not add the node proxy namespace to ${node.name}`);
    if (options.sysctls) await setNetnsSysctls(pod.netns, options.sysctls);
    if (options.ipSetup?.length) await ipBatch(options.ipSetup, pod.netns);
    await options.prepare?.(pod);
    const proxy = new NodeProxy(lab, node, pod);
    await proxy.startGeneration(options.listeners);
    return proxy;
  }

  private async startGeneration(listeners: ProxyListener[]): Promise<void> {
    const name = this.generations.length === 0 ? 'node-proxy' : `node-proxy-${this.generations.length + 1}`;
    this.generations.push(await RunningProxy.start(this.lab, this.pod, { listeners }, name));
  }

  /** The HAProxy running now (the latest generation). */
  get proxy(): RunningProxy {
    const current = this.generations.at(-1);
    if (!current) throw new Error(`${this.pod.name} never started`);
    return current;
  }

  /** The running process's PID, or undefined once stopped. */
  get pid(): number | undefined {
    return this.stopped ? undefined : this.generations.at(-1)?.pid;
  }

  /** Every PID this node proxy has run under, oldest first. */
  get pids(): number[] {
    return this.generations.map((g) => g.pid);
  }

  get listeners(): readonly ProxyListener[] {
    return this.stopped ? [] : (this.generations.at(-1)?.spec.listeners ?? []);
  }

  /** Every connection logged by every generation (HAProxy logs a connection when it closes). */
  connections(): ProxyConnection[] {
    return this.generations.flatMap((g) => g.connections());
  }

  /**
   * Replaces the listeners: a new HAProxy starts with them (and listens) before the old one stops, so
   * the listeners both keep are never closed. With no listener left, the proxy just stops.
   */
  async reconfigure(listeners: ProxyListener[]): Promise<void> {
    if (this.stopped) throw new Error(`${this.pod.name} is stopped`);
    const old = this.proxy;
    if (listeners.length === 0) return this.stop();
    await this.startGeneration(listeners);
    await old.stop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.generations.map((g) => g.stop()));
  }
}

/** A node proxy's log, as plain data (evidence). */
export interface NodeProxyLog {
  /** The node's name and 1-based index. */
  node: string;
  nodeIndex: number;
  /** The proxy namespace's name and address. */
  name: string;
  ip: string;
  /** Every PID the proxy ran under, oldest first (more than one after a reconfiguration). */
  pids: number[];
  connections: ProxyConnection[];
}

export function nodeProxyLog(p: NodeProxy): NodeProxyLog {
  return { node: p.node.name, nodeIndex: p.node.index, name: p.pod.name, ip: p.pod.ip, pids: p.pids, connections: p.connections() };
}

/** The proxy serving a node, from a run's evidence. */
export const proxyOfNode = (logs: readonly NodeProxyLog[], node: string): NodeProxyLog | undefined => logs.find((l) => l.node === node);
