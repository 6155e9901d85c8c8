// The feature observations that are files to read: mounts, kernel BTF, kprobe event sources.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { findCgroup2Mount } from '../host/cgroup.ts';
import { iptablesVersion } from '../host/feature-probe.ts';
import type { FileObservations } from './observations.ts';

const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';

/** Names looked up in the kernel's BTF: enumerators of enum bpf_cmd the lab relies on. */
export const BTF_NAMES = ['BPF_ENABLE_STATS'] as const;

/**
 * Whether each name is a string of the kernel's BTF (the string section holds every type and
 * enumerator name, NUL-terminated). A name absent from it is absent from the kernel's types.
 */
async function btfNames(names: readonly string[]): Promise<Record<string, boolean>> {
  const btf = await readFile(VMLINUX_BTF).catch(() => undefined);
  return Object.fromEntries(names.map((name) => [name, btf !== undefined && btf.includes(Buffer.from(`\0${name}\0`))]));
}

export async function observeFiles(): Promise<FileObservations> {
  const mounts = await readFile('/proc/mounts', 'utf8');
  const lines = mounts.split('\n');
  const iptables = await iptablesVersion();
  return {
    cgroup2Mount: (await findCgroup2Mount()) ?? null,
    bpffsMounted: lines.some((l) => l.split(' ')[1] === '/sys/fs/bpf' && l.split(' ')[2] === 'bpf'),
    tracePipe: existsSync('/sys/kernel/tracing/trace_pipe'),
    btfVmlinux: existsSync(VMLINUX_BTF),
    btfNames: await btfNames(BTF_NAMES),
    cgroup1NetClsPrio: lines.filter((l) => / cgroup .*net_(cls|prio)/.test(l)),
    kprobePmu: existsSync('/sys/bus/event_source/devices/kprobe/type'),
    kprobeEvents: existsSync('/sys/kernel/tracing/kprobe_events'),
    iptablesNft: iptables?.includes('nf_tables') ?? false,
  };
}
