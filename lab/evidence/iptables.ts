// iptables counters as evidence: which rules matched, how many packets, per chain.
import { iptablesSave } from '../host/iptables.ts';

export interface RuleCounter {
  table: string;
  chain: string;
  /** The rule as written after `-A <chain> ` (matches and target). */
  rule: string;
  target: string;
  packets: number;
  bytes: number;
}

export interface IptablesSnapshot {
  rules: RuleCounter[];
  /** Number of rules (not chain policies) in all tables. */
  ruleCount: number;
}

/** Parses `iptables-save -c` output ("[pkts:bytes] -A CHAIN ... -j TARGET"). */
export function parseIptablesSave(text: string): IptablesSnapshot {
  const rules: RuleCounter[] = [];
  let table = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1).trim();
    const match = /^\[(\d+):(\d+)\] -A (\S+) (.*)$/.exec(line);
    if (!match) continue;
    const [, packets, bytes, chain, rule] = match as unknown as [string, string, string, string, string];
    const target = /-j (\S+)/.exec(rule)?.[1] ?? '';
    rules.push({ table, chain, rule, target, packets: Number(packets), bytes: Number(bytes) });
  }
  return { rules, ruleCount: rules.length };
}

export async function readIptables(netns: string): Promise<IptablesSnapshot> {
  return parseIptablesSave(await iptablesSave(netns));
}

/** Packets that went through rules of `chain` whose target is `target` (e.g. ISTIO_REDIRECT -> REDIRECT). */
export function packetsTo(snapshot: IptablesSnapshot, chain: string, target: string): number {
  return snapshot.rules.filter((r) => r.chain === chain && r.target === target).reduce((sum, r) => sum + r.packets, 0);
}

/** Packets that matched a rule containing `fragment` in `chain` (e.g. the 127.0.0.6 RETURN). */
export function packetsMatching(snapshot: IptablesSnapshot, chain: string, fragment: string): number {
  return snapshot.rules.filter((r) => r.chain === chain && r.rule.includes(fragment)).reduce((sum, r) => sum + r.packets, 0);
}

/**
 * Packets that matched the one rule of `chain` whose text is exactly `rule`, as iptables-save prints
 * it (e.g. "-m owner --uid-owner 1337 -j RETURN"). Exact, not a substring: "! --uid-owner 1337 -j
 * RETURN" is another rule, and a substring match would count its packets too.
 */
export function packetsOfRule(snapshot: IptablesSnapshot, chain: string, rule: string): number {
  return snapshot.rules.filter((r) => r.chain === chain && r.rule === rule).reduce((sum, r) => sum + r.packets, 0);
}
