// Pure: turns what the probe saw (observations.ts) into one result per kernel feature. A feature is
// present only when every source that speaks to it agrees: bpftool's program and map type probes
// first, then the lab's own probe, which loads (and where it can, attaches) a program that does what
// the backend does.
//
// bpftool's helper lists are not used: bpftool v7.1 (libbpf 1.1, Debian 12) lists bpf_sk_assign among
// the kprobe helpers on Linux 6.18, where the verifier refuses it ("program of this type cannot use
// helper bpf_sk_assign#124" when a kprobe program calls it). A helper is therefore proven by loading
// a program that calls it (probes/tc-sk-assign.bpf.c).
import { FEATURE_INFO, KERNEL_FEATURES, type FeatureResult, type KernelFeature } from './names.ts';
import type { BpfProbeName, BpftoolFeatureProbe, FeatureObservations, ProbeOutcome } from './observations.ts';

type Verdict = { present: boolean; detail: string };

const yes = (detail: string): Verdict => ({ present: true, detail });
const no = (detail: string): Verdict => ({ present: false, detail });

function fromOutcome(outcome: ProbeOutcome): Verdict {
  if ('skipped' in outcome) return no(`not probed: ${outcome.skipped}`);
  return { present: outcome.ok, detail: outcome.detail };
}

/** The first failing verdict, or the last one (with the details of all joined) when all hold. */
function all(...verdicts: Verdict[]): Verdict {
  const failed = verdicts.find((v) => !v.present);
  return failed ?? yes(verdicts.map((v) => v.detail).join('; '));
}

class Sources {
  constructor(private readonly o: FeatureObservations) {}

  private get probe(): BpftoolFeatureProbe | undefined {
    return this.o.bpftool.ok ? this.o.bpftool.probe : undefined;
  }

  private bpftoolSays(group: 'program_types' | 'map_types', key: string, label: string): Verdict {
    if (!this.o.bpftool.ok) return no(`bpftool feature probe failed: ${this.o.bpftool.error}`);
    return this.probe?.[group]?.[key] === true ? yes(`bpftool: ${label}`) : no(`bpftool feature probe: no ${label}`);
  }

  progType(type: string): Verdict {
    return this.bpftoolSays('program_types', `have_${type}_prog_type`, `${type} program type`);
  }

  mapType(type: string): Verdict {
    return this.bpftoolSays('map_types', `have_${type}_map_type`, `${type} map type`);
  }

  bpfSyscall(): Verdict {
    if (!this.o.bpftool.ok) return no(`bpftool feature probe failed: ${this.o.bpftool.error}`);
    return this.probe?.syscall_config?.have_bpf_syscall === true ? yes('bpftool: bpf() syscall available') : no('bpftool feature probe: no bpf() syscall');
  }

  kernelConfig(option: string): string | number | null | undefined {
    return this.probe?.system_config?.[option];
  }

  bpfProbe(name: BpfProbeName): Verdict {
    return fromOutcome(this.o.scratch.bpf[name]);
  }

  get scratch() {
    return this.o.scratch;
  }

  get files() {
    return this.o.files;
  }
}

