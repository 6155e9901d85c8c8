import { describe, expect, it } from 'vitest';
import type { BpftoolMapEntry } from '../host/bpftool.ts';
import { formattedPerCpuEntries, nameCounters, sumCounters } from './maps.ts';

// `bpftool -j map dump` of a two-CPU LAB_COUNTER_MAP (bpftool 7.1, trimmed to two counters), with the
// second counter above 2^32 to show that u64 values are summed whole.
const u64 = (n: bigint) => [...Buffer.from(new BigUint64Array([n]).buffer)].map((b) => `0x${b.toString(16).padStart(2, '0')}`);
const PERCPU_DUMP: BpftoolMapEntry[] = [
  { key: ['0x00', '0x00', '0x00', '0x00'], values: [{ cpu: 0, value: u64(2n) }, { cpu: 1, value: u64(3n) }], formatted: { key: 0, values: [{ cpu: 0, value: 2 }, { cpu: 1, value: 3 }] } },
  { key: ['0x01', '0x00', '0x00', '0x00'], values: [{ cpu: 1, value: u64(0n) }, { cpu: 0, value: u64(2n ** 32n) }], formatted: { key: 1, values: [{ cpu: 1, value: 0 }, { cpu: 0, value: 2 ** 32 }] } },
];

describe('per-CPU counters', () => {
  it('sums each counter over CPUs and names them in enum order', () => {
    const entries = formattedPerCpuEntries<number, number>('counters', PERCPU_DUMP);
    expect(entries[1]!.values).toEqual([2 ** 32, 0]);
    const sums = sumCounters(entries);
    expect(nameCounters(sums, ['redirects', 'bytes', 'misses'] as const)).toEqual({ redirects: 5, bytes: 2 ** 32, misses: 0 });
  });

  it('refuses a per-CPU dump without BTF rather than reading zeros', () => {
    expect(() => formattedPerCpuEntries('/sys/fs/bpf/x', [{ key: ['0x00'], values: [{ cpu: 0, value: ['0x01'] }] }])).toThrow(/has no BTF/);
  });
});
