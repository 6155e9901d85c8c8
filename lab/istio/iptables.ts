// Istio's sidecar interception rules, generated as iptables-restore input and applied atomically, as
// istio-iptables does. Each rule's text is the text istio-iptables emits for it; the rules are written
// in their final chain order (Istio appends, then inserts with -I; the result is the same chains).
// test/unit/istio-iptables-conformance.test.ts replays Istio's own goldens and compares chain by chain.
import { DEFAULT_CAPTURE, DEFAULT_TPROXY_CAPTURE, type IstioCaptureConfig, type TproxyCaptureConfig } from './sidecar-config.ts';
import { ISTIO_PORTS } from './ports.ts';

export { DEFAULT_CAPTURE, DEFAULT_TPROXY_CAPTURE, type IstioCaptureConfig, type TproxyCaptureConfig } from './sidecar-config.ts';

/** The chains Istio adds to the nat table, in istio-iptables' `-N` order. */
export const NAT_CHAINS = ['ISTIO_INBOUND', 'ISTIO_REDIRECT', 'ISTIO_IN_REDIRECT', 'ISTIO_OUTPUT'] as const;

/** The chains TPROXY mode adds to the mangle table, in istio-iptables' `-N` order. */
export const MANGLE_CHAINS = ['ISTIO_DIVERT', 'ISTIO_TPROXY', 'ISTIO_INBOUND'] as const;

const BUILTIN_CHAINS = {
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
} as const;

export type IptablesTable = keyof typeof BUILTIN_CHAINS;

/**
 * One table of iptables-restore input: builtin chains ACCEPT with zeroed counters, the user chains,
 * the rules. Restoring a table without --noflush replaces all of it in one commit.
 */
export function restoreTable(table: IptablesTable, userChains: readonly string[], rules: readonly string[]): string[] {
  return [`*${table}`, ...BUILTIN_CHAINS[table].map((chain) => `:${chain} ACCEPT [0:0]`), ...userChains.map((chain) => `:${chain} - [0:0]`), ...rules, 'COMMIT'];
}

/**
 * ISTIO_OUTPUT: what leaves the pod's sockets. First match wins:
 *  - excluded outbound ports (-o) are left alone, TCP and, from 1.25, UDP;
 *  - inbound passthrough (the sidecar handing a connection to its app from 127.0.0.6) is left alone;
 *  - the proxy talking over lo to a non-loopback local address (its own pod IP), except to HBONE, is
 *    sent back to the inbound listener, so pod-to-itself traffic still gets inbound policy;
 *  - other lo traffic, and all other traffic of the proxy's UID/GID, is left alone (no loop);
 *  - 127.0.0.1 and the excluded CIDRs (-x) are left alone; with -i '*' everything else goes to 15001.
 */
function outputRules(c: IstioCaptureConfig): string[] {
  const rules: string[] = [];
  for (const port of c.excludedOutboundPorts) {
    rules.push(`-A ISTIO_OUTPUT -p tcp --dport ${port} -j RETURN`);
    if (c.istioVersion !== '1.24') rules.push(`-A ISTIO_OUTPUT -p udp --dport ${port} -j RETURN`);
  }
  rules.push(`-A ISTIO_OUTPUT -o lo -s ${ISTIO_PORTS.inboundPassthroughSource}/32 -j RETURN`);
  for (const [match, id] of [['--uid-owner', c.proxyUid], ['--gid-owner', c.proxyGid]] as const) {
    rules.push(
      `-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport ${c.inboundTunnelPort} -m owner ${match} ${id} -j ISTIO_IN_REDIRECT`,
      `-A ISTIO_OUTPUT -o lo -m owner ! ${match} ${id} -j RETURN`,
      `-A ISTIO_OUTPUT -m owner ${match} ${id} -j RETURN`,
    );
  }
  rules.push('-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN', ...c.excludedOutboundCidrs.map((cidr) => `-A ISTIO_OUTPUT -d ${cidr} -j RETURN`));
  if (c.outboundIpRangesInclude === '*') rules.push('-A ISTIO_OUTPUT -j ISTIO_REDIRECT');
  return rules;
}

/**
 * The nat table. Outbound capture (OUTPUT -> ISTIO_OUTPUT -> ISTIO_REDIRECT to 15001) is the same in
 * both modes, and so is ISTIO_IN_REDIRECT, which ISTIO_OUTPUT uses for the proxy calling its own pod.
 * ISTIO_INBOUND always starts with the HBONE RETURN; only REDIRECT mode jumps to it from PREROUTING
 * (TPROXY mode captures inbound in the mangle table, so there the chain is never entered).
 */
