// Istio conformance in the kernel: each ruleset is applied in a real lab pod, the way its backend
// applies it (iptables-restore, or one `nft -f` transaction), and read back (`iptables-save`,
// `nft -j list ruleset`). Where Istio has a golden for the configuration, Istio's own rules are
// applied in a second pod and the two kernel states must be identical; the lab's default pod is
// compared with the closest golden's kernel state through the documented differences
// (lab/istio/conformance/differences.ts), and its nftables rules with the script's own rules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIptables, type RuleCounter } from '../../lab/evidence/iptables.ts';
import { parseNftRuleset, readNft } from '../../lab/evidence/nft.ts';
import { ipBatch, ipJson } from '../../lab/host/ip.ts';
import { iptablesRestore, iptablesSave } from '../../lab/host/iptables.ts';
import { nftApply, nftListRulesetJson } from '../../lab/host/nft.ts';
import { ambientInpodConfig, ambientInpodIptables, ISTIO_HOST_PROBE_SNAT_ADDRESS, type AmbientInpodConfig } from '../../lab/istio/ambient.ts';
import { applyLabDefaultDifferences } from '../../lab/istio/conformance/differences.ts';
import { ambientGoldenConfig, goldenRestoreInput, readGolden, sidecarGoldenConfig, sidecarGoldenPath, SIDECAR_GOLDENS, type SidecarGolden } from '../../lab/istio/conformance/goldens.ts';
import { countIptablesRules, replayIptables, replaySingleIptables, type IptablesChains } from '../../lab/istio/conformance/iptables-replay.ts';
import { nftListingForm } from '../../lab/istio/conformance/nft-listing.ts';
import { replayNftScript } from '../../lab/istio/conformance/nft-replay.ts';
import { redirectModeNatTable, tproxyModeTables, type TproxyCaptureConfig } from '../../lab/istio/iptables.ts';
import { redirectModeNftables, tproxyModeNftables } from '../../lab/istio/nftables.ts';
import { ambientPolicyRouting } from '../../lab/istio/policy-routing.ts';
import { ISTIO_PORTS } from '../../lab/istio/ports.ts';
import { sidecarRuleIds, type RulesFlavour } from '../../lab/istio/rule-ids.ts';
import { ISTIO_LINES, type IstioLine } from '../../lab/istio/version.ts';
import { nodeGateway } from '../../lab/topology/addressing.ts';
import { Lab, type Pod } from '../../lab/topology/lab.ts';
import { describePrivileged } from '../support/privileged.ts';

/** One fresh pod per ruleset: the pods are named p0, p1, ... in the order tests ask for them. */
const POD_COUNT = 42;
let lab: Lab;
let nextPod = 0;
const freshPod = (): Pod => {
  if (nextPod >= POD_COUNT) throw new Error(`the test asked for more than ${POD_COUNT} pods`);
  return lab.pod(`p${nextPod++}`);
};

/** The kernel's iptables rules in a pod, per table and chain, in iptables-save's canonical form. */
async function kernelIptables(pod: Pod): Promise<IptablesChains> {
  return replaySingleIptables(await iptablesSave(pod.netns));
}

async function appliedIptables(text: string): Promise<IptablesChains> {
  const pod = freshPod();
  await iptablesRestore(pod.netns, text);
  return kernelIptables(pod);
}

/** The kernel's istio nft tables: base-chain hooks, and every rule's expressions with counters zeroed. */
interface KernelNft {
  chains: Record<string, unknown>;
  rules: Record<string, string[]>;
  /** Each rule as lab/evidence/nft.ts renders it, per "table/chain". */
  listed: Record<string, string[]>;
}

async function kernelNft(pod: Pod): Promise<KernelNft> {
  const json = (await nftListRulesetJson(pod.netns)) as { nftables: Array<Record<string, Record<string, unknown>>> };
  const chains: Record<string, unknown> = {};
  const rules: Record<string, string[]> = {};
  for (const item of json.nftables) {
    const chain = item.chain;
    if (chain) chains[`${String(chain.family)} ${String(chain.table)}/${String(chain.name)}`] = { type: chain.type, hook: chain.hook, prio: chain.prio, policy: chain.policy };
    const rule = item.rule;
    if (!rule) continue;
    const key = `${String(rule.family)} ${String(rule.table)}/${String(rule.chain)}`;
    const expr = JSON.stringify(rule.expr).replace(/"counter":\{"packets":\d+,"bytes":\d+\}/g, '"counter":{}');
    (rules[key] ??= []).push(expr);
  }
  const listed: Record<string, string[]> = {};
  for (const r of parseNftRuleset(json).rules) (listed[`${r.table}/${r.chain}`] ??= []).push(r.rule);
  return { chains, rules, listed };
}

async function appliedNft(script: string): Promise<KernelNft> {
  const pod = freshPod();
  await nftApply(pod.netns, script);
  return kernelNft(pod);
}

