// The tproxy judge on real evidence of both rule flavours (test/fixtures/evidence/tproxy-*.json and
// tproxy-nft-*.json, recorded with `lab verify --backend <tproxy|tproxy-nft> --placement <p>
// --save-evidence test/fixtures/evidence`): every check passes as recorded, and each fails when the
// evidence is altered the way a broken install would leave it. The breaks find rules through
// sidecarRuleIds and tproxyRuleIds, as the judge does, so one list breaks both flavours.
import { describe, expect, it } from 'vitest';
import { checkNamed, failStep, judgeRecorded, loadEvidence } from '../../../test/support/evidence.ts';
import { addCount } from '../../../test/support/kernel-path.ts';
import { sharedSidecarBreaks } from '../../../test/support/sidecar-judge-breaks.ts';
import type { RuleCounter } from '../../evidence/iptables.ts';
import { sidecarRuleIds, tproxyRuleIds, type RulesFlavour } from '../../istio/rule-ids.ts';
import type { VerifyEvidence } from '../../judge/plan.ts';
import type { TproxyEvidence, TproxyJudgeIds } from './checks.ts';
import { tproxyBackend, tproxyNftBackend } from './tproxy.ts';

type Evidence = VerifyEvidence<TproxyEvidence>;

/** Sets the counters of the rules `which` picks to 0, requiring that at least one exists. */
function zero(rules: RuleCounter[], which: (r: RuleCounter) => boolean): void {
  const found = rules.filter(which);
  expect(found.length).toBeGreaterThan(0);
  for (const r of found) r.packets = 0;
}

/** Picks the rules of one table and chain, and with `rule`, only that exact rule. */
const rulesOf = (table: string, chain: string, rule?: string) => (r: RuleCounter) => r.table === table && r.chain === chain && (rule === undefined || r.rule === rule);

const SHARED_SIDECAR_BREAKS = sharedSidecarBreaks<Evidence, TproxyJudgeIds>((ids) => ids.sidecar);

