// Conformance of the lab's sidecar iptables rules with Istio's own generated rules. Both sides are
// replayed into the final rules of every table and chain (Istio's goldens append and then insert with
// -I; the lab writes final order) and compared exactly, rule text included.
//
// Which golden is the lab's? The lab's default pod is an injected pod: istio-init runs
// `istio-iptables -p 15001 -z 15006 -u 1337 -m REDIRECT -i '*' -x "" -b '*' -d 15090,15021,15020`
// (the injector's own output, lab/istio/testdata/istio-<tag>/injector/). Istio has no golden for
// exactly those arguments, so the proof has two halves:
//  1. for every Istio test case the generator can express (istio-iptables' empty, inbound-ports-wildcard,
//     inbound-ports-wildcard-tproxy; istio-cni's sidecar basic and tproxy, which add -i '*', excluded
//     inbound ports and an excluded outbound port), the generator, given that case's configuration,
//     produces exactly Istio's rules, for 1.30.3 and 1.24.6;
//  2. the lab's default configuration is parsed from the injector's istio-init arguments, and differs
//     from istio-cni's basic case (the closest golden, same uid/gid/ports) only by two listed inputs.
import { describe, expect, it } from 'vitest';
import { replayIptables, replaySingleIptables, type IptablesChains } from '../../lab/istio/conformance/iptables-replay.ts';
import { yamlListItems, parseIstioIptablesArgs } from '../../lab/istio/conformance/istio-init-args.ts';
import { applyLabDefaultDifferences, LAB_DEFAULT_DIFFERENCES } from '../../lab/istio/conformance/differences.ts';
import { readGolden, sidecarGoldenConfig, sidecarGoldenPath, SIDECAR_GOLDENS, type SidecarGolden } from '../../lab/istio/conformance/goldens.ts';
import { DEFAULT_CAPTURE, DEFAULT_TPROXY_CAPTURE, redirectModeNatTable, tproxyModeTables, type TproxyCaptureConfig } from '../../lab/istio/iptables.ts';
import { ISTIO_LINES, ISTIO_RELEASES, type IstioLine } from '../../lab/istio/version.ts';

function generated(line: IstioLine, name: SidecarGolden): IptablesChains {
  const { mode, config } = sidecarGoldenConfig(line, name);
  return replaySingleIptables(mode === 'REDIRECT' ? redirectModeNatTable(config) : tproxyModeTables(config as TproxyCaptureConfig));
}

/** Istio's golden, IPv4 input only (none of these cases enables IPv6). */
function istio(line: IstioLine, name: SidecarGolden): IptablesChains {
  const inputs = replayIptables(readGolden(line, sidecarGoldenPath(name, 'iptables')!));
  expect(inputs).toHaveLength(1);
  return inputs[0]!;
}

describe.each(ISTIO_LINES)('sidecar iptables rules against Istio %s', (line) => {
  it.each(SIDECAR_GOLDENS)(`%s: every chain holds exactly Istio's rules`, (name) => {
    const theirs = istio(line, name);
    expect(Object.keys(theirs).length).toBeGreaterThan(0);
    expect(generated(line, name)).toEqual(theirs);
  });

  it("the lab's default configuration is the injector's istio-init arguments", () => {
    const args = yamlListItems(readGolden(line, 'injector/auth.yaml.injected.istio-init-args'));
    expect(args.slice(0, 3)).toEqual(['istio-iptables', '-p', '15001']);
    expect(parseIstioIptablesArgs(args, line)).toEqual({ mode: 'REDIRECT', config: { ...DEFAULT_CAPTURE, istioVersion: line } });
  });
});

