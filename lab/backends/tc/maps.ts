// The tc backend's maps, in the shapes their BTF gives them (bpf/tc/tc_redirect.h): the lab writes
// and reads them through lab/bpf/maps.ts, which lays the values out from the object's own BTF.
import { ipv4Field, ipv4OfField, macField, macOfField } from '../../bpf/fields.ts';
import { PROXY_LOCAL_MARK, PROXY_PORTS, TPROXY_INBOUND_MARK, TPROXY_OUTBOUND_MARK } from './steering.ts';

export const MAP_NAMES = { pods: 'tc_pods', proxies: 'tc_proxies', config: 'tc_config', counters: 'tc_counters' } as const;

/** The counters of enum tc_counter, in order (maps.test.ts compares the two). */
export const COUNTER_NAMES = [
  'outbound_redirect',
  'inbound_redirect',
  'node_bypass',
  'proxy_return',
  'proxy_pass',
  'inbound_skip_from_proxy',
  'assign_listener',
  'assign_established',
  'assign_failed',
  'no_listener',
  'mark_outbound',
  'mark_inbound',
  'no_proxy',
  'no_socket',
  'not_configured',
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];
export type Counters = Record<CounterName, number>;

/** struct tc_pod, as bpftool prints it. */
export interface TcPodValue {
  host_ifindex: number;
  mac: number[];
  node: number;
}

/** struct tc_proxy, as bpftool prints it (node_ip: a network-order address field). */
export interface TcProxyValue {
  host_ifindex: number;
  mac: number[];
  node_ip: number;
}

/** struct tc_config, as bpftool prints it. */
export interface TcConfigValue {
  tag: string;
  outbound_port: number;
  inbound_port: number;
  hbone_port: number;
  proxy_local_mark: number;
  tproxy_outbound_mark: number;
  tproxy_inbound_mark: number;
}

/** The run's tc_config: its trace tag, and the ports and marks the proxy side is set up with. */
export function tcConfig(tag: string): TcConfigValue {
  return {
    tag,
    outbound_port: PROXY_PORTS.outbound,
    inbound_port: PROXY_PORTS.inbound,
    hbone_port: PROXY_PORTS.hbone,
    proxy_local_mark: PROXY_LOCAL_MARK,
    tproxy_outbound_mark: TPROXY_OUTBOUND_MARK,
    tproxy_inbound_mark: TPROXY_INBOUND_MARK,
  };
}

/** A captured pod's entry, in plain terms (evidence). */
export interface PodEntry {
  ip: string;
  /** The pod's host-side veth in its node's namespace. */
  hostIfindex: number;
  /** The pod's eth0 MAC. */
  mac: string;
  /** The node index whose proxy serves it. */
  node: number;
}

/** A node proxy's entry, in plain terms (evidence). */
export interface ProxyEntry {
  node: number;
  hostIfindex: number;
  /** The proxy's eth0 MAC. */
  mac: string;
  /** The node's own address: its traffic (probes) is never redirected. */
  nodeIp: string;
}

export const podKey = (ip: string): number => ipv4Field(ip);

export function podValue(entry: Omit<PodEntry, 'ip'>): TcPodValue {
  return { host_ifindex: entry.hostIfindex, mac: macField(entry.mac), node: entry.node };
}

export function proxyValue(entry: Omit<ProxyEntry, 'node'>): TcProxyValue {
  return { host_ifindex: entry.hostIfindex, mac: macField(entry.mac), node_ip: ipv4Field(entry.nodeIp) };
}

export const podEntry = (key: number, value: TcPodValue): PodEntry => ({ ip: ipv4OfField(key), hostIfindex: value.host_ifindex, mac: macOfField(value.mac), node: value.node });

export const proxyEntry = (key: number, value: TcProxyValue): ProxyEntry => ({ node: key, hostIfindex: value.host_ifindex, mac: macOfField(value.mac), nodeIp: ipv4OfField(value.node_ip) });
