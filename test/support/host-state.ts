// What the lab must never change in the root namespace: firewall, routes, rules, links, the root
// cgroup's BPF attachments, bpffs outside the lab's own directories, and the sysctls the lab may
// touch. Taken before and after a run; plus finders for one run's leftovers (objects, processes).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_RUN_ROOT, listLedgers } from '../../lab/topology/ledger.ts';

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

const TRACEFS_INSTANCES = '/sys/kernel/tracing/instances';

/**
 * Root-namespace sysctls the lab could touch: the global BPF switches, and the IPv4/IPv6/netfilter
 * settings the lab sets inside its namespaces (ip_forward, rp_filter, src_valid_mark,
 * route_localnet, ip_local_port_range...) must stay exactly as they were in the root namespace.
 * Counters that move by themselves are left out.
 */
const SYSCTL_PATTERN = /^(kernel\.bpf_|kernel\.unprivileged_bpf|net\.core\.bpf_|net\.ipv4\.|net\.ipv6\.conf\.(all|default)\.|net\.netfilter\.)/;
const VOLATILE_SYSCTL = /(_count|\.stable_secret)$/;

/** The root namespace's sysctls the lab could conceivably touch (it writes none of them). */
function rootSysctls(): string {
  return sh('sysctl', ['-a'])
    .split('\n')
    .filter((line) => SYSCTL_PATTERN.test(line) && !VOLATILE_SYSCTL.test(line.split(' = ')[0] ?? ''))
    .join('\n');
}

export interface HostState {
  iptables: string;
  nft: string;
  ipRules: string;
  ipRoutes: string;
  links: string;
  rootCgroupBpf: string;
  bpffs: string;
  sysctls: string;
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
    sysctls: rootSysctls(),
  };
}

/** Lab objects of one run (or any run) still on the machine. */
export function labDebris(runId = ''): string[] {
  const prefix = `lab-${runId}`;
  const cg = cgroup2Mount();
  const runDirs = existsSync(LAB_RUN_ROOT) ? readdirSync(LAB_RUN_ROOT).filter((n) => runId !== '' && n === runId) : [];
  return [
    ...sh('ip', ['netns', 'list']).split('\n').filter((l) => l.startsWith(prefix)).map((l) => `netns ${l}`),
    ...readdirSync(cg).filter((n) => n.startsWith(prefix)).map((n) => `cgroup ${n}`),
    ...readdirSync('/sys/fs/bpf').filter((n) => n.startsWith(prefix)).map((n) => `pin ${n}`),
    ...(existsSync(TRACEFS_INSTANCES) ? readdirSync(TRACEFS_INSTANCES).filter((n) => n.startsWith(prefix)).map((n) => `tracefs instance ${n}`) : []),
    ...runDirs.map((n) => `run directory ${join(LAB_RUN_ROOT, n)}`),
  ];
}

export interface ProcessSeen {
  pid: number;
  cmdline: string;
}

/**
 * A live process's command line; undefined once it is gone. A zombie counts as gone: it has exited
 * and holds nothing but its pid until its new parent (init, after the lab died) reaps it.
 */
function cmdlineOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return undefined;
  }
}

function cgroupProcs(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const own = (() => {
    try {
      return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  })();
  const children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => cgroupProcs(join(dir, e.name)));
  return [...own, ...children];
}

/**
 * Every process one run has going: in its namespaces, in its cgroups, named in its ledger, or with
 * its run directory on the command line (proxy configs). Taken while the run is alive, so that after
 * a crash and a clean each one can be shown gone.
 */
export function runProcesses(runId: string): ProcessSeen[] {
  const pids = new Set<number>();
  for (const netns of sh('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(`lab-${runId}-`))) {
    for (const pid of sh('ip', ['netns', 'pids', netns]).split(/\s+/).filter(Boolean)) pids.add(Number(pid));
  }
  for (const pid of cgroupProcs(join(cgroup2Mount(), `lab-${runId}`))) pids.add(pid);
  for (const ledger of listLedgers().filter((l) => l.runId === runId)) for (const e of ledger.entries) if (e.kind === 'process') pids.add(e.pid);
  for (const pid of sh('pgrep', ['-f', `${LAB_RUN_ROOT}/${runId}/`]).split('\n').filter(Boolean)) pids.add(Number(pid));
  return [...pids].flatMap((pid) => {
    const cmdline = cmdlineOf(pid);
    return cmdline === undefined ? [] : [{ pid, cmdline }];
  });
}

/** The processes of a list that still run (same pid and same command line: not a reused pid). */
export function stillRunning(processes: readonly ProcessSeen[]): ProcessSeen[] {
  return processes.filter((p) => cmdlineOf(p.pid) === p.cmdline);
}

/** Programs attached to a cgroup (the root one by default), as bpftool prints them. */
export function cgroupBpf(dir = cgroup2Mount()): string {
  return sh('bpftool', ['cgroup', 'show', dir]);
}
