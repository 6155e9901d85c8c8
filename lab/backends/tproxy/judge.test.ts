// The tproxy judge on real evidence (test/fixtures/evidence/tproxy-*.json, recorded with
// `lab verify --backend tproxy --placement <p> --save-evidence test/fixtures/evidence`): every check
// passes as recorded, and each fails when the evidence is altered the way a broken install would
// leave it.
import { describe, expect, it } from 'vitest';
import { checkNamed, failStep, judgeRecorded } from '../../../test/support/evidence.ts';
import type { RuleCounter } from '../../evidence/iptables.ts';
import type { VerifyEvidence } from '../../judge/plan.ts';
import { PROXY_UID_RETURN } from '../../judge/sidecar.ts';
import { TPROXY_RULES, type TproxyEvidence } from './checks.ts';
import { tproxyBackend } from './tproxy.ts';

type Evidence = VerifyEvidence<TproxyEvidence>;

/** Sets the counters of the rules `which` picks to 0, requiring that at least one exists. */
function zero(rules: RuleCounter[], which: (r: RuleCounter) => boolean): void {
  const found = rules.filter(which);
  expect(found.length).toBeGreaterThan(0);
  for (const r of found) r.packets = 0;
}

const breaks: Array<{ check: string; how: string; alter: (e: Evidence) => void; detail: RegExp }> = [
  { check: 'outbound-captured', how: 'ISTIO_REDIRECT never fired', alter: (e) => zero(e.collected.clientRules.rules, (r) => r.chain === 'ISTIO_REDIRECT'), detail: /matched 0 packets/ },
  {
    check: 'inbound-captured',
    how: 'the sidecar handed the connection on from the client address (not 127.0.0.6)',
    alter: (e) => e.collected.serverLog.forEach((c) => c.listener === 'inbound' && (c.upstreamSrc = `${e.client.ip}:40000`)),
    detail: /0 handed to/,
  },
  { check: 'tproxy-counters', how: 'TPROXY never fired', alter: (e) => zero(e.collected.serverRules.rules, (r) => r.chain === 'ISTIO_TPROXY'), detail: /TPROXY matched 0 packets/ },
  { check: 'tproxy-counters', how: 'established packets were not diverted', alter: (e) => zero(e.collected.serverRules.rules, (r) => r.chain === 'ISTIO_DIVERT'), detail: /ISTIO_DIVERT MARK 0x539 matched 0/ },
  { check: 'inbound-not-natted-in-conntrack', how: 'inbound was NATed', alter: (e) => e.collected.serverConntrack.forEach((c) => (c.nat = true)), detail: /, [1-9]\d* NATed/ },
  {
    check: 'policy-routing-only-in-pods',
    how: "a pod's fwmark rule is missing",
    alter: (e) => (e.collected.podRouting[e.server.name]!.rules = e.collected.podRouting[e.server.name]!.rules.filter((r) => r.table !== '133')),
    detail: /server: fwmark 0x539 lookup 133 MISSING/,
  },
  {
    check: 'policy-routing-only-in-pods',
    how: 'a node namespace holds the TPROXY rule',
    alter: (e) => Object.values(e.collected.otherRules)[0]!.push({ fwmark: '0x539', table: '133' }),
    detail: /node node-a: 1 such rules/,
  },
  { check: 'tproxy-sysctls', how: 'src_valid_mark was flipped to 1', alter: (e) => (e.collected.podSysctls[e.server.name]!['net.ipv4.conf.all.src_valid_mark'] = '1'), detail: /server: not as set: net\.ipv4\.conf\.all\.src_valid_mark/ },
  {
    check: 'excluded-ports-not-captured',
    how: "the excluded port's RETURN rule never matched (the port was TPROXYed)",
    alter: (e) => zero(e.collected.serverRules.rules, (r) => r.table === 'mangle' && r.rule === TPROXY_RULES.excludedReturn(15021)),
    detail: /:15021 mangle RETURN matched 0 packets/,
  },
  {
    check: 'passthrough-not-captured',
    how: "the sidecar's own hand-off came back to it",
    alter: (e) => e.collected.serverLog.push({ ...e.collected.serverLog.find((c) => c.listener === 'inbound')!, client: '127.0.0.6:40000' }),
    detail: /server sidecar logged 1 inbound connections not from/,
  },
  {
    check: 'passthrough-not-captured',
    how: 'the 127.0.0.6 RETURN in mangle never matched',
    alter: (e) => zero(e.collected.serverRules.rules, (r) => r.rule === TPROXY_RULES.passthroughInbound),
    detail: /127\.0\.0\.6 RETURN matched 0 packets/,
  },
  { check: 'proxy-uid-not-captured', how: 'the UID rule is missing (only the GID rule let the probe through)', alter: (e) => zero(e.collected.clientRules.rules, (r) => r.table === 'nat' && r.rule === PROXY_UID_RETURN), detail: /matched 0 packets/ },
  {
    check: 'loopback-not-captured',
    how: 'the mangle loopback RETURN never matched',
    alter: (e) => zero(e.collected.clientRules.rules, (r) => r.rule === TPROXY_RULES.loopbackInbound),
    detail: /mangle lo RETURN 0/,
  },
  { check: 'probes-echoed', how: 'an excluded-port probe failed', alter: (e) => Object.assign(e.plan.probes['excluded-15020']!, { ok: false, error: 'ETIMEDOUT' }), detail: /excluded-15020: .*ETIMEDOUT/ },
  { check: 'bytes-intact', how: 'the bulk echo step failed', alter: (e) => failStep(e, 'bulk', 'read ECONNRESET'), detail: /the bulk step failed/ },
  { check: 'iperf3-through-path', how: 'iperf3 failed', alter: (e) => failStep(e, 'iperf3', 'iperf3: Cannot allocate memory'), detail: /the iperf3 step failed/ },
];

describe.each(['same-node', 'cross-node'] as const)('tproxy judge on real %s evidence', (placement) => {
  it('passes every check as recorded', () => {
    expect(judgeRecorded(tproxyBackend, placement).filter((c) => !c.ok)).toEqual([]);
  });

  it.each(breaks)('fails $check when $how', ({ check, alter, detail }) => {
    const judged = checkNamed(judgeRecorded(tproxyBackend, placement, alter), check);
    expect(judged.ok).toBe(false);
    expect(judged.detail).toMatch(detail);
  });
});

it('covers every tproxy check with a break', () => {
  const names = judgeRecorded(tproxyBackend, 'same-node').map((c) => c.name);
  expect(new Set(breaks.map((b) => b.check))).toEqual(new Set(names));
});
