// The `kernel-path` verdict on recorded evidence: each backend's real trace passes its own
// expectation, fails another backend's, and fails when a must-hit step is taken away or a
// must-not-hit step appears. Fixtures: `lab path --backend X --placement P --json` on this lab's
// 6.18 VM (fentry refused there, so every fn: point is unavailable), `.evidence` with the trail cut
// after the server app's first read (test/fixtures/kernel-path/README.md).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KernelPathEvidence } from '../../lab/tracer/evidence.ts';
import { judgeKernelPath, placementOf } from '../../lab/tracer/judge.ts';
import { expectationFunctions, KERNEL_PATH_EXPECTATIONS } from '../../lab/tracer/signatures.ts';

const load = (name: string): KernelPathEvidence => JSON.parse(readFileSync(new URL(`../fixtures/kernel-path/${name}.json`, import.meta.url), 'utf8')) as KernelPathEvidence;
const RECORDED = ['none-same-node', 'redirect-same-node', 'tproxy-same-node', 'sockmap-same-node', 'tc-same-node', 'tc-cross-node', 'redirect-cross-node'] as const;
const backendOf = (name: string) => name.split('-')[0]!;
const expectation = (backend: string) => {
  const e = KERNEL_PATH_EXPECTATIONS[backend];
  if (!e) throw new Error(`no expectation for ${backend}`);
  return e;
};

/** A copy of the evidence with one count changed (added when absent). */
function withCount(evidence: KernelPathEvidence, netns: string, point: KernelPathEvidence['counts'][number]['point'], flags: KernelPathEvidence['counts'][number]['flags'], count: number): KernelPathEvidence {
  const counts = evidence.counts.filter((c) => !(c.netns === netns && c.point === point && c.flags.join() === flags.join()));
  return { ...evidence, counts: [...counts, { netns, point, flags: [...flags], count }] };
}

/** A copy without any count at the point carrying all these flags. */
function withoutCounts(evidence: KernelPathEvidence, point: string, flags: readonly string[]): KernelPathEvidence {
  return { ...evidence, counts: evidence.counts.filter((c) => !(c.point === point && flags.every((f) => c.flags.includes(f as never)))) };
}

