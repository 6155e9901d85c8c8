// Conformance of the lab's native-nftables sidecar rules with Istio's istio-nftables goldens (1.30.3).
// Both are `nft -f` scripts; both sides are replayed into the final rules of every table and chain
// (Istio appends, then `insert rule ... index N`; the lab writes final order) and compared exactly.
// Nothing is normalised but whitespace runs inside a line (none occur in these goldens).
//
// istio-nftables' test cases with the lab's inputs are empty, inbound-ports-wildcard and
// inbound-ports-wildcard-tproxy (the same configurations as the iptables goldens); istio-cni's sidecar
// plugin has no nftables golden, so excluded ports and -i '*' are checked against the iptables
// generator, rule for rule, which is itself checked against istio-cni's iptables goldens.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseNftRuleset } from '../../lab/evidence/nft.ts';
import { nftListingForm } from '../../lab/istio/conformance/nft-listing.ts';
import { replaySingleIptables } from '../../lab/istio/conformance/iptables-replay.ts';
import { replayNftScript, type NftTables } from '../../lab/istio/conformance/nft-replay.ts';
import { readGolden, sidecarGoldenConfig, sidecarGoldenPath, type SidecarGolden } from '../../lab/istio/conformance/goldens.ts';
import { DEFAULT_CAPTURE, DEFAULT_TPROXY_CAPTURE, redirectModeNatTable, tproxyModeTables, type TproxyCaptureConfig } from '../../lab/istio/iptables.ts';
import { nftablesRemoval, redirectModeNftables, tproxyModeNftables } from '../../lab/istio/nftables.ts';

const NFT_GOLDENS = ['empty', 'inbound-ports-wildcard', 'inbound-ports-wildcard-tproxy'] as const satisfies readonly SidecarGolden[];

function generated(name: SidecarGolden): NftTables {
  const { mode, config } = sidecarGoldenConfig('1.30', name);
  return replayNftScript(mode === 'REDIRECT' ? redirectModeNftables(config) : tproxyModeNftables(config as TproxyCaptureConfig));
}

describe('sidecar nftables rules against Istio 1.30.3', () => {
  it.each(NFT_GOLDENS)(`%s: every table and chain holds exactly Istio's rules`, (name) => {
    const theirs = replayNftScript(readGolden('1.30', sidecarGoldenPath(name, 'nftables')!));
    expect(Object.keys(theirs).length).toBeGreaterThan(0);
    expect(generated(name)).toEqual(theirs);
  });

  it('the TPROXY golden needs its three `insert ... index N` lines replayed: appended in file order it would differ', () => {
    const golden = readGolden('1.30', sidecarGoldenPath('inbound-ports-wildcard-tproxy', 'nftables')!);
    const appendedOnly = golden.replace(/^insert rule (\S+ \S+ \S+) index \d+ /gm, 'add rule $1 ');
    expect(replayNftScript(appendedOnly)).not.toEqual(generated('inbound-ports-wildcard-tproxy'));
  });

  it("an excluded outbound CIDR is written as Istio's nftables ip-range golden writes it, right after the 127.0.0.1 return", () => {
    const golden = replayNftScript(readGolden('1.30', 'istio-nftables/ip-range.golden'))['inet istio-proxy-nat']!['istio-output']!.rules;
    const ours = replayNftScript(redirectModeNftables({ ...DEFAULT_CAPTURE, excludedOutboundCidrs: ['1.1.0.0/16'] }))['inet istio-proxy-nat']!['istio-output']!.rules;
    for (const output of [golden, ours]) expect(output[output.indexOf('ip daddr 127.0.0.1/32 counter return') + 1]).toBe('ip daddr 1.1.0.0/16 counter return');
  });
});

/** iptables chain -> nftables chain, per table, as istio-nftables names them. */
const CHAIN_NAMES: Record<string, [string, Record<string, string>]> = {
  nat: ['inet istio-proxy-nat', { PREROUTING: 'prerouting', OUTPUT: 'output', ISTIO_INBOUND: 'istio-inbound', ISTIO_REDIRECT: 'istio-redirect', ISTIO_IN_REDIRECT: 'istio-in-redirect', ISTIO_OUTPUT: 'istio-output' }],
  mangle: ['inet istio-proxy-mangle', { PREROUTING: 'prerouting', OUTPUT: 'output', ISTIO_DIVERT: 'istio-divert', ISTIO_TPROXY: 'istio-tproxy', ISTIO_INBOUND: 'istio-inbound' }],
};

/** Rules per chain, with the iptables chains renamed to their nftables names. */
function shapeOfIptables(text: string): Record<string, Record<string, number>> {
  const shape: Record<string, Record<string, number>> = {};
  for (const [table, chains] of Object.entries(replaySingleIptables(text))) {
    const [nftTable, names] = CHAIN_NAMES[table]!;
    shape[nftTable] = Object.fromEntries(Object.entries(chains).map(([chain, rules]) => [names[chain]!, rules.length]));
  }
  return shape;
}

