// The ambient backend for real: Istio ambient's in-pod rules in lab pods, one HAProxy per node holding
// its listeners inside the pods, judged on kernel and proxy evidence in both placements; then the
// pieces one by one: one process per node, the socket marker, a pod leaving capture (the leftover
// checks fail while it is captured and pass once it is released), and uninstall.
import { expect, it } from 'vitest';
import { AMBIENT_PROBES } from '../../lab/backends/ambient/plan.ts';
import { installAmbient, nodeProxyOf } from '../../lab/backends/ambient/ambient.ts';
import { readListeners } from '../../lab/backends/ambient/evidence.ts';
import { captureLeftovers, probePath } from '../../lab/backends/ambient/steps.ts';
import { PLACEMENTS } from '../../lab/judge/plan.ts';
import { AgentPool } from '../../lab/traffic/agent-pool.ts';
import { withLab } from '../../lab/topology/lab.ts';
import { withCapturedPair } from '../../lab/verify/setup.ts';
import { cgroupBpf, labDebris, runProcesses, stillRunning, type ProcessSeen } from '../support/host-state.ts';
import { backendNeeds, describePrivileged } from '../support/privileged.ts';

const IN_POD_PORTS = [15001, 15006, 15008];

describePrivileged('ambient backend', backendNeeds('ambient', ['iperf3']), () => {
  for (const placement of PLACEMENTS) {
    it(`captures ${placement} traffic through the node proxy's in-pod listeners, proven from evidence`, async () => {
      let runId = '';
      let processes: ProcessSeen[] = [];
      await withCapturedPair('ambient', placement, async (pair) => {
        runId = pair.lab.runId;
        const result = await pair.verify({ iperfSeconds: 1 });
        expect(result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`)).toEqual([]);
        expect(result.checks).toHaveLength(13);
        expect(result.throughput?.bytesReceived).toBeGreaterThan(0);
        // The plan read the path counters around each of the backend's probes.
        expect(Object.keys(result.evidence.plan.counterDeltas).sort()).toEqual(Object.values(AMBIENT_PROBES).map((p) => p.name).sort());
        processes = runProcesses(runId);
        expect(processes.some((p) => p.cmdline.startsWith('haproxy'))).toBe(true);
      });
      expect(labDebris(runId)).toEqual([]);
      expect(stillRunning(processes)).toEqual([]);
    });
  }

  it('holds every pod listener in one marked process per node; a released pod keeps nothing of the capture', async () => {
    let runId = '';
    await withLab({ nodes: [{ name: 'node-a', pods: ['client', 'server', 'plain'] }] }, async (lab) => {
      runId = lab.runId;
      const [client, server] = [lab.pod('client'), lab.pod('server')];
      const installation = await installAmbient({ lab, captured: [client, server] });
      const agents = new AgentPool(lab);
      const context = { lab, installation, agents };
      const proxy = nodeProxyOf(installation.state, client);

      // One HAProxy holds the three listeners of both pods, each in the pod's own netns, marked 0x539.
      for (const pod of [client, server]) {
        const listeners = (await readListeners(lab, pod)).filter((l) => IN_POD_PORTS.includes(l.port));
        expect(listeners.map((l) => l.port).sort()).toEqual(IN_POD_PORTS);
        for (const l of listeners) expect(l).toMatchObject({ owners: [{ process: 'haproxy', pid: proxy.pid }], fwmark: 0x539 });
      }
      expect((await installation.state.marker.counters()).marked).toBeGreaterThanOrEqual(2 * IN_POD_PORTS.length);
      expect(cgroupBpf(proxy.pod.cgroupDir)).toMatch(/sock_create\s.*proxy_socket_ma/);

      // While the client is captured, every leftover check fails and a client path is not direct.
      const whileCaptured = await captureLeftovers(lab, installation, 'client');
      expect(whileCaptured.filter((c) => c.ok)).toEqual([]);
      const [notDirect] = await probePath(context, { from: 'client', to: 'plain', port: 9090, expect: 'direct' });
      expect(notDirect).toMatchObject({ name: 'probe-direct', ok: false });
      expect(notDirect!.detail).toMatch(/node proxy logs: ztunnel-1 client\.outbound/);

      // Released: nothing left in the client, a new generation holds only the server's listeners.
      const firstPid = proxy.pid;
      await installation.release(client);
      expect((await captureLeftovers(lab, installation, 'client')).filter((c) => !c.ok)).toEqual([]);
      expect(proxy.pids).toHaveLength(2);
      expect(proxy.pid).not.toBe(firstPid);
      expect((await readListeners(lab, server)).filter((l) => IN_POD_PORTS.includes(l.port)).flatMap((l) => l.owners.map((o) => o.pid))).toEqual([proxy.pid, proxy.pid, proxy.pid]);
      const [direct] = await probePath(context, { from: 'client', to: 'plain', port: 9091, expect: 'direct' });
      expect(direct!.ok).toBe(true);
      const [stillCaptured] = await probePath(context, { from: 'client', to: 'server', port: 9092, expect: 'captured' });
      expect(stillCaptured!.detail).toMatch(/ztunnel-1 server\.inbound/);
      expect(stillCaptured!.ok).toBe(true);

      // Uninstall: the server is released too, the proxy stops, the marker is detached.
      await installation.uninstall();
      expect((await captureLeftovers(lab, installation, 'server')).filter((c) => !c.ok)).toEqual([]);
      expect(proxy.pid).toBeUndefined();
      expect(cgroupBpf(proxy.pod.cgroupDir)).not.toMatch(/sock_create/);
    });
    expect(labDebris(runId)).toEqual([]);
  });
});
