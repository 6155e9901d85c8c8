// Whether a namespace holds any netfilter state at all, seen both ways: the rules iptables-nft shows,
// and the tables nftables itself lists (which also shows native nft tables that iptables-save cannot).
import { nftListRulesetJson } from '../host/nft.ts';
import { readIptables } from './iptables.ts';

export interface NetfilterSummary {
  /** Rules `iptables-save` lists (iptables-nft's tables only). */
  iptablesRules: number;
  /** Every table `nft list ruleset` lists, as "family name" (e.g. "ip nat", "inet istio-proxy-nat"). */
  nftTables: string[];
}

interface NftJsonTable {
  table?: { family: string; name: string };
}

/** The "family name" of every table in an `nft -j list ruleset` document. */
export function nftTableNames(ruleset: unknown): string[] {
  const items = (ruleset as { nftables?: NftJsonTable[] }).nftables ?? [];
  return items.flatMap((item) => (item.table ? [`${item.table.family} ${item.table.name}`] : []));
}

export async function readNetfilterSummary(netns: string): Promise<NetfilterSummary> {
  const [iptables, ruleset] = await Promise.all([readIptables(netns), nftListRulesetJson(netns)]);
  return { iptablesRules: iptables.ruleCount, nftTables: nftTableNames(ruleset) };
}
