import { describe, expect, it } from 'vitest';
import { arrayIndex, COUNTER_NAMES, encodeConfig, encodePod, encodeProxy, hexArgs, ipv4Bytes, macBytes } from './maps.ts';
import { readFileSync } from 'node:fs';

describe('tc map encoding (bpf/tc/tc_redirect.h layouts)', () => {
  it('keys pods by their address in network order, as iph->daddr reads', () => {
    expect(ipv4Bytes('198.18.1.10')).toEqual([198, 18, 1, 10]);
    expect(() => ipv4Bytes('198.18.1')).toThrow(/not an IPv4/);
    expect(() => ipv4Bytes('198.18.1.256')).toThrow(/not an IPv4/);
  });

  it('encodes struct tc_pod: u32 ifindex (host order), MAC, node, pad', () => {
    expect(encodePod({ hostIfindex: 0x0102, mac: '0a:1b:2c:3d:4e:5f', node: 2 })).toEqual([0x02, 0x01, 0, 0, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 2, 0]);
    expect(() => encodePod({ hostIfindex: 3, mac: '0a:1b:2c:3d:4e:5f', node: 4 })).toThrow(/node index/);
    expect(() => encodePod({ hostIfindex: -1, mac: '0a:1b:2c:3d:4e:5f', node: 1 })).toThrow(/u32/);
  });

  it('encodes struct tc_proxy: ifindex, MAC, two pad bytes, then the node address in network order', () => {
    const bytes = encodeProxy({ hostIfindex: 7, mac: 'aa:bb:cc:dd:ee:ff', nodeIp: '198.18.2.1' });
    expect(bytes).toHaveLength(16);
    expect(bytes).toEqual([7, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 0, 198, 18, 2, 1]);
  });

  it('NUL-pads the trace tag to 16 bytes and refuses one that leaves no room for the NUL', () => {
    const bytes = encodeConfig('lab-ab1cd');
    expect(bytes).toHaveLength(16);
    expect(Buffer.from(bytes.slice(0, 9)).toString('ascii')).toBe('lab-ab1cd');
    expect(bytes.slice(9).every((b) => b === 0)).toBe(true);
    expect(() => encodeConfig('lab-0123456789ab')).toThrow(/longer than 15/);
  });

  it('writes bpftool hex arguments two digits per byte', () => {
    expect(hexArgs(arrayIndex(1))).toEqual(['hex', '01', '00', '00', '00']);
    expect(() => macBytes('aa:bb:cc:dd:ee')).toThrow(/not a MAC/);
  });

  it('names the counters in the order of enum tc_counter', () => {
    const header = readFileSync(new URL('../../../bpf/tc/tc_redirect.h', import.meta.url), 'utf8');
    const enumBody = /enum tc_counter \{([\s\S]*?)\};/.exec(header)?.[1] ?? '';
    const names = [...enumBody.matchAll(/^\s*C_(\w+)/gm)].map((m) => m[1]!.toLowerCase()).filter((n) => n !== 'count');
    expect(names).toEqual([...COUNTER_NAMES]);
  });
});
