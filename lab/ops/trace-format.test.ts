// trace.mjs's readable lines, from lines the kernel wrote in real runs (the sockmap lines are in
// test/fixtures/evidence/sockmap-same-node.json's collected.traceLines, the tc lines in
// tc-cross-node.json's collected.trace; the raw line is the loopback run in trace-pipe.test.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAnyRunTraceLine, type TraceLine } from '../evidence/trace-pipe.ts';
import { describeTraceMessage, followedLine, formatFollowedLine } from './trace-format.ts';

const line = (task: string, timestamp: number, message: string): TraceLine => ({ task, cpu: 0, timestamp, message });

describe('readable trace lines', () => {
  it('shows an ESTABLISHED event with both ends, the family and what the program did', () => {
    const established = line('node-11409', 1492.299842, 'sockmap established side=active family=ipv4 local=198.18.1.10:45030 remote=198.18.1.10:15001 action=inserted');
    expect(describeTraceMessage(established)).toBe('sockmap ESTABLISHED active  198.18.1.10:45030 -> 198.18.1.10:15001 (ipv4, inserted)');
    const passive = line('iperf3-1', 1, 'sockmap established side=passive family=ipv4-mapped-ipv6 local=127.0.0.1:5201 remote=127.0.0.1:42178 action=inserted');
    expect(describeTraceMessage(passive)).toBe('sockmap ESTABLISHED passive 127.0.0.1:5201 -> 127.0.0.1:42178 (ipv4-mapped-ipv6, inserted)');
  });

  it("shows the other sockmap events: connect rewrites and skips, SO_ORIGINAL_DST, closes, sk_msg misses", () => {
    const cases: Array<[string, string]> = [
      ['sockmap connect uid=0 dst=198.18.1.11:8080 action=rewrite-outbound to=198.18.1.10:15001', 'sockmap connect     uid 0 to 198.18.1.11:8080: rewrite-outbound -> 198.18.1.10:15001'],
      ['sockmap connect uid=1337 dst=198.18.1.11:15090 action=skip-excluded-port', 'sockmap connect     uid 1337 to 198.18.1.11:15090: skip-excluded-port'],
      ['sockmap original-dst action=answered local=198.18.1.10:15001 original=198.18.1.11:8080', 'sockmap SO_ORIGINAL_DST for 198.18.1.10:15001: answered -> 198.18.1.11:8080'],
      ['sockmap closing local=198.18.1.10:45030 remote=198.18.1.10:15001 state=4', 'sockmap closing     198.18.1.10:45030 -> 198.18.1.10:15001 (state 4 FIN_WAIT1)'],
      ['sockmap msg-miss local=198.18.1.10:43552 remote=198.18.1.11:15006 size=16384', 'sockmap sk_msg miss 198.18.1.10:43552 -> 198.18.1.11:15006 (16384 B not redirected)'],
    ];
    for (const [message, readable] of cases) expect(describeTraceMessage(line('t', 1, message))).toBe(readable);
  });

  it("shows the tc programs' redirects and steering, naming the direction", () => {
    const cases: Array<[string, string]> = [
      ['tc outbound 198.18.1.10->198.18.2.10:8080 if=5', 'tc 198.18.1.10 -> 198.18.2.10:8080: from a captured pod, redirected to the node proxy (if=5)'],
      ['tc assign 198.18.1.10->198.18.2.10:8080 listener=15001', 'tc 198.18.1.10 -> 198.18.2.10:8080: steer to proxy listener (bpf_sk_assign) (listener=15001)'],
      ['tc inbound 198.18.1.12->198.18.2.10:8080 if=5', 'tc 198.18.1.12 -> 198.18.2.10:8080: to a captured pod, redirected to the node proxy (if=5)'],
      ['tc proxy-to-pod 198.18.2.12->198.18.2.10:8080 if=3', 'tc 198.18.2.12 -> 198.18.2.10:8080: from the node proxy, redirected to the pod (if=3)'],
    ];
    for (const [message, readable] of cases) expect(describeTraceMessage(line('t', 1, message))).toBe(readable);
  });

  it('shows a line it does not know as the program wrote it', () => {
    expect(describeTraceMessage(line('t', 1, 'ambient something new=1'))).toBe('ambient something new=1');
    expect(describeTraceMessage(line('t', 1, 'sockmap established side=passive family=ipv6 local_port=5201 action=unsupported'))).toBe('sockmap ESTABLISHED passive ipv6, unsupported');
  });

  it('describes every line of two real verify runs (none is left raw)', () => {
    const evidence = (name: string) => JSON.parse(readFileSync(new URL(`../../test/fixtures/evidence/${name}`, import.meta.url), 'utf8')) as { collected: Record<string, unknown> };
    const lines = [...(evidence('sockmap-same-node.json').collected.traceLines as TraceLine[]), ...(evidence('tc-cross-node.json').collected.trace as TraceLine[])];
    expect(lines.length).toBeGreaterThan(20);
    for (const l of lines) expect(describeTraceMessage(l)).not.toBe(l.message);
  });

  it("takes a line of any run apart into its run and its message, and prints time, run and task first", () => {
    const raw = '          iperf3-13653   [001] .N.11   981.310337: bpf_trace_printk: lab-tbjd3 sockmap established side=active family=ipv4 local=127.0.0.1:42178 remote=127.0.0.1:5201 action=inserted';
    const followed = followedLine(parseAnyRunTraceLine(raw)!);
    expect(followed).toMatchObject({ runId: 'tbjd3', task: 'iperf3-13653', message: 'sockmap established side=active family=ipv4 local=127.0.0.1:42178 remote=127.0.0.1:5201 action=inserted' });
    expect(formatFollowedLine(followed!)).toBe('981.310337  run tbjd3  iperf3-13653        sockmap ESTABLISHED active  127.0.0.1:42178 -> 127.0.0.1:5201 (ipv4, inserted)');
    // A reader of one run has already taken the tag off: the run id comes from the caller.
    expect(followedLine(line('cat-1', 2, 'tc mark 1.2.3.4->5.6.7.8:80 mark=1337'), 'abcde')?.runId).toBe('abcde');
    expect(followedLine(line('cat-1', 2, 'no tag here'))).toBeUndefined();
  });
});
