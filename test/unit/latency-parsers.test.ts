import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fortioClientArgs, parseFortioJson, percentileFromBuckets } from '../../lab/traffic/fortio.ts';
import { chooseLatencyDriver, fortioDriver, sockperfDriver } from '../../lab/traffic/latency.ts';
import { parseSockperf, parseSockperfUnderLoad, sockperfClientArgs, sockperfPingPongArgs } from '../../lab/traffic/sockperf.ts';

const fixture = (path: string) => readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8');

describe('fortio parser (real sample, fortio 1.3.1 HTTP 1000 qps)', () => {
  const result = parseFortioJson(fixture('fortio/http-qps1000-c1.json'));

  it('converts seconds to microseconds and reads the requested rate from a string', () => {
    expect(result.tool).toBe('fortio');
    expect(result.requestedRate).toBe(1000);
    expect(result.achievedRate).toBeCloseTo(999.982, 2);
    expect(result.connections).toBe(1);
    expect(result.samples).toBe(240000);
    expect(result.seconds).toBeCloseTo(240.004, 2);
    expect(result.percentilesUs.p50).toBeCloseTo(641.96, 1);
    expect(result.percentilesUs.p99).toBeCloseTo(3670.86, 1);
    expect(result.percentilesUs.p999).toBeCloseTo(4943.57, 1);
    expect(result.minUs).toBeCloseTo(397.922, 2);
    expect(result.maxUs).toBeCloseTo(22905.284, 2);
    expect(result.meanUs).toBeCloseTo(693.68, 1);
  });

  it('counts non-2xx return codes as errors', () => {
    expect(result.errors).toBe(0);
    const json = JSON.parse(fixture('fortio/http-qps1000-c1.json')) as { RetCodes: Record<string, number> };
    json.RetCodes = { '200': 239990, '503': 10 };
    expect(parseFortioJson(JSON.stringify(json)).errors).toBe(10);
  });

  it('falls back to the histogram when Percentiles is null, and reads "max" as no requested rate', () => {
    const json = JSON.parse(fixture('fortio/http-qps1000-c1.json')) as { RequestedQPS: string; DurationHistogram: { Percentiles: unknown } };
    json.RequestedQPS = 'max';
    json.DurationHistogram.Percentiles = null;
    const fromBuckets = parseFortioJson(JSON.stringify(json));
    expect(fromBuckets.requestedRate).toBeNull();
    // fortio's own p50 was 642 µs; interpolating the same buckets lands within the bucket 600-700 µs.
    expect(fromBuckets.percentilesUs.p50).toBeGreaterThan(600);
    expect(fromBuckets.percentilesUs.p50).toBeLessThan(700);
    expect(fromBuckets.percentilesUs.p50).toBeCloseTo(result.percentilesUs.p50, -1);
    expect(fromBuckets.percentilesUs.p999).toBeGreaterThan(4500);
    expect(fromBuckets.percentilesUs.p999).toBeLessThan(5000);
  });

  it('interpolates inside a bucket', () => {
    const buckets = [
      { Start: 0, End: 10, Percent: 50, Count: 5 },
      { Start: 10, End: 20, Percent: 100, Count: 5 },
    ];
    expect(percentileFromBuckets(buckets, 25)).toBe(5);
    expect(percentileFromBuckets(buckets, 75)).toBe(15);
  });

  it('rejects output that is not JSON with the output in the message', () => {
    expect(() => parseFortioJson('Aborting because of dial tcp: connection refused')).toThrow(/not JSON.*connection refused/);
  });

  it('runs open loop at a fixed rate and asks for every percentile the report shows', () => {
    const args = fortioClientArgs({ url: 'tcp://198.18.1.11:11111', rate: 1000, connections: 1, seconds: 10 });
    expect(args).toEqual(expect.arrayContaining(['-uniform', '-json', '-', '-qps', '1000', '-c', '1', '-t', '10000ms', '50,75,90,99,99.9']));
    // Microsecond buckets: the default 1 ms would put every pod-to-pod round trip in the first one.
    expect(args.join(' ')).toContain('-r 0.000001');
    expect(args.at(-1)).toBe('tcp://198.18.1.11:11111');
    expect(parseFortioJson(fixture('fortio/http-qps1000-c1.json')).mode).toBe('open-loop');
  });

  it('runs closed loop with -qps 0 (no even spacing), for fractional seconds, and reads it back as closed loop', () => {
    const args = fortioClientArgs({ url: 'tcp://198.18.1.11:11111', rate: 0, connections: 1, seconds: 0.75 });
    expect(args).not.toContain('-uniform');
    expect(args).toEqual(expect.arrayContaining(['-qps', '0', '-t', '750ms']));
    const json = JSON.parse(fixture('fortio/http-qps1000-c1.json')) as { RequestedQPS: string };
    json.RequestedQPS = '0';
    const closed = parseFortioJson(JSON.stringify(json));
    expect(closed.mode).toBe('closed-loop');
    expect(closed.requestedRate).toBeNull();
  });
});

