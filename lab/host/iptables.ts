// iptables inside lab namespaces (nf_tables backend, as the host uses: never mix with legacy).
import { run, output } from './exec.ts';
import { commandIn } from './namespaces.ts';

/** Applies a whole table atomically (iptables-restore replaces the named tables in one commit). */
export async function iptablesRestore(netns: string, rules: string): Promise<void> {
  const [file, args] = commandIn({ netns }, 'iptables-restore', ['-w', '5']);
  await run(file, args, { input: rules });
}

/** iptables-save with packet/byte counters (-c), for one table or all. */
export async function iptablesSave(netns: string, table?: string): Promise<string> {
  const [file, args] = commandIn({ netns }, 'iptables-save', ['-c', ...(table ? ['-t', table] : [])]);
  return output(file, args);
}
