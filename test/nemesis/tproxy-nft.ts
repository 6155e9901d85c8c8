// TPROXY mode's nemesis, native nftables flavour: the same mechanisms as tproxy.ts broken through
// nft (rules deleted by handle, inserted at the head of Istio's own chains), ip and sysctl.
import { sidecarRuleIds } from '../../lab/istio/rule-ids.ts';
import type { Nemesis } from './break.ts';
import { deleteNftRule, ip, nft, restartSidecarWithoutTransparent, stopSidecar, sysctl } from './support/sidecar.ts';

const ids = sidecarRuleIds('nftables');
const { nat: NAT, mangle: MANGLE } = ids.tables;

export const nemesis: Nemesis = {
  backend: 'tproxy-nft',
  breaks: [
    {
      name: "istio-tproxy's tproxy deleted in the server",
      apply: deleteNftRule('server', MANGLE, 'istio-tproxy', 'meta l4proto tcp ip daddr != 127.0.0.1 tproxy ip to :15006 meta mark set 0x00000539 counter accept'),
      caughtBy: { check: 'tproxy-counters', detail: /istio-tproxy has no tproxy rule/ },
      alsoFailing: ['inbound-captured', 'passthrough-not-captured', 'no-silent-bypass', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: "an accept at the head of Istio's mangle prerouting chain in the server",
      apply: nft('server', 'insert', 'rule', 'inet', 'istio-proxy-mangle', 'prerouting', 'accept'),
      caughtBy: { check: 'inbound-captured', detail: /server sidecar :15006 no connection logged; .*app saw peers 198\.18\./ },
      alsoFailing: ['tproxy-counters', 'excluded-ports-not-captured', 'passthrough-not-captured', 'no-silent-bypass', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: "a return for :8083 at the head of the server's mangle istio-inbound",
      apply: nft('server', 'insert', 'rule', 'inet', 'istio-proxy-mangle', 'istio-inbound', 'tcp', 'dport', '8083', 'return'),
      caughtBy: { check: 'no-silent-bypass', detail: /accepted 1 connection\(s\) on :8083 from 198\.18\.\S+, not from its sidecar/ },
    },
    {
      name: 'the server sidecar restarted without its transparent option',
      apply: restartSidecarWithoutTransparent('server'),
      caughtBy: { check: 'sidecars-listening', detail: /server: :15006 is not transparent/ },
      alsoFailing: ['inbound-captured', 'tproxy-counters', 'passthrough-not-captured', 'no-silent-bypass', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: 'the client sidecar killed',
      apply: stopSidecar('client'),
      caughtBy: { check: 'sidecars-listening', detail: /client: nothing listens on :15001/ },
      alsoFailing: ['plan-completed', 'outbound-captured', 'inbound-captured', 'inbound-not-natted-in-conntrack', 'excluded-ports-not-captured', 'no-silent-bypass', 'probes-echoed', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: "the server's policy rule (fwmark 0x539 lookup 133) deleted",
      apply: ip('server', 'rule', 'del', 'fwmark', '1337', 'lookup', '133'),
      caughtBy: { check: 'policy-routing-only-in-pods', detail: /server: fwmark 0x539 lookup 133 MISSING/ },
    },
    {
      name: "src_valid_mark turned on for the server pod's eth0",
      apply: sysctl('server', 'net.ipv4.conf.eth0.src_valid_mark', 1),
      caughtBy: { check: 'tproxy-sysctls', detail: /server: not as set: net\.ipv4\.conf\.eth0\.src_valid_mark/ },
      alsoFailing: ['plan-completed', 'inbound-captured', 'tproxy-counters', 'inbound-not-natted-in-conntrack', 'passthrough-not-captured', 'proxy-uid-not-captured', 'proxy-gid-not-captured', 'probes-echoed', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: "strict rp_filter for all of the server pod's devices",
      apply: sysctl('server', 'net.ipv4.conf.all.rp_filter', 1),
      caughtBy: { check: 'tproxy-sysctls', detail: /server: not as set: net\.ipv4\.conf\.all\.rp_filter/ },
    },
    {
      name: "mangle istio-inbound's :15090 return deleted in the server",
      apply: deleteNftRule('server', MANGLE, 'istio-inbound', ids.rules.excludedInbound(15090)),
      caughtBy: { check: 'excluded-ports-not-captured', detail: /:15090 mangle istio-inbound "tcp dport 15090 counter return" is missing, server sidecar logged 1/ },
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
  ],
};
