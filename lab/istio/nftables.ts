// Istio's sidecar capture as native nftables (`values.global.nativeNftables`, Istio 1.27+; the lab
// generates it as 1.30.3 does, a counter on every rule as from 1.28): tables `inet istio-proxy-nat`
// and, in TPROXY mode, `inet istio-proxy-mangle`, as one `nft -f` script applied in one transaction.
// Each rule's text is the text istio-nftables emits for it (tools/istio-nftables/pkg/capture/
// testdata in istio/istio); the rules are written in final chain order (Istio appends, then inserts
// with `insert rule ... index N`). test/unit/istio-nftables-conformance.test.ts replays Istio's own
// goldens and compares chain by chain. The mirror of lab/istio/iptables.ts, rule for rule.
import { ISTIO_PORTS } from './ports.ts';
import { DEFAULT_CAPTURE, DEFAULT_TPROXY_CAPTURE, type IstioCaptureConfig, type TproxyCaptureConfig } from './sidecar-config.ts';

export const NFT_NAT_TABLE = 'istio-proxy-nat';
export const NFT_MANGLE_TABLE = 'istio-proxy-mangle';
/** Istio fills the raw table only for DNS capture, which the lab leaves out; removal still clears it. */
export const NFT_RAW_TABLE = 'istio-proxy-raw';
export const NFT_SIDECAR_TABLES = [NFT_NAT_TABLE, NFT_MANGLE_TABLE, NFT_RAW_TABLE] as const;

/** A chain and its rules, in final order. A base chain carries its hook specification. */
interface Chain {
  name: string;
  spec?: string;
  rules: string[];
}

/** `add table`, `flush table` (Istio's way to replace the table's rules atomically), chains, rules. */
function tableScript(table: string, chains: readonly Chain[]): string[] {
  const t = `inet ${table}`;
  return [
    `add table ${t}`,
    `flush table ${t}`,
    ...chains.map((c) => `add chain ${t} ${c.name}${c.spec ? ` { ${c.spec} ; }` : ''}`),
    ...chains.flatMap((c) => c.rules.map((rule) => `add rule ${t} ${c.name} ${rule}`)),
  ];
}

function requireNftablesLine(c: IstioCaptureConfig): void {
  if (c.istioVersion === '1.24') throw new Error('Istio 1.24 has no native nftables mode (it arrived in 1.27)');
}

/** istio-output: the same order as ISTIO_OUTPUT in lab/istio/iptables.ts. */
function outputChain(c: IstioCaptureConfig): Chain {
  const rules: string[] = [];
  for (const port of c.excludedOutboundPorts) rules.push(`tcp dport ${port} counter return`, `udp dport ${port} counter return`);
  rules.push(`oifname lo ip saddr ${ISTIO_PORTS.inboundPassthroughSource}/32 counter return`);
  for (const [key, id] of [['skuid', c.proxyUid], ['skgid', c.proxyGid]] as const) {
    rules.push(
      `oifname lo meta l4proto tcp ip daddr != 127.0.0.1/32 tcp dport != ${c.inboundTunnelPort} ${key} ${id} counter jump istio-in-redirect`,
      `oifname lo ${key} != ${id} counter return`,
      `${key} ${id} counter return`,
    );
  }
  rules.push('ip daddr 127.0.0.1/32 counter return', ...c.excludedOutboundCidrs.map((cidr) => `ip daddr ${cidr} counter return`));
  if (c.outboundIpRangesInclude === '*') rules.push('counter jump istio-redirect');
  return { name: 'istio-output', rules };
}

const excludedInbound = (c: IstioCaptureConfig) => c.excludedInboundPorts.map((port) => `meta l4proto tcp tcp dport ${port} counter return`);

