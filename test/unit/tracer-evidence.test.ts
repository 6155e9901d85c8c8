// The tracer's vocabulary against its C side, and the parser against the loader's real output
// (test/fixtures/kernel-path/loader-output.jsonl: bpf/build/kpath-trace on this lab's 6.18 kernel,
// one refused connection to 127.0.0.1:9 inside a lab pod, trail bound 12, two --fn functions).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTracerOutput, tcpFlagString } from '../../lab/tracer/evidence.ts';
import { FLAGS, FUNCTION_POINT_BASE, MAX_FUNCTIONS, SIGNALS, TRACEPOINTS } from '../../lab/tracer/points.ts';

const header = readFileSync(new URL('../../bpf/tracer/kpath.h', import.meta.url), 'utf8');
const loader = readFileSync(new URL('../../bpf/tools/kpath-trace.c', import.meta.url), 'utf8');
const fixture = readFileSync(new URL('../fixtures/kernel-path/loader-output.jsonl', import.meta.url), 'utf8').split('\n');

describe('points.ts matches bpf/tracer/kpath.h and the loader', () => {
  it('numbers every tracepoint as the header does, and the loader attaches each by that name', () => {
    const fromHeader = [...header.matchAll(/KP_(\w+) = (\d+), \/\* (\w+):(\w+),/g)].map((m) => [Number(m[2]), m[4]]);
    expect(Object.fromEntries(fromHeader)).toEqual(TRACEPOINTS);
    for (const name of Object.values(TRACEPOINTS)) expect(loader).toMatch(new RegExp(`\\{ KP_\\w+, "${name}", "kpath_${name}" \\}`));
  });

  it('has the same flag bits, function base and slot count', () => {
    const flags = Object.fromEntries([...header.matchAll(/KF_(\w+) = 1 << (\d+),/g)].map((m) => [m[1]!.toLowerCase().replace('_', '-'), 1 << Number(m[2])]));
    expect(flags).toEqual(FLAGS);
    expect(Number(/KP_FUNCTION_BASE = (\d+)/.exec(header)?.[1])).toBe(FUNCTION_POINT_BASE);
    expect(Number(/#define KPATH_MAX_FUNCTIONS (\d+)/.exec(header)?.[1])).toBe(MAX_FUNCTIONS);
  });

  it('defines every signal on a tracepoint the tracer attaches, with known flags', () => {
    for (const [name, signal] of Object.entries(SIGNALS)) {
      expect(Object.values(TRACEPOINTS).map((t) => `tp:${t}`), name).toContain(signal.point);
      for (const flag of signal.all) expect(Object.keys(FLAGS), name).toContain(flag);
    }
  });
});

describe('parseTracerOutput', () => {
  const namespaces = [{ name: 'client', roles: ['client' as const], inode: 4026532246 }];
  const evidence = parseTracerOutput(fixture, { kernel: '6.18.44', namespaces, functions: ['tcp_transmit_skb', 'tcp_v4_connect'], trailLimit: 12, tracedMs: 50 });

  it('keeps every point asked for, with the reason it is unavailable', () => {
    expect(evidence.points.filter((p) => p.available).map((p) => p.point)).toEqual(Object.values(TRACEPOINTS).map((t) => `tp:${t}`));
    expect(evidence.points.find((p) => p.point === 'fn:tcp_transmit_skb')).toEqual({ point: 'fn:tcp_transmit_skb', available: false, reason: expect.stringContaining("not a function in the kernel's BTF") });
    expect(evidence.points.find((p) => p.point === 'fn:tcp_v4_connect')?.reason).toContain('fentry refused by this kernel: Operation not permitted');
    expect(evidence.setupMs).toBeGreaterThan(0);
  });

  it('names namespaces and flags, and orders the trail from the first event', () => {
    expect(evidence.trail[0]).toMatchObject({ us: 0, netns: 'client', point: 'tp:fib_table_lookup', dev: 'lo', detail: 'table 254' });
    const syn = evidence.trail.find((e) => e.point === 'tp:net_dev_queue');
    expect(syn).toMatchObject({ netns: 'client', flags: ['syn'], packet: { to: '127.0.0.1:9', tcp: 'S', payload: 0 }, socket: { remote: '127.0.0.1:9' } });
    expect(evidence.trail.find((e) => e.point === 'tp:kfree_skb')?.detail).toBe('drop NO_SOCKET');
    expect(evidence.trail.find((e) => e.point === 'tp:inet_sock_set_state')?.detail).toBe('CLOSE -> SYN_SENT');
    expect(evidence.trail.map((e) => e.us)).toEqual([...evidence.trail.map((e) => e.us)].sort((a, b) => a - b));
  });

  it('sums counts per namespace, point and flags, and says the trail bound was not reached', () => {
    expect(evidence.counts).toContainEqual({ netns: 'client', point: 'tp:net_dev_queue', flags: ['syn'], count: 1 });
    expect(evidence.counts).toContainEqual({ netns: 'client', point: 'tp:kfree_skb', flags: ['syn'], count: 1 });
    expect(evidence.trailFull).toBe(false);
    expect(evidence.trailLost).toBe(0);
  });

  it('refuses output without its summary line (a killed loader)', () => {
    expect(() => parseTracerOutput(fixture.filter((l) => !l.includes('"end"')), { kernel: 'k', namespaces, functions: [], trailLimit: 0, tracedMs: 0 })).toThrow(/summary line/);
  });

  it('writes TCP flags the way tcpdump does', () => {
    expect([0x02, 0x12, 0x18, 0x11, 0x14, 0x10, 0].map(tcpFlagString)).toEqual(['S', 'SA', 'PA', 'FA', 'RA', 'A', '.']);
  });
});
