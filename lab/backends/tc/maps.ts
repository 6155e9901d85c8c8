// The tc backend's BPF maps, encoded for `bpftool map update`. The layouts mirror bpf/tc/tc_redirect.h
// (change both together); multi-byte integers are host order (little-endian here) except addresses,
// which the programs compare against packet headers and so stay in network order.
import { run } from '../../host/exec.ts';

export const MAP_NAMES = { pods: 'tc_pods', proxies: 'tc_proxies', config: 'tc_config', counters: 'tc_counters' } as const;

/** The counters of enum tc_counter, in order. */
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
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];

export const TAG_LEN = 16;
export const MAX_NODES = 4;

export interface PodEntry {
  /** The pod's host-side veth in its node's namespace. */
  hostIfindex: number;
  /** The pod's eth0 MAC. */
  mac: string;
  node: number;
}

export interface ProxyEntry {
  hostIfindex: number;
  /** The proxy's eth0 MAC. */
  mac: string;
  /** The node's own address: its traffic (probes) is never redirected. */
  nodeIp: string;
}

function u32Host(value: number): number[] {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new Error(`not a u32: ${value}`);
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return [...bytes];
}

/** An IPv4 address as the four bytes of its header field (network order). */
export function ipv4Bytes(address: string): number[] {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) throw new Error(`not an IPv4 address: ${address}`);
  return octets;
}

export function macBytes(mac: string): number[] {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`not a MAC address: ${mac}`);
  return parts.map((p) => parseInt(p, 16));
}

/** struct tc_pod: u32 host_ifindex, u8 mac[6], u8 node, u8 pad. */
export function encodePod(entry: PodEntry): number[] {
  if (!Number.isInteger(entry.node) || entry.node < 0 || entry.node >= MAX_NODES) throw new Error(`node index ${entry.node} is outside 0..${MAX_NODES - 1}`);
  return [...u32Host(entry.hostIfindex), ...macBytes(entry.mac), entry.node, 0];
}

/** struct tc_proxy: u32 host_ifindex, u8 mac[6], u8 pad[2], u32 node_ip (network order). */
export function encodeProxy(entry: ProxyEntry): number[] {
  return [...u32Host(entry.hostIfindex), ...macBytes(entry.mac), 0, 0, ...ipv4Bytes(entry.nodeIp)];
}

/** struct tc_config: the run tag, NUL-padded (and NUL-terminated: at most 15 characters). */
export function encodeConfig(tag: string): number[] {
  const text = Buffer.from(tag, 'ascii');
  if (text.length >= TAG_LEN) throw new Error(`trace tag "${tag}" is longer than ${TAG_LEN - 1} characters`);
  return [...text, ...new Array<number>(TAG_LEN - text.length).fill(0)];
}

export const arrayIndex = (index: number) => u32Host(index);

/** bpftool's `hex` byte list. */
export const hexArgs = (bytes: readonly number[]) => ['hex', ...bytes.map((b) => b.toString(16).padStart(2, '0'))];

export async function updateMap(pinnedMap: string, key: readonly number[], value: readonly number[]): Promise<void> {
  await run('bpftool', ['map', 'update', 'pinned', pinnedMap, 'key', ...hexArgs(key), 'value', ...hexArgs(value)]);
}

export async function deleteMapEntry(pinnedMap: string, key: readonly number[]): Promise<void> {
  await run('bpftool', ['map', 'delete', 'pinned', pinnedMap, 'key', ...hexArgs(key)], { allowFailure: true });
}
