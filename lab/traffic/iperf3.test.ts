import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIperf3Json } from './iperf3.ts';

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/iperf3/${name}`, import.meta.url), 'utf8');

describe('iperf3 --json parser', () => {
  it('reads throughput and byte counts from a real run', () => {
    const result = parseIperf3Json(fixture('loopback-1s-64k.json'));
    expect(result.kind).toBe('throughput');
    expect(result.tool).toBe('iperf3');
    expect(result.bitsPerSecond).toBeGreaterThan(1e8);
    expect(result.bytesSent).toBeGreaterThan(0);
    expect(result.bytesReceived).toBeLessThanOrEqual(result.bytesSent);
    expect(result.seconds).toBeGreaterThan(0.9);
  });

  it("turns iperf3's error field into an error that says what happened", () => {
    expect(() => parseIperf3Json(fixture('connection-refused.json'))).toThrow(/iperf3: unable to connect to server: Connection refused/);
  });

  it('rejects output that is not JSON', () => {
    expect(() => parseIperf3Json('iperf3: error - the server is busy')).toThrow(/printed no JSON/);
  });
});
