// The verify plan's iperf3 proves that bulk bytes take the backend's path; it is not a throughput
// benchmark (`lab bench` is). It is paced so that it cannot fail for a reason that has nothing to do
// with the path: sockmap's sk_msg redirect into a peer's receive queue has no backpressure (README,
// "Known limits"), so an unpaced sender outruns a reader that the scheduler holds back, and once the
// host's TCP memory crosses net.ipv4.tcp_mem's pressure figure its sendmsg fails with ENOMEM.
import { pageSizeBytes, readTcpMemLimits } from '../host/sysctl.ts';

/** Never faster than this: well under what the distribution's HAProxy relays on one core. */
export const VERIFY_IPERF_MAX_BITS_PER_SECOND = 1e9;

/**
 * The share of the host's TCP memory pressure figure the whole test may send. With it, even a
 * reader that never reads leaves three quarters of the budget to everything else on the host.
 */
export const VERIFY_IPERF_SHARE_OF_TCP_PRESSURE = 0.25;

/**
 * The pace, in bits per second, at which `seconds` of iperf3 send at most the share of the TCP
 * pressure budget, and never more than the ceiling.
 */
export function verifyIperfBitsPerSecond(seconds: number, tcpPressurePages: number, pageSize: number): number {
  if (!(seconds > 0)) throw new Error(`the verify iperf3 needs a positive duration, not ${seconds} s`);
  const budgetBytes = tcpPressurePages * pageSize * VERIFY_IPERF_SHARE_OF_TCP_PRESSURE;
  return Math.floor(Math.min(VERIFY_IPERF_MAX_BITS_PER_SECOND, (budgetBytes * 8) / seconds));
}

/** The pace for this host, from its net.ipv4.tcp_mem and page size. */
export async function verifyIperfPace(seconds: number): Promise<number> {
  return verifyIperfBitsPerSecond(seconds, readTcpMemLimits().pressure, await pageSizeBytes());
}
