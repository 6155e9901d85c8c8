// Who a process is, not just which pid it has. A pid alone cannot tell a run's owner from a zombie
// (kill(pid, 0) succeeds on one until its parent reaps it, which PID 1 of a container or CI runner
// may never do promptly) nor from an unrelated process that was given the same pid later. The pid
// plus the process's start time (field 22 of /proc/<pid>/stat, clock ticks since boot) names one
// process for the whole life of the boot: the kernel never gives a reused pid the same start time.
import { readFileSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** starttime from /proc/<pid>/stat: clock ticks after boot at which the process started. */
  startTime: number;
}

interface ProcStat {
  /** One letter (proc(5)): R, S, D, T, t, X, Z, I, ... */
  state: string;
  startTime: number;
}

/** The stat fields the lab needs, or undefined when no such process exists. */
export function readProcStat(pid: number): ProcStat | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (comm) is in parentheses and may itself hold spaces and ')': the fields that follow
  // start after the last ')'. There, field 3 (state) is at index 0 and field 22 at index 19.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = Number(fields[19]);
  if (state === undefined || !Number.isFinite(startTime)) return undefined;
  return { state, startTime };
}

/** An exited process that still holds its pid (zombie) or is being removed (dead): not running. */
const hasExited = (state: string) => state === 'Z' || state === 'X' || state === 'x';

/** The identity of a running process (this one by default); undefined if it is not running. */
export function processIdentity(pid: number = process.pid): ProcessIdentity | undefined {
  const stat = readProcStat(pid);
  return stat && !hasExited(stat.state) ? { pid, startTime: stat.startTime } : undefined;
}

/** True while that very process runs: same pid, same start time, and not a zombie. */
export function isRunning(identity: ProcessIdentity): boolean {
  const now = processIdentity(identity.pid);
  return now !== undefined && now.startTime === identity.startTime;
}

/**
 * True when some process runs under this pid, whoever it is. A zombie counts as gone: it has exited
 * and holds nothing but its pid. Use isRunning() when the question is about one particular process.
 */
export function isPidRunning(pid: number): boolean {
  const stat = readProcStat(pid);
  if (stat) return !hasExited(stat.state);
  // No /proc entry readable (e.g. /proc mounted with hidepid): fall back to signal 0.
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
