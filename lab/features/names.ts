// The kernel features the lab and its backends can need, by name. Backends list the ones they need
// (descriptor `requires.features`); doctor, `lab verify`'s preflight and the privileged-test gate all
// read the one probe (probe.ts) that says which are present on the running kernel.

export const KERNEL_FEATURES = [
  'bpf-syscall',
  'btf',
  'bpffs',
  'tracefs',
  'cgroup2',
  'cgroup2-socket-match',
  'netns-veth',
  'iptables-redirect',
  'iptables-tproxy',
  'nftables',
  'cgroup-connect4',
  'sockops',
  'sk-msg',
  'cgroup-getsockopt',
  'tc-clsact',
  'bpf-sk-assign',
  'bpf-enable-stats',
  'fentry',
  'kprobe',
] as const;

export type KernelFeature = (typeof KERNEL_FEATURES)[number];

/** One feature on the running kernel: `detail` says what was seen (the probe's own evidence). */
export interface FeatureResult {
  feature: KernelFeature;
  present: boolean;
  detail: string;
}

export interface FeatureInfo {
  /** What the feature is, for doctor's list. */
  summary: string;
  /** What gives a machine the feature when it is absent. */
  fix: string;
}

const SETUP = 'run scripts/setup.sh as root';

export const FEATURE_INFO: Readonly<Record<KernelFeature, FeatureInfo>> = {
  'bpf-syscall': { summary: 'the bpf() system call', fix: 'a kernel with CONFIG_BPF_SYSCALL=y, run as root' },
  btf: { summary: 'kernel BTF (/sys/kernel/btf/vmlinux)', fix: 'a kernel built with CONFIG_DEBUG_INFO_BTF=y' },
  bpffs: { summary: 'bpffs mounted at /sys/fs/bpf', fix: SETUP },
  tracefs: { summary: 'tracefs at /sys/kernel/tracing (trace_pipe)', fix: SETUP },
  cgroup2: { summary: 'a cgroup2 mount', fix: SETUP },
  'cgroup2-socket-match': {
    summary: 'cgroup2 socket matching (no cgroup v1 net_cls/net_prio mounted)',
    fix: 'unmount the cgroup v1 net_cls/net_prio hierarchy: using it turns off cgroup2 socket matching for BPF',
  },
  'netns-veth': { summary: 'network namespaces joined by veth pairs', fix: 'a kernel with CONFIG_NET_NS and CONFIG_VETH' },
  'iptables-redirect': { summary: 'iptables REDIRECT in a pod', fix: 'a kernel with CONFIG_NETFILTER_XT_TARGET_REDIRECT' },
  'iptables-tproxy': { summary: 'iptables TPROXY in a pod', fix: 'a kernel with CONFIG_NETFILTER_XT_TARGET_TPROXY (modprobe xt_TPROXY)' },
  nftables: { summary: 'nf_tables rules in a pod', fix: 'a kernel with CONFIG_NF_TABLES' },
  'cgroup-connect4': { summary: 'cgroup/connect4 programs attached to a pod cgroup', fix: 'a kernel with CONFIG_CGROUP_BPF (Linux 4.17 or later)' },
  // CONFIG_BPF_STREAM_PARSER gates the SOCKMAP/SOCKHASH map types (include/linux/bpf_types.h; the
  // WSL2 kernel, built without it, is the known case: github.com/microsoft/WSL/issues/8343).
  sockops: { summary: 'sockops programs filing sockets into a SOCKHASH', fix: 'a kernel with CONFIG_CGROUP_BPF and CONFIG_BPF_STREAM_PARSER' },
  'sk-msg': { summary: 'sk_msg programs redirecting between SOCKHASH sockets', fix: 'a kernel with CONFIG_BPF_STREAM_PARSER' },
  'cgroup-getsockopt': { summary: 'cgroup/getsockopt programs attached to a pod cgroup', fix: 'Linux 5.3 or later with CONFIG_CGROUP_BPF' },
  'tc-clsact': { summary: 'tc clsact qdiscs with direct-action BPF filters', fix: 'a kernel with CONFIG_NET_SCH_INGRESS and CONFIG_NET_CLS_BPF' },
  'bpf-sk-assign': { summary: 'bpf_sk_assign from tc programs', fix: 'Linux 5.7 or later' },
  'bpf-enable-stats': { summary: 'BPF program run statistics (BPF_ENABLE_STATS)', fix: 'Linux 5.8 or later' },
  fentry: { summary: 'fentry programs on kernel functions (for tracers)', fix: 'a kernel with BTF, CONFIG_FUNCTION_TRACER and BPF trampolines, that lets root trace' },
  kprobe: { summary: 'kprobe programs with a kprobe event source (for tracers)', fix: 'a kernel with CONFIG_KPROBES and CONFIG_KPROBE_EVENTS' },
};

export function isKernelFeature(name: string): name is KernelFeature {
  return (KERNEL_FEATURES as readonly string[]).includes(name);
}
