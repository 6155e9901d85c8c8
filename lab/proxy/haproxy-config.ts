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
}

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
  for (const listener of spec.listeners) {
    const bind = `0.0.0.0:${listener.port}${listener.transparent ? ' transparent' : ''}`;
    const source = listener.upstreamSource ? ` source ${listener.upstreamSource}` : '';
    lines.push(
      '',
      `frontend ${listener.name}`,
      `  bind ${bind}`,
      `  default_backend ${listener.name}_original_dst`,
      '',
      `backend ${listener.name}_original_dst`,
      `  server original_dst 0.0.0.0:0${source}`,
    );
  }
  return lines.join('\n') + '\n';
}