describe('judgeKernelPath on recorded traces', () => {
  it.each(RECORDED)('%s passes its own backend expectation', (name) => {
    const check = judgeKernelPath(load(name), expectation(backendOf(name)));
    expect(check.detail).not.toContain('FAILED');
    expect(check).toMatchObject({ name: 'kernel-path', ok: true });
  });

  it('knows the placement from the node roles', () => {
    expect(placementOf(load('tc-same-node'))).toBe('same-node');
    expect(placementOf(load('tc-cross-node'))).toBe('cross-node');
  });

  it.each([
    ['redirect-same-node', 'tproxy', 'sig:transparent-accept@server 0'],
    ['tproxy-same-node', 'redirect', 'sig:nat-rewritten-tx@server 0'],
    ['none-same-node', 'sockmap', 'sig:sockmap-send@client 0'],
    ['sockmap-same-node', 'none', 'sig:sockmap-send@client+server'],
    ['tc-same-node', 'redirect', 'sig:nat-rewritten-syn@client 0'],
    ['redirect-same-node', 'tc', 'sig:tc-redirected-syn@node-a 0'],
    ['none-same-node', 'redirect', 'sig:nat-rewritten-syn@client 0'],
  ])("%s fails the %s expectation, naming what is missing or present", (name, other, named) => {
    const check = judgeKernelPath(load(name), expectation(other));
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(/^FAILED: /);
    expect(check.detail).toContain(named);
  });

  it('fails when a must-hit step is at 0: the REDIRECT SYN rewrite taken away', () => {
    const evidence = withoutCounts(load('redirect-same-node'), 'tp:net_dev_queue', ['nat', 'syn']);
    const check = judgeKernelPath(evidence, expectation('redirect'));
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('sig:nat-rewritten-syn@client 0 (need >= 1: one per connection): outbound REDIRECT');
  });

  it('fails when a must-not-hit step moved into the path: NAT in the TPROXY server pod', () => {
    const evidence = withCount(load('tproxy-same-node'), 'server', 'tp:net_dev_queue', ['nat'], 2);
    const check = judgeKernelPath(evidence, expectation('tproxy'));
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('sig:nat-rewritten-tx@server 2 (must be 0: inbound is not NATed');
  });

  it("fails when a sockmap socket's payload reaches a device (the redirected leg took tcp_transmit_skb)", () => {
    const evidence = withCount(load('sockmap-same-node'), 'client', 'tp:net_dev_queue', ['payload', 'psock'], 1);
    const check = judgeKernelPath(evidence, expectation('sockmap'));
    expect(check.ok).toBe(false);
    expect(check.detail).toContain("sig:sockmap-payload-tx@client+server+node-a 1 (must be 0: a redirected leg's bytes never reach tcp_transmit_skb");
  });

  it('scales per-connection minimums with the traffic traced', () => {
    const evidence = load('redirect-same-node');
    expect(judgeKernelPath(evidence, expectation('redirect'), { connections: 1, messages: 1 }).ok).toBe(true);
    const check = judgeKernelPath(evidence, expectation('redirect'), { connections: 5, messages: 5 });
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('sig:nat-rewritten-syn@client 1 (need >= 5: one per connection)');
  });

  it('reports every unavailable function with its reason, grouped, and still passes on the signals', () => {
    const check = judgeKernelPath(load('redirect-same-node'), expectation('redirect'));
    const unavailable = check.detail.slice(check.detail.indexOf('unavailable on '));
    for (const fn of expectationFunctions(expectation('redirect'))) expect(unavailable).toContain(`fn:${fn.name}`);
    expect(unavailable).toContain('fentry refused by this kernel: Operation not permitted');
  });

  it('checks a function when it is available: counted in the right namespace it passes, at 0 it fails', () => {
    const base = load('redirect-same-node');
    const traced: KernelPathEvidence = { ...base, points: base.points.map((p) => (p.point === 'fn:nf_nat_redirect_ipv4' ? { point: p.point, available: true } : p)) };
    const atZero = judgeKernelPath(traced, expectation('redirect'));
    expect(atZero.ok).toBe(false);
    expect(atZero.detail).toContain('fn:nf_nat_redirect_ipv4@client 0');
    const inClientOnly = judgeKernelPath(withCount(traced, 'client', 'fn:nf_nat_redirect_ipv4', [], 1), expectation('redirect'));
    expect(inClientOnly.detail).toContain('fn:nf_nat_redirect_ipv4@server 0');
    const both = withCount(withCount(traced, 'client', 'fn:nf_nat_redirect_ipv4', [], 1), 'server', 'fn:nf_nat_redirect_ipv4', [], 1);
    expect(judgeKernelPath(both, expectation('redirect')).ok).toBe(true);
  });

  it('fails, rather than passes, when nothing could be checked on the kernel', () => {
    const base = load('none-same-node');
    const blind: KernelPathEvidence = { ...base, points: base.points.map((p) => ({ point: p.point, available: false, reason: 'tracepoint absent on this kernel' })) };
    const check = judgeKernelPath(blind, expectation('none'));
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('no must-hit step could be checked on this kernel');
    expect(check.detail).toContain('no must-not-hit step could be checked on this kernel');
  });

  it('fails when the trace lost events', () => {
    const check = judgeKernelPath({ ...load('none-same-node'), trailLost: 3 }, expectation('none'));
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('3 trail events lost');
  });

  it('fails a requirement whose role no traced namespace plays', () => {
    const base = load('tc-same-node');
    const noProxy: KernelPathEvidence = { ...base, namespaces: base.namespaces.filter((n) => !n.roles.includes('client-proxy')) };
    const check = judgeKernelPath(noProxy, expectation('tc'));
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('no traced namespace is client-proxy');
  });

  it('asks the inbound proxy step only across nodes', () => {
    const cross = load('tc-cross-node');
    const serverProxy = cross.namespaces.find((n) => n.roles.includes('server-proxy'))!.name;
    const check = judgeKernelPath({ ...cross, counts: cross.counts.filter((c) => c.netns !== serverProxy || c.point !== 'tp:inet_sock_set_state') }, expectation('tc'));
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`sig:transparent-accept@${serverProxy} 0`);
    expect(judgeKernelPath(load('tc-same-node'), expectation('tc')).detail).not.toContain('inbound: the server node');
  });
});

describe('expectationFunctions', () => {
  it('lists each named kernel function once, with the argument hint where BTF has none', () => {
    const tc = expectationFunctions(expectation('tc'));
    expect(tc).toContainEqual({ name: 'bpf_sk_assign', argument: { index: 0, kind: 'skb' } });
    expect(tc.filter((f) => f.name === 'skb_do_redirect')).toHaveLength(1);
    for (const e of Object.values(KERNEL_PATH_EXPECTATIONS)) expect(expectationFunctions(e).length).toBeLessThanOrEqual(16);
  });
});