const breaks: Array<{ check: string; how: string; alter: (e: Evidence, ids: TproxyJudgeIds) => void; detail: RegExp }> = [
  {
    check: 'outbound-captured',
    how: 'the outbound redirect never fired',
    alter: (e, { sidecar: s }) => zero(e.collected.clientRules.rules, rulesOf(s.tables.nat, s.chains.redirect)),
    detail: /redirect matched 0 packets/i,
  },
  {
    check: 'inbound-captured',
    how: 'the sidecar handed the connection on from the client address (not 127.0.0.6)',
    alter: (e) => e.collected.serverLog.forEach((c) => c.listener === 'inbound' && (c.upstreamSrc = `${e.client.ip}:40000`)),
    detail: /0 handed to/,
  },
  { check: 'tproxy-counters', how: 'TPROXY never fired', alter: (e, { sidecar: s }) => zero(e.collected.serverRules.rules, rulesOf(s.tables.mangle, s.chains.tproxy)), detail: /tproxy matched 0 packets/i },
  {
    check: 'tproxy-counters',
    how: 'established packets were not diverted',
    alter: (e, { sidecar: s }) => zero(e.collected.serverRules.rules, rulesOf(s.tables.mangle, s.chains.divert)),
    detail: /divert \S+ matched 0 packets \(established, mark 0x539\)/i,
  },
  { check: 'inbound-not-natted-in-conntrack', how: 'inbound was NATed', alter: (e) => e.collected.serverConntrack.forEach((c) => (c.nat = true)), detail: /, [1-9]\d* NATed/ },
  {
    check: 'inbound-not-natted-in-conntrack',
    how: 'the nat inbound redirect fired',
    alter: (e, { sidecar: s }) => e.collected.serverRules.rules.filter(rulesOf(s.tables.nat, s.chains.inRedirect)).forEach((r) => (r.packets = 3)),
    detail: /in.redirect matched 3 packets/i,
  },
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
    alter: (e, { sidecar: s }) => zero(e.collected.serverRules.rules, rulesOf(s.tables.mangle, s.chains.inbound, s.rules.excludedInbound(15021))),
    detail: /:15021 mangle \S+ ".*" matched 0 packets/,
  },
  {
    check: 'excluded-ports-not-captured',
    how: 'the server sidecar captured :15090',
    alter: (e) => e.collected.serverLog.push({ ...e.collected.serverLog.find((c) => c.listener === 'inbound')!, originalDst: `${e.server.ip}:15090`, upstreamDst: `${e.server.ip}:15090` }),
    detail: /:15090 mangle \S+ ".*" matched [1-9]\d* packets, server sidecar logged 1/,
  },
  {
    check: 'passthrough-not-captured',
    how: "the sidecar's own hand-off came back to it",
    // The looped connection is handed to the app as well, which accepts it from 127.0.0.6.
    alter: (e) => {
      e.collected.serverLog.push({ ...e.collected.serverLog.find((c) => c.listener === 'inbound' && c.upstreamDst === `${e.server.ip}:8080`)!, client: '127.0.0.6:40000' });
      e.plan.accepts[e.server.name]!.push({ port: 8080, peer: '127.0.0.6', peerPort: 40001, bytes: 0 });
    },
    detail: /server sidecar logged 1 inbound connections not from/,
  },
  {
    check: 'passthrough-not-captured',
    how: 'the 127.0.0.6 RETURN in mangle never matched',
    alter: (e, { sidecar: s, tproxy: t }) => zero(e.collected.serverRules.rules, rulesOf(s.tables.mangle, s.chains.inbound, t.rules.passthroughInbound)),
    detail: /127\.0\.0\.6 RETURN in mangle \S+ ".*" matched 0 packets/,
  },
  {
    check: 'passthrough-not-captured',
    how: "the proxy's loopback traffic was never marked",
    alter: (e, { sidecar: s, tproxy: t }) => zero(e.collected.serverRules.rules, rulesOf(s.tables.mangle, t.mangleOutputChain, t.rules.proxyLoopbackMark)),
    detail: /proxy-owner lo MARK 0x53a: mangle \S+ ".*" matched 0 packets;/,
  },
  {
    check: 'proxy-uid-not-captured',
    how: 'the UID rule is missing (only the GID rule let the probe through)',
    alter: (e, { sidecar: s }) => zero(e.collected.clientRules.rules, rulesOf(s.tables.nat, s.chains.output, s.rules.proxyUidReturn)),
    detail: /matched 0 packets/,
  },
  {
    check: 'loopback-not-captured',
    how: 'the mangle loopback RETURN never matched',
    alter: (e, { sidecar: s, tproxy: t }) => zero(e.collected.clientRules.rules, rulesOf(s.tables.mangle, s.chains.inbound, t.rules.loopbackInbound)),
    detail: /mangle lo RETURN: \S+ ".*" matched 0 packets/,
  },
  {
    check: 'loopback-not-captured',
    how: 'no nat loopback RETURN matched',
    alter: (e, { sidecar: s }) => zero(e.collected.clientRules.rules, (r) => [s.rules.localhostReturn, s.rules.loopbackNonProxyReturn].some((rule) => rulesOf(s.tables.nat, s.chains.output, rule)(r))),
    detail: /nat loopback RETURN rules: \S+ ".*" matched 0 packets, \S+ ".*" matched 0 packets/,
  },
  ...SHARED_SIDECAR_BREAKS,
  {
    check: 'sidecars-listening',
    how: "the server sidecar's :15006 is not transparent",
    alter: (e) => e.collected.sidecarSockets[e.server.name]!.listening.filter((l) => l.port === 15006).forEach((l) => (l.transparent = false)),
    detail: /server: :15006 is not transparent/,
  },
  { check: 'probes-echoed', how: 'an excluded-port probe failed', alter: (e) => Object.assign(e.plan.probes['excluded-15020']!, { ok: false, error: 'ETIMEDOUT' }), detail: /excluded-15020: .*ETIMEDOUT/ },
  { check: 'bytes-intact', how: 'the bulk echo step failed', alter: (e) => failStep(e, 'bulk', 'read ECONNRESET'), detail: /the bulk step failed/ },
  { check: 'iperf3-through-path', how: 'iperf3 failed', alter: (e) => failStep(e, 'iperf3', 'iperf3: Cannot allocate memory'), detail: /the iperf3 step failed/ },
  {
    check: 'kernel-path',
    how: "the server pod's packets were NAT-rewritten (inbound REDIRECT, not TPROXY)",
    alter: (e) => addCount(e, e.server.name, 'tp:net_dev_queue', ['nat'], 2),
    detail: /sig:nat-rewritten-tx@server 2 \(must be 0: inbound is not NATed/,
  },
];

