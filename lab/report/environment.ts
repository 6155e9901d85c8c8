// What machine the numbers came from. A benchmark without its kernel, CPU, virtualization, tool
// versions and NIC offloads cannot be compared with anything, so the report opens with them.
import { readFileSync } from 'node:fs';
import { cpus, hostname, loadavg, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { run } from '../host/exec.ts';
import type { EnvironmentInfo } from './results.ts';

/** Tools whose versions change the numbers; each with the flag that prints its version. */
const VERSIONED_TOOLS: Array<[string, string[]]> = [
  ['iperf3', ['--version']],
  ['sockperf', ['--version']],
  ['fortio', ['version']],
  ['haproxy', ['-v']],
  ['iptables', ['-V']],
  ['bpftool', ['version']],
  ['clang', ['--version']],
  ['ip', ['-V']],
];

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function firstLine(file: string, args: string[]): Promise<string> {
  try {
    const result = await run(file, args, { allowFailure: true, timeoutMs: 5000 });
    const text = stripVTControlCharacters(result.stdout + '\n' + result.stderr);
    return text.split('\n').map((l) => l.replace(/^sockperf:\s*/, '').trim()).find((l) => l !== '') ?? 'unknown';
  } catch {
    return 'missing';
  }
}

/** "AMD EPYC" from /proc/cpuinfo (os.cpus() can report an empty model inside containers). */
function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1]) return match[1].trim();
  } catch {
    // fall through to os.cpus()
  }
  return cpus()[0]?.model ?? 'unknown';
}

/** Parses `ethtool -k DEV`: "feature: on [fixed]" lines into feature -> "on"/"off" (+ " fixed"). */
export function parseEthtoolFeatures(text: string): Record<string, string> {
  const features: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([\w-]+):\s+(on|off)(\s+\[fixed\])?\s*$/.exec(line);
    if (match?.[1] && match[2]) features[match[1]] = match[2] + (match[3] ? ' (fixed)' : '');
  }
  return features;
}

/** The offloads that change TCP throughput and latency the most; the rest are kept out of the table. */
export const KEY_OFFLOADS = ['tx-checksumming', 'rx-checksumming', 'scatter-gather', 'tcp-segmentation-offload', 'generic-segmentation-offload', 'generic-receive-offload', 'large-receive-offload', 'rx-gro-hw', 'rx-gro-list', 'rx-udp-gro-forwarding'];

export function keyOffloads(features: Record<string, string>): Record<string, string> {
  return Object.fromEntries(KEY_OFFLOADS.flatMap((name) => (features[name] === undefined ? [] : [[name, features[name]]])));
}

export function iptablesBackendOf(versionLine: string): string {
  const match = /\((nf_tables|legacy)\)/.exec(versionLine);
  return match?.[1] ?? 'unknown';
}

async function gitState(): Promise<{ commit: string; dirty: boolean }> {
  try {
    // Read-only queries: never change the repository's state.
    const head = await run('git', ['-C', REPO_ROOT, 'rev-parse', 'HEAD'], { allowFailure: true, timeoutMs: 5000 });
    const status = await run('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--untracked-files=no'], { allowFailure: true, timeoutMs: 10_000 });
    return { commit: head.exitCode === 0 ? head.stdout.trim() : 'unknown', dirty: status.stdout.trim() !== '' };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

/** Everything about the machine except the veth offloads, which need a live lab (added by the bench). */
export async function collectEnvironment(): Promise<EnvironmentInfo> {
  const versions = Object.fromEntries(await Promise.all(VERSIONED_TOOLS.map(async ([tool, args]) => [tool, await firstLine(tool, args)] as const)));
  const virt = await run('systemd-detect-virt', [], { allowFailure: true, timeoutMs: 5000 }).catch(() => undefined);
  const git = await gitState();
  const [l1, l5, l15] = loadavg();
  return {
    hostname: hostname(),
    kernel: release(),
    cpuModel: cpuModel(),
    cpuCount: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    virtualization: virt?.stdout.trim() || 'unknown',
    node: process.version,
    toolVersions: versions,
    iptablesBackend: iptablesBackendOf(versions.iptables ?? ''),
    vethOffloads: {},
    gitCommit: git.commit,
    gitDirty: git.dirty,
    loadAverage: [l1 ?? 0, l5 ?? 0, l15 ?? 0],
  };
}