/** A script's rules as the kernel lists them back, per "table/chain" (see nftListingForm). */
function expectedListing(script: string): Record<string, string[]> {
  const listing: Record<string, string[]> = {};
  for (const [table, chains] of Object.entries(replayNftScript(script))) {
    for (const [chain, content] of Object.entries(chains)) if (content.rules.length > 0) listing[`${table}/${chain}`] = content.rules.map(nftListingForm);
  }
  return listing;
}

function sidecarIptables(line: IstioLine, name: SidecarGolden): string {
  const { mode, config } = sidecarGoldenConfig(line, name);
  return mode === 'REDIRECT' ? redirectModeNatTable(config) : tproxyModeTables(config as TproxyCaptureConfig);
}

/** Every rule sidecarRuleIds names is in the kernel exactly once, in its table and chain, with its target. */
function expectRuleIds(snapshot: { rules: RuleCounter[] }, flavour: RulesFlavour, mode: 'REDIRECT' | 'TPROXY'): void {
  const ids = sidecarRuleIds(flavour);
  const inboundTable = mode === 'REDIRECT' ? ids.tables.nat : ids.tables.mangle;
  const once = (table: string, chain: string, rule: string) => expect(snapshot.rules.filter((r) => r.table === table && r.chain === chain && r.rule === rule), `${table} ${chain}: ${rule}`).toHaveLength(1);
  once(ids.tables.nat, ids.chains.output, ids.rules.proxyUidReturn);
  once(ids.tables.nat, ids.chains.output, ids.rules.proxyGidReturn);
  once(ids.tables.nat, ids.chains.output, ids.rules.passthroughReturn);
  once(ids.tables.nat, ids.chains.output, ids.rules.localhostReturn);
  for (const port of ISTIO_PORTS.excludedInbound) once(inboundTable, ids.chains.inbound, ids.rules.excludedInbound(port));
  const targets = (table: string, chain: string) => snapshot.rules.filter((r) => r.table === table && r.chain === chain).map((r) => r.target);
  expect(targets(ids.tables.nat, ids.chains.redirect)).toEqual([ids.targets.redirect]);
  if (mode === 'TPROXY') {
    expect(targets(ids.tables.mangle, ids.chains.tproxy)).toEqual([ids.targets.tproxy]);
    expect(targets(ids.tables.mangle, ids.chains.divert)[0]).toBe(ids.targets.divertMark);
  }
}

