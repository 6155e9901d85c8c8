import { describe, expect, it } from 'vitest';
import type { TraceLine } from '../../evidence/trace-pipe.ts';
import { explainMisses } from './misses.ts';
import { parseSockmapEvent, parseSockmapEvents } from './trace-events.ts';

const line = (timestamp: number, message: string): TraceLine => ({ task: 't-1', cpu: 0, timestamp, message });

describe('sockmap trace events', () => {
  it('parses connect decisions with their rewrite target', () => {
    expect(parseSockmapEvent(line(1, 'sockmap connect uid=0 dst=198.18.1.11:8080 action=rewrite-outbound to=198.18.1.10:15001'))).toEqual({
      event: 'connect',
      at: 1,
      uid: 0,
      dst: { ip: '198.18.1.11', port: 8080 },
      action: 'rewrite-outbound',
      to: { ip: '198.18.1.10', port: 15001 },
    });
    expect(parseSockmapEvent(line(1, 'tc something else'))).toBeUndefined();
  });

  it('parses established events with the socket key', () => {
    const event = parseSockmapEvent(line(2, 'sockmap established side=passive family=ipv4-mapped-ipv6 local=127.0.0.1:5201 remote=127.0.0.1:35494 action=inserted'));
    expect(event).toMatchObject({ event: 'established', side: 'passive', family: 'ipv4-mapped-ipv6', action: 'inserted', key: { local: { port: 5201 }, remote: { port: 35494 } } });
  });

  it('explains a miss whose peer was inserted after it, and not one whose peer never appeared', () => {
    const events = parseSockmapEvents([
      line(10.0, 'sockmap established side=active family=ipv4 local=198.18.1.10:40000 remote=198.18.1.10:15001 action=inserted'),
      line(10.1, 'sockmap msg-miss local=198.18.1.10:40000 remote=198.18.1.10:15001 size=64'),
      line(10.2, 'sockmap established side=passive family=ipv4 local=198.18.1.10:15001 remote=198.18.1.10:40000 action=inserted'),
      line(11.0, 'sockmap msg-miss local=198.18.1.10:40002 remote=198.18.1.10:15001 size=10'),
    ]);
    const report = explainMisses(events, 2);
    expect(report.racedPeer).toBe(1);
    expect(report.unexplained).toHaveLength(1);
    expect(report.unexplained[0]).toContain('198.18.1.10:40002->198.18.1.10:15001');
  });

  it('counts misses the counter saw but the trace lost as unexplained', () => {
    expect(explainMisses([], 3).unexplained).toEqual(['3 counted misses have no trace line']);
    expect(explainMisses([], 0).detail).toBe('no sk_msg miss traced');
  });
});
