// The two flavours of a sidecar's capture rules, as the redirect and tproxy backends install and read
// them: iptables (istio-iptables' rules through iptables-restore, which is iptables-nft here, read
// back with `iptables-save -c`), and native nftables (Istio's `nativeNftables`, 1.27+: one `nft -f`
// transaction per pod, read back with `nft -j list ruleset`). Both readers give the same
// RuleCounter shape, and sidecarRuleIds(flavour) names the rules in it, so one judge serves both.
import { readIptables, type IptablesSnapshot } from '../evidence/iptables.ts';
import { readNft } from '../evidence/nft.ts';
import type { KernelFeature } from '../features/names.ts';
import { iptablesRestore } from '../host/iptables.ts';
import { nftApply } from '../host/nft.ts';
import { redirectModeNatTable, tproxyModeRemoval, tproxyModeTables } from '../istio/iptables.ts';
import { nftablesRemoval, redirectModeNftables, tproxyModeNftables } from '../istio/nftables.ts';
import type { RulesFlavour } from '../istio/rule-ids.ts';
import type { IstioCaptureConfig, TproxyCaptureConfig } from '../istio/sidecar-config.ts';

export interface SidecarRules {
  flavour: RulesFlavour;
  /** Appended to the backend's name and label: '' for iptables (Istio's default), '-nft' for native nftables. */
  suffix: '' | '-nft';
  /** The commands that apply and read the rules. */
  tools: readonly string[];
  /** Kernel features the rules of each mode need. */
  features: { redirect: readonly KernelFeature[]; tproxy: readonly KernelFeature[] };
  /** The mode's whole ruleset, as the flavour's apply() takes it. */
  redirectMode(c: IstioCaptureConfig): string;
  tproxyMode(c: TproxyCaptureConfig): string;
  /** A ruleset that removes what tproxyMode() added. */
  tproxyRemoval(): string;
  /** Applies a ruleset in a pod's netns in one transaction (iptables-restore and `nft -f` both commit atomically). */
  apply(netns: string, ruleset: string): Promise<void>;
  /** Every rule of the pod's netns with its counters. */
  read(netns: string): Promise<IptablesSnapshot>;
}

const IPTABLES: SidecarRules = {
  flavour: 'iptables',
  suffix: '',
  tools: ['iptables-restore', 'iptables-save'],
  features: { redirect: ['iptables-redirect'], tproxy: ['iptables-redirect', 'iptables-tproxy'] },
  redirectMode: redirectModeNatTable,
  tproxyMode: tproxyModeTables,
  tproxyRemoval: tproxyModeRemoval,
  apply: iptablesRestore,
  read: readIptables,
};

const NFTABLES: SidecarRules = {
  flavour: 'nftables',
  suffix: '-nft',
  tools: ['nft'],
  // The feature probe's nft rule is a nat redirect; nothing probes nft's tproxy expression apart.
  features: { redirect: ['nftables'], tproxy: ['nftables'] },
  redirectMode: redirectModeNftables,
  tproxyMode: tproxyModeNftables,
  tproxyRemoval: () => nftablesRemoval(),
  apply: nftApply,
  read: readNft,
};

export function sidecarRules(flavour: RulesFlavour): SidecarRules {
  return flavour === 'iptables' ? IPTABLES : NFTABLES;
}
