// `lab doctor`: what this machine has of what the lab needs, and the fix for each missing item.
// Kernel features are probed for real (a scratch pod is built, rules are added inside it), not
// inferred from version numbers.
import { existsSync, readFileSync } from 'node:fs';
import { findCgroup2Mount } from '../host/cgroup.ts';
import { run } from '../host/exec.ts';
import { iptablesRestore } from '../host/iptables.ts';
import { Lab } from '../topology/lab.ts';

export interface DoctorItem {
  name: string;
  ok: boolean;
  /** Missing optional items are reported but do not fail the doctor. */
  required: boolean;
  detail: string;
  fix?: string;
}

const SETUP = 'run scripts/setup.sh as root';

interface ToolSpec {
  command: string;
  versionArgs: string[];
  required: boolean;
  fix: string;
  /** What the version output must contain (e.g. iptables on nf_tables). */
  mustContain?: string;
}

const TOOLS: ToolSpec[] = [
  { command: 'ip', versionArgs: ['-V'], required: true, fix: SETUP },
  { command: 'nsenter', versionArgs: ['--version'], required: true, fix: SETUP },
  { command: 'setpriv', versionArgs: ['--version'], required: true, fix: SETUP },
  { command: 'ss', versionArgs: ['-V'], required: true, fix: SETUP },
  { command: 'tc', versionArgs: ['-V'], required: true, fix: SETUP },
  { command: 'iptables', versionArgs: ['-V'], required: true, fix: `${SETUP} (the lab uses the nf_tables backend)`, mustContain: 'nf_tables' },
  { command: 'iptables-restore', versionArgs: ['-V'], required: true, fix: SETUP },
  { command: 'conntrack', versionArgs: ['--version'], required: true, fix: SETUP },
  { command: 'haproxy', versionArgs: ['-v'], required: true, fix: SETUP },
  { command: 'iperf3', versionArgs: ['--version'], required: true, fix: SETUP },
  { command: 'sockperf', versionArgs: ['--version'], required: true, fix: `${SETUP} (latency fallback when fortio is absent)` },
  { command: 'clang', versionArgs: ['--version'], required: true, fix: `${SETUP} (builds bpf/)` },
  { command: 'bpftool', versionArgs: ['version'], required: true, fix: SETUP },
  { command: 'fortio', versionArgs: ['version'], required: false, fix: 'optional: install fortio from its release package (the Vagrant VM does); sockperf is used without it' },
];

async function probeTool(tool: ToolSpec): Promise<DoctorItem> {
  try {
    const result = await run(tool.command, tool.versionArgs, { allowFailure: true, timeoutMs: 5000 });
    const text = (result.stdout + result.stderr).trim();
    const version = text.split('\n').find((l) => /\d+\.\d+/.test(l))?.trim() ?? text.split('\n')[0] ?? '';
    if (tool.mustContain && !text.includes(tool.mustContain)) {
      return { name: tool.command, ok: false, required: tool.required, detail: `${version} (not ${tool.mustContain})`, fix: tool.fix };
    }
    return { name: tool.command, ok: true, required: tool.required, detail: version.slice(0, 100) };
  } catch {
    return { name: tool.command, ok: false, required: tool.required, detail: 'not installed', fix: tool.fix };
  }
}

function item(name: string, ok: boolean, detail: string, fix: string, required = true): DoctorItem {
  return ok ? { name, ok, required, detail } : { name, ok, required, detail, fix };
}

