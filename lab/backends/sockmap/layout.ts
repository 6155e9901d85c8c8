// The byte layouts of bpf/sockmap/sockmap.h and bpf/include/lab_sock_key.h, for writing the maps
// the lab fills (config, pods) and reading the ones the programs fill (SOCKHASH keys, origins).
// BPF maps hold host-order integers (this host is little-endian); addresses are network order.
export const TAG_LEN = 16;
export const CONFIG_SIZE = 40;
export const MAX_EXCLUDED_PORTS = 4;

export type SockmapMode = 'mesh' | 'all';
const MODE_VALUE: Record<SockmapMode, number> = { mesh: 0, all: 1 };

export interface SockmapConfig {
  /** "lab-<run>": the first word of every trace line the programs print. */
  tag: string;
  mode: SockmapMode;
  proxyUid: number;
  outboundPort: number;
  inboundPort: number;
  hbonePort: number;
  excludedInbound: readonly number[];
}

export function encodeConfig(config: SockmapConfig): Uint8Array {
  const tag = Buffer.from(config.tag, 'ascii');
  if (tag.length === 0 || tag.length >= TAG_LEN) throw new Error(`trace tag "${config.tag}" must be 1 to ${TAG_LEN - 1} characters`);
  if (config.excludedInbound.length > MAX_EXCLUDED_PORTS) throw new Error(`at most ${MAX_EXCLUDED_PORTS} excluded inbound ports fit the config map`);
  const out = Buffer.alloc(CONFIG_SIZE);
  tag.copy(out, 0);
  out.writeUInt32LE(MODE_VALUE[config.mode], 16);
  out.writeUInt32LE(config.proxyUid, 20);
  out.writeUInt16LE(config.outboundPort, 24);
  out.writeUInt16LE(config.inboundPort, 26);
  out.writeUInt16LE(config.hbonePort, 28);
  config.excludedInbound.forEach((port, i) => out.writeUInt16LE(port, 32 + 2 * i));
  return out;
}

/** An IPv4 address as the 4 network-order bytes the kernel stores. */
export function encodeIpv4(address: string): Uint8Array {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) throw new Error(`not an IPv4 address: ${address}`);
  return Uint8Array.from(octets);
}

export const decodeIpv4 = (bytes: Uint8Array, offset = 0) => [...bytes.subarray(offset, offset + 4)].join('.');

/** struct sockmap_pod: IP (network order) and node number. */
export function encodePod(ip: string, node: number): Uint8Array {
  const out = Buffer.alloc(8);
  Buffer.from(encodeIpv4(ip)).copy(out, 0);
  out.writeUInt32LE(node, 4);
  return out;
}

/** A pods_by_cgroup key: the cgroup v2 id, which is the inode number of the cgroup's directory. */
export function encodeCgroupId(id: bigint): Uint8Array {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(id);
  return out;
}

export interface Endpoint {
  ip: string;
  port: number;
}

/** struct lab_sock_key: a socket named from its own side. */
export interface SockKey {
  local: Endpoint;
  remote: Endpoint;
}

export const SOCK_KEY_SIZE = 12;

export function decodeSockKey(bytes: Uint8Array): SockKey {
  if (bytes.length !== SOCK_KEY_SIZE) throw new Error(`a sock key is ${SOCK_KEY_SIZE} bytes, got ${bytes.length}`);
  const view = Buffer.from(bytes);
  return { local: { ip: decodeIpv4(bytes, 0), port: view.readUInt16LE(8) }, remote: { ip: decodeIpv4(bytes, 4), port: view.readUInt16LE(10) } };
}

export function encodeSockKey(key: SockKey): Uint8Array {
  const out = Buffer.alloc(SOCK_KEY_SIZE);
  Buffer.from(encodeIpv4(key.local.ip)).copy(out, 0);
  Buffer.from(encodeIpv4(key.remote.ip)).copy(out, 4);
  out.writeUInt16LE(key.local.port, 8);
  out.writeUInt16LE(key.remote.port, 10);
  return out;
}

/** The key of the socket at the other end of the same connection. */
export const peerKey = (key: SockKey): SockKey => ({ local: key.remote, remote: key.local });

export const formatEndpoint = (e: Endpoint) => `${e.ip}:${e.port}`;
export const formatSockKey = (key: SockKey) => `${formatEndpoint(key.local)}->${formatEndpoint(key.remote)}`;
