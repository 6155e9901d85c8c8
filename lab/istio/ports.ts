// Istio's well-known ports and identities (DESIGN §4), shared by every backend that plays Istio.
export const ISTIO_PORTS = {
  outboundCapture: 15001,
  inboundCapture: 15006,
  /** HBONE (ambient's mTLS tunnel): never captured. */
  hbone: 15008,
  /** Inbound ports Istio never captures: pilot-agent (15020), health (15021), Envoy Prometheus (15090). */
  excludedInbound: [15020, 15021, 15090],
  proxyUid: 1337,
  proxyGid: 1337,
  /** The source address a sidecar uses to hand inbound traffic to its app ("inbound passthrough"). */
  inboundPassthroughSource: '127.0.0.6',
} as const;
