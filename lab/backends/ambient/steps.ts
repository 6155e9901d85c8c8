// Steps that ambient scenarios run as `custom` steps: take a pod out of capture and prove nothing of
// the capture is left in it, and probe a path and prove from the node proxies' logs whether it was
// captured. Each returns checks, judged from what the kernel and the proxies show.
import { iptablesSave } from '../../host/iptables.ts';
import { readIptables } from '../../evidence/iptables.ts';
import type { Check } from '../../judge/check.ts';
import type { AgentPool } from '../../traffic/agent-pool.ts';
import type { Lab } from '../../topology/lab.ts';
import type { Installation } from '../descriptor.ts';
import { asAmbientInstallation, type AmbientInstallation } from './ambient.ts';
import { inpodConfig } from './capture.ts';
import { readListeners } from './evidence.ts';

/** What a scenario step gets (the scenario runner's context, by shape). */
export interface AmbientStepContext {
  lab: Lab;
  installation: Installation;
  agents: AgentPool;
}

/** Proxies log a connection when it closes: give the probe's close a moment to reach the log. */
const LOG_SETTLE_MS = 300;

/** Takes a pod out of capture, then checks that nothing of the capture is left in it (captureLeftovers). */
export async function releaseFromCapture({ lab, installation }: AmbientStepContext, podName: string): Promise<Check[]> {
  const ambient = asAmbientInstallation(installation);
  await ambient.release(lab.pod(podName));
  return captureLeftovers(lab, ambient, podName);
}

/**
 * What of ambient capture a pod holds: iptables rules or ISTIO_ chains, a policy rule to the reply
 * table or a route in it, a listener of any node proxy (any generation). Each check passes only when
 * the pod holds none of it: they all fail on a captured pod.
 */
export async function captureLeftovers(lab: Lab, ambient: AmbientInstallation, podName: string): Promise<Check[]> {
  const pod = lab.pod(podName);
  const proxyPids = new Set([...ambient.state.proxies.values()].flatMap((p) => p.pids));
  const c = inpodConfig(pod);
  const ip = async (args: string[]) => (await lab.exec(pod, 'ip', args, { inCgroup: false })).stdout.trim();
  const [rules, saved, ipRules, table, listeners] = await Promise.all([
    readIptables(pod.netns),
    iptablesSave(pod.netns),
    ip(['rule', 'show']),
    ip(['route', 'show', 'table', String(c.routeTable)]),
    readListeners(lab, pod),
  ]);
  const istioChains = saved.split('\n').filter((l) => /^:ISTIO_/.test(l));
  const markRule = ipRules.split('\n').filter((l) => l.includes(`lookup ${c.routeTable}`));
  const proxied = listeners.filter((l) => l.owners.some((o) => proxyPids.has(o.pid)));
  return [
    {
      name: 'no-rule-left',
      ok: rules.ruleCount === 0 && istioChains.length === 0,
      detail: `${podName}: ${rules.ruleCount} iptables rules, ISTIO_ chains: ${istioChains.map((l) => l.split(' ')[0]!.slice(1)).join(', ') || 'none'}`,
    },
    {
      name: 'no-policy-route-left',
      ok: markRule.length === 0 && table === '',
      detail: `${podName}: ip rules to table ${c.routeTable}: ${markRule.join(' | ') || 'none'}; table ${c.routeTable}: ${table || 'empty'}`,
    },
    {
      name: 'no-node-proxy-listener-left',
      ok: proxied.length === 0,
      detail: `${podName}: ${proxied.length ? `a node proxy still listens on :${proxied.map((l) => l.port).join(', :')}` : `no node-proxy listener (listening: ${listeners.map((l) => `:${l.port} ${l.owners.map((o) => o.process).join(',')}`).join(', ') || 'nothing'})`}`,
    },
  ];
}

/**
 * Probes from one pod to another on a port of its own and says whether a node proxy carried it: a
 * captured connection is in some node proxy's log with the target as original destination and the
 * source pod as client; a direct one is in none. Either way the payload must come back and the app
 * must see the source pod's own address.
 */
export async function probePath({ lab, installation, agents }: AmbientStepContext, probe: { from: string; to: string; port: number; expect: 'captured' | 'direct' }): Promise<Check[]> {
  const ambient = asAmbientInstallation(installation);
  const [from, to] = [lab.pod(probe.from), lab.pod(probe.to)];
  const target = `${to.ip}:${probe.port}`;
  await agents.listen(to, to.ip, probe.port);
  const result = await (await agents.agent(from)).probe(to.ip, probe.port);
  await new Promise((r) => setTimeout(r, LOG_SETTLE_MS));
  const logged = [...ambient.state.proxies.values()].flatMap((p) => p.connections().filter((c) => c.originalDst === target && c.client.startsWith(`${from.ip}:`)).map((c) => `${p.pod.name} ${c.listener}`));
  const peers = [...new Set((await (await agents.agent(to)).accepts()).filter((a) => a.port === probe.port).map((a) => a.peer))];
  const captured = logged.length > 0;
  return [
    {
      name: probe.expect === 'captured' ? 'probe-captured' : 'probe-direct',
      ok: result.ok && captured === (probe.expect === 'captured') && peers.length === 1 && peers[0] === from.ip,
      detail:
        `${probe.from} -> ${target}: ${result.ok ? `echoed in ${result.millis} ms` : `failed: ${result.error ?? 'no echo'}`}; ` +
        `node proxy logs: ${logged.join(', ') || 'none'}; the app saw ${peers.join(', ') || 'nobody'} (${probe.from} is ${from.ip})`,
    },
  ];
}
