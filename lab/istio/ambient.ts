// Istio ambient's in-pod redirection (Istio 1.24+, REDIRECT): the rules istio-cni writes inside each
// captured pod's network namespace, so the node proxy (ztunnel), which holds listeners in that netns,
// receives the pod's traffic. Each rule's text is the text istio-cni emits for it
// (cni/pkg/iptables/testdata in istio/istio); test/unit/istio-ambient-conformance.test.ts replays
// Istio's goldens and compares chain by chain. The in-pod rules did not change from 1.24.6 to 1.30.3.
//
// The marks: the node proxy sets SO_MARK 0x539 (1337) on its sockets. When one of its packets (to the
// app, over lo) passes mangle PREROUTING, the connection is marked 0x111; mangle OUTPUT copies that
// connection mark onto the app's replies, which then skip nat OUTPUT's capture (mark 0x111 -> ACCEPT)
// and are routed by the `fwmark 0x111/0xfff lookup 100` rule to table 100, whose only route makes
// every address local: the replies go back to the node proxy's socket in the same netns.
import { emptyTables, restoreTable } from './iptables.ts';
import { ISTIO_PORTS } from './ports.ts';

/** The address Istio's host rule SNATs kubelet's probes to (istio-cni's HostProbeSNATAddress default). */
export const ISTIO_HOST_PROBE_SNAT_ADDRESS = '169.254.7.127';

export interface AmbientInpodConfig {
  /**
   * Connections from this address are never captured (nat PREROUTING ACCEPT, and its replies in nat
   * OUTPUT). In Istio it is 169.254.7.127, the address a host-netns rule SNATs kubelet's health probes
   * to. The lab has no kubelet and keeps traffic in 198.18.0.0/15, so its ambient backend passes the
   * pod's node gateway (198.18.N.1), the address the node netns (where a kubelet would run) uses as
   * source toward its pods. Conformance tests pass Istio's address and match Istio exactly.
   */
  probeSource: string;
  /** ztunnel's inbound plaintext listener (15006) and outbound listener (15001). */
  inboundPlaintextPort: number;
  outboundPort: number;
  /** HBONE: inbound 15008 goes to ztunnel's own listener, never redirected. */
  hbonePort: number;
  /** The mark ztunnel sets on its own sockets (SO_MARK 1337) and the bits compared. */
  proxyMark: number;
  proxyMask: number;
  /** The connection mark that brings replies back to ztunnel, and the bits compared. */
  connMark: number;
  connMask: number;
  /** Policy routing: `ip rule fwmark connMark/connMask pref rulePriority lookup routeTable`. */
  routeTable: number;
  rulePriority: number;
  /**
   * DNS capture to ztunnel's DNS proxy on 15053 (Istio's default.golden has it). Off in the lab, which
   * builds no DNS path: with it off the rules equal Istio's dns_pod_disabled_and_on_globally.golden.
   */
  captureDns: boolean;
  dnsPort: number;
}

/** istio-cni's in-pod constants (cni/pkg/config/config.go at 1.30.3), with the probe source chosen by the caller. */
export function ambientInpodConfig(probeSource: string, overrides: Partial<Omit<AmbientInpodConfig, 'probeSource'>> = {}): AmbientInpodConfig {
  return {
    probeSource,
    inboundPlaintextPort: ISTIO_PORTS.inboundCapture,
    outboundPort: ISTIO_PORTS.outboundCapture,
    hbonePort: ISTIO_PORTS.hbone,
    proxyMark: 0x539,
    proxyMask: 0xfff,
    connMark: 0x111,
    connMask: 0xfff,
    routeTable: 100,
    rulePriority: 32764,
    captureDns: false,
    dnsPort: 15053,
    ...overrides,
  };
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** The user chains istio-cni adds, in its `-N` order, per table. */
export const AMBIENT_CHAINS = { mangle: ['ISTIO_PRERT', 'ISTIO_OUTPUT'], nat: ['ISTIO_PRERT', 'ISTIO_OUTPUT'], raw: ['ISTIO_OUTPUT', 'ISTIO_PRERT'] } as const;

/** The in-pod rules as one iptables-restore input (mangle, nat, and raw with DNS capture). */
export function ambientInpodIptables(c: AmbientInpodConfig): string {
  const proxyMark = `${hex(c.proxyMark)}/${hex(c.proxyMask)}`;
  const connMark = `${hex(c.connMark)}/${hex(c.connMask)}`;
  const notProxy = `-m mark ! --mark ${proxyMark}`;
  const mangle = restoreTable('mangle', AMBIENT_CHAINS.mangle, [
    '-A PREROUTING -j ISTIO_PRERT',
    '-A OUTPUT -j ISTIO_OUTPUT',
    `-A ISTIO_PRERT -m mark --mark ${proxyMark} -j CONNMARK --set-xmark ${connMark}`,
    `-A ISTIO_OUTPUT -m connmark --mark ${connMark} -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff`,
  ]);
  const dnsNat = c.captureDns
    ? [
        `-A ISTIO_OUTPUT ! -o lo -p udp ${notProxy} -m udp --dport 53 -j REDIRECT --to-port ${c.dnsPort}`,
        `-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -p tcp --dport 53 ${notProxy} -j REDIRECT --to-ports ${c.dnsPort}`,
      ]
    : [];
  const nat = restoreTable('nat', AMBIENT_CHAINS.nat, [
    '-A PREROUTING -j ISTIO_PRERT',
    '-A OUTPUT -j ISTIO_OUTPUT',
    `-A ISTIO_PRERT -s ${c.probeSource} -p tcp -m tcp -j ACCEPT`,
    `-A ISTIO_PRERT ! -d 127.0.0.1/32 -p tcp ! --dport ${c.hbonePort} ${notProxy} -j REDIRECT --to-ports ${c.inboundPlaintextPort}`,
    `-A ISTIO_OUTPUT -d ${c.probeSource} -p tcp -m tcp -j ACCEPT`,
    ...dnsNat,
    `-A ISTIO_OUTPUT -p tcp -m mark --mark ${connMark} -j ACCEPT`,
    '-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -j ACCEPT',
    `-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -p tcp ${notProxy} -j REDIRECT --to-ports ${c.outboundPort}`,
  ]);
  const raw = c.captureDns
    ? restoreTable('raw', AMBIENT_CHAINS.raw, [
        '-A PREROUTING -j ISTIO_PRERT',
        '-A OUTPUT -j ISTIO_OUTPUT',
        `-A ISTIO_OUTPUT -p udp -m mark --mark ${proxyMark} -m udp --dport 53 -j CT --zone 1`,
        `-A ISTIO_PRERT -p udp ${notProxy} -m udp --sport 53 -j CT --zone 1`,
      ])
    : [];
  return [...mangle, ...nat, ...raw, ''].join('\n');
}

/** Empties the tables ambientInpodIptables(c) fills (raw only with DNS capture: it is not created otherwise). */
export function ambientInpodRemoval(c: AmbientInpodConfig): string {
  return emptyTables(c.captureDns ? ['mangle', 'nat', 'raw'] : ['mangle', 'nat']);
}
