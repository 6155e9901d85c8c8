// How the sidecar's key rules look when read back from the kernel, per flavour, so that one set of
// checks can judge both: iptables rules as `iptables-save` prints them (lab/evidence/iptables.ts),
// native nftables rules as lab/evidence/nft.ts renders `nft -j list ruleset`. Tables, chains and
// targets are named as those readers report them. test/privileged/istio-conformance.test.ts finds
// every rule named here exactly once in a lab pod's kernel state, for both flavours and both modes.
import { nftListingForm } from './conformance/nft-listing.ts';
import { NFT_MANGLE_TABLE, NFT_NAT_TABLE } from './nftables.ts';
import { ISTIO_PORTS } from './ports.ts';
import { DEFAULT_CAPTURE, DEFAULT_TPROXY_CAPTURE, type IstioCaptureConfig, type TproxyCaptureConfig } from './sidecar-config.ts';

export type RulesFlavour = 'iptables' | 'nftables';

export interface SidecarRuleIds {
  tables: { nat: string; mangle: string };
  chains: { inbound: string; inRedirect: string; output: string; redirect: string; divert: string; tproxy: string };
  /** Targets as RuleCounter.target reports them, for packetsTo(). */
  targets: { redirect: string; tproxy: string; divertMark: string };
  /** Exact rule texts, for packetsOfRule(). */
  rules: {
    /** ISTIO_OUTPUT / istio-output: the proxy's own UID goes out untouched. */
    proxyUidReturn: string;
    /** ISTIO_OUTPUT / istio-output: the proxy's own GID goes out untouched. */
    proxyGidReturn: string;
    /** ISTIO_OUTPUT / istio-output: the sidecar's inbound passthrough (from 127.0.0.6 over lo). */
    passthroughReturn: string;
    /** ISTIO_OUTPUT / istio-output: traffic to 127.0.0.1 is left alone. */
    localhostReturn: string;
    /** ISTIO_OUTPUT / istio-output: loopback traffic of any UID but the proxy's is left alone. */
    loopbackNonProxyReturn: string;
    /** ISTIO_INBOUND / istio-inbound (nat in REDIRECT mode, mangle in TPROXY mode): an excluded port. */
    excludedInbound(port: number): string;
    /** ISTIO_OUTPUT / istio-output: an excluded outbound CIDR, e.g. "198.18.1.12/32". */
    excludedOutboundCidr(cidr: string): string;
  };
}

export function sidecarRuleIds(flavour: RulesFlavour, c: IstioCaptureConfig = DEFAULT_CAPTURE): SidecarRuleIds {
  const passthrough = ISTIO_PORTS.inboundPassthroughSource;
  if (flavour === 'iptables') {
    return {
      tables: { nat: 'nat', mangle: 'mangle' },
      chains: { inbound: 'ISTIO_INBOUND', inRedirect: 'ISTIO_IN_REDIRECT', output: 'ISTIO_OUTPUT', redirect: 'ISTIO_REDIRECT', divert: 'ISTIO_DIVERT', tproxy: 'ISTIO_TPROXY' },
      targets: { redirect: 'REDIRECT', tproxy: 'TPROXY', divertMark: 'MARK' },
      rules: {
        proxyUidReturn: `-m owner --uid-owner ${c.proxyUid} -j RETURN`,
        proxyGidReturn: `-m owner --gid-owner ${c.proxyGid} -j RETURN`,
        passthroughReturn: `-s ${passthrough}/32 -o lo -j RETURN`,
        localhostReturn: '-d 127.0.0.1/32 -j RETURN',
        loopbackNonProxyReturn: `-o lo -m owner ! --uid-owner ${c.proxyUid} -j RETURN`,
        excludedInbound: (port) => `-p tcp -m tcp --dport ${port} -j RETURN`,
        excludedOutboundCidr: (cidr) => `-d ${cidr} -j RETURN`,
      },
    };
  }
  // The generator's own rule texts (lab/istio/nftables.ts), in the form the kernel lists them.
  return {
    tables: { nat: `inet ${NFT_NAT_TABLE}`, mangle: `inet ${NFT_MANGLE_TABLE}` },
    chains: { inbound: 'istio-inbound', inRedirect: 'istio-in-redirect', output: 'istio-output', redirect: 'istio-redirect', divert: 'istio-divert', tproxy: 'istio-tproxy' },
    targets: { redirect: 'redirect', tproxy: 'tproxy', divertMark: 'mangle' },
    rules: {
      proxyUidReturn: nftListingForm(`skuid ${c.proxyUid} counter return`),
      proxyGidReturn: nftListingForm(`skgid ${c.proxyGid} counter return`),
      passthroughReturn: nftListingForm(`oifname lo ip saddr ${passthrough}/32 counter return`),
      localhostReturn: nftListingForm('ip daddr 127.0.0.1/32 counter return'),
      loopbackNonProxyReturn: nftListingForm(`oifname lo skuid != ${c.proxyUid} counter return`),
      excludedInbound: (port) => nftListingForm(`meta l4proto tcp tcp dport ${port} counter return`),
      excludedOutboundCidr: (cidr) => nftListingForm(`ip daddr ${cidr} counter return`),
    },
  };
}

/** The mangle-side rules of TPROXY mode that the checks read, named as each reader reports them. */
export interface TproxyRuleIds {
  /** The mangle table's output base chain. */
  mangleOutputChain: string;
  rules: {
    /** Mangle ISTIO_INBOUND / istio-inbound: the sidecar's passthrough (from 127.0.0.6 over lo). */
    passthroughInbound: string;
    /** Mangle OUTPUT / output: the proxy's own loopback traffic to a non-127.0.0.1 address is marked. */
    proxyLoopbackMark: string;
    /** Mangle ISTIO_INBOUND / istio-inbound: loopback traffic without the proxy's mark is left alone. */
    loopbackInbound: string;
  };
}

export function tproxyRuleIds(flavour: RulesFlavour, c: TproxyCaptureConfig = DEFAULT_TPROXY_CAPTURE): TproxyRuleIds {
  const passthrough = ISTIO_PORTS.inboundPassthroughSource;
  if (flavour === 'iptables') {
    const hex = (mark: number) => `0x${mark.toString(16)}`;
    return {
      mangleOutputChain: 'OUTPUT',
      rules: {
        passthroughInbound: `-s ${passthrough}/32 -i lo -p tcp -j RETURN`,
        proxyLoopbackMark: `! -d 127.0.0.1/32 -o lo -p tcp -m owner --uid-owner ${c.proxyUid} -j MARK --set-xmark ${hex(c.proxyLoopbackMark)}/0xffffffff`,
        loopbackInbound: `-i lo -p tcp -m mark ! --mark ${hex(c.proxyLoopbackMark)} -j RETURN`,
      },
    };
  }
  return {
    mangleOutputChain: 'output',
    rules: {
      passthroughInbound: nftListingForm(`iifname lo meta l4proto tcp ip saddr ${passthrough}/32 counter return`),
      proxyLoopbackMark: nftListingForm(`oifname lo meta l4proto tcp ip daddr != 127.0.0.1/32 skuid ${c.proxyUid} counter meta mark set ${c.proxyLoopbackMark}`),
      loopbackInbound: nftListingForm(`iifname lo meta l4proto tcp mark != ${c.proxyLoopbackMark} counter return`),
    },
  };
}
