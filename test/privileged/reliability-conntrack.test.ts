// Conntrack cost: entries created per 1000 short connections between two pods, for every
// registered backend that intercepts (the seeds' first complaint about iptables). The counting is
// lab/evidence/conntrack.ts measureConntrackCost, the function `lab bench` reports as a metric.
import { expect, it } from 'vitest';
import { backendNames } from '../../lab/backends/index.ts';
import { measureConntrackCost, type ConntrackCost } from '../../lab/evidence/conntrack.ts';
import { VERIFY_PORTS } from '../../lab/judge/plan.ts';
import { withCapturedPair } from '../../lab/verify/setup.ts';
import { describePrivileged } from '../support/privileged.ts';

const CONNECTIONS = 1000;
const IPTABLES_BACKENDS: readonly string[] = ['redirect', 'tproxy'];
const EBPF_BACKENDS: readonly string[] = ['sockmap', 'tc'];

describePrivileged('conntrack entries per 1000 connections', ['haproxy', 'conntrack', 'iptables-restore', 'bpftool', 'clang'], () => {
  const backends = backendNames().filter((b) => IPTABLES_BACKENDS.includes(b) || EBPF_BACKENDS.includes(b));
  const costs = new Map<string, ConntrackCost>();

  it.each(backends)('%s: 1000 short connections client -> server, entries counted in every lab namespace', async (backend) => {
    const cost = await withCapturedPair(backend, 'same-node', async ({ lab, server, clientAgent }) =>
      measureConntrackCost(lab, () => clientAgent.connectLoop(server.ip, VERIFY_PORTS.app, { count: CONNECTIONS, maxSeconds: 40, concurrency: 4 })),
    );
    costs.set(backend, cost);
    process.stdout.write(`conntrack ${backend}: ${cost.entriesPer1000} entries per 1000 connections ${JSON.stringify(cost.byPlace)}\n`);
    expect(cost.connections).toBe(CONNECTIONS);
    expect(cost.entriesCreated).toBe(Object.values(cost.byPlace).reduce((a, b) => a + b, 0));
    expect(Object.keys(cost.byPlace)).toEqual(expect.arrayContaining(['client', 'node-a', 'server']));
    if (IPTABLES_BACKENDS.includes(backend)) {
      // NAT/TPROXY needs conntrack on both ends: at least the app's connection in the client pod
      // and the sidecar's connection arriving in the server pod.
      expect(cost.byPlace.client).toBeGreaterThanOrEqual(CONNECTIONS);
      expect(cost.byPlace.server).toBeGreaterThanOrEqual(CONNECTIONS);
    }
  });

  it('eBPF backends create fewer entries than iptables REDIRECT', () => {
    const redirect = costs.get('redirect');
    if (!redirect) throw new Error('the redirect measurement did not run');
    for (const backend of EBPF_BACKENDS) {
      const cost = costs.get(backend);
      if (!cost) throw new Error(`the ${backend} measurement did not run`);
      expect(cost.entriesCreated, backend).toBeLessThan(redirect.entriesCreated);
    }
  });
});
