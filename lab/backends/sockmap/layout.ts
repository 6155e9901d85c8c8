// The sockmap maps' entries in the shapes bpftool's BTF view prints them (lab/bpf/maps.ts reads and
// writes that JSON; the byte layouts come from the object's own BTF): struct sockmap_config and
// struct sockmap_pod (bpf/sockmap/sockmap.h), which the lab writes. One exception: the SOCKHASH is
// created without BTF, so bpftool prints its keys (struct lab_sock_key, bpf/include/lab_sock_key.h)
// as raw bytes only; decodeSockKey reads them, and layout.test.ts holds it to the struct's BTF layout.
import { ipv4Field } from '../../bpf/fields.ts';

export type SockmapMode = 'mesh' | 'all';
/** enum sockmap_mode (the config field is a __u32, so it is written as the enumerator's value). */
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

/** struct sockmap_config, as lab/bpf/maps.ts updateMap takes it (unused excluded-port slots stay 0). */
export function configValue(config: SockmapConfig): Record<string, unknown> {
  return {
    tag: config.tag,
    mode: MODE_VALUE[config.mode],
    proxy_uid: config.proxyUid,
    outbound_port: config.outboundPort,
    inbound_port: config.inboundPort,
    hbone_port: config.hbonePort,
    excluded_inbound: [...config.excludedInbound],
  };
}

/** struct sockmap_pod: the pod's IP (network order in a __u32) and the number of its node. */
export const podValue = (ip: string, node: number) => ({ ip: ipv4Field(ip), node });

/** A pods_by_ip key: the pod's IP as the network-order __u32 the programs compare. */
export const podIpKey = (ip: string) => ipv4Field(ip);

export interface Endpoint {
  ip: string;
  port: number;
}

/** struct lab_sock_key: a socket named from its own side. */
export interface SockKey {
  local: Endpoint;
  remote: Endpoint;
}

/** sizeof(struct lab_sock_key): two network-order IPv4 addresses, then two host-order (little-endian here) ports. */
export const SOCK_KEY_SIZE = 12;

/** A SOCKHASH key from the raw bytes bpftool prints (a SOCKHASH has no BTF view). */
export function decodeSockKey(bytes: Uint8Array): SockKey {
  if (bytes.length !== SOCK_KEY_SIZE) throw new Error(`a struct lab_sock_key is ${SOCK_KEY_SIZE} bytes, got ${bytes.length}`);
  const view = Buffer.from(bytes);
  const ip = (offset: number) => [...bytes.subarray(offset, offset + 4)].join('.');
  return { local: { ip: ip(0), port: view.readUInt16LE(8) }, remote: { ip: ip(4), port: view.readUInt16LE(10) } };
}

/** The key of the socket at the other end of the same connection. */
export const peerKey = (key: SockKey): SockKey => ({ local: key.remote, remote: key.local });

export const formatEndpoint = (e: Endpoint) => `${e.ip}:${e.port}`;
export const formatSockKey = (key: SockKey) => `${formatEndpoint(key.local)}->${formatEndpoint(key.remote)}`;
