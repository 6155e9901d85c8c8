// sysctls: the lab writes only per-namespace ones, from inside the namespace; global ones are read
// (by tests that prove the host was left as it was), never written.
import { readFile } from 'node:fs/promises';
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
