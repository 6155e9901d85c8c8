import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { iperf3ClientArgs, parseIperf3Details, parseIperf3Json } from './iperf3.ts';

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

// Real runs on this machine's loopback (iperf3 3.12), one per mode: `iperf3 -s -1 -p 5999 -B 127.0.0.1` and
// `iperf3 -c 127.0.0.1 -p 5999 -t 1 --json` with -R, -P 2, --bidir, `-u -b 100M`, `-u -b 100M --bidir`.
describe('iperf3 in other modes', () => {
  it('reads -R as the server sending, with its retransmits', () => {
    const result = parseIperf3Details(fixture('loopback-reverse-1s.json'), { reverse: true });
    expect(result).toMatchObject({ protocol: 'tcp', streams: 1, sender: 'server', tcpConnections: 2, retransmits: 7, bytesReceived: 452722688 });
    expect(result.bidirReverse).toBeUndefined();
  });

  it('counts a connection per parallel stream plus the control connection', () => {
    const result = parseIperf3Details(fixture('loopback-parallel2-1s.json'), { parallel: 2 });
    expect(result).toMatchObject({ streams: 2, tcpConnections: 3, retransmits: 41, bytesSent: 394526720, bytesReceived: 386662400 });
  });

  it('reads both directions of --bidir, and refuses a --bidir result without its reverse half', () => {
    const text = fixture('loopback-bidir-1s.json');
    const result = parseIperf3Details(text, { bidir: true });
    expect(result).toMatchObject({ sender: 'client', tcpConnections: 3, bytesReceived: 230555648 });
    expect(result.bidirReverse?.bytesReceived).toBeGreaterThan(0);
    expect(result.bidirReverse?.retransmits).not.toBeNull();
    const oneWay = JSON.parse(text) as { end: Record<string, unknown> };
    delete oneWay.end.sum_sent_bidir_reverse;
    expect(() => parseIperf3Details(JSON.stringify(oneWay), { bidir: true })).toThrow(/--bidir but its JSON has no/);
  });

  it("reads UDP loss and jitter from the receiver's side, and opens only the control connection", () => {
    const result = parseIperf3Details(fixture('loopback-udp-100m-1s.json'), { udp: true, bitrate: '100M' });
    expect(result).toMatchObject({ protocol: 'udp', tcpConnections: 1, retransmits: null, bytesReceived: 12484608 });
    expect(result.udp).toMatchObject({ packets: 381, lostPackets: 0, lostPercent: 0 });
    expect(result.udp!.jitterMs).toBeGreaterThan(0);
    const both = parseIperf3Details(fixture('loopback-udp-100m-bidir-1s.json'), { udp: true, bidir: true });
    expect(both.bidirReverse?.udp).toMatchObject({ packets: 383, lostPackets: 0 });
    expect(both.tcpConnections).toBe(1);
  });

  it('passes each mode to the client, and nothing more for the one-stream default', () => {
    const base = { address: '198.18.2.10', seconds: 3 };
    expect(iperf3ClientArgs({ ...base, length: '64K' })).toEqual(['-c', '198.18.2.10', '-p', '5201', '-t', '3', '--json', '--connect-timeout', '3000', '-l', '64K']);
    expect(iperf3ClientArgs({ ...base, port: 5202, parallel: 4, reverse: true, udp: true, bitrate: '1G' }).slice(9)).toEqual(['-P', '4', '-R', '-u', '-b', '1G']);
    expect(iperf3ClientArgs({ ...base, parallel: 1, bidir: true }).slice(9)).toEqual(['--bidir']);
  });
});
