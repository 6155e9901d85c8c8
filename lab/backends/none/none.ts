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

/**
 * Every connection the server app accepted, on every port of the plan, came from the client pod's
 * own address: nothing on the path (a proxy, a NAT in a pod or a node) stood between them. The app
 * port must have been reached; each other port is judged on whatever the app accepted there.
 */
function appSeesClientDirectly(evidence: VerifyEvidence<NoneEvidence>): Check {
  const accepts = evidence.plan.accepts[evidence.server.name] ?? [];
  const ports = [...new Set(accepts.map((a) => a.port))].sort((a, b) => a - b);
  const strangers = ports.flatMap((port) => {
    const others = peersSeen(evidence, port).filter((p) => p !== evidence.client.ip);
    return others.length ? [`:${port} from ${others.join(', ')}`] : [];
  });
  const appPeers = peersSeen(evidence, VERIFY_PORTS.app);
  return {
    name: 'app-sees-client-directly',
    ok: appPeers.length > 0 && strangers.length === 0,
    detail:
      `server app on :${VERIFY_PORTS.app} saw peers ${appPeers.join(', ') || 'none'} (client pod is ${evidence.client.ip}); ${accepts.length} connections accepted on :${ports.join(', :')}` +
      (strangers.length ? `; not from the client: ${strangers.join('; ')} (something on the path rewrote or proxied the connection)` : ', all from the client'),
  };
}

export function judgeNone(evidence: VerifyEvidence<NoneEvidence>): Check[] {
  return [
    probesEchoed(evidence, STANDARD_PROBES),
    appSeesClientDirectly(evidence),
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
