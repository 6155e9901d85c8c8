import { describe, expect, it } from 'vitest';
import type { ProxyConnection } from '../../evidence/proxy-log.ts';
import { nodeTrafficCheck, originalDstCheck, redirectCountersCheck, traceCheck, uncapturedDirectCheck, type BypassEvidence } from './checks.ts';
import type { Counters } from './evidence.ts';
import { COUNTER_NAMES } from './maps.ts';

const zero = Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0])) as Counters;
const line = (message: string) => ({ task: 'node-1', cpu: 0, timestamp: 1, message });
const conn = (over: Partial<ProxyConnection>): ProxyConnection => ({
  listener: 'outbound',
  client: '198.18.1.10:40000',
  originalDst: '198.18.2.10:8080',
  upstreamSrc: '198.18.1.11:50000',
  upstreamDst: '198.18.2.10:8080',
  fromClient: 91,
  fromServer: 91,
  termination: '--',
  ...over,
});

describe('tc checks', () => {
  it('pass the redirect counters only when both directions and the steering moved and nothing was dropped', () => {
    const moving = { ...zero, outbound_redirect: 5, inbound_redirect: 4, proxy_return: 9, assign_listener: 2 };
    expect(redirectCountersCheck(moving, 'sk-assign').ok).toBe(true);
    expect(redirectCountersCheck(moving, 'tproxy-mark').ok).toBe(false);
    expect(redirectCountersCheck({ ...moving, inbound_redirect: 0 }, 'sk-assign').detail).toContain('app_inbound redirected nothing');
    expect(redirectCountersCheck({ ...moving, assign_failed: 1 }, 'sk-assign').ok).toBe(false);
  });

  it('find the outbound and inbound redirect lines and their sk_assign in the trace', () => {
    const lines = [
      line('tc outbound 198.18.1.10->198.18.2.10:8080 if=4'),
      line('tc assign 198.18.1.10->198.18.2.10:8080 listener=15001'),
      line('tc inbound 198.18.1.12->198.18.2.10:9080 if=4'),
    ];
    const expected = { outbound: '198.18.1.10->198.18.2.10:8080', inbound: '198.18.1.12->198.18.2.10:9080', steering: 'sk-assign' as const };
    expect(traceCheck(lines, expected).ok).toBe(false);
    expect(traceCheck([...lines, line('tc assign 198.18.1.12->198.18.2.10:9080 listener=15006')], expected).ok).toBe(true);
  });

  it('match the logged original destination on listener, client address and equal byte counts', () => {
    const expected = { listener: 'outbound' as const, clientIp: '198.18.1.10', originalDst: '198.18.2.10:8080' };
    expect(originalDstCheck('x', [conn({})], expected).ok).toBe(true);
    expect(originalDstCheck('x', [conn({ listener: 'inbound' })], expected).ok).toBe(false);
    expect(originalDstCheck('x', [conn({ client: '198.18.1.100:1' })], expected).ok).toBe(false);
    expect(originalDstCheck('x', [conn({ fromServer: 0 })], expected).ok).toBe(false);
  });

  it('fail a bypass that was redirected, logged by a proxy, or seen from another peer', () => {
    const clean: BypassEvidence = {
      probe: { target: '198.18.2.12:8080', ok: true, millis: 3 },
      peersSeen: ['198.18.1.12'],
      expectedPeer: '198.18.1.12',
      delta: { ...zero, node_bypass: 4 },
      proxyLines: [],
    };
    expect(uncapturedDirectCheck(clean).ok).toBe(true);
    expect(nodeTrafficCheck(clean).ok).toBe(true);
    expect(nodeTrafficCheck({ ...clean, delta: zero }).ok).toBe(false);
    expect(uncapturedDirectCheck({ ...clean, delta: { ...zero, outbound_redirect: 1 } }).ok).toBe(false);
    expect(uncapturedDirectCheck({ ...clean, proxyLines: [conn({})] }).ok).toBe(false);
    expect(uncapturedDirectCheck({ ...clean, peersSeen: ['198.18.1.11'] }).ok).toBe(false);
  });
});
