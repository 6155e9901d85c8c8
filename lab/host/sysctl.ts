// sysctls: the lab writes only per-namespace ones, from inside the namespace; global ones are read
// (by tests that prove the host was left as it was), never written.
import { readFileSync } from 'node:fs';
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

/**
 * net.ipv4.tcp_mem in pages (Documentation/networking/ip-sysctl.rst): below `min` TCP does not
 * moderate its memory; above `pressure` it enters memory pressure (and leaves it below `min`);
 * `max` is the most all TCP sockets may queue.
 */
export interface TcpMemLimits {
  min: number;
  pressure: number;
  max: number;
}

export function parseTcpMem(text: string): TcpMemLimits {
  const [min, pressure, max] = text.trim().split(/\s+/).map(Number);
  if (min === undefined || pressure === undefined || max === undefined || [min, pressure, max].some((n) => !Number.isInteger(n))) {
    throw new Error(`unexpected net.ipv4.tcp_mem: "${text.trim()}"`);
  }
  return { min, pressure, max };
}

/** net.ipv4.tcp_mem, which is one setting for the whole host (not per namespace). */
export function readTcpMemLimits(): TcpMemLimits {
  return parseTcpMem(readFileSync(procPath('net.ipv4.tcp_mem'), 'utf8'));
}

/** The size of a memory page, the unit of tcp_mem. */
export async function pageSizeBytes(): Promise<number> {
  const { stdout } = await run('getconf', ['PAGESIZE']);
  const size = Number(stdout.trim());
  if (!Number.isInteger(size) || size <= 0) throw new Error(`getconf PAGESIZE printed "${stdout.trim()}"`);
  return size;
}