describe('sockperf parser (real runs on this machine)', () => {
  it('reads the valid-duration block of a pod-to-pod run', () => {
    const result = parseSockperfUnderLoad(fixture('sockperf/under-load-pods-none-cross-node-mps1000.txt'), { requestedRate: 1000 });
    expect(result).toMatchObject({ kind: 'latency', tool: 'sockperf', mode: 'open-loop', requestedRate: 1000, connections: 1, samples: 1549, errors: 0, seconds: 1.548 });
    expect(result.achievedRate).toBeCloseTo(1549 / 1.548, 3);
    expect(result.percentilesUs.p50).toBeCloseTo(56.886, 3);
    expect(result.meanUs).toBeCloseTo(431.75, 2);
    const p = result.percentilesUs;
    expect(p.p50).toBeLessThanOrEqual(p.p75);
    expect(p.p75).toBeLessThanOrEqual(p.p90);
    expect(p.p90).toBeLessThanOrEqual(p.p99);
    expect(p.p99).toBeLessThanOrEqual(p.p999);
    expect(result.minUs).toBeLessThanOrEqual(p.p50);
    expect(result.maxUs).toBeGreaterThanOrEqual(p.p999);
  });

  it('parses the run through the redirect sidecars and the loopback run', () => {
    const redirect = parseSockperfUnderLoad(fixture('sockperf/under-load-pods-redirect-cross-node-mps1000.txt'), { requestedRate: 1000 });
    expect(redirect.percentilesUs.p50).toBeCloseTo(276.961, 3);
    expect(redirect.samples).toBe(1550);
    const loopback = parseSockperfUnderLoad(fixture('sockperf/under-load-loopback-mps2000.txt'), { requestedRate: 2000 });
    expect(loopback.samples).toBeGreaterThan(2500);
    expect(loopback.achievedRate).toBeGreaterThan(1900);
  });

  it('counts messages sent but never answered as errors', () => {
    const text = fixture('sockperf/under-load-pods-none-cross-node-mps1000.txt').replace('SentMessages=1549; ReceivedMessages=1549', 'SentMessages=1560; ReceivedMessages=1549');
    expect(parseSockperfUnderLoad(text, { requestedRate: 1000 }).errors).toBe(11);
  });

  it('fails clearly when sockperf could not connect', () => {
    const refused = 'sockperf: == version #3.7-no.git ==\nsockperf: ERROR: Can`t connect socket (errno=111 Connection refused)\n';
    expect(() => parseSockperfUnderLoad(refused, { requestedRate: 1000 })).toThrow(/no \[Valid Duration\] summary.*Connection refused/);
  });

  it('asks for a reply to every message and for full round trips', () => {
    const args = sockperfClientArgs({ host: '198.18.1.11', port: 11111, rate: 1000, seconds: 10 });
    expect(args.join(' ')).toBe('under-load --tcp -i 198.18.1.11 -p 11111 --mps 1000 -t 10 --reply-every 1 --full-rtt -m 64');
  });

  it('reads a closed-loop ping-pong run, and counts its whole run (warm-up included) as exchanges', () => {
    const result = parseSockperf(fixture('sockperf/ping-pong-loopback-t1.txt'), { mode: 'closed-loop', requestedRate: null });
    expect(result).toMatchObject({ mode: 'closed-loop', requestedRate: null, samples: 16112, exchanges: 29517, errors: 0, seconds: 0.55 });
    expect(result.percentilesUs.p50).toBeCloseTo(21.39, 3);
    expect(result.percentilesUs.p999).toBeCloseTo(2833.816, 3);
    expect(result.meanUs).toBeCloseTo(34.103, 3);
    expect(sockperfPingPongArgs({ host: '198.18.1.11', port: 11111, seconds: 1 }).join(' ')).toBe('ping-pong --tcp -i 198.18.1.11 -p 11111 -t 1 --full-rtt -m 64');
  });
});

describe('latency tool choice', () => {
  it('prefers fortio when it is installed, else sockperf', () => {
    expect(chooseLatencyDriver(undefined, () => true).tool).toBe('fortio');
    expect(chooseLatencyDriver(undefined, (tool) => tool === 'sockperf').tool).toBe('sockperf');
    expect(() => chooseLatencyDriver(undefined, () => false)).toThrow(/no latency tool installed/);
    expect(() => chooseLatencyDriver('fortio', (tool) => tool === 'sockperf')).toThrow(/fortio is not installed/);
  });

  it('knows which tool needs starting ahead of its slice, and which takes only whole seconds', () => {
    expect(sockperfDriver).toMatchObject({ leadSeconds: 2.1, minimumSeconds: 1, wholeSeconds: true });
    expect(fortioDriver).toMatchObject({ leadSeconds: 0, wholeSeconds: false });
  });
});
