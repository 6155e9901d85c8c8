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
