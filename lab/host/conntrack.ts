// conntrack inside a lab namespace: each netns has its own conntrack table view.
import { run } from './exec.ts';
import { commandIn } from './namespaces.ts';

/** `conntrack -L` output; empty when the table is empty or conntrack is not loaded in the netns. */
export async function listConntrack(netns: string, extra: readonly string[] = []): Promise<string> {
  const [file, args] = commandIn({ netns }, 'conntrack', ['-L', '-p', 'tcp', ...extra]);
  const result = await run(file, args, { allowFailure: true });
  return result.stdout;
}
