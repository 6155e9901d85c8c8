// Istio's sidecar interception rules, generated as iptables-restore input and applied atomically,
// as istio-iptables does. The chains and their order follow istio-iptables' own golden files
// (tools/istio-iptables/pkg/capture/testdata in istio/istio); lab/istio/testdata/ pins our output.
import { ISTIO_PORTS } from './ports.ts';

export interface IstioCaptureConfig {
  proxyUid: number;
  proxyGid: number;
  outboundCapturePort: number;
  inboundCapturePort: number;
  /** Inbound destination ports that bypass the sidecar (15008 HBONE first, as Istio emits it). */
  excludedInboundPorts: readonly number[];
}

export const DEFAULT_CAPTURE: IstioCaptureConfig = {
  proxyUid: ISTIO_PORTS.proxyUid,
  proxyGid: ISTIO_PORTS.proxyGid,
  outboundCapturePort: ISTIO_PORTS.outboundCapture,
  inboundCapturePort: ISTIO_PORTS.inboundCapture,
  excludedInboundPorts: [ISTIO_PORTS.hbone, ...ISTIO_PORTS.excludedInbound],
};

/** TPROXY mode adds two packet marks and a routing table (istio-iptables' defaults). */
export interface TproxyCaptureConfig extends IstioCaptureConfig {
  /** Set on every inbound packet sent to the sidecar; policy routing delivers this mark locally. */
  tproxyMark: number;
  /** Set on the proxy's own loopback traffic to a non-127.0.0.1 address, so inbound capture sees it. */
  proxyLoopbackMark: number;
  /** The table `ip rule fwmark <tproxyMark>` looks up: one `local 0.0.0.0/0 dev lo` route. */
  routeTable: number;
}

export const DEFAULT_TPROXY_CAPTURE: TproxyCaptureConfig = {
  ...DEFAULT_CAPTURE,
  tproxyMark: 1337,
  proxyLoopbackMark: 1338,
  routeTable: 133,
};

/** The nat table's builtin chains and the chains Istio adds to it. */
export const NAT_CHAINS = ['ISTIO_INBOUND', 'ISTIO_IN_REDIRECT', 'ISTIO_OUTPUT', 'ISTIO_REDIRECT'] as const;

/** The chains TPROXY mode adds to the mangle table (declared in istio-iptables' order). */
export const MANGLE_CHAINS = ['ISTIO_DIVERT', 'ISTIO_TPROXY', 'ISTIO_INBOUND'] as const;

const BUILTIN_CHAINS = {
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
} as const;

/** A table's start in iptables-restore input: its builtin chains, ACCEPT, counters zeroed. */
function tableHeader(table: keyof typeof BUILTIN_CHAINS): string[] {
  return [`*${table}`, ...BUILTIN_CHAINS[table].map((chain) => `:${chain} ACCEPT [0:0]`)];
}

/**
 * ISTIO_OUTPUT: what leaves the pod's sockets. Order matters, first match wins:
 *  - inbound passthrough (the sidecar handing a connection to its app from 127.0.0.6) is left alone;
 *  - the proxy talking over lo to a non-loopback local address (its own pod IP) is sent back to the
 *    inbound listener, so pod-to-itself traffic still gets inbound policy;
 *  - other lo traffic, and all other traffic of the proxy's UID/GID, is left alone (no loop);
 *  - 127.0.0.1 is left alone; everything else goes to the outbound listener.
 */
function outputRules(c: IstioCaptureConfig): string[] {
  const rules = ['-A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN'];
  for (const [match, id] of [['--uid-owner', c.proxyUid], ['--gid-owner', c.proxyGid]] as const) {
    rules.push(
      // HBONE (15008) over loopback is never sent back to the inbound listener (Istio 1.20+).
      `-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport ${ISTIO_PORTS.hbone} -m owner ${match} ${id} -j ISTIO_IN_REDIRECT`,
      `-A ISTIO_OUTPUT -o lo -m owner ! ${match} ${id} -j RETURN`,
      `-A ISTIO_OUTPUT -m owner ${match} ${id} -j RETURN`,
    );
  }
  rules.push('-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN', '-A ISTIO_OUTPUT -j ISTIO_REDIRECT');
  return rules;
}

/**
 * The nat table. Outbound capture (OUTPUT -> ISTIO_OUTPUT -> ISTIO_REDIRECT to 15001) is the same in
 * both modes, and so is ISTIO_IN_REDIRECT, which ISTIO_OUTPUT uses for the proxy calling its own pod.
 * Only REDIRECT mode captures inbound here; TPROXY mode does it in the mangle table.
 */
function natTable(c: IstioCaptureConfig, inbound: 'nat' | 'mangle'): string[] {
  const inNat = inbound === 'nat';
  const chains = inNat ? NAT_CHAINS : NAT_CHAINS.filter((chain) => chain !== 'ISTIO_INBOUND');
  return [
    ...tableHeader('nat'),
    ...chains.map((chain) => `:${chain} - [0:0]`),
    ...(inNat ? ['-A PREROUTING -p tcp -j ISTIO_INBOUND'] : []),
    '-A OUTPUT -p tcp -j ISTIO_OUTPUT',
    ...(inNat ? [...excludedInbound(c), '-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT'] : []),
    `-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports ${c.inboundCapturePort}`,
    ...outputRules(c),
    `-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports ${c.outboundCapturePort}`,
    'COMMIT',
  ];
}

