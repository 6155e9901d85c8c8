// The redirect judge on real evidence of both rule flavours (test/fixtures/evidence/redirect-*.json and
// redirect-nft-*.json, recorded with `lab verify --backend <redirect|redirect-nft> --placement <p>
// --save-evidence test/fixtures/evidence`): every check passes as recorded, and each fails when the
// evidence is altered the way a broken install would leave it. The breaks find rules through
// sidecarRuleIds(flavour), as the judge does, so one list breaks both flavours.
import { describe, expect, it } from 'vitest';
import { checkNamed, failStep, judgeRecorded, loadEvidence } from '../../../test/support/evidence.ts';
import { dropCounts } from '../../../test/support/kernel-path.ts';
import { sharedSidecarBreaks } from '../../../test/support/sidecar-judge-breaks.ts';
import type { RuleCounter } from '../../evidence/iptables.ts';
import { sidecarRuleIds, type RulesFlavour, type SidecarRuleIds } from '../../istio/rule-ids.ts';
import type { VerifyEvidence } from '../../judge/plan.ts';
import type { RedirectEvidence } from './checks.ts';
import { redirectBackend, redirectNftBackend } from './redirect.ts';

type Evidence = VerifyEvidence<RedirectEvidence>;

/** Sets the counters of the rules `which` picks to 0, requiring that at least one exists. */
function zero(rules: RuleCounter[], which: (r: RuleCounter) => boolean): void {
  const found = rules.filter(which);
  expect(found.length).toBeGreaterThan(0);
  for (const r of found) r.packets = 0;
}

const inNat = (ids: SidecarRuleIds, chain: string, rule?: string) => (r: RuleCounter) => r.table === ids.tables.nat && r.chain === chain && (rule === undefined || r.rule === rule);

/** A break fails its check, and only the checks in `also` besides (no-silent-bypass counts every connection, so a bypass shows there too). */
const breaks: Array<{ check: string; how: string; alter: (e: Evidence, ids: SidecarRuleIds) => void; detail: RegExp; also?: string[] }> = [
  { check: 'outbound-captured', how: 'the outbound redirect never fired', alter: (e, ids) => zero(e.collected.clientRules.rules, inNat(ids, ids.chains.redirect)), detail: /redirect matched 0 packets/i },
  {
    check: 'outbound-captured',
    how: 'the client sidecar logged the connection without its original destination',
    alter: (e) => e.collected.clientLog.forEach((c) => c.originalDst.endsWith(':8080') && (c.originalDst = `${e.client.ip}:15001`)),
    detail: /no connection logged/,
    also: ['no-silent-bypass'],
  },
  {
    check: 'inbound-captured',
    how: 'the server sidecar logged no inbound connection to the app',
    alter: (e) => (e.collected.serverLog = e.collected.serverLog.filter((c) => c.listener !== 'inbound' || !c.originalDst.endsWith(':8080'))),
    detail: /no connection logged/,
    also: ['no-silent-bypass'],
  },
  { check: 'inbound-captured', how: 'the inbound redirect never fired', alter: (e, ids) => zero(e.collected.serverRules.rules, inNat(ids, ids.chains.inRedirect)), detail: /in.redirect \S+ matched 0 packets/i },
  {
    check: 'inbound-captured',
    how: 'the app saw the client directly (inbound bypassed the sidecar)',
    alter: (e) => e.plan.accepts[e.server.name]!.forEach((a) => a.port === 8080 && (a.peer = e.client.ip)),
    detail: /app saw peers 198\.18\./,
    also: ['no-silent-bypass'],
  },
  { check: 'inbound-nat-in-conntrack', how: 'conntrack holds no NATed entry', alter: (e) => e.collected.serverConntrack.forEach((c) => (c.nat = false)), detail: /no NATed conntrack entry/ },
  {
    check: 'excluded-ports-not-captured',
    how: 'the server sidecar captured :15020',
    alter: (e) => e.collected.serverLog.push({ ...e.collected.serverLog.find((c) => c.listener === 'inbound')!, originalDst: `${e.server.ip}:15020`, upstreamDst: `${e.server.ip}:15020` }),
    detail: /:15020 nat \S+ ".*" matched [1-9]\d* packets, server sidecar logged 1/,
  },
  {
    check: 'excluded-ports-not-captured',
    how: "the excluded port's RETURN never matched (the port was redirected)",
    alter: (e, ids) => zero(e.collected.serverRules.rules, inNat(ids, ids.chains.inbound, ids.rules.excludedInbound(15021))),
    detail: /:15021 nat \S+ ".*" matched 0 packets/,
  },
  {
    check: 'proxy-uid-not-captured',
    how: 'the UID rule is missing (only the GID rule let the probe through)',
    alter: (e, ids) => zero(e.collected.clientRules.rules, inNat(ids, ids.chains.output, ids.rules.proxyUidReturn)),
    detail: /matched 0 packets/,
  },
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
  {
    check: 'loopback-not-captured',
    how: 'no loopback RETURN rule matched',
    alter: (e, ids) => zero(e.collected.clientRules.rules, (r) => [ids.rules.localhostReturn, ids.rules.loopbackNonProxyReturn].some((rule) => inNat(ids, ids.chains.output, rule)(r))),
    detail: /nat loopback RETURN rules: \S+ ".*" matched 0 packets, \S+ ".*" matched 0 packets/,
  },
  ...sharedSidecarBreaks<Evidence, SidecarRuleIds>((ids) => ids),
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
  {
    check: 'kernel-path',
    how: "the traced probe's SYN left the client pod unrewritten (outbound was not redirected)",
    alter: (e) => dropCounts(e, e.client.name, 'tp:net_dev_queue', ['nat', 'syn']),
    detail: /sig:nat-rewritten-syn@client 0 \(need >= 1: one per connection\): outbound REDIRECT/,
  },
];

