import { describe, expect, it } from 'vitest';
import { CONFIG_SIZE, encodeConfig, encodePod } from './layout.ts';

describe('sockmap map layouts', () => {
  it('encodes struct sockmap_config field by field', () => {
    const bytes = Buffer.from(
      encodeConfig({ tag: 'lab-ab1cd', mode: 'all', proxyUid: 1337, outboundPort: 15001, inboundPort: 15006, hbonePort: 15008, excludedInbound: [15020, 15021, 15090] }),
    );
    expect(bytes.length).toBe(CONFIG_SIZE);
    expect(bytes.subarray(0, 16).toString('latin1')).toBe('lab-ab1cd\0\0\0\0\0\0\0');
    expect(bytes.readUInt32LE(16)).toBe(1);
    expect(bytes.readUInt32LE(20)).toBe(1337);
    expect([24, 26, 28, 30, 32, 34, 36, 38].map((o) => bytes.readUInt16LE(o))).toEqual([15001, 15006, 15008, 0, 15020, 15021, 15090, 0]);
  });

  it('rejects a tag that would not leave room for its NUL', () => {
    expect(() => encodeConfig({ tag: 'x'.repeat(16), mode: 'mesh', proxyUid: 1337, outboundPort: 1, inboundPort: 2, hbonePort: 3, excludedInbound: [] })).toThrow(/1 to 15/);
  });

  it('encodes a pod as network-order IP and host-order node', () => {
    expect(Buffer.from(encodePod('198.18.2.10', 2)).toString('hex')).toBe('c612020a' + '02000000');
  });
});