/** Inbound ports that bypass the sidecar, as ISTIO_INBOUND RETURNs (whichever table holds the chain). */
function excludedInbound(c: IstioCaptureConfig): string[] {
  return c.excludedInboundPorts.map((port) => `-A ISTIO_INBOUND -p tcp --dport ${port} -j RETURN`);
}

/** The nat table for sidecar REDIRECT mode: inbound to 15006, outbound to 15001. */
export function redirectModeNatTable(c: IstioCaptureConfig = DEFAULT_CAPTURE): string {
  return [...natTable(c, 'nat'), ''].join('\n');
}

/**
 * The mangle table for TPROXY mode's inbound capture. Follows istio-iptables' tproxy.golden and
 * inbound-ports-tproxy.golden, written in final order (Istio appends, then `-I ISTIO_INBOUND 1..3`
 * the three guards; iptables-save shows them first, as here). In ISTIO_INBOUND, first match wins:
 *  - a packet already marked 1337 has been diverted once: leave it (no loop);
 *  - the sidecar handing a connection to its app from 127.0.0.6 over lo is left alone;
 *  - other lo traffic is left alone unless marked 1338 (the proxy calling its own pod IP);
 *  - excluded ports RETURN;
 *  - packets of a connection the sidecar already owns are marked and accepted (ISTIO_DIVERT), the
 *    first packet of a new one goes to TPROXY, which assigns it to the transparent 15006 listener
 *    without rewriting it: the socket's local address stays the original destination.
 * CONNMARK --save-mark in PREROUTING and --restore-mark in OUTPUT are Istio's, kept as they are; note
 * that ISTIO_DIVERT and TPROXY both ACCEPT, so the save rule only sees packets ISTIO_INBOUND returned
 * already carrying 1337 (in the lab's traffic: none, and conntrack shows mark=0). The proxy's own
 * loopback traffic to a non-127.0.0.1 address gets 1338 in OUTPUT, which ISTIO_INBOUND's lo guard
 * lets through to capture.
 *
 * Departure from Istio: Istio appends the 15008 (HBONE) RETURN to the nat ISTIO_INBOUND chain even
 * in TPROXY mode, where no PREROUTING rule jumps to that chain, so there it is dead and HBONE would be
 * TPROXYed. Here 15008 is a RETURN in the mangle ISTIO_INBOUND like the other excluded ports (which
 * Istio also puts there in TPROXY mode), so it is really never captured (DESIGN §4), and the unhooked
 * nat ISTIO_INBOUND is left out. Also left out, as in REDIRECT mode: DNS capture (ISTIO_OUTPUT_DNS,
 * raw table) and IPv6 (the lab is IPv4 only).
 */
function tproxyMangleTable(c: TproxyCaptureConfig): string[] {
  const mark = c.tproxyMark;
  const owners = [['--uid-owner', c.proxyUid], ['--gid-owner', c.proxyGid]] as const;
  return [
    ...tableHeader('mangle'),
    ...MANGLE_CHAINS.map((chain) => `:${chain} - [0:0]`),
    '-A PREROUTING -p tcp -j ISTIO_INBOUND',
    `-A PREROUTING -p tcp -m mark --mark ${mark} -j CONNMARK --save-mark`,
    `-A OUTPUT -p tcp -o lo -m mark --mark ${mark} -j RETURN`,
    ...owners.map(([match, id]) => `-A OUTPUT ! -d 127.0.0.1/32 -p tcp -o lo -m owner ${match} ${id} -j MARK --set-mark ${c.proxyLoopbackMark}`),
    `-A OUTPUT -p tcp -m connmark --mark ${mark} -j CONNMARK --restore-mark`,
    `-A ISTIO_DIVERT -j MARK --set-mark ${mark}`,
    '-A ISTIO_DIVERT -j ACCEPT',
    `-A ISTIO_INBOUND -p tcp -m mark --mark ${mark} -j RETURN`,
    `-A ISTIO_INBOUND -p tcp -s ${ISTIO_PORTS.inboundPassthroughSource}/32 -i lo -j RETURN`,
    `-A ISTIO_INBOUND -p tcp -i lo -m mark ! --mark ${c.proxyLoopbackMark} -j RETURN`,
    ...excludedInbound(c),
    '-A ISTIO_INBOUND -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT',
    '-A ISTIO_INBOUND -p tcp -j ISTIO_TPROXY',
    `-A ISTIO_TPROXY ! -d 127.0.0.1/32 -p tcp -j TPROXY --tproxy-mark ${mark}/0xffffffff --on-port ${c.inboundCapturePort}`,
    'COMMIT',
  ];
}

/**
 * Sidecar TPROXY mode as one iptables-restore input: the mangle table captures inbound (above), the
 * nat table captures outbound exactly as REDIRECT mode does (same code, so the same
 * `-A OUTPUT -p tcp -j ISTIO_OUTPUT`, where newer Istio writes `-A OUTPUT -j ISTIO_OUTPUT` to also see
 * the UDP DNS it captures, which the lab does not). Mangle first, as istio-iptables emits it. Needs the policy routing of
 * tproxyPolicyRouting() in the same namespace.
 */
export function tproxyModeTables(c: TproxyCaptureConfig = DEFAULT_TPROXY_CAPTURE): string {
  return [...tproxyMangleTable(c), ...natTable(c, 'mangle'), ''].join('\n');
}

/**
 * iptables-restore input that empties the tables TPROXY mode fills: restoring a table without
 * --noflush flushes it and deletes its user chains, in one commit per table.
 */
export function tproxyModeRemoval(): string {
  return [...tableHeader('mangle'), 'COMMIT', ...tableHeader('nat'), 'COMMIT', ''].join('\n');
}
