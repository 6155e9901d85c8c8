// The baseline's judge on real evidence (test/fixtures/evidence/none-*.json, recorded with
// `lab verify --backend none --placement <p> --save-evidence test/fixtures/evidence`).
import { describe, expect, it } from 'vitest';
import { checkNamed, failStep, judgeRecorded } from '../../../test/support/evidence.ts';
import { addCount } from '../../../test/support/kernel-path.ts';
import type { VerifyEvidence } from '../../judge/plan.ts';
import { noneBackend, type NoneEvidence } from './none.ts';

type Evidence = VerifyEvidence<NoneEvidence>;

const breaks: Array<{ check: string; how: string; alter: (e: Evidence) => void; detail: RegExp }> = [
  { check: 'probes-echoed', how: 'the loopback probe failed', alter: (e) => Object.assign(e.plan.probes['loopback']!, { ok: false, error: 'ECONNREFUSED' }), detail: /loopback: .*ECONNREFUSED/ },
  { check: 'app-sees-client-directly', how: 'something in the path changed the source', alter: (e) => e.plan.accepts[e.server.name]!.forEach((a) => a.port === 8080 && (a.peer = '127.0.0.6')), detail: /saw peers 127\.0\.0\.6/ },
  {
    check: 'app-sees-client-directly',
    how: 'a port other than the app port was reached from another address (a NAT or proxy on one port)',
    alter: (e) => e.plan.accepts[e.server.name]!.forEach((a) => a.port === 8084 && (a.peer = '198.18.1.1')),
    detail: /not from the client: :8084 from 198\.18\.1\.1/,
  },
  { check: 'app-sees-client-directly', how: 'the app saw no connection at all', alter: (e) => (e.plan.accepts[e.server.name] = []), detail: /saw peers none/ },
  { check: 'no-iptables-rules-in-pods', how: 'a pod holds an iptables rule', alter: (e) => (e.collected.netfilter[e.client.name]!.iptablesRules = 1), detail: /client: 1 iptables rules/ },
  { check: 'no-iptables-rules-in-pods', how: 'a pod holds a native nftables table', alter: (e) => e.collected.netfilter[e.server.name]!.nftTables.push('inet istio-proxy-nat'), detail: /nft tables inet istio-proxy-nat/ },
  { check: 'bytes-intact', how: 'the echoed digest differs', alter: (e) => Object.assign(e.plan.bulk!, { ok: false, sha256Echoed: '00', error: 'digest mismatch' }), detail: /bulk echo to .* failed: digest mismatch/ },
  { check: 'iperf3-through-path', how: 'the iperf3 server counted nothing', alter: (e) => (e.plan.throughput!.bytesReceived = 0), detail: /counted no bytes/ },
  { check: 'iperf3-through-path', how: 'iperf3 did not run', alter: (e) => failStep(e, 'iperf3', 'iperf3 timed out after 30000 ms'), detail: /the iperf3 step failed/ },
  {
    check: 'kernel-path',
    how: "the traced probe's SYN left the client pod NAT-rewritten (something redirected it)",
    alter: (e) => addCount(e, e.client.name, 'tp:net_dev_queue', ['nat', 'syn'], 1),
    detail: /sig:nat-rewritten-tx@[^ ]*client[^ ]* 1 \(must be 0: no packet is NAT-rewritten/,
  },
];

describe.each(['same-node', 'cross-node'] as const)('none judge on real %s evidence', (placement) => {
  it('passes every check as recorded', () => {
    expect(judgeRecorded(noneBackend, placement).filter((c) => !c.ok)).toEqual([]);
  });

  it.each(breaks)('fails $check when $how', ({ check, alter, detail }) => {
    const judged = checkNamed(judgeRecorded(noneBackend, placement, alter), check);
    expect(judged.ok).toBe(false);
    expect(judged.detail).toMatch(detail);
  });
});

it('covers every none check with a break', () => {
  const names = judgeRecorded(noneBackend, 'same-node').map((c) => c.name);
  expect(new Set(breaks.map((b) => b.check))).toEqual(new Set(names));
});
