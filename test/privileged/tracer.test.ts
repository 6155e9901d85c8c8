// The kernel-path tracer on real installs: `lab path` for every backend prints a trail that reaches
// the server app and carries the mechanism's signature, every function asked for is reported
// (traced, or unavailable with a reason), and the tracer counts only the namespaces it is given.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { VERIFY_PORTS } from '../../lab/judge/plan.ts';
import type { KernelPathCheck, KernelPathEvidence, TrailEvent } from '../../lab/tracer/index.ts';
import { expectationFunctions, KERNEL_PATH_EXPECTATIONS, netnsInode, startKernelPathTrace } from '../../lab/tracer/index.ts';
import { withCapturedPair } from '../../lab/verify/setup.ts';
import { labDebris } from '../support/host-state.ts';
import { LAB } from '../support/lab-cli.ts';
import { describePrivileged } from '../support/privileged.ts';

interface PathOutput {
  backend: string;
  placement: string;
  runId: string;
  probe: { ok: boolean };
  reachedServer: boolean;
  steps: TrailEvent[];
  check: KernelPathCheck;
  evidence: KernelPathEvidence;
}

function labPath(backend: string, placement: string): { code: number | null; output: PathOutput; stderr: string } {
  const result = spawnSync(process.execPath, [LAB, 'path', '--backend', backend, '--placement', placement, '--json'], { encoding: 'utf8', timeout: 170_000 });
  if (!result.stdout.trim()) throw new Error(`lab path printed nothing (exit ${result.status}):\n${result.stderr}`);
  return { code: result.status, output: JSON.parse(result.stdout) as PathOutput, stderr: result.stderr };
}

const has = (e: TrailEvent, ...flags: string[]) => flags.every((f) => e.flags.includes(f as never));

/** Each backend's signature in the first request's steps: what only its mechanism leaves behind. */
const SIGNATURES: Record<string, { what: string; found: (steps: TrailEvent[]) => boolean }> = {
  none: { what: "the request's payload leaves the client pod unrewritten", found: (s) => s.some((e) => e.netns === 'client' && e.point === 'tp:net_dev_queue' && has(e, 'payload') && e.packet?.to.endsWith(':8080') === true && !has(e, 'nat')) },
  redirect: { what: 'the SYN leaves for 127.0.0.1:15001 from a socket that dialled :8080', found: (s) => s.some((e) => e.netns === 'client' && has(e, 'nat', 'syn') && e.packet?.to === '127.0.0.1:15001' && e.socket?.remote.endsWith(':8080') === true) },
  tproxy: { what: 'a transparent socket in the server pod is established for the original 4-tuple', found: (s) => s.some((e) => e.netns === 'server' && e.point === 'tp:inet_sock_set_state' && has(e, 'transparent', 'established') && e.socket?.local.endsWith(':8080') === true) },
  sockmap: { what: "the app's request is sent on a sockmap socket and read from the peer's psock", found: (s) => s.some((e) => e.netns === 'client' && e.point === 'tp:sock_send_length' && has(e, 'psock', 'payload')) && s.some((e) => e.point === 'tp:sock_recv_length' && has(e, 'psock', 'payload')) },
  tc: { what: "the client's SYN is queued on the node proxy's veth by a tc redirect, and a policy route delivers it", found: (s) => s.some((e) => e.point === 'tp:net_dev_queue' && has(e, 'redirected', 'syn') && e.dev?.startsWith('veth-ztunnel') === true) && s.some((e) => has(e, 'policy-table')) },
  'redirect-inbound': { what: "the server sidecar's replies leave NAT-rewritten", found: (s) => s.some((e) => e.netns === 'server' && e.point === 'tp:net_dev_queue' && has(e, 'nat')) },
};

