// tc: clsact qdiscs and direct-action BPF filters inside lab namespaces.
import { run } from './exec.ts';

export async function deleteFilters(netns: string, device: string, direction: 'ingress' | 'egress'): Promise<void> {
  await run('tc', ['-n', netns, 'filter', 'del', 'dev', device, direction], { allowFailure: true });
}
