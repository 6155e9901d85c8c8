// HAProxy configuration for a sidecar or node proxy. Every listener forwards to the connection's
// original destination (`server ... 0.0.0.0:0`: HAProxy asks the kernel with SO_ORIGINAL_DST after
// REDIRECT, which the sockmap getsockopt hook also answers, or reads getsockname on a transparent
// TPROXY socket), and logs one line per connection naming that destination: the lab's evidence.
import { LOG_FORMAT } from '../evidence/proxy-log.ts';

export interface ProxyListener {
  /** Frontend name, shown in the log ("outbound", "inbound"). */
  name: string;
  port: number;
  /** IP_TRANSPARENT listener (TPROXY, tc sk_assign): accepts connections for any address. */
  transparent?: boolean;
  /** Source address for the upstream connection (127.0.0.6 for Istio's inbound passthrough). */
  upstreamSource?: string;
  /**
   * The network namespace (a name under /var/run/netns) the listening socket is created in
   * (`bind ... namespace`): a node proxy holding listeners inside pods, as ztunnel does in ambient's
   * in-pod mode. Default: the namespace the proxy runs in.
   */
  namespace?: string;
  /** Where accepted connections go: their original destination (default), or nowhere (see UPSTREAM_NONE). */
  upstream?: 'original-dst' | 'none';
  /** The network namespace the upstream connection is made from (`server ... namespace`). */
  upstreamNamespace?: string;
  /**
   * Connect upstream from the client's own IP address (`source 0.0.0.0 usesrc clientip`, an
   * IP_TRANSPARENT socket), so that the destination sees the real client: ztunnel's inbound handoff.
   */
  upstreamFromClientIp?: boolean;
}

/**
 * `upstream: 'none'`: a backend with no server. HAProxy accepts each connection, finds no server,
 * logs it (termination state SC) and closes it: a listener that proves where connections land, for a
 * protocol the lab does not speak (ambient's HBONE on 15008).
 */
export const UPSTREAM_NONE = 'none';

export interface ProxySpec {
  listeners: ProxyListener[];
  /** Drop to this UID/GID after binding (Istio's proxy runs as 1337; iptables rules match on it). */
  uid?: number;
  /** Worker threads; one by default, like a sidecar with concurrency 1, so backends compare fairly. */
  threads?: number;
}


export function haproxyConfig(spec: ProxySpec): string {
  const lines = [
    'global',
    '  log stdout format raw local0 info',
    `  nbthread ${spec.threads ?? 1}`,
    '  maxconn 8192',
    ...(spec.uid === undefined ? [] : [`  uid ${spec.uid}`, `  gid ${spec.uid}`]),
    '',
    'defaults',
    '  mode tcp',
    '  log global',
    `  log-format "${LOG_FORMAT}"`,
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
  ];
  for (const listener of spec.listeners) lines.push('', ...listenerSections(listener));
  return lines.join('\n') + '\n';
}

function listenerSections(listener: ProxyListener): string[] {
  if (listener.upstreamSource !== undefined && listener.upstreamFromClientIp) {
    throw new Error(`listener ${listener.name}: upstreamSource and upstreamFromClientIp both choose the upstream source; give one`);
  }
  const bind = `0.0.0.0:${listener.port}${listener.transparent ? ' transparent' : ''}${listener.namespace ? ` namespace ${listener.namespace}` : ''}`;
  const frontend = [`frontend ${listener.name}`, `  bind ${bind}`];
  if (listener.upstream === UPSTREAM_NONE) return [...frontend, `  default_backend ${listener.name}_no_upstream`, '', `backend ${listener.name}_no_upstream`];
  const source = listener.upstreamFromClientIp ? ' source 0.0.0.0 usesrc clientip' : listener.upstreamSource ? ` source ${listener.upstreamSource}` : '';
  const namespace = listener.upstreamNamespace ? ` namespace ${listener.upstreamNamespace}` : '';
  return [...frontend, `  default_backend ${listener.name}_original_dst`, '', `backend ${listener.name}_original_dst`, `  server original_dst 0.0.0.0:0${source}${namespace}`];
}
