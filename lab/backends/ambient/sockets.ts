// Listening sockets as `ss -Hltnpe` prints them inside a namespace: which process owns each one, its
// mark and its cgroup. Evidence that a node proxy holds its listeners inside a pod's namespace.

export interface ListeningSocket {
  /** Local address and port ("0.0.0.0:15001", "[::]:5201"). */
  local: string;
  port: number;
  /** Owning processes as ss names them (`users:(("haproxy",pid=31320,fd=7))`). */
  owners: Array<{ process: string; pid: number }>;
  /** SO_MARK of the socket (ss prints `fwmark:` only when it is set). */
  fwmark?: number;
  /** The owning socket's cgroup v2 path, relative to the cgroup2 mount (`cgroup:/lab-x/ztunnel-1`). */
  cgroup?: string;
  raw: string;
}

/** Parses `ss -Hltnpe` (TCP listeners, no header, processes, extended info). */
export function parseListeningSockets(text: string): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] !== 'LISTEN' || fields.length < 5) continue;
    const local = fields[3]!;
    const port = Number(/:(\d+)$/.exec(local)?.[1]);
    if (!Number.isInteger(port)) continue;
    const owners = [...line.matchAll(/\("([^"]+)",pid=(\d+),/g)].map((m) => ({ process: m[1]!, pid: Number(m[2]) }));
    const fwmark = /\bfwmark:(0x[0-9a-f]+)/.exec(line)?.[1];
    const cgroup = /\bcgroup:(\S+)/.exec(line)?.[1];
    sockets.push({ local, port, owners, ...(fwmark === undefined ? {} : { fwmark: Number(fwmark) }), ...(cgroup === undefined ? {} : { cgroup }), raw: line.trim() });
  }
  return sockets;
}
