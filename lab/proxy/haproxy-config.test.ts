import { describe, expect, it } from 'vitest';
import { LOG_FORMAT } from '../evidence/proxy-log.ts';
import { haproxyConfig } from './haproxy-config.ts';
import { sidecarSpec } from './sidecar.ts';

describe('HAProxy sidecar configuration', () => {
  it('forwards each listener to the original destination and drops to the proxy UID', () => {
    const config = haproxyConfig(sidecarSpec());
    expect(config).toContain('  uid 1337\n  gid 1337');
    expect(config).toContain('frontend outbound\n  bind 0.0.0.0:15001\n');
    expect(config).toContain('backend outbound_original_dst\n  server original_dst 0.0.0.0:0\n');
    expect(config).toContain('backend inbound_original_dst\n  server original_dst 0.0.0.0:0 source 127.0.0.6\n');
    expect(config).toContain(`log-format "${LOG_FORMAT}"`);
  });

  it('makes the inbound listener transparent in TPROXY mode only', () => {
    expect(haproxyConfig(sidecarSpec())).not.toContain('transparent');
    expect(haproxyConfig(sidecarSpec({ transparentInbound: true }))).toContain('bind 0.0.0.0:15006 transparent');
  });

  it('logs the original destination of every connection', () => {
    expect(LOG_FORMAT).toContain('original_dst=%[dst]:%[dst_port]');
  });
});

describe('HAProxy listeners held in other namespaces (a node proxy in ambient in-pod mode)', () => {
  const ns = 'lab-abcde-server';

  it('binds inside the namespace and connects from it, from the client address when asked', () => {
    const config = haproxyConfig({
      listeners: [
        { name: 'server.outbound', port: 15001, namespace: ns, upstreamNamespace: ns },
        { name: 'server.inbound', port: 15006, namespace: ns, upstreamNamespace: ns, upstreamFromClientIp: true },
      ],
    });
    expect(config).toContain(`frontend server.outbound\n  bind 0.0.0.0:15001 namespace ${ns}\n  default_backend server.outbound_original_dst\n`);
    expect(config).toContain(`backend server.outbound_original_dst\n  server original_dst 0.0.0.0:0 namespace ${ns}\n`);
    expect(config).toContain(`backend server.inbound_original_dst\n  server original_dst 0.0.0.0:0 source 0.0.0.0 usesrc clientip namespace ${ns}\n`);
    expect(config).not.toContain('uid');
  });

  it('gives a listener without upstream a backend with no server', () => {
    const config = haproxyConfig({ listeners: [{ name: 'server.hbone', port: 15008, namespace: ns, upstream: 'none' }] });
    expect(config.endsWith(`frontend server.hbone\n  bind 0.0.0.0:15008 namespace ${ns}\n  default_backend server.hbone_no_upstream\n\nbackend server.hbone_no_upstream\n`)).toBe(true);
    expect(config).not.toContain('server original_dst');
  });

  it('refuses two upstream sources for one listener', () => {
    expect(() => haproxyConfig({ listeners: [{ name: 'x', port: 1, upstreamSource: '127.0.0.6', upstreamFromClientIp: true }] })).toThrow(/give one/);
  });
});
