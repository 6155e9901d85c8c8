import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPTURE, redirectModeNatTable } from './iptables.ts';

const golden = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');

describe('Istio REDIRECT-mode nat rules', () => {
  it('match the golden file byte for byte', () => {
    expect(redirectModeNatTable()).toBe(golden('redirect-nat.golden'));
  });

  it('keep ISTIO_OUTPUT in Istio order: passthrough, proxy loopback, proxy, 127.0.0.1, then redirect', () => {
    const output = redirectModeNatTable()
      .split('\n')
      .filter((l) => l.startsWith('-A ISTIO_OUTPUT'));
    expect(output[0]).toBe('-A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN');
    expect(output.at(-2)).toBe('-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN');
    expect(output.at(-1)).toBe('-A ISTIO_OUTPUT -j ISTIO_REDIRECT');
    expect(output.filter((l) => l.includes('--uid-owner 1337'))).toHaveLength(3);
  });

  it('follows the configured ports and proxy identity', () => {
    const rules = redirectModeNatTable({ ...DEFAULT_CAPTURE, proxyUid: 101, outboundCapturePort: 16001, excludedInboundPorts: [22] });
    expect(rules).toContain('-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 16001');
    expect(rules).toContain('-A ISTIO_INBOUND -p tcp --dport 22 -j RETURN');
    expect(rules).not.toContain('--dport 15090 -j RETURN');
    expect(rules).toContain('--uid-owner 101 -j RETURN');
  });
});