function natTable(c: IstioCaptureConfig, mode: 'REDIRECT' | 'TPROXY'): string[] {
  const inbound = mode === 'REDIRECT' && c.inboundPortsInclude === '*';
  // Istio 1.25+ sends every protocol to ISTIO_OUTPUT (so the UDP RETURNs above can match).
  const outputJump = c.istioVersion === '1.24' ? '-A OUTPUT -p tcp -j ISTIO_OUTPUT' : '-A OUTPUT -j ISTIO_OUTPUT';
  return restoreTable('nat', NAT_CHAINS, [
    ...(inbound ? ['-A PREROUTING -p tcp -j ISTIO_INBOUND'] : []),
    outputJump,
    `-A ISTIO_INBOUND -p tcp --dport ${c.inboundTunnelPort} -j RETURN`,
    ...(inbound ? [...excludedInbound(c), '-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT'] : []),
    `-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports ${c.inboundCapturePort}`,
    ...outputRules(c),
    `-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports ${c.outboundCapturePort}`,
  ]);
}

/** Inbound ports that bypass the sidecar, as ISTIO_INBOUND RETURNs (whichever table holds the chain). */
function excludedInbound(c: IstioCaptureConfig): string[] {
  return c.excludedInboundPorts.map((port) => `-A ISTIO_INBOUND -p tcp --dport ${port} -j RETURN`);
}

/** The nat table for sidecar REDIRECT mode: inbound to 15006, outbound to 15001. */
export function redirectModeNatTable(c: IstioCaptureConfig = DEFAULT_CAPTURE): string {
  return [...natTable(c, 'REDIRECT'), ''].join('\n');
}

/**
 * The mangle table for TPROXY mode's inbound capture. In ISTIO_INBOUND, first match wins:
 *  - a packet already marked 1337 has been diverted once: leave it (no loop);
 *  - the sidecar handing a connection to its app from 127.0.0.6 over lo is left alone;
 *  - other lo traffic is left alone unless marked 1338 (the proxy calling its own pod IP);
 *  - excluded ports RETURN (and 15008, only with hboneInbound 'bypassed');
 *  - packets of a connection the sidecar already owns are marked and accepted (ISTIO_DIVERT), the
 *    first packet of a new one goes to TPROXY, which assigns it to the transparent 15006 listener
 *    without rewriting it: the socket's local address stays the original destination.
 * CONNMARK --save-mark in PREROUTING and --restore-mark in OUTPUT are Istio's, kept as they are; note
 * that ISTIO_DIVERT and TPROXY both ACCEPT, so the save rule only sees packets ISTIO_INBOUND returned
 * already carrying 1337. Left out, as in REDIRECT mode: DNS capture and IPv6 (the lab is IPv4 only).
 */
function tproxyMangleTable(c: TproxyCaptureConfig): string[] {
  if (c.inboundPortsInclude !== '*') throw new Error("the lab generates TPROXY mode only with inboundPortsInclude '*' (the injector's -b '*')");
  const mark = c.tproxyMark;
  const owners = [['--uid-owner', c.proxyUid], ['--gid-owner', c.proxyGid]] as const;
  const hbone = c.hboneInbound === 'bypassed' ? [`-A ISTIO_INBOUND -p tcp --dport ${c.inboundTunnelPort} -j RETURN`] : [];
  return restoreTable('mangle', MANGLE_CHAINS, [
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
    ...hbone,
    ...excludedInbound(c),
    '-A ISTIO_INBOUND -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT',
    '-A ISTIO_INBOUND -p tcp -j ISTIO_TPROXY',
    `-A ISTIO_TPROXY ! -d 127.0.0.1/32 -p tcp -j TPROXY --tproxy-mark ${mark}/0xffffffff --on-port ${c.inboundCapturePort}`,
  ]);
}

/**
 * Sidecar TPROXY mode as one iptables-restore input: the mangle table captures inbound (above), the
 * nat table captures outbound exactly as REDIRECT mode does. Mangle first, as istio-iptables emits
 * it. Needs the policy routing of tproxyPolicyRouting() in the same namespace.
 */
export function tproxyModeTables(c: TproxyCaptureConfig = DEFAULT_TPROXY_CAPTURE): string {
  return [...tproxyMangleTable(c), ...natTable(c, 'TPROXY'), ''].join('\n');
}

/**
 * iptables-restore input that empties the given tables: restoring a table without --noflush flushes
 * it and deletes its user chains, in one commit per table. Default: the tables TPROXY mode fills.
 */
export function emptyTables(tables: readonly IptablesTable[]): string {
  return [...tables.flatMap((table) => restoreTable(table, [], [])), ''].join('\n');
}

/** Empties the tables TPROXY mode fills (mangle and nat). */
export function tproxyModeRemoval(): string {
  return emptyTables(['mangle', 'nat']);
}
