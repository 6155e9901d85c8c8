// The kernel-path check every backend's verify ends with, on real evidence
// (test/fixtures/evidence/<backend>-<placement>.json, `lab verify --save-evidence`): it passes as
// recorded for every backend and placement, fails when the trace is altered the way another path
// would have left it in the kernel, and fails, naming why, when its step failed or its probe did.
import { describe, expect, it } from 'vitest';
import { allBackends, backendByName, backendNames } from '../../lab/backends/index.ts';
import type { BackendDescriptor } from '../../lab/backends/descriptor.ts';
import { PLACEMENTS, VERIFY_PORTS, type Placement, type VerifyEvidence } from '../../lab/judge/plan.ts';
import { expectationFunctions, KERNEL_PATH_EXPECTATIONS } from '../../lab/tracer/index.ts';
import { judgeEvidence } from '../../lab/verify/collect.ts';
import { checkNamed, loadEvidence } from '../support/evidence.ts';
import { addCount, dropCounts, traceFunction, traceOf } from '../support/kernel-path.ts';

const judge = (evidence: VerifyEvidence) => judgeEvidence(backendByName(evidence.backend) as BackendDescriptor, evidence);
const kernelPathOf = (evidence: VerifyEvidence) => checkNamed(judge(evidence), 'kernel-path');
const CASES = backendNames().flatMap((backend) => PLACEMENTS.map((placement) => [backend, placement] as const));

describe.each(CASES)('kernel-path on real %s %s evidence', (backend, placement) => {
  it('passes as recorded, as the last check, for a probe on its own port that echoed', () => {
    const evidence = loadEvidence(backend, placement);
    const checks = judge(evidence);
    expect(checks.at(-1)).toMatchObject({ name: 'kernel-path', ok: true });
    expect(checks.at(-1)!.detail).toMatch(/^hit: /);
    const traced = evidence.plan.kernelPath!;
    expect(traced.probe).toMatchObject({ ok: true, target: `${evidence.server.ip}:${VERIFY_PORTS.kernelPath}` });
    expect(traced.traffic).toEqual({ connections: 1, messages: 1 });
    // Counted in the run's namespaces, each pod and node with its role.
    const roles = Object.fromEntries(traced.trace.namespaces.map((n) => [n.name, n.roles]));
    expect(roles[evidence.client.name]).toContain('client');
    expect(roles[evidence.server.name]).toContain('server');
    for (const node of evidence.nodes) expect(roles[node.name]).toBeDefined();
  });

  it('fails, naming the step, when the trace could not start', () => {
    const evidence = loadEvidence(backend, placement);
    delete evidence.plan.kernelPath;
    evidence.plan.failures.push({ step: 'kernel-path', error: 'starting the trace: kpath-trace exited before attaching: libbpf: failed to load BTF' });
    const checks = judge(evidence);
    expect(checkNamed(checks, 'kernel-path')).toEqual({ name: 'kernel-path', ok: false, detail: 'the kernel-path step failed: starting the trace: kpath-trace exited before attaching: libbpf: failed to load BTF' });
    expect(checkNamed(checks, 'plan-completed').ok).toBe(false);
  });

  it('fails when the traced probe got no echo, whatever the trace shows', () => {
    const evidence = loadEvidence(backend, placement);
    Object.assign(evidence.plan.kernelPath!.probe, { ok: false, error: 'read ECONNRESET' });
    const check = kernelPathOf(evidence);
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(new RegExp(`^FAILED: the traced probe to ${evidence.server.ip}:${VERIFY_PORTS.kernelPath} failed: read ECONNRESET`));
  });

  it('fails when the trace lost events', () => {
    const evidence = loadEvidence(backend, placement);
    traceOf(evidence).trailLost = 2;
    expect(kernelPathOf(evidence)).toMatchObject({ ok: false, detail: expect.stringContaining('2 trail events lost') as string });
  });
});

