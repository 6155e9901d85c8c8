// The trail of one request, cut and rendered from recorded evidence (test/fixtures/kernel-path/).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KernelPathEvidence } from '../../lab/tracer/evidence.ts';
import { firstRequestTrail, formatTrail, isKeyStep } from '../../lab/tracer/trail.ts';

const load = (name: string): KernelPathEvidence => JSON.parse(readFileSync(new URL(`../fixtures/kernel-path/${name}.json`, import.meta.url), 'utf8')) as KernelPathEvidence;

describe('firstRequestTrail', () => {
  it("ends at the server app's first read, not at the TPROXY sidecar's transparent socket on the same port", () => {
    const trail = firstRequestTrail(load('tproxy-same-node'), 8080);
    expect(trail.reachedServer).toBe(true);
    const last = trail.events.at(-1)!;
    expect(last).toMatchObject({ netns: 'server', point: 'tp:sock_recv_length', socket: { local: '198.18.1.11:8080', remote: expect.stringMatching(/^127\.0\.0\.6:/) } });
    expect(last.flags).not.toContain('transparent');
    // The sidecar read the request first, on its transparent socket that also says :8080.
    expect(trail.events.some((e) => e.point === 'tp:sock_recv_length' && e.flags.includes('transparent') && e.socket?.local === '198.18.1.11:8080')).toBe(true);
  });

  it('says so when the server app never read: the whole trace is the trail', () => {
    const evidence = load('redirect-same-node');
    const trail = firstRequestTrail(evidence, 9999);
    expect(trail.reachedServer).toBe(false);
    expect(trail.events).toHaveLength(evidence.trail.length);
  });
});

describe('isKeyStep and formatTrail', () => {
  it("keep the steps that tell REDIRECT apart: the client's SYN rewritten to 127.0.0.1:15001, with its namespace", () => {
    const steps = firstRequestTrail(load('redirect-same-node'), 8080).events.filter(isKeyStep);
    const lines = formatTrail(steps);
    expect(lines.length).toBeLessThan(firstRequestTrail(load('redirect-same-node'), 8080).events.length);
    expect(lines.find((l) => l.includes('{nat,syn}'))).toMatch(/^\s+\+\d+us {2}client\s+tp:net_dev_queue\s+lo\s+198\.18\.1\.10:\d+ > 127\.0\.0\.1:15001 \[S\]\s+sock 198\.18\.1\.10:\d+>198\.18\.1\.11:8080/);
  });

  it('keep the sockmap redirect: sends and reads on psock sockets, and no payload packet of theirs', () => {
    const steps = firstRequestTrail(load('sockmap-same-node'), 8080).events.filter(isKeyStep);
    expect(steps.some((e) => e.point === 'tp:sock_send_length' && e.flags.includes('psock'))).toBe(true);
    expect(steps.some((e) => e.point === 'tp:net_dev_queue' && e.flags.includes('psock') && e.flags.includes('payload'))).toBe(false);
  });

  it('drop pure ACKs, ordinary route lookups and empty reads', () => {
    const all = load('none-same-node').trail;
    const dropped = all.filter((e) => !isKeyStep(e));
    expect(dropped.some((e) => e.point === 'tp:fib_table_lookup')).toBe(true);
    expect(dropped.every((e) => e.point !== 'tp:net_dev_queue' || (e.packet?.tcp?.includes('S') !== true && !e.flags.includes('payload')))).toBe(true);
  });
});
