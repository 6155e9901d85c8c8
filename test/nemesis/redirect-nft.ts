// REDIRECT mode's nemesis, native nftables flavour: rules deleted by handle, rules inserted ahead of
// Istio's in its own chains, a neighbour's nat chain that binds first, a sidecar killed. Also what
// nftables must tolerate: another table's accept does not end Istio's base chain.
import { sidecarRuleIds } from '../../lab/istio/rule-ids.ts';
import type { Nemesis } from './break.ts';
import { all, deleteNftRule, iptables, nft, stopSidecar } from './support/sidecar.ts';

const ids = sidecarRuleIds('nftables');
const NAT = ids.tables.nat;

export const nemesis: Nemesis = {
  backend: 'redirect-nft',
  breaks: [
    {
      name: "istio-redirect's redirect to :15001 deleted in the client",
      apply: deleteNftRule('client', NAT, 'istio-redirect', 'meta l4proto tcp counter redirect to :15001'),
      caughtBy: { check: 'outbound-captured', detail: /istio-redirect has no redirect rule/ },
      alsoFailing: ['no-silent-bypass', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: "an accept at the head of Istio's nat prerouting chain in the server",
      apply: nft('server', 'insert', 'rule', 'inet', 'istio-proxy-nat', 'prerouting', 'accept'),
      caughtBy: { check: 'inbound-captured', detail: /istio-in-redirect redirect matched 0 packets; app saw peers 198\.18\./ },
      alsoFailing: ['inbound-nat-in-conntrack', 'excluded-ports-not-captured', 'no-silent-bypass', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: "a neighbour's nat chain at a higher priority redirects :8080 first in the server",
      apply: all(
        nft('server', 'add', 'table', 'ip', 'neighbour'),
        nft('server', 'add', 'chain', 'ip', 'neighbour', 'pre', '{ type nat hook prerouting priority -110 ; }'),
        nft('server', 'add', 'rule', 'ip', 'neighbour', 'pre', 'tcp', 'dport', '8080', 'redirect', 'to', ':8080'),
      ),
      caughtBy: { check: 'inbound-captured', detail: /server sidecar :15006 no connection logged; .*app saw peers 198\.18\./ },
      alsoFailing: ['inbound-nat-in-conntrack', 'no-silent-bypass'],
    },
    {
      name: "a return for :8083 at the head of the server's istio-inbound",
      apply: nft('server', 'insert', 'rule', 'inet', 'istio-proxy-nat', 'istio-inbound', 'tcp', 'dport', '8083', 'return'),
      caughtBy: { check: 'no-silent-bypass', detail: /accepted 1 connection\(s\) on :8083 from 198\.18\.\S+, not from its sidecar/ },
    },
    {
      name: "istio-output's skuid return deleted (the skgid return stays)",
      apply: deleteNftRule('client', NAT, 'istio-output', ids.rules.proxyUidReturn),
      caughtBy: { check: 'proxy-uid-not-captured', detail: /client sidecar logged 1; istio-output "meta skuid 1337 counter return" is missing/ },
    },
    {
      name: "istio-output's skgid return deleted (the skuid return stays)",
      apply: deleteNftRule('client', NAT, 'istio-output', ids.rules.proxyGidReturn),
      caughtBy: { check: 'proxy-gid-not-captured', detail: /client sidecar logged 1; istio-output "meta skgid 1337 counter return" is missing/ },
    },
    {
      name: "istio-output's loopback return (lo, any UID but the proxy's) deleted",
      apply: deleteNftRule('client', NAT, 'istio-output', ids.rules.loopbackNonProxyReturn),
      caughtBy: { check: 'loopback-not-captured', detail: /"oifname "lo" meta skuid != 1337 counter return" is missing/ },
    },
    {
      name: "istio-inbound's :15090 return deleted in the server",
      apply: deleteNftRule('server', NAT, 'istio-inbound', ids.rules.excludedInbound(15090)),
      caughtBy: { check: 'excluded-ports-not-captured', detail: /:15090 nat istio-inbound "tcp dport 15090 counter return" is missing, server sidecar logged 1, app saw 127\.0\.0\.6/ },
    },
    {
      name: 'the client sidecar killed',
      apply: stopSidecar('client'),
      caughtBy: { check: 'sidecars-listening', detail: /client: nothing listens on :15001/ },
      // Nothing of the app's reaches the server: its inbound checks have nothing to see either.
      alsoFailing: ['plan-completed', 'outbound-captured', 'inbound-captured', 'inbound-nat-in-conntrack', 'excluded-ports-not-captured', 'no-silent-bypass', 'probes-echoed', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
  ],
  tolerated: [
    {
      // iptables-nft puts it in its own `ip nat` table: an accept ends only that base chain, and
      // Istio's prerouting chain at the same hook still runs.
      name: "a neighbour's iptables ACCEPT at the head of the server's nat PREROUTING (its own table)",
      apply: iptables('server', 'nat', '-I', 'PREROUTING', '1', '-j', 'ACCEPT'),
    },
  ],
};
