import { describe, expect, it } from 'vitest';
import { proxyPolicyRouting, tproxyFallbackRules } from './steering.ts';

describe('proxy-side steering', () => {
  it('routes marked packets to a local table, as Istio did with table 100', () => {
    expect(proxyPolicyRouting()).toEqual(['rule add fwmark 0x400/0xfff lookup 100', 'route add local default dev lo table 100']);
  });

  it('TPROXYs the two marks to the two listeners, after letting held connections find their socket', () => {
    const rules = tproxyFallbackRules({ outbound: 15001, inbound: 15006 }).split('\n');
    expect(rules[0]).toBe('*mangle');
    expect(rules.filter((r) => r.startsWith('-A PREROUTING'))).toEqual([
      '-A PREROUTING -p tcp -m socket --transparent -j MARK --set-xmark 0x400/0xfff',
      '-A PREROUTING -p tcp -m mark --mark 0x539 -j TPROXY --on-port 15001 --tproxy-mark 0x400/0xfff',
      '-A PREROUTING -p tcp -m mark --mark 0x53a -j TPROXY --on-port 15006 --tproxy-mark 0x400/0xfff',
    ]);
    expect(rules.at(-2)).toBe('COMMIT');
  });
});
