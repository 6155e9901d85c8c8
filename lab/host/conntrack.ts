// conntrack inside a lab namespace: each netns has its own conntrack table view.
import { run } from './exec.ts';
import { commandIn } from './namespaces.ts';

/** `conntrack -L` output; empty when the table is empty or conntrack is not loaded in the netns. */
export async function listConntrack(netns: string, extra: readonly string[] = []): Promise<string> {
  const [file, args] = commandIn({ netns }, 'conntrack', ['-L', '-p', 'tcp', ...extra]);
  const result = await run(file, args, { allowFailure: true });
  return result.stdout;
}

/**
 * Entries in a namespace's conntrack table (`conntrack -C`, the netns's nf_conntrack_count). 0 when
 * nothing in the namespace uses conntrack: the kernel only tracks a netns whose rules need it.
 */
export async function countConntrack(netns: string): Promise<number> {
  const [file, args] = commandIn({ netns }, 'conntrack', ['-C']);
  const result = await run(file, args, { allowFailure: true });
  const count = Number(result.stdout.trim());
  if (result.exitCode !== 0 || !Number.isInteger(count)) throw new Error(`conntrack -C in ${netns} failed: ${(result.stderr || result.stdout).trim()}`);
  return count;
}