async function kernelItems(): Promise<DoctorItem[]> {
  const items: DoctorItem[] = [];
  const root = process.getuid?.() === 0;
  items.push(item('root', root, root ? 'running as root' : `running as uid ${process.getuid?.()}`, 'run the lab with sudo'));
  const cgroup2 = await findCgroup2Mount();
  items.push(item('cgroup2 mount', cgroup2 !== undefined, cgroup2 ?? 'no cgroup2 filesystem in /proc/mounts', SETUP));
  items.push(item('bpffs', existsSync('/sys/fs/bpf') && readFileSync('/proc/mounts', 'utf8').includes(' /sys/fs/bpf bpf '), '/sys/fs/bpf', SETUP));
  items.push(item('tracefs', existsSync('/sys/kernel/tracing/trace_pipe'), '/sys/kernel/tracing/trace_pipe', SETUP));
  items.push(item('BTF', existsSync('/sys/kernel/btf/vmlinux'), '/sys/kernel/btf/vmlinux', 'a kernel built with CONFIG_DEBUG_INFO_BTF=y', false));
  // Run counts are turned on with BPF_ENABLE_STATS (Linux 5.8, the same release as the sysctl's
  // reference-counted form), held by bpf/tools/hold-bpf-stats for the run.
  const statsSysctl = existsSync('/proc/sys/kernel/bpf_stats_enabled');
  items.push(item('BPF run statistics', statsSysctl, 'program run counts for evidence (BPF_ENABLE_STATS)', 'a kernel of 5.8 or later'));
  // cgroup v1 net_cls/net_prio silently turn off cgroup2 socket matching for BPF (DESIGN §9).
  const v1 = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => / cgroup .*net_(cls|prio)/.test(l));
  items.push(item('no cgroup v1 net_cls/net_prio', v1.length === 0, v1.length ? v1.join('; ') : 'not mounted', 'unmount the cgroup v1 net_cls/net_prio hierarchy: it disables cgroup2 socket matching'));
  if (root) {
    const bpf = await run('bpftool', ['prog', 'show'], { allowFailure: true }).catch(() => undefined);
    items.push(item('BPF syscall', bpf?.exitCode === 0, bpf?.exitCode === 0 ? 'bpftool prog show works' : (bpf?.stderr.trim() ?? 'bpftool missing'), 'a kernel with CONFIG_BPF_SYSCALL=y, and bpftool (scripts/setup.sh)'));
  }
  return items;
}

/** Builds a one-pod scratch lab and tries what the backends need: veth, netns, REDIRECT, TPROXY. */
async function topologyItems(): Promise<DoctorItem[]> {
  if (process.getuid?.() !== 0) return [];
  const items: DoctorItem[] = [];
  let lab: Lab | undefined;
  try {
    lab = await Lab.create({ nodes: [{ name: 'doctor', pods: ['probe'] }] });
    items.push(item('netns + veth', true, 'built a scratch node and pod joined by a veth pair', ''));
    const pod = lab.pod('probe');
    const tryRules = async (name: string, rules: string, fix: string) => {
      try {
        await iptablesRestore(pod.netns, rules);
        items.push(item(name, true, 'accepted inside a lab pod', fix));
      } catch (e) {
        items.push(item(name, false, (e as Error).message.split('\n').slice(-1)[0] ?? '', fix));
      }
    };
    await tryRules('iptables REDIRECT', '*nat\n-A OUTPUT -p tcp --dport 9 -j REDIRECT --to-ports 15001\nCOMMIT\n', 'a kernel with CONFIG_NETFILTER_XT_TARGET_REDIRECT');
    await tryRules('iptables TPROXY', '*mangle\n-A PREROUTING -p tcp --dport 9 -j TPROXY --on-port 15006 --tproxy-mark 1337/0xffffffff\nCOMMIT\n', 'a kernel with CONFIG_NETFILTER_XT_TARGET_TPROXY (modprobe xt_TPROXY)');
  } catch (e) {
    items.push(item('netns + veth', false, (e as Error).message, SETUP));
  } finally {
    await lab?.teardown();
  }
  return items;
}

export async function runDoctor(): Promise<{ ok: boolean; items: DoctorItem[] }> {
  const tools = await Promise.all(TOOLS.map(probeTool));
  const items = [...(await kernelItems()), ...tools, ...(await topologyItems())];
  return { ok: items.every((i) => i.ok || !i.required), items };
}
