// The pure parts of the rule-scale bench: the scaled capture, the rulesets it makes in both flavours
// (rule for rule the same size), and the table.
import { describe, expect, it } from 'vitest';
import { redirectModeNftables } from '../istio/nftables.ts';
import { sidecarRuleIds } from '../istio/rule-ids.ts';
import { invalidRounds, ruleScaleTable, rulesetOf, scaledCapture, SIDECAR_MODES, type RuleScaleResult, type RuleScaleRow } from './rule-scale.ts';

const WALK = '198.18.1.12/32';

describe('scaledCapture', () => {
  it('grows every excluded list by N, the walk CIDR last, no port the lab uses', () => {
    const c = scaledCapture(1000, WALK);
    expect(c.excludedInboundPorts).toHaveLength(1003);
    expect(c.excludedInboundPorts.slice(0, 3)).toEqual([15090, 15021, 15020]);
    expect(c.excludedOutboundPorts).toHaveLength(1000);
    expect(c.excludedOutboundCidrs).toHaveLength(1001);
    expect(c.excludedOutboundCidrs.at(-1)).toBe(WALK);
    expect(new Set(c.excludedOutboundCidrs).size).toBe(1001);
    const used = [8080, 8081, 8082, 8083, 8084, 5201, 15001, 15006, 15008];
    expect([...c.excludedInboundPorts, ...c.excludedOutboundPorts].filter((p) => used.includes(p))).toEqual([]);
  });

  it('refuses sizes beyond 1000', () => {
    expect(() => scaledCapture(1001, WALK)).toThrow(/0 to 1000/);
  });
});

describe('rulesetOf', () => {
  it.each(SIDECAR_MODES)('%s: both flavours hold the same number of rules, 4N+1 more than the injector default', (mode) => {
    const base = rulesetOf('iptables', mode, scaledCapture(0, WALK)).rules;
    for (const n of [10, 100, 1000]) {
      const ipt = rulesetOf('iptables', mode, scaledCapture(n, WALK));
      const nft = rulesetOf('nftables', mode, scaledCapture(n, WALK));
      expect(nft.rules).toBe(ipt.rules);
      expect(ipt.rules).toBe(base + 4 * n);
    }
    expect(base).toBe(mode === 'REDIRECT' ? 19 : 31);
  });

  it('writes the walk CIDR as the RETURN the outbound walk is proven by', () => {
    const text = redirectModeNftables(scaledCapture(10, WALK));
    expect(text).toContain(`add rule inet istio-proxy-nat istio-output ip daddr ${WALK} counter return`);
    expect(sidecarRuleIds('nftables').rules.excludedOutboundCidr(WALK)).toBe('ip daddr 198.18.1.12 counter return');
    expect(sidecarRuleIds('iptables').rules.excludedOutboundCidr(WALK)).toBe(`-d ${WALK} -j RETURN`);
  });
});

describe('ruleScaleTable', () => {
  const row = (flavour: RuleScaleRow['flavour'], mode: RuleScaleRow['mode'], us: number, invalid: string[] = []): RuleScaleRow => ({
    flavour,
    mode,
    size: 10,
    rules: 59,
    installMs: [40, 50, 60],
    walkOut: { us: [us, us + 10, us + 20], connections: 3000, invalid },
    walkIn: { us: [us], connections: 1000, invalid: [] },
    throughSidecars: { us: [2000], connections: 500, invalid: [] },
  });
  const result: RuleScaleResult = {
    kernel: 'x',
    startedAt: 'y',
    options: { sizes: [10], rounds: 3, installRepeats: 3, roundConnections: 1000, roundSeconds: 1 },
    rows: [row('iptables', 'REDIRECT', 100), row('nftables', 'REDIRECT', 90, ['round 2: short']), row('iptables', 'TPROXY', 120), row('nftables', 'TPROXY', 110)],
  };

  it('puts iptables beside nftables, median [min–max], and counts invalid rounds', () => {
    const lines = ruleScaleTable(result);
    expect(lines).toHaveLength(4);
    expect(lines[2]).toBe('| REDIRECT | 10 | 59 | 50 [40–60] | 50 [40–60] | 110 [100–120] | 100 [90–110] (1 invalid) | 100 [100–100] | 90 [90–90] | 2000 [2000–2000] | 2000 [2000–2000] |');
    expect(invalidRounds(result)).toBe(1);
  });
});