const FLAVOURS = [
  ['iptables', redirectBackend],
  ['nftables', redirectNftBackend],
] as const satisfies ReadonlyArray<readonly [RulesFlavour, unknown]>;

describe.each(FLAVOURS)('redirect judge, %s flavour', (flavour, backend) => {
  const ids = sidecarRuleIds(flavour);

  describe.each(['same-node', 'cross-node'] as const)('on real %s evidence', (placement) => {
    it('passes every check as recorded', () => {
      const checks = judgeRecorded(backend, placement);
      expect(checks.filter((c) => !c.ok)).toEqual([]);
      expect(checks.map((c) => c.name)).toEqual([
        'sidecars-listening',
        'outbound-captured',
        'inbound-captured',
        'inbound-nat-in-conntrack',
        'excluded-ports-not-captured',
        'proxy-uid-not-captured',
        'proxy-gid-not-captured',
        'loopback-not-captured',
        'no-silent-bypass',
        'probes-echoed',
        'bytes-intact',
        'iperf3-through-path',
        'kernel-path',
      ]);
    });

    it.each(breaks)('fails $check when $how', ({ check, alter, detail, also = [] }) => {
      const checks = judgeRecorded(backend, placement, (e) => alter(e, ids));
      const judged = checkNamed(checks, check);
      expect(judged.ok).toBe(false);
      expect(judged.detail).toMatch(detail);
      // The break fails exactly this check, and `also` (and plan-completed, which names every failed step).
      expect(checks.filter((c) => !c.ok && c.name !== 'plan-completed').map((c) => c.name)).toEqual(expect.arrayContaining([check, ...also]));
      expect(checks.filter((c) => !c.ok && c.name !== 'plan-completed')).toHaveLength(1 + also.length);
    });
  });

  it('covers every check with a break', () => {
    const names = judgeRecorded(backend, 'same-node').map((c) => c.name);
    expect(new Set(breaks.map((b) => b.check))).toEqual(new Set(names));
  });
});

it('reads the nft flavour from native nft tables only, and the iptables flavour from iptables-save', () => {
  const tablesOf = (backend: string) => [...new Set(loadEvidence<RedirectEvidence>(backend, 'same-node').collected.clientRules.rules.map((r) => r.table))];
  expect(tablesOf('redirect-nft')).toEqual(['inet istio-proxy-nat']);
  expect(tablesOf('redirect')).toContain('nat');
});

describe.each(FLAVOURS)('redirect judgeSlice, %s flavour', (flavour, backend) => {
  // Counter movements as pathCounters() names them around a 2-connection slice.
  const ids = sidecarRuleIds(flavour);
  const delta = { [`client ${ids.chains.redirect} packets`]: 2, [`server ${ids.chains.inRedirect} packets`]: 2, 'client sidecar connections': 2, 'server sidecar connections': 2 };

  it('accepts a slice whose every connection crossed both sidecars', () => {
    expect(backend.judgeSlice!(delta, { metric: 'connection-rate', connections: 2 })).toMatchObject({ name: 'slice-on-path', ok: true });
  });

  it('rejects a slice in which a connection went around the server sidecar', () => {
    const check = backend.judgeSlice!({ ...delta, [`server ${ids.chains.inRedirect} packets`]: 1 }, { metric: 'connection-rate', connections: 2 });
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(new RegExp(`^short: server ${ids.chains.inRedirect} packets;`));
  });
});
