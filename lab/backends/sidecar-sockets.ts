// What listens in a captured pod, read after the plan: the sidecar's ports, which process holds each,
// and whether a socket is transparent (IP_TRANSPARENT, which ss shows under --inet-sockopt).
import type { ListeningSocket, SidecarSockets } from '../judge/sidecar.ts';
import type { Lab, Pod } from '../topology/lab.ts';

/**
 * Parses `ss -Hltnp --inet-sockopt`: one line per socket (its local address is the fourth column, its
 * processes are `pid=N` in `users:(...)`), each followed by an indented `inet-sockopt: ( ... )` line.
 */
export function parseListeningSockets(text: string): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const line of text.split('\n')) {
    if (/^\s+inet-sockopt:/.test(line)) {
      const last = sockets.at(-1);
      if (last) last.transparent = /\btransparent\b/.test(line);
      continue;
    }
    const columns = line.trim().split(/\s+/);
    const port = Number(/:(\d+)$/.exec(columns[3] ?? '')?.[1]);
    if (columns[0] !== 'LISTEN' || !Number.isInteger(port)) continue;
    sockets.push({ port, pids: [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])), transparent: false });
  }
  return sockets;
}

/** The TCP listeners of a pod, and the pid its sidecar was started as. */
export async function readSidecarSockets(lab: Lab, pod: Pod, sidecarPid: number): Promise<SidecarSockets> {
  const { stdout } = await lab.exec(pod, 'ss', ['-Hltnp', '--inet-sockopt'], { inCgroup: false });
  return { pid: sidecarPid, listening: parseListeningSockets(stdout) };
}
