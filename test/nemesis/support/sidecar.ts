// How the sidecar-family nemeses break a live install: ordinary tools (iptables, nft, ip, sysctl,
// kill, haproxy) run in the lab's namespaces. Nothing here reaches into a backend's code.
import { readFileSync, writeFileSync } from 'node:fs';
import { readNft } from '../../../lab/evidence/nft.ts';
import { ISTIO_PORTS } from '../../../lab/istio/ports.ts';
import type { Pod } from '../../../lab/topology/lab.ts';
import type { CapturedPair } from '../../../lab/verify/setup.ts';

export type Side = 'client' | 'server';

const podOf = (pair: CapturedPair, side: Side): Pod => (side === 'client' ? pair.client : pair.server);

/** Runs a command in a pod's netns (outside its cgroup: the breaker is not the pod's app). */
export async function inPod(pair: CapturedPair, side: Side, file: string, args: readonly string[]): Promise<string> {
  return (await pair.lab.exec(podOf(pair, side), file, args, { inCgroup: false })).stdout;
}

/** `iptables -t TABLE ARGS...` in a pod. A rule to delete is given in its iptables-save text. */
export const iptables =
  (side: Side, table: string, ...args: string[]) =>
  async (pair: CapturedPair): Promise<void> => {
    await inPod(pair, side, 'iptables', ['-t', table, ...args]);
  };

/** Deletes one rule by its exact iptables-save text (iptables -D fails when it is not there). */
export const deleteIptablesRule = (side: Side, table: string, chain: string, rule: string) => iptables(side, table, '-D', chain, ...rule.split(' '));

/** Deletes one native nftables rule found by table, chain and exact text as the lab reads it. */
export function deleteNftRule(side: Side, table: string, chain: string, rule: string) {
  return async (pair: CapturedPair): Promise<void> => {
    const found = (await readNft(podOf(pair, side).netns)).rules.filter((r) => r.table === table && r.chain === chain && r.rule === rule);
    if (found.length !== 1) throw new Error(`expected one rule "${rule}" in ${table} ${chain}, found ${found.length}`);
    await inPod(pair, side, 'nft', ['delete', 'rule', ...table.split(' '), chain, 'handle', String(found[0]!.handle)]);
  };
}

/** `nft ARGS...` in a pod. */
export const nft =
  (side: Side, ...args: string[]) =>
  async (pair: CapturedPair): Promise<void> => {
    await inPod(pair, side, 'nft', args);
  };

/** `ip ARGS...` in a pod. */
export const ip =
  (side: Side, ...args: string[]) =>
  async (pair: CapturedPair): Promise<void> => {
    await inPod(pair, side, 'ip', args);
  };

/** Sets one sysctl in a pod's netns. */
export const sysctl =
  (side: Side, name: string, value: number) =>
  async (pair: CapturedPair): Promise<void> => {
    await inPod(pair, side, 'sysctl', ['-q', '-w', `${name}=${value}`]);
  };

/** The sidecar serving a pod, from the ledger: its pid and the config file it was started with. */
function sidecarOf(pair: CapturedPair, side: Side): { pid: number; configPath: string } {
  const pod = podOf(pair, side);
  const entry = pair.lab.ledger.entriesNewestFirst().find((e) => e.kind === 'process' && e.command.includes('haproxy') && e.command.includes(`/proxy-${pod.name}/`));
  if (entry?.kind !== 'process') throw new Error(`no sidecar for ${pod.name} in the ledger`);
  const configPath = /-f (\S+\.cfg)/.exec(entry.command)?.[1];
  if (!configPath) throw new Error(`no config file in the sidecar's command: ${entry.command}`);
  return { pid: entry.pid, configPath };
}

/** Waits (bounded) until nothing listens on the sidecar's ports in the pod any more. */
async function untilPortsClosed(pair: CapturedPair, side: Side): Promise<void> {
  const ports = [ISTIO_PORTS.outboundCapture, ISTIO_PORTS.inboundCapture];
  for (let i = 0; i < 100; i++) {
    const listing = await inPod(pair, side, 'ss', ['-Hltn']);
    if (!ports.some((p) => listing.includes(`:${p} `))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the ${side} sidecar's ports are still open 5 s after it was killed`);
}

/** The pod's sidecar is killed (SIGKILL) and nothing takes its place. */
export function stopSidecar(side: Side) {
  return async (pair: CapturedPair): Promise<void> => {
    process.kill(sidecarOf(pair, side).pid, 'SIGKILL');
    await untilPortsClosed(pair, side);
  };
}

/**
 * The pod's sidecar is killed and restarted by someone else from its own configuration, less the
 * `transparent` option of its binds: the same ports, the same UID, no IP_TRANSPARENT.
 */
export function restartSidecarWithoutTransparent(side: Side) {
  return async (pair: CapturedPair): Promise<void> => {
    const { pid, configPath } = sidecarOf(pair, side);
    const config = readFileSync(configPath, 'utf8');
    if (!config.includes(' transparent')) throw new Error(`the ${side} sidecar's config has no transparent bind`);
    const plain = configPath.replace(/\.cfg$/, '-not-transparent.cfg');
    writeFileSync(plain, config.replaceAll(' transparent', ''));
    process.kill(pid, 'SIGKILL');
    await untilPortsClosed(pair, side);
    await pair.lab.spawnServer(podOf(pair, side), 'haproxy', ['-db', '-f', plain], { ports: [ISTIO_PORTS.outboundCapture, ISTIO_PORTS.inboundCapture] });
  };
}

/** Several steps, in order. */
export const all =
  (...steps: Array<(pair: CapturedPair) => Promise<unknown>>) =>
  async (pair: CapturedPair): Promise<void> => {
    for (const step of steps) await step(pair);
  };
