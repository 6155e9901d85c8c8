// A TCP memory budget for one process, so that a study can reach the kernel's "cannot charge this
// socket" path in seconds and on any amount of RAM, without touching the host's net.ipv4.tcp_mem.
// cgroup v1's memory controller limits the socket memory of a group's processes by itself
// (memory.kmem.tcp.limit_in_bytes): a socket created or accepted by a process in the group is
// charged to it, and a charge over the limit fails exactly as a charge over the host's tcp_mem does
// (__sk_mem_raise_allocated returns 0). cgroup v2 has no such limit: its memory.max covers all of a
// group's memory and answers an overrun with reclaim and the OOM killer, not with a failed charge.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../topology/lab.ts';

const LIMIT_FILE = 'memory.kmem.tcp.limit_in_bytes';

/** Where the cgroup v1 memory controller is mounted, when it is and offers TCP accounting. */
export function findTcpMemcgRoot(mounts = readFileSync('/proc/mounts', 'utf8')): string | undefined {
  for (const line of mounts.split('\n')) {
    const [, mountPoint, fsType, options] = line.split(' ');
    if (fsType === 'cgroup' && mountPoint && options?.split(',').includes('memory') && existsSync(join(mountPoint, LIMIT_FILE))) return mountPoint;
  }
  return undefined;
}

export interface TcpMemcgUsage {
  limitBytes: number;
  /** Highest TCP memory charged to the group while it existed. */
  maxUsageBytes: number;
  usageBytes: number;
  /** How many charges the limit refused. */
  failures: number;
}

export interface TcpMemcg {
  readonly dir: string;
  /** Moves a process in: sockets it creates or accepts from now on are charged to the group. */
  add(pid: number): void;
  usage(): TcpMemcgUsage;
}

/** Makes lab-<run>-<name> in the v1 memory hierarchy with a TCP limit; the run's teardown removes it. */
export function createTcpMemcg(lab: Lab, name: string, limitBytes: number): TcpMemcg {
  const root = findTcpMemcgRoot();
  if (root === undefined) throw new Error('no cgroup v1 memory controller with TCP accounting (memory.kmem.tcp.limit_in_bytes) is mounted');
  const dir = join(root, `lab-${lab.runId}-${name}`);
  // Recorded first: teardown (or `lab clean` after a crash) kills what is left in it and removes it.
  lab.record({ kind: 'cgroup', dir });
  mkdirSync(dir);
  writeFileSync(join(dir, LIMIT_FILE), String(limitBytes));
  const read = (file: string) => Number(readFileSync(join(dir, file), 'utf8').trim());
  return {
    dir,
    add: (pid) => writeFileSync(join(dir, 'cgroup.procs'), String(pid)),
    usage: () => ({
      limitBytes: read(LIMIT_FILE),
      maxUsageBytes: read('memory.kmem.tcp.max_usage_in_bytes'),
      usageBytes: read('memory.kmem.tcp.usage_in_bytes'),
      failures: read('memory.kmem.tcp.failcnt'),
    }),
  };
}
