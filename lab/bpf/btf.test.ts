import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BpftoolMapEntry, BtfType } from '../host/bpftool.ts';
import { btfTable, encodeBtf } from './btf.ts';
import { ipv4Field, ipv4OfField, macField, macOfField } from './fields.ts';
import { formattedEntries } from './maps.ts';

// Real bpftool output for the lab's two objects (see "about" in the file for how it was captured).
interface Captured {
  types: BtfType[];
  maps: Record<string, { keyType: number; valueType: number; dump: BpftoolMapEntry[] }>;
}
const captured = JSON.parse(readFileSync(new URL('./testdata/btf-dumps.json', import.meta.url), 'utf8')) as Record<string, Captured>;
const OBJECTS = ['tc_redirect', 'sockmap'] as const;
const bytes = (hex: readonly string[]) => Uint8Array.from(hex.map((h) => Number.parseInt(h, 16)));

describe('BTF encoding', () => {
  for (const object of OBJECTS) {
    const { types, maps } = captured[object]!;
    const table = btfTable(types);
    for (const [name, map] of Object.entries(maps)) {
      it(`${object}/${name}: encodes each formatted entry bpftool printed back to the raw bytes it printed`, () => {
        expect(map.dump.length).toBeGreaterThan(0);
        for (const entry of map.dump) {
          expect(encodeBtf(table, map.keyType, entry.formatted!.key)).toEqual(bytes(entry.key));
          expect(encodeBtf(table, map.valueType, entry.formatted!.value)).toEqual(bytes(entry.value!));
        }
      });
    }
  }

  const tc = captured.tc_redirect!;
  const tcTable = btfTable(tc.types);
  const podType = tc.maps.tc_pods!.valueType;
  const configType = tc.maps.tc_config!.valueType;

  it('zero-fills members left out (padding) and short arrays', () => {
    const value = encodeBtf(tcTable, podType, { host_ifindex: 0x0102, mac: macField('0a:1b:2c:3d:4e:5f'), node: 2 });
    expect([...value]).toEqual([0x02, 0x01, 0, 0, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 2, 0]);
    expect([...encodeBtf(tcTable, podType, { mac: [1] })]).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('refuses values that do not fit their field, and members the struct lacks', () => {
    expect(() => encodeBtf(tcTable, podType, { node: 256 })).toThrow(/value.node: 256 does not fit 8 bits/);
    expect(() => encodeBtf(tcTable, podType, { host_ifindex: -1 })).toThrow(/negative/);
    expect(() => encodeBtf(tcTable, podType, { host_ifindex: 1.5 })).toThrow(/expected an integer/);
    expect(() => encodeBtf(tcTable, podType, { mac: [1, 2, 3, 4, 5, 6, 7] })).toThrow(/7 elements do not fit an array of 6/);
    expect(() => encodeBtf(tcTable, podType, { ifindex: 1 })).toThrow(/has no member ifindex \(it has host_ifindex, mac, node, pad\)/);
    expect(() => encodeBtf(tcTable, podType, 3)).toThrow(/expected an object/);
  });

  it('writes a char array from a string, NUL-padded, and keeps room for the NUL bpftool needs', () => {
    const value = encodeBtf(tcTable, configType, { tag: 'lab-ab1cd' });
    expect(Buffer.from(value.subarray(0, 16)).toString('latin1')).toBe('lab-ab1cd\0\0\0\0\0\0\0');
    expect(value.subarray(16).every((b) => b === 0)).toBe(true);
    expect(() => encodeBtf(tcTable, configType, { tag: 'lab-0123456789ab' })).toThrow(/longer than 15 characters/);
    // A u8 array is numbers only: a string there is a mistake.
    expect(() => encodeBtf(tcTable, podType, { mac: 'aabbccddeeff' })).toThrow(/only fill a char array/);
  });

  it('writes u64 values above 2^53 exactly when given as bigint', () => {
    const u64 = tc.types.find((t) => t.kind === 'TYPEDEF' && t.name === '__u64')!;
    expect(Buffer.from(encodeBtf(tcTable, u64.id, 2n ** 63n + 1n)).readBigUInt64LE()).toBe(2n ** 63n + 1n);
  });
});

describe('address and MAC fields', () => {
  it('holds an IPv4 address in network order in a __u32, as bpftool prints it', () => {
    // 198.18.1.10 is the key bpftool printed as 167842502 for bytes c6 12 01 0a.
    expect(ipv4Field('198.18.1.10')).toBe(167842502);
    expect(ipv4OfField(167842502)).toBe('198.18.1.10');
    expect(ipv4OfField(ipv4Field('255.0.1.254'))).toBe('255.0.1.254');
    for (const bad of ['198.18.1', '198.18.1.256', '1.2.3.x', '1.2.3.4.5', '']) expect(() => ipv4Field(bad)).toThrow(/not an IPv4/);
  });

  it('reads and writes MACs as u8[6]', () => {
    expect(macOfField(macField('0a:1B:2c:3d:4e:5f'))).toBe('0a:1b:2c:3d:4e:5f');
    expect(() => macField('aa:bb:cc:dd:ee')).toThrow(/not a MAC/);
  });
});

describe('formatted map entries', () => {
  it('reads the keys and values bpftool decoded, and refuses a dump without BTF', () => {
    const entries = formattedEntries<number, { tag: string; outbound_port: number; tproxy_inbound_mark: number }>('tc_config', captured.tc_redirect!.maps.tc_config!.dump);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ key: 0, value: { tag: 'lab-ab1cd', outbound_port: 15001, tproxy_inbound_mark: 0x53a } });
    expect(() => formattedEntries('/sys/fs/bpf/x', [{ key: ['0x00'], value: ['0x00'] }])).toThrow(/has no BTF/);
  });
});
