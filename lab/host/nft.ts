// nftables inside lab namespaces: a whole ruleset applied as one transaction, and the ruleset read
// back as JSON (with every rule's counter, where the rule has one).
import { output, run } from './exec.ts';
import { commandIn } from './namespaces.ts';

/** Applies an `nft -f` script in one transaction: either every command takes effect, or none. */
export async function nftApply(netns: string, script: string): Promise<void> {
  const [file, args] = commandIn({ netns }, 'nft', ['-f', '-']);
  await run(file, args, { input: script });
}

/** `nft -j list ruleset`: the namespace's whole ruleset as nftables' JSON (libnftables-json(5)). */
export async function nftListRulesetJson(netns: string): Promise<unknown> {
  const [file, args] = commandIn({ netns }, 'nft', ['-j', 'list', 'ruleset']);
  return JSON.parse(await output(file, args)) as unknown;
}
