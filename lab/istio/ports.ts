// Istio's well-known ports and identities (docs/architecture.md, Istio facts), shared by every backend that plays Istio.
export const ISTIO_PORTS = {
  outboundCapture: 15001,
  inboundCapture: 15006,
  /** HBONE (ambient's mTLS tunnel): left uncaptured by REDIRECT mode and ambient; see TproxyHboneInbound for TPROXY. */
  hbone: 15008,
  /**
   * Inbound ports Istio never captures: Envoy Prometheus (15090), health (15021), pilot-agent (15020),
   * in the order of the injector's `istio-iptables -d 15090,15021,15020`, which the rules keep.
   */
  excludedInbound: [15090, 15021, 15020],
  proxyUid: 1337,
  proxyGid: 1337,
  /** The source address a sidecar uses to hand inbound traffic to its app ("inbound passthrough"). */
  inboundPassthroughSource: '127.0.0.6',
} as const;
