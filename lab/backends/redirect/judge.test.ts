// The redirect judge on real evidence (test/fixtures/evidence/redirect-*.json, recorded with
// `lab verify --backend redirect --placement <p> --save-evidence test/fixtures/evidence`): every
// check passes as recorded, and each fails when the evidence is altered the way a broken install
// would leave it.
import { describe, expect, it } from 'vitest';
import { checkNamed, failStep, judgeRecorded } from '../../../test/support/evidence.ts';
import type { VerifyEvidence } from '../../judge/plan.ts';
import { PROXY_UID_RETURN } from '../../judge/sidecar.ts';
import type { RedirectEvidence } from './checks.ts';
import { redirectBackend } from './redirect.ts';

type Evidence = VerifyEvidence<RedirectEvidence>;
const zeroRule = (rules: RedirectEvidence['clientRules'], chain: string, rule: string) => {
  const found = rules.rules.filter((r) => r.chain === chain && r.rule === rule);
  expect(found).toHaveLength(1);
  found[0]!.packets = 0;
};

const breaks: Array<{ check: string; how: string; alter: (e: Evidence) => void; detail: RegExp }> = [
  { check: 'outbound-captured', how: 'ISTIO_REDIRECT never fired', alter: (e) => e.collected.clientRules.rules.filter((r) => r.chain === 'ISTIO_REDIRECT').forEach((r) => (r.packets = 0)), detail: /matched 0 packets/ },
  {
    check: 'outbound-captured',
    how: 'the client sidecar logged the connection without its original destination',
    alter: (e) => e.collected.clientLog.forEach((c) => c.originalDst.endsWith(':8080') && (c.originalDst = `${e.client.ip}:15001`)),
    detail: /no connection logged/,
  },
  { check: 'inbound-captured', how: 'the server sidecar logged no inbound connection', alter: (e) => (e.collected.serverLog = e.collected.serverLog.filter((c) => c.listener !== 'inbound')), detail: /no connection logged/ },
  {
    check: 'inbound-captured',
    how: 'the app saw the client directly (inbound bypassed the sidecar)',
    alter: (e) => e.plan.accepts[e.server.name]!.forEach((a) => a.port === 8080 && (a.peer = e.client.ip)),
    detail: /app saw peers 198\.18\./,
  },
  { check: 'inbound-nat-in-conntrack', how: 'conntrack holds no NATed entry', alter: (e) => e.collected.serverConntrack.forEach((c) => (c.nat = false)), detail: /no NATed conntrack entry/ },
  {
    check: 'excluded-ports-not-captured',
    how: 'the server sidecar captured :15020',
    alter: (e) => e.collected.serverLog.push({ ...e.collected.serverLog.find((c) => c.listener === 'inbound')!, originalDst: `${e.server.ip}:15020` }),
    detail: /:15020 server sidecar logged 1/,
  },
  { check: 'proxy-uid-not-captured', how: "the UID rule is missing (only the GID rule let the probe through)", alter: (e) => zeroRule(e.collected.clientRules, 'ISTIO_OUTPUT', PROXY_UID_RETURN), detail: /matched 0 packets/ },
  {
    check: 'proxy-uid-not-captured',
    how: "the client sidecar captured the proxy's own connection",
    alter: (e) => e.collected.clientLog.push({ ...e.collected.clientLog[0]!, listener: 'outbound', originalDst: `${e.server.ip}:8081` }),
    detail: /client sidecar logged 1/,
  },
  {
    check: 'loopback-not-captured',
    how: 'the client sidecar captured 127.0.0.1',
    alter: (e) => e.collected.clientLog.push({ ...e.collected.clientLog[0]!, originalDst: '127.0.0.1:8082' }),
    detail: /client sidecar logged 1/,
  },
  { check: 'loopback-not-captured', how: 'no loopback RETURN rule matched', alter: (e) => e.collected.clientRules.rules.filter((r) => r.chain === 'ISTIO_OUTPUT' && r.target === 'RETURN' && !r.rule.includes('owner --uid-owner 1337 -j')).forEach((r) => (r.packets = 0)), detail: /matched 0 \+ 0 packets/ },
  { check: 'probes-echoed', how: 'the app probe got no echo', alter: (e) => Object.assign(e.plan.probes['app']!, { ok: false, error: 'ECONNRESET' }), detail: /app: .* failed: ECONNRESET/ },
  { check: 'bytes-intact', how: 'the bulk echo step failed', alter: (e) => failStep(e, 'bulk', 'read ECONNRESET'), detail: /the bulk step failed: read ECONNRESET/ },
  {
    check: 'bytes-intact',
    how: 'a sidecar carried fewer bytes than were echoed',
    alter: (e) => e.collected.serverLog.filter((c) => c.originalDst.endsWith(':8084')).forEach((c) => (c.fromServer -= 1)),
    detail: /server sidecar carried \d+ B out and \d+ B back, expected/,
  },
  { check: 'iperf3-through-path', how: 'iperf3 failed', alter: (e) => failStep(e, 'iperf3', 'iperf3: unable to write to stream socket: Broken pipe'), detail: /the iperf3 step failed: iperf3: unable to write/ },
  { check: 'iperf3-through-path', how: 'the client sidecar never saw the iperf3 connection', alter: (e) => (e.collected.clientLog = e.collected.clientLog.filter((c) => !c.originalDst.endsWith(':5201'))), detail: /client sidecar logged no iperf3 connection/ },
];

describe.each(['same-node', 'cross-node'] as const)('redirect judge on real %s evidence', (placement) => {
  it('passes every check as recorded', () => {
    const checks = judgeRecorded(redirectBackend, placement);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.map((c) => c.name)).toEqual([
      'outbound-captured',
      'inbound-captured',
      'inbound-nat-in-conntrack',
      'excluded-ports-not-captured',
      'proxy-uid-not-captured',
      'loopback-not-captured',
      'probes-echoed',
      'bytes-intact',
      'iperf3-through-path',
    ]);
  });

  it.each(breaks)('fails $check when $how', ({ check, alter, detail }) => {
    const checks = judgeRecorded(redirectBackend, placement, alter);
    const judged = checkNamed(checks, check);
    expect(judged.ok).toBe(false);
    expect(judged.detail).toMatch(detail);
  });
});

it('covers every redirect check with a break', () => {
  const names = judgeRecorded(redirectBackend, 'same-node').map((c) => c.name);
  expect(new Set(breaks.map((b) => b.check))).toEqual(new Set(names));
});
