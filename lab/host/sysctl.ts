// sysctls: per-namespace ones are written from inside the namespace; global ones (kernel.*) are
// read first so the ledger can restore them.
import { readFile, writeFile } from 'node:fs/promises';
import { run } from './exec.ts';
import { commandIn } from './namespaces.ts';

const procPath = (name: string) => `/proc/sys/${name.replace(/\./g, '/')}`;

/** Sets network sysctls inside a lab namespace (one process for all of them). */
export async function setNetnsSysctls(netns: string, values: Record<string, string | number>): Promise<void> {
  const assignments = Object.entries(values).map(([k, v]) => `${k}=${v}`);
  if (assignments.length === 0) return;
  const [file, args] = commandIn({ netns }, 'sysctl', ['-q', '-w', ...assignments]);
  await run(file, args);
}

export async function readGlobalSysctl(name: string): Promise<string | undefined> {
  return (await readFile(procPath(name), 'utf8').catch(() => undefined))?.trim();
}

export async function writeGlobalSysctl(name: string, value: string): Promise<void> {
  await writeFile(procPath(name), value);
}
