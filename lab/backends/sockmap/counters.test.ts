import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { counterNameFromEnum, SOCKMAP_COUNTERS } from './counters.ts';

const HEADER = fileURLToPath(new URL('../../../bpf/sockmap/sockmap.h', import.meta.url));

describe('sockmap counters', () => {
  it('lists the counters in the order of enum sockmap_counter', () => {
    const body = /enum sockmap_counter \{([\s\S]*?)\};/.exec(readFileSync(HEADER, 'utf8'))?.[1] ?? '';
    const enumNames = [...body.matchAll(/^\s*(SOCKMAP_[A-Z0-9_]+)/gm)].map((m) => m[1]!).filter((n) => n !== 'SOCKMAP_COUNTER_COUNT');
    expect(enumNames.length).toBeGreaterThan(10);
    expect(enumNames.map(counterNameFromEnum)).toEqual([...SOCKMAP_COUNTERS]);
  });
});
