// The rule-scale bench for real, at its smallest: one N, one round, every flavour and mode installed,
// walked and driven through its sidecars, with every round proven by its counters.
import { expect, it } from 'vitest';
import { invalidRounds, runRuleScale, ruleScaleTable } from '../../lab/bench/rule-scale.ts';
import { backendNeeds, describePrivileged } from '../support/privileged.ts';

const needs = backendNeeds('tproxy', [...backendNeeds('tproxy-nft').tools!, 'ss']);

describePrivileged('rule scale', needs, () => {
  it('installs, walks and proves every flavour and mode at N=10', async () => {
    const result = await runRuleScale({ sizes: [10], rounds: 1, installRepeats: 1, roundConnections: 50, roundSeconds: 2, progress: () => undefined });
    expect(result.rows.map((r) => `${r.mode} ${r.flavour} ${r.rules}`)).toEqual(['REDIRECT iptables 59', 'REDIRECT nftables 59', 'TPROXY iptables 71', 'TPROXY nftables 71']);
    expect(invalidRounds(result)).toBe(0);
    for (const row of result.rows) {
      expect(row.installMs).toHaveLength(1);
      for (const measured of [row.walkOut, row.walkIn, row.throughSidecars]) {
        expect(measured.us).toHaveLength(1);
        expect(measured.connections).toBeGreaterThan(0);
      }
    }
    expect(ruleScaleTable(result)).toHaveLength(4);
  });
});
