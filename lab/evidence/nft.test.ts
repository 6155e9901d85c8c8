import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { packetsMatching, packetsTo } from './iptables.ts';
import { parseNftRuleset, rulesOfTables } from './nft.ts';

// Captured on this lab's host (nft 1.0.6, kernel 6.18): the lab's TPROXY nftables ruleset applied in a
// scratch netns, then two refused connects to 127.0.0.1:9 and :15020; see test/fixtures/nft/README.md.
const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/nft/${name}`, import.meta.url), 'utf8');
const snapshot = parseNftRuleset(JSON.parse(fixture('istio-tproxy-after-two-connects.json')));

/** `nft list ruleset` text as "family table/chain: rule", the counter's numbers removed. */
function listedRules(text: string): string[] {
  const rules: string[] = [];
  let table = '';
  let chain = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const t = /^table (\S+) (\S+) \{$/.exec(line);
    const c = /^chain (\S+) \{$/.exec(line);
    if (t) table = `${t[1]} ${t[2]}`;
    else if (c) chain = c[1]!;
    else if (line !== '' && line !== '}' && !line.startsWith('type ')) rules.push(`${table}/${chain}: ${line.replace(/ packets \d+ bytes \d+/, '')}`);
  }
  return rules;
}

describe('nft -j list ruleset as rule counters', () => {
  it('renders every rule as `nft list ruleset` prints it', () => {
    const listed = listedRules(fixture('istio-tproxy-after-two-connects.txt'));
    expect(listed).toHaveLength(33);
    expect(snapshot.rules.map((r) => `${r.table}/${r.chain}: ${r.rule}`)).toEqual(listed);
  });

  it('reads the counters that moved, and nothing else', () => {
    expect(snapshot.rules.filter((r) => r.packets > 0).map((r) => [r.chain, r.rule, r.packets, r.bytes])).toEqual([
      ['output', 'counter jump istio-output', 2, 120],
      ['istio-output', 'tcp dport 15020 counter return', 1, 60],
      ['istio-output', 'oifname "lo" meta skuid != 1337 counter return', 1, 60],
      ['prerouting', 'meta l4proto tcp counter jump istio-inbound', 4, 200],
      ['istio-inbound', 'iifname "lo" meta l4proto tcp meta mark != 0x0000053a counter return', 4, 200],
    ]);
    expect(snapshot.rules.every((r) => r.counted)).toBe(true);
  });

  it('names targets so the iptables helpers work on both flavours', () => {
    expect(packetsTo(snapshot, 'output', 'istio-output')).toBe(2);
    expect(packetsTo(snapshot, 'istio-tproxy', 'tproxy')).toBe(0);
    expect(snapshot.rules.find((r) => r.chain === 'istio-tproxy')?.target).toBe('tproxy');
    expect(snapshot.rules.find((r) => r.chain === 'istio-redirect')?.target).toBe('redirect');
    expect(packetsMatching(snapshot, 'istio-output', 'skuid != 1337')).toBe(1);
    expect(snapshot.tables).toEqual(['inet istio-proxy-nat', 'inet istio-proxy-mangle']);
    expect(rulesOfTables(snapshot, 'inet istio-proxy-mangle')).toHaveLength(17);
  });

  it('marks a rule without a counter as not counted, and renders bitwise marks and sets', () => {
    const ruleset = {
      nftables: [
        { table: { family: 'inet', name: 't', handle: 1 } },
        {
          rule: {
            family: 'inet',
            table: 't',
            chain: 'c',
            handle: 2,
            expr: [
              { match: { op: '!=', left: { '&': [{ meta: { key: 'mark' } }, 4095] }, right: 1337 } },
              { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: { set: [53, 15008] } } },
              { jump: { target: 'x' } },
            ],
          },
        },
      ],
    };
    const [rule] = parseNftRuleset(ruleset).rules;
    expect(rule).toEqual({ table: 'inet t', chain: 'c', rule: 'meta mark & 0x00000fff != 0x00000539 tcp dport { 53, 15008 } jump x', target: 'x', packets: 0, bytes: 0, counted: false, handle: 2 });
  });

  it('rejects a document that is not a ruleset listing', () => {
    expect(() => parseNftRuleset({ nftables: 'x' })).toThrow(/nftables/);
    expect(parseNftRuleset({}).rules).toEqual([]);
  });
});
