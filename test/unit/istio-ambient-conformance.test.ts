// Conformance of the lab's ambient in-pod rules with istio-cni's own (cni/pkg/iptables/testdata).
// Both sides are replayed into the final rules of every table and chain and compared exactly.
//
// Which golden is the lab's? The lab builds no DNS path, so the expectation is the in-pod rules of a
// pod with DNS proxying disabled: dns_pod_disabled_and_on_globally.golden (1.30.3). With DNS capture
// on, the generator must give default.golden, Istio's default, which is unchanged in its rules from
// 1.24.6 to 1.30.3. In both, the kubelet-probe source is Istio's 169.254.7.127; the lab itself passes
// its node gateway instead (see ambientInpodConfig), and that changes exactly the two probe rules.
import { describe, expect, it } from 'vitest';
import { ambientInpodConfig, ambientInpodIptables, ambientInpodRemoval, ISTIO_HOST_PROBE_SNAT_ADDRESS } from '../../lab/istio/ambient.ts';
import { replayIptables, replaySingleIptables, type IptablesChains } from '../../lab/istio/conformance/iptables-replay.ts';
import { ambientGoldenConfig, readGolden } from '../../lab/istio/conformance/goldens.ts';
import { ambientPolicyRouting, ambientPolicyRoutingRemoval } from '../../lab/istio/policy-routing.ts';
import type { IstioLine } from '../../lab/istio/version.ts';

function istio(line: IstioLine, name: string): IptablesChains {
  const inputs = replayIptables(readGolden(line, `ambient-inpod/${name}.golden`));
  expect(inputs).toHaveLength(1);
  return inputs[0]!;
}

describe('ambient in-pod rules against istio-cni', () => {
  it('without DNS capture (the lab): exactly dns_pod_disabled_and_on_globally.golden of 1.30.3', () => {
    const theirs = istio('1.30', 'dns_pod_disabled_and_on_globally');
    expect(Object.keys(theirs)).toEqual(['mangle', 'nat']);
    expect(replaySingleIptables(ambientInpodIptables(ambientGoldenConfig('dns_pod_disabled_and_on_globally')))).toEqual(theirs);
  });

  it.each(['1.30', '1.24'] as const)('with DNS capture: exactly default.golden of Istio %s', (line) => {
    const theirs = istio(line, 'default');
    expect(Object.keys(theirs)).toEqual(['mangle', 'nat', 'raw']);
    expect(replaySingleIptables(ambientInpodIptables(ambientGoldenConfig('default')))).toEqual(theirs);
  });

  it("the lab's probe source (its node gateway) changes exactly the two probe ACCEPT rules", () => {
    const lab = replaySingleIptables(ambientInpodIptables(ambientInpodConfig('198.18.1.1')));
    const theirs = istio('1.30', 'dns_pod_disabled_and_on_globally');
    expect(lab).not.toEqual(theirs);
    const swap = (rules: string[]) => rules.map((r) => r.replace(ISTIO_HOST_PROBE_SNAT_ADDRESS, '198.18.1.1'));
    expect(lab).toEqual({ ...theirs, nat: { ...theirs.nat, ISTIO_PRERT: swap(theirs.nat!.ISTIO_PRERT!), ISTIO_OUTPUT: swap(theirs.nat!.ISTIO_OUTPUT!) } });
    expect(Object.values(lab.nat!).flat().filter((r) => r.includes('198.18.1.1'))).toEqual(['-s 198.18.1.1 -p tcp -m tcp -j ACCEPT', '-d 198.18.1.1 -p tcp -m tcp -j ACCEPT']);
  });

  it('HBONE 15008 is never redirected and the proxy-marked traffic is never recaptured', () => {
    const nat = replaySingleIptables(ambientInpodIptables(ambientInpodConfig('198.18.1.1'))).nat!;
    const redirects = Object.values(nat).flat().filter((r) => r.includes('-j REDIRECT'));
    expect(redirects).toHaveLength(2);
    for (const r of redirects) expect(r).toContain('-m mark ! --mark 0x539/0xfff');
    expect(nat.ISTIO_PRERT!.find((r) => r.includes('--to-ports 15006'))).toContain('! --dport 15008');
  });

  it("policy routing is istio-cni's rule and route, and its removal undoes them", () => {
    const c = ambientInpodConfig('198.18.1.1');
    expect(ambientPolicyRouting(c)).toEqual(['rule add fwmark 0x111/0xfff pref 32764 lookup 100', 'route add local 0.0.0.0/0 dev lo table 100']);
    expect(ambientPolicyRoutingRemoval(c)).toEqual(['rule del fwmark 0x111/0xfff pref 32764 lookup 100', 'route flush table 100']);
  });

  it('removal empties exactly the tables the rules fill', () => {
    expect(replaySingleIptables(ambientInpodRemoval(ambientInpodConfig('198.18.1.1')))).toEqual({});
    expect(ambientInpodRemoval(ambientInpodConfig('198.18.1.1'))).not.toContain('*raw');
    expect(ambientInpodRemoval(ambientInpodConfig('198.18.1.1', { captureDns: true }))).toContain('*raw');
  });
});
