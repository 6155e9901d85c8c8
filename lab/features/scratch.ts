// The probes that need a place to try things: a scratch lab of one node and one pod, built and torn
// down by the probe. Rules go into the pod's own namespace and programs onto the pod's cgroup and
// host veth, never into the root namespace or the root cgroup.
import { addClsact } from '../host/tc.ts';
import { iptablesRestore } from '../host/iptables.ts';
import { nftApply } from '../host/nft.ts';
import { onPath } from '../host/tools.ts';
import { Lab } from '../topology/lab.ts';
import { observeBpfProbes } from './bpf-probes.ts';
import { BPF_PROBES, type BpfProbeName, type ProbeOutcome, type ScratchObservations } from './observations.ts';

const lastLine = (e: unknown) => (e as Error).message.split('\n').map((l) => l.trim()).filter(Boolean).at(-1) ?? String(e);

async function attempt(what: string, action: () => Promise<unknown>): Promise<ProbeOutcome> {
  try {
    await action();
    return { ok: true, detail: what };
  } catch (e) {
    return { ok: false, detail: lastLine(e) };
  }
}

/** Every outcome skipped for one reason (no root, no scratch lab). */
export function skippedScratch(why: string): ScratchObservations {
  const skipped = { skipped: why };
  return {
    netnsVeth: skipped,
    iptablesRedirect: skipped,
    iptablesTproxy: skipped,
    nft: skipped,
    tcClsact: skipped,
    bpf: Object.fromEntries(BPF_PROBES.map((name) => [name, skipped])) as Record<BpfProbeName, ProbeOutcome>,
  };
}

// The same targets the redirect and tproxy backends install, on a port nothing uses (9, discard).
const REDIRECT_RULES = '*nat\n-A OUTPUT -p tcp --dport 9 -j REDIRECT --to-ports 15001\nCOMMIT\n';
const TPROXY_RULES = '*mangle\n-A PREROUTING -p tcp --dport 9 -j TPROXY --on-port 15006 --tproxy-mark 1337/0xffffffff\nCOMMIT\n';
const NFT_RULES = 'table inet lab_feature_probe {\n  chain output {\n    type nat hook output priority -100; policy accept;\n    tcp dport 9 counter redirect to :15001\n  }\n}\n';

export async function observeScratch(): Promise<ScratchObservations> {
  if (process.getuid?.() !== 0) return skippedScratch('needs root');
  let lab: Lab;
  try {
    lab = await Lab.create({ nodes: [{ name: 'features', pods: ['probe'] }] });
  } catch (e) {
    return { ...skippedScratch('the scratch lab could not be built'), netnsVeth: { ok: false, detail: `building a scratch node and pod failed: ${lastLine(e)}` } };
  }
  try {
    const pod = lab.pod('probe');
    const hasIptables = onPath('iptables-restore');
    const iptablesRedirect = hasIptables ? await attempt('REDIRECT rule accepted inside a lab pod', () => iptablesRestore(pod.netns, REDIRECT_RULES)) : { skipped: 'iptables-restore is not installed' };
    const iptablesTproxy = hasIptables ? await attempt('TPROXY rule accepted inside a lab pod', () => iptablesRestore(pod.netns, TPROXY_RULES)) : { skipped: 'iptables-restore is not installed' };
    const nft = onPath('nft') ? await attempt('nft nat chain with a redirect rule accepted inside a lab pod', () => nftApply(pod.netns, NFT_RULES)) : { skipped: 'nft is not installed' };
    const tcClsact = onPath('tc') ? await attempt("clsact qdisc added on a lab pod's host veth", () => addClsact(pod.node.netns, pod.hostVeth)) : { skipped: 'tc is not installed' };
    const bpf = await observeBpfProbes(lab, pod, { clsactReady: 'ok' in tcClsact && tcClsact.ok });
    return { netnsVeth: { ok: true, detail: 'built a scratch node and pod joined by a veth pair' }, iptablesRedirect, iptablesTproxy, nft, tcClsact, bpf };
  } finally {
    await lab.teardown();
  }
}
