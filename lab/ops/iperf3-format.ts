// How scripts/iperf3.mjs shows its result to a person: the test's figures, then how the path counters
// moved. (The checks themselves are printed by the CLI's printChecks, as `lab verify` prints them.)
import type { Iperf3Direction, Iperf3Result } from '../traffic/iperf3.ts';
import type { IperfReport } from './iperf3-wrapper.ts';

export function formatRate(bitsPerSecond: number): string {
  return bitsPerSecond >= 1e9 ? `${(bitsPerSecond / 1e9).toFixed(2)} Gbit/s` : `${(bitsPerSecond / 1e6).toFixed(1)} Mbit/s`;
}

function directionLines(label: string, d: Iperf3Direction): string[] {
  const lines = [`  ${label.padEnd(13)} ${formatRate(d.bitsPerSecond)}: ${d.bytesSent} B sent, ${d.bytesReceived} B received in ${d.seconds.toFixed(1)} s`];
  if (d.udp) lines.push(`  ${''.padEnd(13)} ${d.udp.lostPackets} of ${d.udp.packets} datagrams lost (${d.udp.lostPercent.toFixed(2)} %), jitter ${d.udp.jitterMs.toFixed(3)} ms`);
  else lines.push(`  ${''.padEnd(13)} retransmits ${d.retransmits ?? 'not reported'}`);
  return lines;
}

/** The iperf3 section: one block per direction measured. */
export function formatIperf3(report: IperfReport, iperf3: Iperf3Result): string[] {
  const protocol = iperf3.protocol === 'udp' ? 'UDP' : 'TCP';
  const streams = `${iperf3.streams} stream${iperf3.streams === 1 ? '' : 's'}`;
  const mainLabel = iperf3.sender === 'server' ? 'server→client' : 'client→server';
  return [
    `iperf3 ${report.modes} (${protocol}, ${streams}, ${iperf3.tcpConnections} TCP connection${iperf3.tcpConnections === 1 ? '' : 's'} with the control one)`,
    ...directionLines(mainLabel, iperf3),
    ...(iperf3.bidirReverse ? directionLines('server→client', iperf3.bidirReverse) : []),
  ];
}

/** The path section's counter lines (the slice check, when there is one, follows them). */
export function formatPathCounters(report: IperfReport): string[] {
  const path = report.path;
  if (!path) return [];
  const moved = Object.entries(path.moved ?? {});
  return [
    'path counters during the test:',
    ...moved.map(([name, value]) => `  ${name} ${value > 0 ? '+' : ''}${value}`),
    ...(path.moved && moved.length === 0 ? ['  none moved'] : []),
    ...(path.unjudged ? [`  (${path.unjudged})`] : []),
  ];
}