/** The nat table: outbound capture in both modes; inbound capture (prerouting) only in REDIRECT mode. */
function natChains(c: IstioCaptureConfig, mode: 'REDIRECT' | 'TPROXY'): Chain[] {
  const inbound = mode === 'REDIRECT' && c.inboundPortsInclude === '*';
  return [
    ...(inbound ? [{ name: 'prerouting', spec: 'type nat hook prerouting priority -100', rules: ['meta l4proto tcp counter jump istio-inbound'] }] : []),
    { name: 'output', spec: 'type nat hook output priority -100', rules: ['counter jump istio-output'] },
    {
      name: 'istio-inbound',
      rules: [`meta l4proto tcp tcp dport ${c.inboundTunnelPort} counter return`, ...(inbound ? [...excludedInbound(c), 'meta l4proto tcp counter jump istio-in-redirect'] : [])],
    },
    { name: 'istio-redirect', rules: [`meta l4proto tcp counter redirect to :${c.outboundCapturePort}`] },
    { name: 'istio-in-redirect', rules: [`meta l4proto tcp counter redirect to :${c.inboundCapturePort}`] },
    outputChain(c),
  ];
}

/** The mangle table of TPROXY mode: the same rules, in the same order, as lab/istio/iptables.ts's. */
function mangleChains(c: TproxyCaptureConfig): Chain[] {
  if (c.inboundPortsInclude !== '*') throw new Error("the lab generates TPROXY mode only with inboundPortsInclude '*' (the injector's -b '*')");
  const mark = c.tproxyMark;
  const hbone = c.hboneInbound === 'bypassed' ? [`meta l4proto tcp tcp dport ${c.inboundTunnelPort} counter return`] : [];
  return [
    {
      name: 'prerouting',
      spec: 'type filter hook prerouting priority -150',
      rules: ['meta l4proto tcp counter jump istio-inbound', `meta l4proto tcp mark ${mark} counter ct mark set mark`],
    },
    {
      name: 'output',
      spec: 'type route hook output priority -150',
      rules: [
        `oifname lo meta l4proto tcp mark ${mark} counter return`,
        ...(['skuid', 'skgid'] as const).map(
          (key) => `oifname lo meta l4proto tcp ip daddr != 127.0.0.1/32 ${key} ${key === 'skuid' ? c.proxyUid : c.proxyGid} counter meta mark set ${c.proxyLoopbackMark}`,
        ),
        `meta l4proto tcp ct mark ${mark} counter meta mark set ct mark`,
      ],
    },
    { name: 'istio-divert', rules: [`counter meta mark set ${mark}`, 'counter accept'] },
    { name: 'istio-tproxy', rules: [`meta l4proto tcp ip daddr != 127.0.0.1/32 tproxy ip to :${c.inboundCapturePort} meta mark set ${mark} counter accept`] },
    {
      name: 'istio-inbound',
      rules: [
        `meta l4proto tcp mark ${mark} counter return`,
        `iifname lo meta l4proto tcp ip saddr ${ISTIO_PORTS.inboundPassthroughSource}/32 counter return`,
        `iifname lo meta l4proto tcp mark != ${c.proxyLoopbackMark} counter return`,
        ...hbone,
        ...excludedInbound(c),
        'meta l4proto tcp ct state related,established counter jump istio-divert',
        'meta l4proto tcp counter jump istio-tproxy',
      ],
    },
  ];
}

/** Sidecar REDIRECT mode as one `nft -f` script: inbound to 15006, outbound to 15001. */
export function redirectModeNftables(c: IstioCaptureConfig = DEFAULT_CAPTURE): string {
  requireNftablesLine(c);
  return [...tableScript(NFT_NAT_TABLE, natChains(c, 'REDIRECT')), ''].join('\n');
}

/**
 * Sidecar TPROXY mode as one `nft -f` script: the mangle table captures inbound, the nat table
 * outbound. Nat first, as istio-nftables emits it. Needs tproxyPolicyRouting() in the same netns.
 */
export function tproxyModeNftables(c: TproxyCaptureConfig = DEFAULT_TPROXY_CAPTURE): string {
  requireNftablesLine(c);
  return [...tableScript(NFT_NAT_TABLE, natChains(c, 'TPROXY')), ...tableScript(NFT_MANGLE_TABLE, mangleChains(c)), ''].join('\n');
}

/**
 * One `nft -f` script that deletes the sidecar tables, whichever exist: `add table` first makes each
 * `delete table` valid when the table is absent, and the whole script is one transaction.
 */
export function nftablesRemoval(tables: readonly string[] = NFT_SIDECAR_TABLES): string {
  return [...tables.flatMap((table) => [`add table inet ${table}`, `delete table inet ${table}`]), ''].join('\n');
}
