import { describe, expect, it } from 'vitest';
import { VERIFY_IPERF_MAX_BITS_PER_SECOND, verifyIperfBitsPerSecond } from './iperf-pace.ts';

describe('the verify plan paces its iperf3', () => {
  it('runs at the ceiling when a quarter of the TCP pressure budget outlasts the test', () => {
    // This machine's tcp_mem pressure figure (on 24 GiB of RAM): 383866 pages of 4 KiB, 1.46 GiB.
    expect(verifyIperfBitsPerSecond(2, 383866, 4096)).toBe(VERIFY_IPERF_MAX_BITS_PER_SECOND);
  });

  it('slows down so that the whole test sends at most a quarter of the budget', () => {
    const pace = verifyIperfBitsPerSecond(60, 383866, 4096);
    expect(pace).toBeLessThan(VERIFY_IPERF_MAX_BITS_PER_SECOND);
    expect((pace / 8) * 60).toBeLessThanOrEqual(383866 * 4096 * 0.25);
    expect((pace / 8) * 60).toBeGreaterThan(383866 * 4096 * 0.25 - 8 * 60);
    // A small VM (tcp_mem pressure 24000 pages): 2 s may send a quarter of 98.3 MB, at 98.3 Mbit/s.
    expect(verifyIperfBitsPerSecond(2, 24000, 4096)).toBe(98_304_000);
  });

  it('refuses a duration that is not positive', () => {
    expect(() => verifyIperfBitsPerSecond(0, 383866, 4096)).toThrow(/positive duration/);
  });
});
