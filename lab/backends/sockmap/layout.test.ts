// The shapes the sockmap backend writes and reads, against real bpftool output for the real object
// (lab/bpf/testdata/btf-dumps.json: its BTF and formatted map dumps, captured with bpftool v7.1.0 on
// Linux 6.18). The byte layouts come from that BTF; the one reader of raw bytes (SOCKHASH keys, which
// have no BTF view) is held to the BTF layout of the same struct in another map.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { btfTable, encodeBtf } from '../../bpf/btf.ts';
import type { BpftoolMapEntry, BtfType } from '../../host/bpftool.ts';
import { ipv4OfField } from '../../bpf/fields.ts';
import { configValue, decodeSockKey, formatSockKey, podIpKey, podValue } from './layout.ts';

interface Captured {
  types: BtfType[];
  maps: Record<string, { keyType: number; valueType: number; dump: BpftoolMapEntry[] }>;
}
const sockmap = (JSON.parse(readFileSync(new URL('../../bpf/testdata/btf-dumps.json', import.meta.url), 'utf8')) as Record<string, Captured>).sockmap!;
const table = btfTable(sockmap.types);
const bytes = (hex: readonly string[]) => Uint8Array.from(hex.map((h) => Number.parseInt(h, 16)));
const only = (map: string) => {
  const { dump, keyType, valueType } = sockmap.maps[map]!;
  expect(dump).toHaveLength(1);
  return { entry: dump[0]!, keyType, valueType };
};

describe('sockmap map entries', () => {
  it('writes struct sockmap_config as the bytes bpftool printed for the same config', () => {
    const { entry, valueType } = only('config');
    const value = configValue({ tag: 'lab-ab1cd', mode: 'all', proxyUid: 1337, outboundPort: 15001, inboundPort: 15006, hbonePort: 15008, excludedInbound: [15020, 15021, 15082] });
    expect(encodeBtf(table, valueType, value)).toEqual(bytes(entry.value!));
  });

  it('refuses a trace tag that leaves no room for its NUL', () => {
    const { valueType } = only('config');
    const value = configValue({ tag: 'x'.repeat(16), mode: 'mesh', proxyUid: 1337, outboundPort: 1, inboundPort: 2, hbonePort: 3, excludedInbound: [] });
    expect(() => encodeBtf(table, valueType, value)).toThrow(/longer than 15 characters/);
  });

  it('writes a pod by IP (network order) with its node number', () => {
    const { entry, keyType, valueType } = only('pods_by_ip');
    expect(encodeBtf(table, keyType, podIpKey('198.18.2.10'))).toEqual(bytes(entry.key));
    expect(encodeBtf(table, valueType, podValue('198.18.2.10', 2))).toEqual(bytes(entry.value!));
  });

  it('reads a SOCKHASH key (struct lab_sock_key) from its bytes as BTF lays the struct out (pair_origin has the same key type, with BTF)', () => {
    const { entry } = only('pair_origin');
    const field = entry.formatted!.key as { local_ip4: number; remote_ip4: number; local_port: number; remote_port: number };
    const key = decodeSockKey(bytes(entry.key));
    // Four distinct field values, so that any two fields swapped by a wrong offset would show.
    expect(key).toEqual({ local: { ip: ipv4OfField(field.local_ip4), port: field.local_port }, remote: { ip: ipv4OfField(field.remote_ip4), port: field.remote_port } });
    expect(formatSockKey(key)).toBe('198.18.1.10:40000->198.18.2.10:8080');
    expect(() => decodeSockKey(new Uint8Array(8))).toThrow(/12 bytes, got 8/);
  });
});
