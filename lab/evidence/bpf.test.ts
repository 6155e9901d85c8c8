import { describe, expect, it } from 'vitest';
import { counterDelta, nameCounters, parseMapDump, readUintLE, sumPerCpuCounters } from './bpf.ts';

// `bpftool -j map dump` of a two-CPU PERCPU_ARRAY (trimmed), as bpftool 7.1 prints it.
const PERCPU_DUMP = [
  { key: ['0x00', '0x00', '0x00', '0x00'], values: [{ cpu: 0, value: ['0x02', '0x00', '0x00', '0x00', '0x00', '0x00', '0x00', '0x00'] }, { cpu: 1, value: ['0x03', '0x00', '0x00', '0x00', '0x00', '0x00', '0x00', '0x00'] }] },
  { key: ['0x01', '0x00', '0x00', '0x00'], values: [{ cpu: 0, value: ['0x00', '0x00', '0x00', '0x00', '0x01', '0x00', '0x00', '0x00'] }, { cpu: 1, value: ['0x00', '0x00', '0x00', '0x00', '0x00', '0x00', '0x00', '0x00'] }] },
];
// A SOCKHASH dump: 12-byte key, 8-byte value (the socket cookie).
const SOCKHASH_DUMP = [{ key: ['0x7f', '0x00', '0x00', '0x01', '0x7f', '0x00', '0x00', '0x01', '0xca', '0xa4', '0x51', '0x14'], value: ['0x3b', '0x10', '0x00', '0x00', '0x00', '0x00', '0x00', '0x00'] }];

describe('bpftool map dumps', () => {
  it('sums per-CPU u64 counters, including values above 32 bits', () => {
    const sums = sumPerCpuCounters(parseMapDump(PERCPU_DUMP));
    expect(sums.get(0)).toBe(5);
    expect(sums.get(1)).toBe(2 ** 32);
    expect(nameCounters(sums, ['redirects', 'bytes', 'misses'] as const)).toEqual({ redirects: 5, bytes: 2 ** 32, misses: 0 });
  });

  it('keeps raw key and value bytes of plain maps', () => {
    const [entry] = parseMapDump(SOCKHASH_DUMP);
    expect(entry!.key).toHaveLength(12);
    expect(readUintLE(entry!.value!)).toBe(0x103b);
    expect(entry!.perCpu).toBeUndefined();
  });

  it('subtracts snapshots counter by counter', () => {
    expect(counterDelta({ a: 10, b: 3 }, { a: 4, b: 3 })).toEqual({ a: 6, b: 0 });
  });
});
