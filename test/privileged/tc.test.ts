// The tc backend for real: Istio ambient's eBPF redirection in lab namespaces, with HAProxy as the
// node proxy, judged on kernel and proxy evidence in both placements; then the TPROXY-mark fallback,
// the config map written through its BTF, early uninstall, and a teardown that leaves no namespace,
// pin or trace instance behind.
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { readMap } from '../../lab/bpf/maps.ts';
import { pinnedMap } from '../../lab/bpf/objects.ts';
import { readPodEntries, readTcCounters } from '../../lab/backends/tc/evidence.ts';
import { MAP_NAMES, tcConfig, type TcConfigValue } from '../../lab/backends/tc/maps.ts';
import { TC_PROBES } from '../../lab/backends/tc/plan.ts';
import { installTc, proxyOf } from '../../lab/backends/tc/tc.ts';
import { readIptables } from '../../lab/evidence/iptables.ts';
import { runTag } from '../../lab/evidence/trace-pipe.ts';
import { listNetns } from '../../lab/host/ip.ts';
import { hasClsact, listBpfFilters } from '../../lab/host/tc.ts';
import { PLACEMENTS } from '../../lab/judge/plan.ts';
import { Agent } from '../../lab/traffic/agent.ts';
import { withLab } from '../../lab/topology/lab.ts';
import { placementTopology, withCapturedPair } from '../../lab/verify/setup.ts';
import { describePrivileged } from '../support/privileged.ts';

async function leftoversOf(runId: string): Promise<string[]> {
  const left = (await listNetns()).filter((n) => n.includes(runId));
  if (existsSync(`/sys/fs/bpf/lab-${runId}`)) left.push(`/sys/fs/bpf/lab-${runId}`);
  if (existsSync(`/sys/kernel/tracing/instances/lab-${runId}-tc`)) left.push('trace instance');
  return left;
}

const TOOLS = ['tc', 'bpftool', 'clang', 'haproxy', 'iperf3', 'ss'];
const FEATURES = ['bpf-syscall', 'btf', 'bpffs', 'tracefs', 'tc-clsact', 'bpf-enable-stats'] as const;

describePrivileged('tc backend', { tools: TOOLS, features: FEATURES }, () => {
  for (const placement of PLACEMENTS) {
    it(`captures ${placement} traffic through the node proxy, proven from evidence`, async () => {
      let runId = '';
      await withCapturedPair('tc', placement, async (pair) => {
        runId = pair.lab.runId;
        const result = await pair.verify({ iperfSeconds: 1 });
        const failed = result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
        expect(failed).toEqual([]);
        const names = result.checks.map((c) => c.name);
        for (const name of ['tc-filters-attached', 'redirect-counters', 'trace-shows-redirects', 'outbound-original-dst-logged', 'inbound-original-dst-logged', 'uncaptured-pods-direct', 'node-traffic-not-redirected', 'no-iptables-rules-in-pods', 'bytes-intact']) {
          expect(names).toContain(name);
        }
        if (placement === 'cross-node') expect(names).toContain('cross-node-inbound-original-dst-logged');
        expect(result.throughput?.bytesReceived).toBeGreaterThan(0);
        // The plan read the program counters around each of the backend's probes.
        expect(Object.keys(result.evidence.plan.counterDeltas).sort()).toEqual(Object.values(TC_PROBES).map((p) => p.name).sort());
      });
      expect(await leftoversOf(runId)).toEqual([]);
    });
  }

  it('fails captured connections rather than bypassing a stopped node proxy', async () => {
    await withCapturedPair('tc', 'cross-node', async (pair) => {
      const { server, clientAgent, agents, installation } = pair;
      await agents.listen(server, server.ip, 8080);
      expect((await clientAgent.probe(server.ip, 8080)).ok).toBe(true);
      await installation.stopProxy!(server);
      const refused = await clientAgent.probe(server.ip, 8080, { timeoutMs: 3000 });
      expect(refused.ok).toBe(false);
      // The one connection the app ever accepted came through the server node's proxy.
      expect((await pair.serverAgent.accepts()).filter((a) => a.port === 8080)).toHaveLength(1);
    });
  });
});

describePrivileged('tc backend, TPROXY-mark fallback', { tools: TOOLS, features: [...FEATURES, 'iptables-tproxy'] }, () => {
  it('steers with the TPROXY-mark fallback from its config map, and uninstall leaves the pods talking directly', async () => {
    let runId = '';
    await withLab(placementTopology('cross-node'), async (lab) => {
      runId = lab.runId;
      const client = lab.pod('client');
      const server = lab.pod('server');
      const installation = await installTc({ lab, captured: [client, server] }, { steering: 'tproxy-mark' });
      const { state } = installation;
      // The config went in through the map's BTF and reads back as written: tag, ports, marks.
      const config = await readMap<number, TcConfigValue & { reserved: number }>(pinnedMap(state.object, MAP_NAMES.config));
      expect(config).toEqual([{ key: 0, value: { ...tcConfig(runTag(lab.runId)), reserved: 0 } }]);
      expect((await readPodEntries(state.object)).map((p) => p.ip).sort()).toEqual([client.ip, server.ip].sort());

      const [clientAgent, serverAgent] = await Promise.all([Agent.start(lab, client), Agent.start(lab, server)]);
      lab.own(clientAgent);
      lab.own(serverAgent);
      await serverAgent.listen(server.ip, 8080);
      const captured = await clientAgent.probe(server.ip, 8080);
      expect(captured.ok).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      const clientProxy = proxyOf(state, client);
      const serverProxy = proxyOf(state, server);
      expect(clientProxy.connections().filter((c) => c.listener === 'outbound' && c.originalDst === `${server.ip}:8080`)).toHaveLength(1);
      expect(serverProxy.connections().filter((c) => c.listener === 'inbound' && c.originalDst === `${server.ip}:8080`)).toHaveLength(1);
      const counters = await readTcCounters(state.object);
      expect(counters.mark_outbound).toBeGreaterThan(0);
      expect(counters.mark_inbound).toBeGreaterThan(0);
      expect(counters.assign_listener).toBe(0);
      expect(counters.not_configured).toBe(0);
      // The TPROXY rules in the proxy namespaces did the steering (and the pods have none).
      const tproxied = (await readIptables(clientProxy.pod.netns)).rules.filter((r) => r.target === 'TPROXY').reduce((sum, r) => sum + r.packets, 0);
      expect(tproxied).toBeGreaterThan(0);
      expect((await readIptables(client.netns)).ruleCount).toBe(0);
      expect((await serverAgent.accepts()).map((a) => a.peer)).toEqual([serverProxy.pod.ip]);

      await installation.uninstall();
      for (const pod of [client, server]) {
        expect(await hasClsact(pod.node.netns, pod.hostVeth)).toBe(false);
        expect(await listBpfFilters(pod.node.netns, pod.hostVeth, 'ingress')).toEqual([]);
      }
      expect(await readPodEntries(state.object)).toEqual([]);
      const direct = await clientAgent.probe(server.ip, 8080);
      expect(direct.ok).toBe(true);
      expect((await serverAgent.accepts()).map((a) => a.peer)).toEqual([serverProxy.pod.ip, client.ip]);
      const after = await readTcCounters(state.object);
      expect(after.outbound_redirect).toBe(counters.outbound_redirect);
    });
    expect(await leftoversOf(runId)).toEqual([]);
  });
});
