// cgroup v2: the lab's groups live under a lab-owned parent below the cgroup2 mount, which is found
// from /proc/mounts (hybrid hosts mount it at /sys/fs/cgroup/unified, unified ones at /sys/fs/cgroup).
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function findCgroup2Mount(): Promise<string | undefined> {
  const mounts = await readFile('/proc/mounts', 'utf8');
  for (const line of mounts.split('\n')) {
    const [, mountPoint, fsType] = line.split(' ');
    if (fsType === 'cgroup2' && mountPoint !== undefined) return mountPoint;
  }
  return undefined;
}

export async function requireCgroup2Mount(): Promise<string> {
  const mount = await findCgroup2Mount();
  if (mount === undefined) {
    throw new Error('no cgroup2 filesystem is mounted: run scripts/setup.sh (it mounts one at /sys/fs/cgroup/unified)');
  }
  return mount;
}

export async function createCgroup(dir: string): Promise<void> {
  await mkdir(dir, { recursive: false });
}

/** The cgroup v2 path of a process ("/lab-x/client"), relative to the cgroup2 mount. */
export async function cgroupOfPid(pid: number): Promise<string | undefined> {
  const text = await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '');
  const line = text.split('\n').find((l) => l.startsWith('0::'));
  return line?.slice(3);
}

async function childGroups(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
}

async function procsOf(dir: string): Promise<number[]> {
  const text = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map(Number);
}

/** Kills every process in a cgroup tree and removes the groups, deepest first. */
export async function removeCgroupTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const child of await childGroups(dir)) await removeCgroupTree(child);
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = await procsOf(dir);
    if (pids.length > 0) {
      // cgroup.kill (Linux 5.14+) kills the whole group atomically; fall back to one by one.
      await writeFile(join(dir, 'cgroup.kill'), '1').catch(async () => {
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      });
    }
    try {
      await rmdir(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error(`could not remove cgroup ${dir}: processes keep it busy`);
}

/** CPU time a cgroup's processes (and its descendants') used, from its cpu.stat, in microseconds. */
export interface CgroupCpu {
  usageUsec: number;
  userUsec: number;
  systemUsec: number;
}

export function parseCpuStat(text: string): CgroupCpu {
  const field = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { usageUsec: field('usage_usec'), userUsec: field('user_usec'), systemUsec: field('system_usec') };
}

/** cpu.stat of a cgroup; cgroup v2 keeps usage_usec even without the cpu controller enabled. */
export async function readCgroupCpu(dir: string): Promise<CgroupCpu> {
  return parseCpuStat(await readFile(join(dir, 'cpu.stat'), 'utf8'));
}

/** PIDs of every process in a cgroup and its descendants. */
export async function processesInTree(dir: string): Promise<number[]> {
  const own = await procsOf(dir);
  const children = await Promise.all((await childGroups(dir)).map(processesInTree));
  return [...own, ...children.flat()];
}

/** The same, synchronously: the bench reads it at the exact start and end of a measurement window. */
export function readCgroupCpuSync(dir: string): CgroupCpu {
  return parseCpuStat(readFileSync(join(dir, 'cpu.stat'), 'utf8'));
}
