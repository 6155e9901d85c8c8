// The eBPF backends' "no rules in the pods" check (no-iptables-rules-in-pods) on real kernel state: a
// native nft table in a pod, which iptables-save cannot show, makes it fail; an empty pod passes.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readNetfilterSummary } from '../../lab/evidence/netfilter.ts';
import { nftApply } from '../../lab/host/nft.ts';
import { NFT_NAT_TABLE, redirectModeNftables } from '../../lab/istio/nftables.ts';
import { noNetfilterInPods } from '../../lab/judge/shared.ts';
import { Lab } from '../../lab/topology/lab.ts';
import { describePrivileged } from '../support/privileged.ts';

describePrivileged('netfilter summary of a pod', ['nft', 'iptables-save'], () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.create({ nodes: [{ name: 'node-a', pods: ['with-nft', 'empty'] }] });
  });
  afterAll(async () => {
    await lab?.teardown();
  });

  it('sees a native nft table that iptables-save does not, and the check fails on it', async () => {
    const withNft = lab.pod('with-nft');
    const empty = lab.pod('empty');
    expect(noNetfilterInPods({ [withNft.name]: await readNetfilterSummary(withNft.netns), [empty.name]: await readNetfilterSummary(empty.netns) }).ok).toBe(true);

    await nftApply(withNft.netns, redirectModeNftables());
    const summary = { [withNft.name]: await readNetfilterSummary(withNft.netns), [empty.name]: await readNetfilterSummary(empty.netns) };
    // iptables-save lists nothing: Istio's native tables are inet tables that iptables-nft does not know.
    expect(summary[withNft.name]).toEqual({ iptablesRules: 0, nftTables: [`inet ${NFT_NAT_TABLE}`] });
    expect(summary[empty.name]).toEqual({ iptablesRules: 0, nftTables: [] });

    const check = noNetfilterInPods(summary);
    expect(check).toMatchObject({ name: 'no-iptables-rules-in-pods', ok: false });
    expect(check.detail).toBe(`with-nft: 0 iptables rules, nft tables inet ${NFT_NAT_TABLE}; empty: 0 iptables rules, no nft table`);
  });
});