function verdictFor(feature: KernelFeature, s: Sources): Verdict {
  const f = s.files;
  switch (feature) {
    case 'bpf-syscall':
      return s.bpfSyscall();
    case 'btf':
      return f.btfVmlinux ? yes('/sys/kernel/btf/vmlinux') : no('no /sys/kernel/btf/vmlinux');
    case 'bpffs':
      return f.bpffsMounted ? yes('bpf filesystem mounted at /sys/fs/bpf') : no('nothing of type bpf mounted at /sys/fs/bpf');
    case 'tracefs':
      return f.tracePipe ? yes('/sys/kernel/tracing/trace_pipe') : no('no /sys/kernel/tracing/trace_pipe (tracefs not mounted)');
    case 'cgroup2':
      return f.cgroup2Mount !== null ? yes(`cgroup2 at ${f.cgroup2Mount}`) : no('no cgroup2 filesystem in /proc/mounts');
    case 'cgroup2-socket-match':
      return f.cgroup1NetClsPrio.length === 0 ? yes('no cgroup v1 net_cls/net_prio hierarchy mounted') : no(`mounted: ${f.cgroup1NetClsPrio.join('; ')}`);
    case 'netns-veth':
      return fromOutcome(s.scratch.netnsVeth);
    case 'iptables-redirect':
      return fromOutcome(s.scratch.iptablesRedirect);
    case 'iptables-tproxy':
      return fromOutcome(s.scratch.iptablesTproxy);
    case 'nftables': {
      const nft = s.scratch.nft;
      if (!('skipped' in nft)) return fromOutcome(nft);
      // Without the nft command, rules accepted through iptables' nf_tables variant prove the kernel
      // side just as well.
      const redirect = s.scratch.iptablesRedirect;
      if (f.iptablesNft && 'ok' in redirect && redirect.ok) return yes(`nf_tables accepted the iptables-nft REDIRECT rules (nft not tried: ${nft.skipped})`);
      return fromOutcome(nft);
    }
    case 'cgroup-connect4':
      return all(s.progType('cgroup_sock_addr'), s.bpfProbe('cgroup-connect4'));
    case 'sockops':
      return all(s.progType('sock_ops'), s.mapType('sockhash'), s.bpfProbe('sockops'));
    case 'sk-msg':
      return all(s.progType('sk_msg'), s.mapType('sockhash'), s.bpfProbe('sk-msg'));
    case 'cgroup-getsockopt':
      return all(s.progType('cgroup_sockopt'), s.bpfProbe('cgroup-getsockopt'));
    case 'tc-clsact':
      return all(s.progType('sched_cls'), fromOutcome(s.scratch.tcClsact));
    case 'bpf-sk-assign':
      return all(s.progType('sched_cls'), s.bpfProbe('tc-sk-assign'));
    case 'bpf-enable-stats':
      // The command is an enumerator of enum bpf_cmd; the kernel's own BTF lists the ones it has.
      if (!f.btfVmlinux) return no('cannot tell without kernel BTF (BPF_ENABLE_STATS is looked up in enum bpf_cmd)');
      return f.btfNames.BPF_ENABLE_STATS === true ? yes('BPF_ENABLE_STATS is in the kernel BTF (enum bpf_cmd)') : no('BPF_ENABLE_STATS is not in the kernel BTF (enum bpf_cmd)');
    case 'fentry':
      return all(s.progType('tracing'), f.btfVmlinux ? yes('kernel BTF') : no('no kernel BTF (fentry resolves its target there)'), s.bpfProbe('fentry'));
    case 'kprobe': {
      // bpftool prints null for an option its kernel config file leaves unset (and for all of them
      // when it found no config file: then CONFIG_BPF is null too).
      const unset = s.kernelConfig('CONFIG_KPROBE_EVENTS') === null && s.kernelConfig('CONFIG_BPF') != null;
      const source = f.kprobePmu
        ? yes('kprobe event source /sys/bus/event_source/devices/kprobe')
        : f.kprobeEvents
          ? yes('tracefs kprobe_events')
          : no(`no kprobe event source (/sys/bus/event_source/devices/kprobe, tracefs kprobe_events)${unset ? '; the kernel config has CONFIG_KPROBE_EVENTS unset' : ''}`);
      return all(s.progType('kprobe'), source, s.bpfProbe('kprobe'));
    }
  }
}

/** One result per feature, in KERNEL_FEATURES order. */
export function deriveFeatures(observations: FeatureObservations): FeatureResult[] {
  const sources = new Sources(observations);
  return KERNEL_FEATURES.map((feature) => ({ feature, ...verdictFor(feature, sources) }));
}

/** The result for one feature (every feature has one). */
export function featureResult(results: readonly FeatureResult[], feature: KernelFeature): FeatureResult {
  return results.find((r) => r.feature === feature) ?? { feature, present: false, detail: `not probed (${FEATURE_INFO[feature].summary})` };
}

/** The results among `needed` that are absent, in the order asked. */
export function absentFeatures(results: readonly FeatureResult[], needed: readonly KernelFeature[]): FeatureResult[] {
  return needed.map((f) => featureResult(results, f)).filter((r) => !r.present);
}
