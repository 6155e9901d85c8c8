// TPROXY mode's nemesis, iptables flavour: mangle and nat rules deleted or overtaken, the sidecar
// restarted without IP_TRANSPARENT, the policy routing removed, the sysctls TPROXY depends on
// flipped; each made with ordinary tools in the pods' own namespaces after install.
import { sidecarRuleIds, tproxyRuleIds } from '../../lab/istio/rule-ids.ts';
import type { Nemesis } from './break.ts';
import { deleteIptablesRule, iptables, ip, restartSidecarWithoutTransparent, sysctl } from './support/sidecar.ts';

const ids = sidecarRuleIds('iptables');
const tids = tproxyRuleIds('iptables');

export const nemesis: Nemesis = {
  backend: 'tproxy',
  breaks: [
    {
      name: "ISTIO_TPROXY's TPROXY deleted in the server",
      apply: deleteIptablesRule('server', 'mangle', 'ISTIO_TPROXY', '! -d 127.0.0.1/32 -p tcp -j TPROXY --on-port 15006 --on-ip 0.0.0.0 --tproxy-mark 0x539/0xffffffff'),
      caughtBy: { check: 'tproxy-counters', detail: /ISTIO_TPROXY has no TPROXY rule/ },
      alsoFailing: ['inbound-captured', 'passthrough-not-captured', 'no-silent-bypass', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: "an ACCEPT at the head of the server's mangle PREROUTING",
      apply: iptables('server', 'mangle', '-I', 'PREROUTING', '1', '-j', 'ACCEPT'),
      caughtBy: { check: 'inbound-captured', detail: /server sidecar :15006 no connection logged; .*app saw peers 198\.18\./ },
      alsoFailing: ['tproxy-counters', 'excluded-ports-not-captured', 'passthrough-not-captured', 'no-silent-bypass', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: 'the server sidecar restarted without its transparent option',
      apply: restartSidecarWithoutTransparent('server'),
      caughtBy: { check: 'sidecars-listening', detail: /server: :15006 is not transparent/ },
      alsoFailing: ['plan-completed', 'inbound-captured', 'tproxy-counters', 'inbound-not-natted-in-conntrack', 'passthrough-not-captured', 'proxy-uid-not-captured', 'proxy-gid-not-captured', 'probes-echoed', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: "the server's policy rule (fwmark 0x539 lookup 133) deleted",
      apply: ip('server', 'rule', 'del', 'fwmark', '1337', 'lookup', '133'),
      caughtBy: { check: 'policy-routing-only-in-pods', detail: /server: fwmark 0x539 lookup 133 MISSING/ },
    },
    {
      name: "the server's table-133 local route deleted",
      apply: ip('server', 'route', 'del', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', '133'),
      caughtBy: { check: 'policy-routing-only-in-pods', detail: /server: .*table 133 local default dev lo MISSING/ },
    },
    {
      name: "src_valid_mark turned on for all of the server pod's devices",
      apply: sysctl('server', 'net.ipv4.conf.all.src_valid_mark', 1),
      caughtBy: { check: 'tproxy-sysctls', detail: /server: not as set: net\.ipv4\.conf\.all\.src_valid_mark/ },
      alsoFailing: ['plan-completed', 'inbound-captured', 'tproxy-counters', 'inbound-not-natted-in-conntrack', 'passthrough-not-captured', 'proxy-uid-not-captured', 'proxy-gid-not-captured', 'probes-echoed', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: "strict rp_filter on the server pod's eth0",
      apply: sysctl('server', 'net.ipv4.conf.eth0.rp_filter', 1),
      caughtBy: { check: 'tproxy-sysctls', detail: /server: not as set: net\.ipv4\.conf\.eth0\.rp_filter/ },
    },
    {
      name: "mangle ISTIO_INBOUND's :15020 RETURN deleted in the server",
      apply: deleteIptablesRule('server', 'mangle', 'ISTIO_INBOUND', ids.rules.excludedInbound(15020)),
      caughtBy: { check: 'excluded-ports-not-captured', detail: /:15020 mangle ISTIO_INBOUND "-p tcp -m tcp --dport 15020 -j RETURN" is missing, server sidecar logged 1/ },
    },
    {
      name: "ISTIO_OUTPUT's proxy-UID RETURN deleted (the GID RETURN stays)",
      apply: deleteIptablesRule('client', 'nat', 'ISTIO_OUTPUT', ids.rules.proxyUidReturn),
      caughtBy: { check: 'proxy-uid-not-captured', detail: /client sidecar logged 1; ISTIO_OUTPUT "-m owner --uid-owner 1337 -j RETURN" is missing/ },
    },
    {
      name: "ISTIO_OUTPUT's proxy-GID RETURN deleted (the UID RETURN stays)",
      apply: deleteIptablesRule('client', 'nat', 'ISTIO_OUTPUT', ids.rules.proxyGidReturn),
      caughtBy: { check: 'proxy-gid-not-captured', detail: /client sidecar logged 1; ISTIO_OUTPUT "-m owner --gid-owner 1337 -j RETURN" is missing/ },
    },
    {
      name: "mangle ISTIO_INBOUND's 127.0.0.6 passthrough RETURN deleted in the server",
      apply: deleteIptablesRule('server', 'mangle', 'ISTIO_INBOUND', tids.rules.passthroughInbound),
      caughtBy: { check: 'passthrough-not-captured', detail: /127\.0\.0\.6 RETURN in mangle ISTIO_INBOUND "-s 127\.0\.0\.6\/32 -i lo -p tcp -j RETURN" is missing/ },
      // The sidecar's hand-off to its app carries the proxy-owner mark 0x53a, so the lo RETURN after
      // it does not let it through either: it is TPROXYed back to :15006 and loops until the sidecar
      // runs out of connections. Every inbound connection then hangs.
      alsoFailing: ['plan-completed', 'outbound-captured', 'inbound-captured', 'proxy-uid-not-captured', 'proxy-gid-not-captured', 'no-silent-bypass', 'probes-echoed', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: "mangle ISTIO_INBOUND's lo RETURN deleted in the client",
      apply: deleteIptablesRule('client', 'mangle', 'ISTIO_INBOUND', tids.rules.loopbackInbound),
      caughtBy: { check: 'loopback-not-captured', detail: /mangle lo RETURN: ISTIO_INBOUND "-i lo -p tcp -m mark ! --mark 0x53a -j RETURN" is missing/ },
    },
  ],
};