const shapeOfNft = (text: string) => Object.fromEntries(Object.entries(replayNftScript(text)).map(([t, chains]) => [t, Object.fromEntries(Object.entries(chains).map(([c, v]) => [c, v.rules.length]))]));

describe("the lab's default pod: nftables mirrors the conformant iptables rules", () => {
  const configs = {
    'REDIRECT, injector defaults': [redirectModeNatTable(), redirectModeNftables()],
    'TPROXY, injector defaults': [tproxyModeTables(), tproxyModeNftables()],
    'REDIRECT, istio-cni plugin defaults (-o 15020)': [redirectModeNatTable(sidecarGoldenConfig('1.30', 'cni-basic').config), redirectModeNftables(sidecarGoldenConfig('1.30', 'cni-basic').config)],
    'TPROXY, hboneInbound bypassed': [tproxyModeTables({ ...DEFAULT_TPROXY_CAPTURE, hboneInbound: 'bypassed' }), tproxyModeNftables({ ...DEFAULT_TPROXY_CAPTURE, hboneInbound: 'bypassed' })],
  } as const;

  it.each(Object.entries(configs))('%s: the same chains with the same number of rules', (_name, [iptables, nft]) => {
    expect(shapeOfNft(nft)).toEqual(shapeOfIptables(iptables));
  });

  it('excluded inbound ports in injector order, before the jump to the inbound redirect', () => {
    const inbound = replayNftScript(redirectModeNftables())['inet istio-proxy-nat']!['istio-inbound']!.rules;
    expect(inbound).toEqual([15008, 15090, 15021, 15020].map((p) => `meta l4proto tcp tcp dport ${p} counter return`).concat('meta l4proto tcp counter jump istio-in-redirect'));
  });

  it('a counter on every rule, as Istio writes them', () => {
    for (const script of [redirectModeNftables(), tproxyModeNftables()]) {
      const rules = Object.values(replayNftScript(script)).flatMap((chains) => Object.values(chains).flatMap((c) => c.rules));
      expect(rules.length).toBeGreaterThanOrEqual(18);
      expect(rules.filter((r) => !/\bcounter\b/.test(r))).toEqual([]);
    }
  });

  it('one script per pod, whose removal counterpart leaves no table', () => {
    expect(replayNftScript(tproxyModeNftables() + nftablesRemoval())).toEqual({});
    expect(replayNftScript(nftablesRemoval())).toEqual({});
  });

  it('refuses Istio 1.24, which has no native nftables mode', () => {
    expect(() => redirectModeNftables({ ...DEFAULT_CAPTURE, istioVersion: '1.24' })).toThrow(/1\.27/);
  });
});

describe('the listing form: how the kernel prints a script rule back', () => {
  it('turns every rule of the lab\'s TPROXY script into the line the kernel listed (fixture from this host)', () => {
    // test/fixtures/nft/README.md: this exact configuration, applied with nft -f and listed with nft -j.
    const script = tproxyModeNftables({ ...DEFAULT_TPROXY_CAPTURE, excludedOutboundPorts: [15020], excludedOutboundCidrs: ['198.18.9.0/24'] });
    const expected = Object.entries(replayNftScript(script)).flatMap(([t, chains]) => Object.entries(chains).flatMap(([c, v]) => v.rules.map((r) => `${t}/${c}: ${nftListingForm(r)}`)));
    const kernel = parseNftRuleset(JSON.parse(readFileSync(new URL('../fixtures/nft/istio-tproxy-after-two-connects.json', import.meta.url), 'utf8')));
    expect(kernel.rules.map((r) => `${r.table}/${r.chain}: ${r.rule}`)).toEqual(expected);
  });

  it('rewrites only the cosmetic forms', () => {
    expect(nftListingForm('oifname lo meta l4proto tcp ip daddr != 127.0.0.1/32 tcp dport != 15008 skuid 1337 counter jump istio-in-redirect')).toBe(
      'oifname "lo" ip daddr != 127.0.0.1 tcp dport != 15008 meta skuid 1337 counter jump istio-in-redirect',
    );
    expect(nftListingForm('meta l4proto tcp mark 1337 counter ct mark set mark')).toBe('meta l4proto tcp meta mark 0x00000539 counter ct mark set meta mark');
    expect(nftListingForm('iifname lo meta l4proto tcp mark != 1338 counter return')).toBe('iifname "lo" meta l4proto tcp meta mark != 0x0000053a counter return');
    expect(nftListingForm('meta l4proto tcp ct state related,established counter jump istio-divert')).toBe('meta l4proto tcp ct state established,related counter jump istio-divert');
    expect(nftListingForm('ip daddr 198.18.9.0/24 counter return')).toBe('ip daddr 198.18.9.0/24 counter return');
  });
});