/** Signatures that must be absent from each backend's trail (TPROXY mode keeps REDIRECT outbound). */
const ABSENT: Record<string, string[]> = {
  none: ['redirect', 'redirect-inbound', 'tproxy', 'sockmap', 'tc'],
  redirect: ['tproxy', 'sockmap', 'tc'],
  tproxy: ['redirect-inbound', 'sockmap', 'tc'],
  sockmap: ['redirect', 'redirect-inbound', 'tproxy', 'tc'],
  tc: ['redirect', 'redirect-inbound', 'tproxy', 'sockmap'],
};

/** Live (not zombie) processes whose command line holds all of `words`. */
function processesWith(...words: string[]): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
        return state !== 'Z' && words.every((w) => cmdline.includes(w) || cmdline.some((a) => a.endsWith(w)));
      } catch {
        return false;
      }
    })
    .map(Number);
}

describePrivileged('kernel-path tracer', { tools: ['haproxy', 'iptables-restore', 'tc', 'bpftool', 'clang', 'ss'], features: ['bpf-syscall', 'btf'] }, () => {
  for (const [backend, placement] of [
    ['none', 'same-node'],
    ['redirect', 'same-node'],
    ['tproxy', 'same-node'],
    ['sockmap', 'same-node'],
    ['tc', 'same-node'],
    ['tc', 'cross-node'],
  ] as const) {
    it(`lab path --backend ${backend} --placement ${placement}: the first request's trail reaches the server and shows ${SIGNATURES[backend]!.what}`, () => {
      const { code, output, stderr } = labPath(backend, placement);
      expect(output.check.detail).not.toContain('FAILED');
      expect(output).toMatchObject({ backend, placement, probe: { ok: true }, reachedServer: true, check: { name: 'kernel-path', ok: true } });
      expect(code, stderr).toBe(0);
      expect(SIGNATURES[backend]!.found(output.steps)).toBe(true);
      for (const other of ABSENT[backend]!) expect(SIGNATURES[other]!.found(output.steps), `${other}'s signature in ${backend}`).toBe(false);
      // Every function asked for is reported: traced, or unavailable with its reason.
      for (const fn of expectationFunctions(KERNEL_PATH_EXPECTATIONS[backend]!)) {
        const status = output.evidence.points.find((p) => p.point === `fn:${fn.name}`);
        expect(status, fn.name).toBeDefined();
        if (!status!.available) expect(status!.reason, fn.name).toMatch(/\w{8,}/);
      }
      expect(labDebris(output.runId)).toEqual([]);
    });
  }

  it('counts only the namespaces it is given, by the packet\'s device and the socket, and leaves no loader behind', async () => {
    let serverInode = '';
    await withCapturedPair('none', 'same-node', async (pair) => {
      const { lab, client, server } = pair;
      await pair.agents.listen(server, server.ip, VERIFY_PORTS.app);
      serverInode = String(netnsInode(server));
      const trace = await startKernelPathTrace(lab, { netns: [{ place: server, roles: ['server'] }], trail: 512 });
      expect(processesWith('kpath-trace', serverInode)).toHaveLength(1);
      expect((await pair.clientAgent.probe(server.ip, VERIFY_PORTS.app)).ok).toBe(true);
      const evidence = await trace.stop();
      // The client's sends run in the client's task, and the server's receive runs in softirq on
      // whatever task the CPU was in: only the server pod's events count, none of the client's or node's.
      expect(new Set(evidence.counts.map((c) => c.netns))).toEqual(new Set(['server']));
      expect(new Set(evidence.trail.map((e) => e.netns))).toEqual(new Set(['server']));
      expect(evidence.trail.some((e) => e.point === 'tp:netif_receive_skb' && e.packet?.from.startsWith(`${client.ip}:`) === true && has(e, 'payload'))).toBe(true);
      expect(evidence.trail.some((e) => e.point === 'tp:sock_recv_length' && e.socket?.local === `${server.ip}:${VERIFY_PORTS.app}` && has(e, 'payload'))).toBe(true);
    });
    // The loader exits on its own after its summary; the lab's teardown waits for that.
    expect(processesWith('kpath-trace', serverInode)).toEqual([]);
  });
});
