// The baseline: no interception at all. Traffic goes pod to pod directly, and the checks prove that
// nothing was in the way (the app sees the client's pod IP, the pods hold no netfilter state).
import { readNetfilterSummary, type NetfilterSummary } from '../../evidence/netfilter.ts';
import type { Check } from '../../judge/check.ts';
import { STANDARD_PLAN, STANDARD_PROBES, VERIFY_PORTS, type VerifyEvidence } from '../../judge/plan.ts';
import { bulkBytesIntact, iperfThroughPath, noNetfilterInPods, peersSeen, probesEchoed } from '../../judge/shared.ts';
import type { BackendDescriptor } from '../descriptor.ts';

export interface NoneEvidence {
  /** Each captured pod's netfilter state, by pod name: none is expected. */
  netfilter: Record<string, NetfilterSummary>;
}

export function judgeNone(evidence: VerifyEvidence<NoneEvidence>): Check[] {
  const peers = peersSeen(evidence, VERIFY_PORTS.app);
  return [
    probesEchoed(evidence, STANDARD_PROBES),
    {
      name: 'app-sees-client-directly',
      ok: peers.length > 0 && peers.every((p) => p === evidence.client.ip),
      detail: `server app on :${VERIFY_PORTS.app} saw peers ${peers.join(', ') || 'none'} (client pod is ${evidence.client.ip})`,
    },
    noNetfilterInPods(evidence.collected.netfilter),
    bulkBytesIntact(evidence),
    iperfThroughPath(evidence),
  ];
}

export const noneBackend: BackendDescriptor<NoneEvidence> = {
  name: 'none',
  description: 'baseline: no interception, pod to pod directly',
  display: { label: 'none', color: '#555555' },
  requires: { tools: ['iptables-save', 'nft'], features: [] },
  plan: STANDARD_PLAN,
  async install({ captured }) {
    return {
      async collect() {
        const read = await Promise.all(captured.map(async (pod) => [pod.name, await readNetfilterSummary(pod.netns)] as const));
        return { netfilter: Object.fromEntries(read) };
      },
      async uninstall() {},
    };
  },
  judge: judgeNone,
};
