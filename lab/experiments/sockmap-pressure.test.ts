// The pressure study's checks on real runs (test/fixtures/sockmap-pressure/), each also altered the way
// a different kernel or a broken study would show it, so that every check is seen failing.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIperf3Run } from './iperf3-run.ts';
import { pressureChecks, receiverSocket, type PressureResult } from './sockmap-pressure.ts';
import { parseTcpMem } from '../host/sysctl.ts';
import { parseNetstatCounter, parseSockstatTcpPages, parseSsMemory } from './socket-memory.ts';
import { findTcpMemcgRoot } from './tcp-memcg.ts';

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/sockmap-pressure/${name}`, import.meta.url), 'utf8');
const run = (name: string) => JSON.parse(fixture(`${name}.json`)) as PressureResult;
const verdicts = (r: PressureResult) => Object.fromEntries(pressureChecks(r).map((c) => [c.name, c.ok]));
const failing = (r: PressureResult) => pressureChecks(r).filter((c) => !c.ok).map((c) => c.name);
const MiB = 1024 * 1024;

describe('sockmap pressure checks on real runs', () => {
  it.each([
    ['tcp-stopped-receiver', ['tcp-holds-the-sender-back', 'outcome-explained']],
    ['seed-stopped-receiver', ['sk-msg-redirected', 'sk-msg-ingress-does-not-hold-the-sender-back', 'receiver-queue-beyond-its-buffer', 'outcome-explained']],
    ['sidecar-stopped-receiver', ['sk-msg-redirected', 'sk-msg-ingress-does-not-hold-the-sender-back', 'receiver-queue-beyond-its-buffer', 'outcome-explained']],
    ['seed-memcg-16m', ['sk-msg-redirected', 'enomem-when-the-receiver-cannot-be-charged', 'outcome-explained']],
    ['tcp-memcg-16m', ['tcp-holds-the-sender-back', 'tcp-stays-within-the-budget', 'outcome-explained']],
    ['sidecar-sustained-64k', ['sk-msg-redirected', 'outcome-explained']],
  ])('%s: every check asked passes', (name, expected) => {
    const r = run(name);
    expect(verdicts(r)).toEqual(Object.fromEntries(expected.map((c) => [c, true])));
    // The judgement is a pure function of the evidence: the recorded verdicts are reproduced.
    expect(pressureChecks(r)).toEqual(r.checks);
  });

  it('a sender that kept writing into a stopped receiver fails the TCP check', () => {
    const r = run('tcp-stopped-receiver');
    const seed = run('seed-stopped-receiver');
    expect(failing({ ...r, sentWhileFrozen: seed.sentWhileFrozen! })).toEqual(['tcp-holds-the-sender-back']);
    expect(failing({ ...r, peak: { ...r.peak!, rmemAlloc: 10 * r.peak!.rcvbuf } })).toEqual(['tcp-holds-the-sender-back']);
  });

  it('a redirect that held the sender back (a kernel with receive backpressure) fails the sk_msg checks', () => {
    const seed = run('seed-stopped-receiver');
    expect(failing({ ...seed, sentWhileFrozen: { bytes: 0, seconds: 2 } })).toEqual(['sk-msg-ingress-does-not-hold-the-sender-back']);
    expect(failing({ ...seed, peak: { ...seed.peak!, rmemAlloc: seed.peak!.rcvbuf } })).toEqual(['receiver-queue-beyond-its-buffer']);
    // No full interval inside the stop: nothing was measured, which is no pass.
    expect(failing({ ...seed, sentWhileFrozen: { bytes: seed.sentWhileFrozen!.bytes, seconds: 0 } })).toEqual(['sk-msg-ingress-does-not-hold-the-sender-back']);
  });

  it('no redirected message fails sk-msg-redirected', () => {
    const r = run('sidecar-stopped-receiver');
    expect(failing({ ...r, counters: { ...r.counters!, msgRedirected: 0 } })).toEqual(['sk-msg-redirected']);
  });

  it('a failure that is not ENOMEM, or a budget never reached, is not explained', () => {
    const r = run('seed-memcg-16m');
    const brokenPipe = { ...r, iperf: { ...r.iperf, error: 'unable to write to stream socket: Broken pipe' } };
    expect(failing(brokenPipe)).toEqual(['enomem-when-the-receiver-cannot-be-charged', 'outcome-explained']);
    expect(failing({ ...r, memcg: { ...r.memcg!, maxUsageBytes: MiB } })).toEqual(['enomem-when-the-receiver-cannot-be-charged', 'outcome-explained']);
    const tcp = run('tcp-memcg-16m');
    expect(failing({ ...tcp, memcg: { ...tcp.memcg!, maxUsageBytes: tcp.memcg!.limitBytes } })).toEqual(['tcp-stays-within-the-budget']);
  });

  it('an ENOMEM on the host budget is explained only by a pressure entry and a receiver over its buffer', () => {
    const r = run('sidecar-sustained-64k');
    expect(r.failedAtMs).toBe(24_828);
    expect(failing({ ...r, memoryPressures: 0 })).toEqual(['outcome-explained']);
    expect(failing({ ...r, lastBeforeFailure: { ...r.lastBeforeFailure!, rmemAlloc: 1000 } })).toEqual(['outcome-explained']);
    const { lastBeforeFailure: _dropped, ...unsampled } = r;
    expect(failing(unsampled)).toEqual(['outcome-explained']);
  });
});

describe('readers of the kernel figures', () => {
  it('reads each socket of `ss -tmiHnO` with its skmem, and finds the receiver by its port', () => {
    const sockets = parseSsMemory(fixture('ss-tmiHnO.txt'));
    expect(sockets).toHaveLength(4);
    expect(sockets[2]).toEqual({ state: 'ESTAB', local: '127.0.0.1:5201', peer: '127.0.0.1:53434', rmemAlloc: 18743296, rcvbuf: 131072, wmemQueued: 0, sndbuf: 3939840, drops: 0 });
    expect(receiverSocket({ atMs: 0, tcpMemPages: 0, memoryPressures: 0, sockets }, 5201)?.peer).toBe('127.0.0.1:53434');
    expect(receiverSocket({ atMs: 0, tcpMemPages: 0, memoryPressures: 0, sockets }, 15001)).toBeUndefined();
  });

  it('reads the host TCP pages, a TcpExt counter and tcp_mem', () => {
    expect(parseSockstatTcpPages(fixture('sockstat.txt'))).toBe(4416);
    expect(parseNetstatCounter(fixture('netstat.txt'), 'TcpExt', 'TCPMemoryPressures')).toBe(0);
    expect(() => parseNetstatCounter(fixture('netstat.txt'), 'TcpExt', 'NoSuchCounter')).toThrow(/NoSuchCounter/);
    expect(parseTcpMem('287898\t383866\t575796\n')).toEqual({ min: 287898, pressure: 383866, max: 575796 });
  });

  it('keeps what iperf3 saw up to its failure', () => {
    const failed = parseIperf3Run(fixture('iperf3-enomem.json'), 2.5);
    expect(failed.ok).toBe(false);
    expect(failed.error).toBe('unable to send control message: Cannot allocate memory');
    expect(failed.intervals).toHaveLength(3);
    expect(failed.bytesSent).toBe(failed.intervals.reduce((sum, i) => sum + i.bytes, 0));
    const refused = parseIperf3Run(readFileSync(new URL('../../test/fixtures/iperf3/connection-refused.json', import.meta.url), 'utf8'), 0.1);
    expect(refused).toMatchObject({ ok: false, error: 'unable to connect to server: Connection refused', intervals: [] });
    const done = parseIperf3Run(readFileSync(new URL('../../test/fixtures/iperf3/loopback-1s-64k.json', import.meta.url), 'utf8'), 1);
    expect(done.ok).toBe(true);
    expect(done.bytesReceived).toBeGreaterThan(0);
    expect(parseIperf3Run('iperf3: error - no JSON', 0).ok).toBe(false);
  });

  it('finds the cgroup v1 memory controller only when it offers TCP accounting', () => {
    const hybrid = 'cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n';
    // A pure cgroup v2 table has no such controller.
    expect(findTcpMemcgRoot('cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n')).toBeUndefined();
    // A hybrid one names it; it counts only if its limit file exists, which this machine decides.
    expect(findTcpMemcgRoot(hybrid)).toBe(readFileSync('/proc/mounts', 'utf8').includes(' cgroup rw,relatime,memory ') ? '/sys/fs/cgroup/memory' : undefined);
  });
});
