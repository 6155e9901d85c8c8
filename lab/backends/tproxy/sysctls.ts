// The per-pod sysctls TPROXY mode depends on: set by install, read back by verify.
import { POD_DEVICE } from '../../topology/addressing.ts';

/**
 * A TPROXYed packet carries mark 1337, and the route lookup for it lands in table 133 (every address
 * local). Reverse-path filtering stays off, and src_valid_mark is pinned to 0: with it on, the kernel
 * validates the source with the mark too, finds the client's address "local" in table 133 and drops
 * the packet as martian (docs/architecture.md, Traps). A new netns inherits these IPv4 values from the root namespace
 * (net.core.devconf_inherit_init_net=0), so they are set here rather than trusted; the effective
 * value is the maximum (rp_filter) or the OR (src_valid_mark) of `all` and the device's.
 */
export const TPROXY_POD_SYSCTLS: Record<string, number> = Object.fromEntries(
  ['all', 'default', 'lo', POD_DEVICE].flatMap((dev) => [
    [`net.ipv4.conf.${dev}.rp_filter`, 0],
    [`net.ipv4.conf.${dev}.src_valid_mark`, 0],
  ]),
);