describePrivileged('Istio conformance in the kernel', ['iptables-restore', 'iptables-save', 'nft'], () => {
  beforeAll(async () => {
    lab = await Lab.create({ nodes: [{ name: 'node-a', pods: Array.from({ length: POD_COUNT }, (_, i) => `p${i}`) }] });
  });
  afterAll(async () => {
    await lab?.teardown();
  });

  describe.each(ISTIO_LINES)('sidecar iptables, Istio %s', (line) => {
    it.each(SIDECAR_GOLDENS)("%s: the lab's rules and Istio's own leave identical chains in the kernel", async (name) => {
      const golden = readGolden(line, sidecarGoldenPath(name, 'iptables')!);
      const istio = await appliedIptables(goldenRestoreInput(golden));
      const ours = await appliedIptables(sidecarIptables(line, name));
      expect(countIptablesRules(istio)).toBe(countIptablesRules(replayIptables(golden)[0]!));
      expect(ours).toEqual(istio);
    });
  });

  it.each([
    ['REDIRECT', 'cni-basic', () => redirectModeNatTable()],
    ['TPROXY', 'cni-tproxy', () => tproxyModeTables()],
  ] as const)("%s, the lab's default pod: istio-cni's golden in the kernel, with exactly the documented differences", async (mode, golden, rules) => {
    const istio = await appliedIptables(goldenRestoreInput(readGolden('1.30', sidecarGoldenPath(golden, 'iptables')!)));
    const pod = freshPod();
    await iptablesRestore(pod.netns, rules());
    const ours = await kernelIptables(pod);
    expect(ours).not.toEqual(istio);
    expect(ours).toEqual(applyLabDefaultDifferences(istio));
    expectRuleIds(await readIptables(pod.netns), 'iptables', mode);
  });

  it('the kernel tells 1.24 from 1.30: the OUTPUT jump and the UDP RETURN of an excluded outbound port', async () => {
    const istio130 = await appliedIptables(goldenRestoreInput(readGolden('1.30', sidecarGoldenPath('cni-basic', 'iptables')!)));
    const ours124 = await appliedIptables(sidecarIptables('1.24', 'cni-basic'));
    expect(ours124.nat!.OUTPUT).toEqual(['-p tcp -j ISTIO_OUTPUT']);
    expect(istio130.nat!.OUTPUT).toEqual(['-j ISTIO_OUTPUT']);
    expect(istio130.nat!.ISTIO_OUTPUT!.filter((r) => !ours124.nat!.ISTIO_OUTPUT!.includes(r))).toEqual(['-p udp -m udp --dport 15020 -j RETURN']);
  });

  describe('sidecar native nftables, Istio 1.30', () => {
    it.each(['empty', 'inbound-ports-wildcard', 'inbound-ports-wildcard-tproxy'] as const)(
      "%s: the lab's script and Istio's own leave identical tables in the kernel, every rule counted",
      async (name) => {
        const golden = readGolden('1.30', sidecarGoldenPath(name, 'nftables')!);
        const { mode, config } = sidecarGoldenConfig('1.30', name);
        const script = mode === 'REDIRECT' ? redirectModeNftables(config) : tproxyModeNftables(config as TproxyCaptureConfig);
        const istio = await appliedNft(golden);
        const ours = await appliedNft(script);
        expect(ours.chains).toEqual(istio.chains);
        expect(ours.rules).toEqual(istio.rules);
        expect(Object.values(istio.rules).flat().every((expr) => expr.includes('"counter":{}'))).toBe(true);
        // The listing rewrites are cosmetic: Istio's script, rewritten, is what the kernel lists.
        expect(istio.listed).toEqual(expectedListing(golden));
      },
    );

    it.each([
      ['REDIRECT', () => redirectModeNftables()],
      ['TPROXY', () => tproxyModeNftables()],
    ] as const)("%s, the lab's default pod: the kernel holds every rule of the script, each with a counter", async (mode, script) => {
      const pod = freshPod();
      await nftApply(pod.netns, script());
      const ours = await kernelNft(pod);
      expect(ours.listed).toEqual(expectedListing(script()));
      expect(Object.values(ours.rules).flat().every((expr) => expr.includes('"counter":{}'))).toBe(true);
      expectRuleIds(await readNft(pod.netns), 'nftables', mode);
    });
  });

  describe('ambient in-pod iptables', () => {
    it.each([
      ['dns_pod_disabled_and_on_globally', '1.30'],
      ['default', '1.30'],
      ['default', '1.24'],
    ] as const)("%s (Istio %s): the lab's rules and istio-cni's own leave identical chains in the kernel", async (name, line) => {
      const golden = readGolden(line, `ambient-inpod/${name}.golden`);
      const istio = await appliedIptables(goldenRestoreInput(golden));
      const ours = await appliedIptables(ambientInpodIptables(ambientGoldenConfig(name)));
      expect(countIptablesRules(istio)).toBe(countIptablesRules(replayIptables(golden)[0]!));
      expect(ours).toEqual(istio);
    });

    it("the lab's pod (probe source: its node gateway) with policy routing: Istio's kernel state but for the probe address", async () => {
      const istio = await appliedIptables(goldenRestoreInput(readGolden('1.30', 'ambient-inpod/dns_pod_disabled_and_on_globally.golden')));
      const pod = freshPod();
      const config: AmbientInpodConfig = ambientInpodConfig(nodeGateway(pod.node.index));
      await ipBatch(ambientPolicyRouting(config), pod.netns);
      await iptablesRestore(pod.netns, ambientInpodIptables(config));
      const ours = await kernelIptables(pod);
      const swap = (rules: string[]) => rules.map((r) => r.replace(`${ISTIO_HOST_PROBE_SNAT_ADDRESS}/32`, `${config.probeSource}/32`));
      expect(config.probeSource).toBe('198.18.1.1');
      // Why the node gateway: it is the source the node netns (where a kubelet would run) uses toward the pod.
      const [route] = await ipJson<Array<{ prefsrc?: string }>>(['route', 'get', pod.ip], pod.node.netns);
      expect(route?.prefsrc).toBe(config.probeSource);
      expect(ours).toEqual({ ...istio, nat: { ...istio.nat, ISTIO_PRERT: swap(istio.nat!.ISTIO_PRERT!), ISTIO_OUTPUT: swap(istio.nat!.ISTIO_OUTPUT!) } });
      expect(ours).not.toEqual(istio);
      const rules = await ipJson<Array<Record<string, unknown>>>(['rule', 'show'], pod.netns);
      expect(rules.filter((r) => r.fwmark !== undefined)).toEqual([{ priority: 32764, src: 'all', fwmark: '0x111', fwmask: '0xfff', table: '100' }]);
      const routes = await ipJson<Array<Record<string, unknown>>>(['route', 'show', 'table', '100'], pod.netns);
      expect(routes.map(({ type, dst, dev, scope }) => ({ type, dst, dev, scope }))).toEqual([{ type: 'local', dst: 'default', dev: 'lo', scope: 'host' }]);
      // The iptables evidence reader sees the same rules with their counters.
      expect((await readIptables(pod.netns)).ruleCount).toBe(countIptablesRules(ours));
    });
  });
});