describe("the lab's default against the closest Istio golden (istio-cni's sidecar plugin)", () => {
  const cni = sidecarGoldenConfig('1.30', 'cni-basic').config;

  it('differs in configuration only by the excluded inbound port order and the excluded outbound port', () => {
    // istio-cni appends 15020,15021,15090 to every pod's -d and defaults -o to 15020; the injector
    // writes -d 15090,15021,15020 and no -o. Nothing else differs.
    expect({ ...cni, excludedInboundPorts: [15090, 15021, 15020], excludedOutboundPorts: [] }).toEqual(DEFAULT_CAPTURE);
  });

  it.each([
    ['REDIRECT', 'cni-basic', () => redirectModeNatTable()],
    ['TPROXY', 'cni-tproxy', () => tproxyModeTables()],
  ] as const)('%s: its rules are the golden with exactly the documented differences applied', (_mode, golden, lab) => {
    const theirs = istio('1.30', golden);
    expect(applyLabDefaultDifferences(theirs)).toEqual(replaySingleIptables(lab()));
    // Each documented difference changes the golden (none is vacuous), and there are exactly two.
    expect(LAB_DEFAULT_DIFFERENCES.map((d) => d.name)).toEqual(['excluded-inbound-port-order', 'no-excluded-outbound-port']);
    for (const difference of LAB_DEFAULT_DIFFERENCES) expect(difference.apply(theirs)).not.toEqual(theirs);
  });

  it('the documented differences move the three exclusions into injector order and drop the two 15020 ISTIO_OUTPUT RETURNs', () => {
    const theirs = istio('1.30', 'cni-basic').nat!;
    const ours = applyLabDefaultDifferences(istio('1.30', 'cni-basic')).nat!;
    expect(theirs.ISTIO_INBOUND!.slice(1, 4)).toEqual([15020, 15021, 15090].map((p) => `-p tcp --dport ${p} -j RETURN`));
    expect(ours.ISTIO_INBOUND!.slice(1, 4)).toEqual([15090, 15021, 15020].map((p) => `-p tcp --dport ${p} -j RETURN`));
    expect(theirs.ISTIO_OUTPUT!.filter((r) => !ours.ISTIO_OUTPUT!.includes(r))).toEqual(['-p tcp --dport 15020 -j RETURN', '-p udp --dport 15020 -j RETURN']);
  });
});

describe('what changed between Istio lines, and the TPROXY HBONE option', () => {
  it('1.24 and 1.30 differ exactly in the OUTPUT jump (-p tcp before 1.25) and the UDP RETURN of an excluded outbound port', () => {
    const v124 = generated('1.24', 'cni-basic').nat!;
    const v130 = generated('1.30', 'cni-basic').nat!;
    expect(v124.OUTPUT).toEqual(['-p tcp -j ISTIO_OUTPUT']);
    expect(v130.OUTPUT).toEqual(['-j ISTIO_OUTPUT']);
    expect(v130.ISTIO_OUTPUT!.filter((r) => !v124.ISTIO_OUTPUT!.includes(r))).toEqual(['-p udp --dport 15020 -j RETURN']);
    // The comparison above is not vacuous: the 1.24 rules fail against the 1.30 golden.
    expect(generated('1.24', 'cni-basic')).not.toEqual(istio('1.30', 'cni-basic'));
  });

  it("by default inbound HBONE is TPROXYed as in Istio: its RETURN sits in a nat chain no hook reaches", () => {
    const rules = replaySingleIptables(tproxyModeTables());
    expect(rules.nat!.ISTIO_INBOUND).toEqual(['-p tcp --dport 15008 -j RETURN']);
    expect(Object.values(rules.nat!).flat().filter((r) => r.endsWith('-j ISTIO_INBOUND'))).toEqual([]);
    expect(rules.mangle!.ISTIO_INBOUND!.filter((r) => r.includes('15008'))).toEqual([]);
  });

  it("hboneInbound 'bypassed' (the lab's former behaviour) adds exactly one mangle RETURN, and then fails conformance", () => {
    const bypassed = replaySingleIptables(tproxyModeTables({ ...DEFAULT_TPROXY_CAPTURE, hboneInbound: 'bypassed' }));
    const istioWay = replaySingleIptables(tproxyModeTables());
    expect(bypassed.mangle!.ISTIO_INBOUND!.filter((r) => !istioWay.mangle!.ISTIO_INBOUND!.includes(r))).toEqual(['-p tcp --dport 15008 -j RETURN']);
    const cniConfig = sidecarGoldenConfig('1.30', 'cni-tproxy').config as TproxyCaptureConfig;
    expect(replaySingleIptables(tproxyModeTables({ ...cniConfig, hboneInbound: 'bypassed' }))).not.toEqual(istio('1.30', 'cni-tproxy'));
  });

  it("an excluded outbound CIDR (-x) is written as Istio's ip-range golden writes it, right after the 127.0.0.1 RETURN", () => {
    // ip-range.golden also sets uid/gid lists and DNS capture, which the lab does not generate, so only
    // this rule and its position are compared.
    const golden = replayIptables(readGolden('1.30', 'istio-iptables/ip-range.golden'))[0]!.nat!.ISTIO_OUTPUT!;
    const ours = replaySingleIptables(redirectModeNatTable({ ...DEFAULT_CAPTURE, excludedOutboundCidrs: ['1.1.0.0/16'] })).nat!.ISTIO_OUTPUT!;
    for (const output of [golden, ours]) expect(output[output.indexOf('-d 127.0.0.1/32 -j RETURN') + 1]).toBe('-d 1.1.0.0/16 -j RETURN');
  });

  it('cites a release tag and a full commit for each line', () => {
    for (const line of ISTIO_LINES) expect(ISTIO_RELEASES[line].commit).toMatch(/^[0-9a-f]{40}$/);
  });
});
