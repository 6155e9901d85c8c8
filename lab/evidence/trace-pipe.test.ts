import { describe, expect, it } from 'vitest';
import { parseAnyRunTraceLine, parseTraceLine, runTag } from './trace-pipe.ts';

// Lines as the kernel wrote them (a loopback sockmap run), plus another run's line and a non-BPF line.
const SAMPLE = [
  '          iperf3-13653   [001] .N.11   981.310337: bpf_trace_printk: lab-tbjd3 sockmap established side=active family=ipv4 local=127.0.0.1:42178 remote=127.0.0.1:5201 action=inserted',
  '          iperf3-13653   [001] .Ns31   981.310365: bpf_trace_printk: lab-tbjd3 sockmap established side=passive family=ipv4 local=127.0.0.1:5201 remote=127.0.0.1:42178 action=inserted',
  '   HAProxy worker-1-77   [000] ...11  1002.000001: bpf_trace_printk: lab-zz999 sockmap connect uid=1337 dst=198.18.1.11:8080 action=skip-own-pod',
  '     kworker/0:1-45      [000] d..1.  1003.5: sched_switch: prev_comm=x',
];

describe('trace line parsing', () => {
  it('keeps only bpf_printk lines carrying the tag, with task, CPU, time and the text after the tag', () => {
    const lines = SAMPLE.flatMap((l) => parseTraceLine(l, runTag('tbjd3')) ?? []);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toEqual({
      task: 'iperf3-13653',
      cpu: 1,
      timestamp: 981.310337,
      message: 'sockmap established side=active family=ipv4 local=127.0.0.1:42178 remote=127.0.0.1:5201 action=inserted',
    });
  });

  it('copes with task names that contain spaces', () => {
    expect(parseTraceLine(SAMPLE[2]!, 'lab-zz999')?.task).toBe('HAProxy worker-1-77');
  });

  it('does not take a tag that is a prefix of another run tag', () => {
    expect(parseTraceLine(SAMPLE[0]!, 'lab-tbjd')).toBeUndefined();
  });
});

describe('trace lines of any run', () => {
  it('keeps every lab-tagged bpf_printk line, with the tag still in front, and nothing else', () => {
    const lines = SAMPLE.flatMap((l) => parseAnyRunTraceLine(l) ?? []);
    expect(lines.map((l) => l.message.split(' ')[0])).toEqual(['lab-tbjd3', 'lab-tbjd3', 'lab-zz999']);
    expect(lines[2]).toEqual({ task: 'HAProxy worker-1-77', cpu: 0, timestamp: 1002.000001, message: 'lab-zz999 sockmap connect uid=1337 dst=198.18.1.11:8080 action=skip-own-pod' });
  });

  it('leaves out printk lines without a lab tag', () => {
    expect(parseAnyRunTraceLine('  cat-1   [000] ...11  5.0: bpf_trace_printk: hello from another program')).toBeUndefined();
    expect(parseAnyRunTraceLine('  cat-1   [000] ...11  5.0: bpf_trace_printk: lab- no run id')).toBeUndefined();
  });
});
