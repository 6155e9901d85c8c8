// REDIRECT mode's nemesis, iptables flavour: rules deleted, rules inserted ahead of Istio's, a
// sidecar killed, each made with iptables in the pods' own namespaces after install.
import { sidecarRuleIds } from '../../lab/istio/rule-ids.ts';
import type { Nemesis } from './break.ts';
import { deleteIptablesRule, iptables, stopSidecar } from './support/sidecar.ts';

const ids = sidecarRuleIds('iptables');

export const nemesis: Nemesis = {
  backend: 'redirect',
  breaks: [
    {
      name: "ISTIO_REDIRECT's REDIRECT to 15001 deleted in the client",
      apply: deleteIptablesRule('client', 'nat', 'ISTIO_REDIRECT', '-p tcp -j REDIRECT --to-ports 15001'),
      caughtBy: { check: 'outbound-captured', detail: /ISTIO_REDIRECT has no REDIRECT rule/ },
      alsoFailing: ['no-silent-bypass', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: "a RETURN at the head of the client's nat OUTPUT",
      apply: iptables('client', 'nat', '-I', 'OUTPUT', '1', '-p', 'tcp', '-j', 'RETURN'),
      caughtBy: { check: 'outbound-captured', detail: /ISTIO_REDIRECT REDIRECT matched 0 packets/ },
      alsoFailing: ['proxy-uid-not-captured', 'proxy-gid-not-captured', 'loopback-not-captured', 'no-silent-bypass', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: "an ACCEPT at the head of the server's nat PREROUTING",
      apply: iptables('server', 'nat', '-I', 'PREROUTING', '1', '-j', 'ACCEPT'),
      caughtBy: { check: 'inbound-captured', detail: /ISTIO_IN_REDIRECT REDIRECT matched 0 packets; app saw peers 198\.18\./ },
      alsoFailing: ['inbound-nat-in-conntrack', 'excluded-ports-not-captured', 'no-silent-bypass', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
    {
      name: "a RETURN for :8083 at the head of the server's nat PREROUTING",
      apply: iptables('server', 'nat', '-I', 'PREROUTING', '1', '-p', 'tcp', '--dport', '8083', '-j', 'RETURN'),
      caughtBy: { check: 'no-silent-bypass', detail: /accepted 1 connection\(s\) on :8083 from 198\.18\.\S+, not from its sidecar/ },
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
      name: "ISTIO_OUTPUT's loopback RETURN (lo, any UID but the proxy's) deleted",
      apply: deleteIptablesRule('client', 'nat', 'ISTIO_OUTPUT', ids.rules.loopbackNonProxyReturn),
      caughtBy: { check: 'loopback-not-captured', detail: /"-o lo -m owner ! --uid-owner 1337 -j RETURN" is missing/ },
    },
    {
      name: "a neighbour's REDIRECT of 127.0.0.1 to 15001 at the head of the client's nat OUTPUT",
      apply: iptables('client', 'nat', '-I', 'OUTPUT', '1', '-d', '127.0.0.1/32', '-p', 'tcp', '-m', 'owner', '!', '--uid-owner', '1337', '-j', 'REDIRECT', '--to-ports', '15001'),
      caughtBy: { check: 'loopback-not-captured', detail: /client sidecar logged 1; nat loopback RETURN rules: .* matched 0 packets, .* matched 0 packets/ },
    },
    {
      name: "ISTIO_INBOUND's :15021 RETURN deleted in the server",
      apply: deleteIptablesRule('server', 'nat', 'ISTIO_INBOUND', ids.rules.excludedInbound(15021)),
      caughtBy: { check: 'excluded-ports-not-captured', detail: /:15021 nat ISTIO_INBOUND "-p tcp -m tcp --dport 15021 -j RETURN" is missing, server sidecar logged 1, app saw 127\.0\.0\.6/ },
    },
    {
      name: 'the server sidecar killed',
      apply: stopSidecar('server'),
      caughtBy: { check: 'sidecars-listening', detail: /server: nothing listens on :15006/ },
      alsoFailing: ['plan-completed', 'inbound-captured', 'inbound-nat-in-conntrack', 'proxy-uid-not-captured', 'proxy-gid-not-captured', 'probes-echoed', 'bytes-intact', 'iperf3-through-path', 'kernel-path'],
    },
  ],
};
