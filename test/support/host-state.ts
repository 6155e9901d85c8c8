// What the lab must never change in the root namespace: firewall, routes, rules, links, the root
// cgroup's BPF attachments, bpffs outside the lab's own directories. Taken before and after a run.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

function sh(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

function cgroup2Mount(): string {
  return sh('awk', ['$3=="cgroup2"{print $2; exit}', '/proc/mounts']).trim();
}

export interface HostState {
  iptables: string;
  nft: string;
  ipRules: string;
  ipRoutes: string;
  links: string;
  rootCgroupBpf: string;
  bpffs: string;
}

export function snapshotHost(): HostState {
  return {
    // Strip iptables-save's timestamp comments; counters are left out (-c not given) on purpose.
    iptables: sh('iptables-save', []).replace(/^#.*$/gm, ''),
    nft: sh('nft', ['list', 'ruleset']),
    ipRules: sh('ip', ['rule']),
    ipRoutes: sh('ip', ['route', 'show', 'table', 'all']),
    links: sh('ip', ['-o', 'link']).replace(/\\\s+link\/.*$/gm, ''),
    rootCgroupBpf: sh('bpftool', ['cgroup', 'show', cgroup2Mount()]),
    bpffs: readdirSync('/sys/fs/bpf').filter((n) => !n.startsWith('lab-')).sort().join('\n'),
  };
}

/** Lab objects of one run (or any run) still on the machine. */
export function labDebris(runId = ''): string[] {
  const prefix = `lab-${runId}`;
  const cg = cgroup2Mount();
  return [
    ...sh('ip', ['netns', 'list']).split('\n').filter((l) => l.startsWith(prefix)).map((l) => `netns ${l}`),
    ...readdirSync(cg).filter((n) => n.startsWith(prefix)).map((n) => `cgroup ${n}`),
    ...readdirSync('/sys/fs/bpf').filter((n) => n.startsWith(prefix)).map((n) => `pin ${n}`),
  ];
}
