// Host untouched and runs isolated: every backend is verified on both placements, two different
// backends at a time, and the root namespace (firewall, routes, rules, links, sysctls, root cgroup
// BPF, bpffs) must be exactly as before. While an eBPF backend is installed, a process in the root
// namespace keeps talking on 127.0.0.1 untouched.
import { once } from 'node:events';
import { createServer, connect, type AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { backendNames } from '../../lab/backends/index.ts';
import { PLACEMENTS } from '../../lab/judge/plan.ts';
import { withCapturedPair } from '../../lab/verify/setup.ts';
import { cgroupBpf, labDebris, snapshotHost } from '../support/host-state.ts';
import { LabProcess } from '../support/lab-cli.ts';
import { describePrivileged } from '../support/privileged.ts';

interface VerifyJson {
  backend: string;
  placement: string;
  ok: boolean;
  runId: string;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
}

async function verify(backend: string, placement: string): Promise<VerifyJson & { code: number | null; stderr: string }> {
  const lab = new LabProcess(['verify', '--backend', backend, '--placement', placement, '--json']);
  const code = await lab.exited;
  let report: VerifyJson;
  try {
    report = JSON.parse(lab.stdout) as VerifyJson;
  } catch {
    throw new Error(`lab verify ${backend} ${placement} printed no JSON (exit ${code}):\n${lab.stderr.slice(-3000)}`);
  }
  return { ...report, code, stderr: lab.stderr };
}

/** Talks to an echo server in the root namespace on 127.0.0.1 until `until` settles (bounded). */
async function rootLoopbackTalker(until: Promise<unknown>): Promise<{ exchanges: number; failures: string[]; peerPortsMatched: boolean }> {
  const seenPeers: number[] = [];
  const server = createServer((socket) => {
    seenPeers.push(socket.remotePort ?? 0);
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  let done = false;
  void until.finally(() => (done = true));
  const failures: string[] = [];
  const localPorts: number[] = [];
  let exchanges = 0;
  for (let i = 0; i < 2000 && !done; i++) {
    const payload = `root-ns ${i}`;
    const reply = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      let received = '';
      const timer = setTimeout(() => (socket.destroy(), resolve(`${received} (timed out)`)), 2000);
      socket.on('connect', () => {
        localPorts.push(socket.localPort ?? -1);
        socket.end(payload);
      });
      socket.setEncoding('utf8').on('data', (d: string) => (received += d));
      socket.on('close', () => (clearTimeout(timer), resolve(received)));
      socket.on('error', (e) => (clearTimeout(timer), resolve(`error ${e.message}`)));
    });
    exchanges++;
    if (reply !== payload) failures.push(`#${i}: ${reply}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  server.close();
  // The server saw each connection from the very port the client bound: nothing sat in between.
  return { exchanges, failures, peerPortsMatched: seenPeers.length === localPorts.length && seenPeers.every((p, i) => p === localPorts[i]) };
}

describePrivileged('host untouched, runs isolated', ['haproxy', 'iperf3', 'iptables-restore', 'conntrack', 'bpftool', 'clang'], () => {
  const backends = backendNames();

  it('every backend passes on both placements, two different backends at a time, and the host is unchanged', async () => {
    const host = snapshotHost();
    // Consecutive runs differ in backend, so each pair is two different backends side by side.
    const runs = PLACEMENTS.flatMap((placement) => backends.map((backend) => ({ backend, placement })));
    const failures: string[] = [];
    for (let i = 0; i < runs.length; i += 2) {
      const pair = runs.slice(i, i + 2);
      const reports = await Promise.all(pair.map((r) => verify(r.backend, r.placement)));
      for (const report of reports) {
        const failed = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
        if (report.code !== 0 || !report.ok) failures.push(`${report.backend} ${report.placement} (alongside ${pair.map((r) => r.backend).join('+')}): exit ${report.code}\n  ${failed.join('\n  ')}`);
        expect(labDebris(report.runId)).toEqual([]);
      }
    }
    expect(failures).toEqual([]);
    expect(snapshotHost()).toEqual(host);
  });

  // sockmap is the backend whose hooks (cgroup connect4, sockops) could reach a root-namespace process.
  const ebpf = 'sockmap';
  it(`a root-namespace process talks normally on 127.0.0.1 while ${ebpf} intercepts the pods`, async () => {
    const rootBpf = cgroupBpf();
    await withCapturedPair(ebpf, 'same-node', async (pair) => {
      // Interception inside the lab and talk outside it, at the same time.
      const verdict = pair.verify({ iperfSeconds: 1 });
      const talk = await rootLoopbackTalker(verdict);
      const { ok, checks } = await verdict;
      expect(checks.filter((c) => !c.ok)).toEqual([]);
      expect(ok).toBe(true);
      expect(talk.exchanges).toBeGreaterThan(20);
      expect(talk.failures).toEqual([]);
      expect(talk.peerPortsMatched).toBe(true);
      // Nothing of the backend is attached to the root cgroup, where every host process lives.
      expect(cgroupBpf()).toBe(rootBpf);
    });
  });
});