/** Each backend's path altered into another one's, in its recorded trace; the check must name the step. */
const wrongPaths: Array<{ backend: string; how: string; alter: (e: VerifyEvidence, placement: Placement) => void; detail: RegExp }> = [
  {
    backend: 'none',
    how: 'a packet of the client pod left NAT-rewritten (something redirected it)',
    alter: (e) => addCount(e, e.client.name, 'tp:net_dev_queue', ['nat', 'syn'], 1),
    detail: /sig:nat-rewritten-tx@[^ ]*client[^ ]* 1 \(must be 0: no packet is NAT-rewritten/,
  },
  {
    backend: 'redirect',
    how: "the app's SYN left unrewritten (outbound was not redirected)",
    alter: (e) => dropCounts(e, e.client.name, 'tp:net_dev_queue', ['nat', 'syn']),
    detail: /sig:nat-rewritten-syn@client 0 \(need >= 1: one per connection\): outbound REDIRECT/,
  },
  {
    backend: 'redirect',
    how: 'a transparent listener took the connection (TPROXY, not REDIRECT)',
    alter: (e) => addCount(e, e.server.name, 'tp:inet_sock_set_state', ['transparent', 'established'], 1),
    detail: /sig:transparent-accept@[^ ]*server[^ ]* 1 \(must be 0/,
  },
  {
    backend: 'redirect-nft',
    how: 'the xt REDIRECT target ran instead of nftables\' own, on a kernel where both are traced',
    alter: (e) => (traceFunction(e, 'redirect_tg4', { [e.client.name]: 1, [e.server.name]: 1 }), traceFunction(e, 'nft_redir_eval')),
    detail: /fn:nft_redir_eval@client 0 .*fn:redirect_tg4@client\+server 2 \(must be 0: the pods' rules are nftables rules/,
  },
  {
    backend: 'redirect-nft',
    how: "the server sidecar's reply left as :15006 (no reverse NAT: inbound not redirected)",
    alter: (e) => dropCounts(e, e.server.name, 'tp:net_dev_queue', ['nat']),
    detail: /sig:nat-rewritten-tx@server 0 \(need >= 1: one per connection\): inbound REDIRECT/,
  },
  {
    backend: 'tproxy',
    how: 'a packet of the server pod was NAT-rewritten (inbound REDIRECT instead of TPROXY)',
    alter: (e) => addCount(e, e.server.name, 'tp:net_dev_queue', ['nat'], 2),
    detail: /sig:nat-rewritten-tx@server 2 \(must be 0: inbound is not NATed/,
  },
  {
    backend: 'tproxy',
    how: 'the TPROXY target never ran, on a kernel where it is traced',
    alter: (e) => traceFunction(e, 'tproxy_tg4'),
    detail: /fn:tproxy_tg4@server 0 \(need >= 1: one per connection\): the TPROXY target of the iptables flavour/,
  },
  {
    backend: 'tproxy-nft',
    how: 'no transparent socket took the connection (it reached the app without TPROXY)',
    alter: (e) => dropCounts(e, e.server.name, 'tp:inet_sock_set_state', ['transparent', 'established']),
    detail: /sig:transparent-accept@server 0 \(need >= 1: one per connection\): inbound TPROXY/,
  },
  {
    backend: 'sockmap',
    how: "a sockmap socket's payload reached a device (the leg went through tcp_transmit_skb)",
    alter: (e) => addCount(e, e.client.name, 'tp:net_dev_queue', ['payload', 'psock'], 1),
    detail: /sig:sockmap-payload-tx@[^ ]*client[^ ]* 1 \(must be 0: a redirected leg's bytes never reach tcp_transmit_skb/,
  },
  {
    backend: 'sockmap',
    how: 'the request was never sent on a sockmap socket',
    alter: (e) => dropCounts(e, e.client.name, 'tp:sock_send_length', ['psock', 'payload']),
    detail: /sig:sockmap-send@client 0 \(need >= 1: one per message\)/,
  },
  {
    backend: 'tc',
    how: "the client's SYN was routed, not redirected by tc, on its node",
    alter: (e) => dropCounts(e, e.client.node, 'tp:net_dev_queue', ['redirected', 'syn']),
    detail: /sig:tc-redirected-syn@node-a 0 \(need >= 1: one per connection\): app_outbound redirects/,
  },
  {
    backend: 'ambient',
    how: "the app's replies were routed out of eth0, not by table 100 to the node proxy",
    alter: (e) => dropCounts(e, e.server.name, 'tp:fib_table_lookup', ['policy-table']),
    detail: /sig:policy-route@server 0 \(need >= 1: one per connection\): the app's reply to the client's address is routed by table 100/,
  },
  {
    backend: 'ambient',
    how: 'the node proxy dialled the app from its own address (no transparent socket)',
    alter: (e) => dropCounts(e, e.server.name, 'tp:inet_sock_set_state', ['transparent', 'established']),
    detail: /sig:transparent-accept@server 0 \(need >= 1: one per connection\): the node proxy dials the app from the client's own address/,
  },
];

describe.each(PLACEMENTS)('kernel-path on %s evidence altered into another path', (placement) => {
  it.each(wrongPaths.map((w) => [w.backend, w.how, w] as const))('%s fails kernel-path, and only it, when %s', (backend, _how, { alter, detail }) => {
    const evidence = loadEvidence(backend, placement);
    alter(evidence, placement);
    const checks = judge(evidence);
    expect(checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['kernel-path']);
    expect(checkNamed(checks, 'kernel-path').detail).toMatch(/^FAILED: /);
    expect(checkNamed(checks, 'kernel-path').detail).toMatch(detail);
  });
});

it('shows every backend altered into another path', () => {
  expect(new Set(wrongPaths.map((w) => w.backend))).toEqual(new Set(backendNames()));
});

it('fails, rather than passes, on evidence recorded before the step existed, and on a trace it cannot read', () => {
  const old = loadEvidence('redirect', 'same-node');
  delete old.plan.kernelPath;
  expect(kernelPathOf(old)).toEqual({ name: 'kernel-path', ok: false, detail: 'the kernel-path step did not run' });
  const unreadable = loadEvidence('redirect', 'same-node');
  (unreadable.plan.kernelPath as unknown as { trace: unknown }).trace = {};
  const check = kernelPathOf(unreadable);
  expect(check.ok).toBe(false);
  expect(check.detail).toMatch(/^the kernel-path evidence could not be read: /);
});

it('fails a backend the expectations do not know', () => {
  const evidence = loadEvidence('none', 'same-node');
  const unknown = { ...(backendByName('none') as BackendDescriptor), name: 'unknown' };
  const checks = judgeEvidence(unknown, { ...evidence, backend: 'unknown' });
  expect(checkNamed(checks, 'kernel-path')).toEqual({ name: 'kernel-path', ok: false, detail: 'no kernel-path expectation for the unknown backend' });
});

describe('the kernel-path expectations', () => {
  it('cover every backend of the registry, each within the tracer\'s function slots', () => {
    for (const backend of backendNames()) {
      const expectation = KERNEL_PATH_EXPECTATIONS[backend];
      expect(expectation, backend).toBeDefined();
      expect(expectation!.backend).toBe(backend);
      expect(expectationFunctions(expectation!).length).toBeLessThanOrEqual(16);
    }
  });

  it('give the traced probe a port no other question of any plan uses', () => {
    const ports = Object.values(VERIFY_PORTS);
    expect(new Set(ports).size).toBe(ports.length);
    for (const backend of allBackends()) for (const extra of backend.plan.extraProbes) expect(extra.port, `${backend.name} ${extra.name}`).not.toBe(VERIFY_PORTS.kernelPath);
  });
});