const FLAVOURS = [
  ['iptables', tproxyBackend],
  ['nftables', tproxyNftBackend],
] as const satisfies ReadonlyArray<readonly [RulesFlavour, unknown]>;

describe.each(FLAVOURS)('tproxy judge, %s flavour', (flavour, backend) => {
  const ids: TproxyJudgeIds = { sidecar: sidecarRuleIds(flavour), tproxy: tproxyRuleIds(flavour) };

  describe.each(['same-node', 'cross-node'] as const)('on real %s evidence', (placement) => {
    it('passes every check as recorded', () => {
      const checks = judgeRecorded(backend, placement);
      expect(checks.filter((c) => !c.ok)).toEqual([]);
      expect(checks.map((c) => c.name)).toEqual([
        'sidecars-listening',
        'outbound-captured',
        'inbound-captured',
        'tproxy-counters',
        'inbound-not-natted-in-conntrack',
        'policy-routing-only-in-pods',
        'tproxy-sysctls',
        'excluded-ports-not-captured',
        'passthrough-not-captured',
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

    it.each(breaks)('fails $check when $how', ({ check, alter, detail }) => {
      const checks = judgeRecorded(backend, placement, (e) => alter(e, ids));
      const judged = checkNamed(checks, check);
      expect(judged.ok).toBe(false);
      expect(judged.detail).toMatch(detail);
      // The break fails exactly this check (and plan-completed, which names every failed step).
      expect(checks.filter((c) => !c.ok && c.name !== 'plan-completed').map((c) => c.name)).toEqual([check]);
    });
  });

  it('covers every check with a break', () => {
    const names = judgeRecorded(backend, 'same-node').map((c) => c.name);
    expect(new Set(breaks.map((b) => b.check))).toEqual(new Set(names));
  });
});

it('reads the nft flavour from native nft tables only, and the iptables flavour from iptables-save', () => {
  const tablesOf = (backend: string) => [...new Set(loadEvidence<TproxyEvidence>(backend, 'same-node').collected.serverRules.rules.map((r) => r.table))].sort();
  expect(tablesOf('tproxy-nft')).toEqual(['inet istio-proxy-mangle', 'inet istio-proxy-nat']);
  expect(tablesOf('tproxy')).toEqual(expect.arrayContaining(['mangle', 'nat']));
});

describe.each(FLAVOURS)('tproxy judgeSlice, %s flavour', (flavour, backend) => {
  // Counter movements as pathCounters() names them around a 2-connection slice.
  const { chains } = sidecarRuleIds(flavour);
  const delta = { [`client ${chains.redirect} packets`]: 2, [`server ${chains.tproxy} packets`]: 2, [`server ${chains.divert} packets`]: 40, 'client sidecar connections': 2, 'server sidecar connections': 2 };

  it('accepts a slice whose every connection crossed both sidecars', () => {
    expect(backend.judgeSlice!(delta, { metric: 'throughput', connections: 2 })).toMatchObject({ name: 'slice-on-path', ok: true });
  });

  it('rejects a slice that TPROXY never saw', () => {
    const check = backend.judgeSlice!({ ...delta, [`server ${chains.tproxy} packets`]: 0 }, { metric: 'throughput', connections: 2 });
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(new RegExp(`^short: server ${chains.tproxy} packets;`));
  });
});
