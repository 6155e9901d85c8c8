// The proxy's log of connections: the original destination of each one, as HAProxy saw it. The
// line format lives here, beside its parser; lab/proxy puts it in HAProxy's configuration.

export const LOG_TAG = 'lab-conn';

/**
 * One line per connection, written when it closes. `%[dst]:%[dst_port]` is the original destination;
 * `%bi:%bp` the proxy's upstream socket; `%U`/`%B` bytes from the client and from the server.
 */
export const LOG_FORMAT =
  `${LOG_TAG} listener=%f client=%ci:%cp original_dst=%[dst]:%[dst_port] upstream_src=%bi:%bp upstream_dst=%si:%sp ` +
  'from_client=%U from_server=%B termination=%ts';

export interface ProxyConnection {
  listener: string;
  client: string;
  /** The destination the client meant to reach (before REDIRECT / TPROXY / connect4 rewrite). */
  originalDst: string;
  upstreamSrc: string;
  upstreamDst: string;
  fromClient: number;
  fromServer: number;
  /** HAProxy's termination state ("--" is a clean close; "SC" the server refused...). */
  termination: string;
}

export function parseProxyLog(text: string): ProxyConnection[] {
  const connections: ProxyConnection[] = [];
  for (const line of text.split('\n')) {
    const at = line.indexOf(`${LOG_TAG} `);
    if (at < 0) continue;
    const fields = Object.fromEntries(
      line
        .slice(at + LOG_TAG.length + 1)
        .trim()
        .split(' ')
        .map((pair) => pair.split('=') as [string, string]),
    );
    connections.push({
      listener: fields.listener ?? '',
      client: fields.client ?? '',
      originalDst: fields.original_dst ?? '',
      upstreamSrc: fields.upstream_src ?? '',
      upstreamDst: fields.upstream_dst ?? '',
      fromClient: Number(fields.from_client ?? 0),
      fromServer: Number(fields.from_server ?? 0),
      termination: fields.termination ?? '',
    });
  }
  return connections;
}

/** The connections a listener logged for one original destination port. */
export function connectionsTo(log: readonly ProxyConnection[], listener: string, port: number): ProxyConnection[] {
  return log.filter((c) => c.listener === listener && c.originalDst.endsWith(`:${port}`));
}

export function describeConnections(connections: readonly ProxyConnection[]): string {
  if (connections.length === 0) return 'no connection logged';
  const first = connections[0]!;
  return `${connections.length} logged, e.g. ${first.client} -> original ${first.originalDst} via ${first.upstreamSrc} (${first.termination})`;
}
