// Running a command inside a lab namespace, and inside a pod's cgroup.
//
// `ip netns exec` remounts /sys in a new mount namespace, which hides a cgroup2 mount under
// /sys/fs/cgroup, so a process could not join its cgroup from inside. We join the cgroup first
// (membership is inherited across exec), then enter only the network namespace with nsenter.
export const NETNS_DIR = '/run/netns';

export interface ExecTarget {
  /** Network namespace name (under /run/netns). */
  netns: string;
  /** cgroup v2 directory the process must join before it runs (a pod's group). */
  cgroupDir?: string;
  /** Run as this UID (the Istio proxy runs as 1337). */
  uid?: number;
  /** Run as this GID; default: the same number as the UID. Istio's rules match the UID and the GID apart. */
  gid?: number;
}

/** Turns a command into the argv that runs it in the target's netns (and cgroup, and UID). */
export function commandIn(target: ExecTarget, file: string, args: readonly string[]): [string, string[]] {
  const argv = [file, ...args];
  const asUser = target.uid === undefined ? [] : ['setpriv', `--reuid=${target.uid}`, `--regid=${target.gid ?? target.uid}`, '--clear-groups', '--'];
  const inNetns = ['nsenter', `--net=${NETNS_DIR}/${target.netns}`, '--', ...asUser, ...argv];
  if (target.cgroupDir === undefined) return [inNetns[0]!, inNetns.slice(1)];
  // Exit code 97 marks "could not join the cgroup": never run a pod process outside its cgroup, or
  // cgroup-attached BPF would silently not apply to it.
  const script = 'cg=$1; shift; echo $$ > "$cg/cgroup.procs" || exit 97; exec "$@"';
  return ['sh', ['-c', script, 'lab-exec', target.cgroupDir, ...inNetns]];
}
