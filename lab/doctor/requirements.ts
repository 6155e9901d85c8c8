// What the lab needs whatever the backend: the tools and kernel features of a topology, of the traffic
// drivers and of the feature probe. Each backend adds its own (descriptor `requires`), which doctor
// reads from the registry.
import type { KernelFeature } from '../features/names.ts';

/** What every topology needs: namespaces, veths, cgroup joins, sysctls inside namespaces. */
export const TOPOLOGY_TOOLS: readonly string[] = ['ip', 'nsenter', 'setpriv', 'ss', 'sysctl'];

/** Kernel features every topology needs (Lab.create builds netns, veths and a cgroup per pod). */
export const TOPOLOGY_FEATURES: readonly KernelFeature[] = ['cgroup2', 'netns-veth'];

export interface ToolSpec {
  command: string;
  /** Arguments that make the tool print its version (default --version). */
  versionArgs?: readonly string[];
  /** Missing optional tools are reported but do not fail the doctor. */
  required: boolean;
  fix: string;
  /** What the version output must contain (e.g. iptables on nf_tables). */
  mustContain?: string;
}

export const SETUP_FIX = 'run scripts/setup.sh as root';

/** Tools of the lab itself, beside the backends' own. */
export const LAB_TOOLS: readonly ToolSpec[] = [
  ...TOPOLOGY_TOOLS.map((command) => ({ command, required: true, fix: SETUP_FIX })),
  { command: 'iperf3', required: true, fix: `${SETUP_FIX} (verify's bulk probe and the bench)` },
  { command: 'sockperf', required: true, fix: `${SETUP_FIX} (latency fallback when fortio is absent)` },
  { command: 'bpftool', required: true, fix: `${SETUP_FIX} (the kernel feature probe and the BPF backends)` },
  { command: 'clang', required: true, fix: `${SETUP_FIX} (builds bpf/ and the feature probe's programs)` },
  // The lab's iptables rules and the host's must share one backend: never mix legacy and nf_tables.
  { command: 'iptables', versionArgs: ['-V'], required: true, fix: `${SETUP_FIX} (the lab uses the nf_tables backend)`, mustContain: 'nf_tables' },
  { command: 'fortio', versionArgs: ['version'], required: false, fix: 'optional: install fortio from its release package (the Vagrant VM does); sockperf is used without it' },
];

/** Version flags of the tools that do not take --version. */
export const VERSION_ARGS: Readonly<Record<string, readonly string[]>> = {
  ip: ['-V'],
  ss: ['-V'],
  tc: ['-V'],
  iptables: ['-V'],
  'iptables-restore': ['-V'],
  'iptables-save': ['-V'],
  haproxy: ['-v'],
  bpftool: ['version'],
  fortio: ['version'],
  ping: ['-V'],
};
