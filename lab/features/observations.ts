// What the feature probe saw, as plain data: the raw output of `bpftool feature probe kernel -j`, the
// files the lab checks, and the outcome of each of the lab's own small probes. derive.ts turns it into
// feature results without touching the kernel, so a recorded copy (test/fixtures/features/) replays
// exactly what a machine reported, and an altered copy stands for a kernel that lacks something.

/** The parts of `bpftool feature probe kernel -j` the lab reads (bpftool prints more). */
export interface BpftoolFeatureProbe {
  system_config?: Record<string, string | number | null>;
  syscall_config?: { have_bpf_syscall?: boolean };
  program_types?: Record<string, boolean>;
  map_types?: Record<string, boolean>;
  helpers?: Record<string, string[]>;
  misc?: Record<string, boolean>;
}

/** One small probe: it worked, it did not (with the kernel's or tool's words), or it was not tried. */
export type ProbeOutcome = { ok: true; detail: string } | { ok: false; detail: string } | { skipped: string };

/** The lab's BPF probe programs (lab/features/probes/<name>.bpf.c). */
export const BPF_PROBES = ['cgroup-connect4', 'sockops', 'sk-msg', 'cgroup-getsockopt', 'tc-sk-assign', 'fentry', 'kprobe'] as const;
export type BpfProbeName = (typeof BPF_PROBES)[number];

export interface FileObservations {
  /** Where cgroup2 is mounted (hybrid hosts: /sys/fs/cgroup/unified), if anywhere. */
  cgroup2Mount: string | null;
  bpffsMounted: boolean;
  tracePipe: boolean;
  btfVmlinux: boolean;
  /** Names looked up in the kernel's BTF string table (enumerators such as BPF_ENABLE_STATS). */
  btfNames: Record<string, boolean>;
  /** /proc/mounts lines of cgroup v1 hierarchies with net_cls or net_prio. */
  cgroup1NetClsPrio: string[];
  /** /sys/bus/event_source/devices/kprobe: the perf kprobe event source (CONFIG_KPROBE_EVENTS). */
  kprobePmu: boolean;
  /** tracefs kprobe_events: the legacy way to create kprobe events. */
  kprobeEvents: boolean;
  /** Whether `iptables -V` names the nf_tables variant. */
  iptablesNft: boolean;
}

/** Probes run inside a scratch lab (one node, one pod), never in the root namespace or root cgroup. */
export interface ScratchObservations {
  /** Set when the scratch lab itself could not be built; then every other outcome is skipped. */
  netnsVeth: ProbeOutcome;
  iptablesRedirect: ProbeOutcome;
  iptablesTproxy: ProbeOutcome;
  nft: ProbeOutcome;
  tcClsact: ProbeOutcome;
  bpf: Record<BpfProbeName, ProbeOutcome>;
}

export interface FeatureObservations {
  /** `uname -r` of the kernel probed. */
  kernelRelease: string;
  /** The probes need root; without it, most outcomes are skipped. */
  root: boolean;
  bpftool: { ok: true; probe: BpftoolFeatureProbe } | { ok: false; error: string };
  files: FileObservations;
  scratch: ScratchObservations;
}
