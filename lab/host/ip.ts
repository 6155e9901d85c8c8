// iproute2: one `ip -batch` process per namespace instead of one process per command.
import { output, run } from './exec.ts';

/** Runs `ip` commands (one per line, without the leading `ip`) in a namespace, or the root one. */
export async function ipBatch(lines: readonly string[], netns?: string): Promise<void> {
  if (lines.length === 0) return;
  const args = netns === undefined ? ['-batch', '-'] : ['-n', netns, '-batch', '-'];
  await run('ip', args, { input: lines.join('\n') + '\n' });
}

export async function listNetns(): Promise<string[]> {
  const text = await output('ip', ['netns', 'list']);
  return text
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name !== '');
}

/** PIDs of processes whose network namespace is this one. */
export async function netnsPids(netns: string): Promise<number[]> {
  const result = await run('ip', ['netns', 'pids', netns], { allowFailure: true });
  return result.stdout.split(/\s+/).filter(Boolean).map(Number);
}

export async function deleteNetns(netns: string): Promise<void> {
  await run('ip', ['netns', 'delete', netns], { allowFailure: true });
}

export async function ipJson<T>(args: readonly string[], netns?: string): Promise<T> {
  const prefix = netns === undefined ? [] : ['-n', netns];
  return JSON.parse(await output('ip', [...prefix, '-j', ...args])) as T;
}
