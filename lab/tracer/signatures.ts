// What each interception backend's path must, and must not, show in the kernel: data for
// judgeKernelPath. Each item names what it counts (a signal from points.ts, or a kernel function), the
// namespaces it counts in (by role), how often (per connection, per message), and why.
//
// Kernel functions are listed beside the signals that stand for them. Where fentry is refused (this
// lab's own 6.18 VM refuses it; see docs/kernel-paths.md) or a function is inlined, the judge reports
// the function as unavailable and the signal still decides.
import type { NetnsRole } from './evidence.ts';
import type { EvidenceName } from './points.ts';
import type { KernelFunction } from './trace.ts';

export type Placement = 'same-node' | 'cross-node';

/** Something the path implies: at least one of `anyOf` (the available ones) reaches the minimum in `in`. */
export interface PathRequirement {
  anyOf: readonly EvidenceName[];
  in: readonly NetnsRole[];
  /** The minimum: one per connection or per message of the traced traffic. */
  per: 'connection' | 'message';
  /** Only where the path has this step (a node proxy of the server's own exists only across nodes). */
  placements?: readonly Placement[];
  why: string;
}

/** Something that would mean another path was taken: none of the available `anyOf` may count in `in`. */
export interface PathProhibition {
  anyOf: readonly EvidenceName[];
  in: readonly NetnsRole[];
  why: string;
}

export interface KernelPathExpectation {
  backend: string;
  mustHit: readonly PathRequirement[];
  mustNotHit: readonly PathProhibition[];
  /** Functions whose namespace argument the kernel's BTF does not type (a BPF helper's u64 arguments). */
  functionArguments?: Readonly<Record<string, NonNullable<KernelFunction['argument']>>>;
}

const PODS: readonly NetnsRole[] = ['client', 'server'];
const EVERYWHERE: readonly NetnsRole[] = ['client', 'server', 'client-node', 'server-node', 'client-proxy', 'server-proxy'];

const noSockmap: PathProhibition = {
  anyOf: ['sig:sockmap-send', 'fn:tcp_bpf_sendmsg'],
  in: PODS,
  why: 'no socket of the pods is in a sockmap (that is the sockmap backend)',
};
const noTcRedirect: PathProhibition = {
  anyOf: ['sig:tc-redirected-tx', 'fn:skb_do_redirect'],
  in: EVERYWHERE,
  why: 'no tc program redirects the pods\' packets (that is the tc backend)',
};
const noTransparentProxy: PathProhibition = {
  anyOf: ['sig:transparent-accept'],
  in: EVERYWHERE,
  why: 'no transparent listener accepts the connection (that is TPROXY or sk_assign)',
};
/**
 * The rule flavours of the sidecar backends run different netfilter code for the same rules: the xt
 * targets (iptables; through nft_compat with iptables-nft) or nftables' own expressions (nft -f).
 * Both end in the same NAT and TPROXY cores (nf_nat_redirect_ipv4, nf_tproxy_get_sock_v4), so only
 * these functions tell the flavours apart; the signals cannot.
 */
const FLAVOUR_FUNCTIONS = {
  iptables: { redirect: 'fn:redirect_tg4', tproxy: 'fn:tproxy_tg4' },
  nftables: { redirect: 'fn:nft_redir_eval', tproxy: 'fn:nft_tproxy_eval' },
} as const;
type RulesFlavour = keyof typeof FLAVOUR_FUNCTIONS;
const otherFlavour = (flavour: RulesFlavour): RulesFlavour => (flavour === 'iptables' ? 'nftables' : 'iptables');

const noNat: PathProhibition = {
  anyOf: ['sig:nat-rewritten-tx', 'fn:nf_nat_manip_pkt', 'fn:nf_nat_redirect_ipv4'],
  in: EVERYWHERE,
  why: 'no packet is NAT-rewritten: the path has no REDIRECT',
};

/** Istio's sidecar REDIRECT mode (the redirect backends): NAT both ways, once in each pod. */
function redirectExpectation(backend: string, flavour: RulesFlavour): KernelPathExpectation {
  const own = FLAVOUR_FUNCTIONS[flavour];
  const other = FLAVOUR_FUNCTIONS[otherFlavour(flavour)];
  return {
    backend,
    mustHit: [
      { anyOf: ['sig:nat-rewritten-syn'], in: ['client'], per: 'connection', why: "outbound REDIRECT: the app's SYN leaves for 127.0.0.1:15001 while its socket dials the server" },
      { anyOf: ['fn:nf_nat_redirect_ipv4'], in: ['client'], per: 'connection', why: 'outbound REDIRECT picks the loopback destination (nf_nat_redirect_ipv4) once per connection' },
      { anyOf: [own.redirect], in: ['client'], per: 'connection', why: `the outbound REDIRECT is a rule of the ${flavour} flavour (${own.redirect.slice(3)})` },
      { anyOf: ['sig:nat-rewritten-tx'], in: ['server'], per: 'connection', why: "inbound REDIRECT: the sidecar's :15006 socket answers as :8080 (the reverse NAT)" },
      { anyOf: ['fn:nf_nat_redirect_ipv4'], in: ['server'], per: 'connection', why: 'inbound REDIRECT to 15006 (nf_nat_redirect_ipv4) once per connection' },
      { anyOf: [own.redirect], in: ['server'], per: 'connection', why: `the inbound REDIRECT is a rule of the ${flavour} flavour (${own.redirect.slice(3)})` },
      { anyOf: ['fn:nf_nat_setup_info'], in: PODS, per: 'connection', why: 'NAT is set up for each redirected connection' },
      { anyOf: ['fn:nf_nat_manip_pkt'], in: PODS, per: 'connection', why: 'NAT rewrites the redirected packets' },
    ],
    mustNotHit: [
      noTransparentProxy,
      noSockmap,
      noTcRedirect,
      { anyOf: [other.redirect], in: PODS, why: `the pods' rules are ${flavour} rules: the other flavour's REDIRECT (${other.redirect.slice(3)}) never runs` },
    ],
  };
}

/** Istio's sidecar TPROXY mode (the tproxy backends): outbound REDIRECT, inbound TPROXY without NAT. */
function tproxyExpectation(backend: string, flavour: RulesFlavour): KernelPathExpectation {
  const own = FLAVOUR_FUNCTIONS[flavour];
  const other = FLAVOUR_FUNCTIONS[otherFlavour(flavour)];
  return {
    backend,
    mustHit: [
      { anyOf: ['sig:nat-rewritten-syn'], in: ['client'], per: 'connection', why: 'outbound stays REDIRECT in Istio TPROXY mode: the SYN leaves for 127.0.0.1:15001' },
      { anyOf: [own.redirect], in: ['client'], per: 'connection', why: `the outbound REDIRECT is a rule of the ${flavour} flavour (${own.redirect.slice(3)})` },
      { anyOf: ['sig:transparent-accept'], in: ['server'], per: 'connection', why: "inbound TPROXY hands the connection to the sidecar's transparent :15006 listener, which owns the original 4-tuple" },
      { anyOf: [own.tproxy], in: ['server'], per: 'connection', why: `the TPROXY target of the ${flavour} flavour (${own.tproxy.slice(3)}) ran` },
      { anyOf: ['fn:nf_tproxy_get_sock_v4'], in: ['server'], per: 'connection', why: 'TPROXY looked up the transparent listener' },
    ],
    mustNotHit: [
      {
        anyOf: ['sig:nat-rewritten-tx', 'fn:nf_nat_manip_pkt', 'fn:nf_nat_redirect_ipv4'],
        in: ['server'],
        why: 'inbound is not NATed: no packet of the server pod is rewritten (a NAT null binding, nf_nat_setup_info, is not a rewrite)',
      },
      noSockmap,
      noTcRedirect,
      { anyOf: [other.redirect, other.tproxy], in: PODS, why: `the pods' rules are ${flavour} rules: the other flavour's targets never run` },
    ],
  };
}

export const KERNEL_PATH_EXPECTATIONS: Readonly<Record<string, KernelPathExpectation>> = {
  none: {
    backend: 'none',
    mustHit: [
      { anyOf: ['sig:payload-tx'], in: ['client'], per: 'message', why: "the app's request leaves the client pod as TCP payload (tcp_transmit_skb, then the device)" },
      { anyOf: ['sig:payload-tx'], in: ['server'], per: 'message', why: "the app's reply leaves the server pod as TCP payload" },
    ],
    mustNotHit: [noNat, noTransparentProxy, noSockmap, noTcRedirect],
  },
  redirect: redirectExpectation('redirect', 'iptables'),
  'redirect-nft': redirectExpectation('redirect-nft', 'nftables'),
  tproxy: tproxyExpectation('tproxy', 'iptables'),
  'tproxy-nft': tproxyExpectation('tproxy-nft', 'nftables'),
  sockmap: {
    backend: 'sockmap',
    mustHit: [
      { anyOf: ['sig:sockmap-send'], in: ['client'], per: 'message', why: "the app's request is sent on a sockmap socket, where the sk_msg verdict runs (tcp_bpf_sendmsg)" },
      { anyOf: ['fn:tcp_bpf_sendmsg'], in: ['client'], per: 'message', why: 'tcp_bpf_sendmsg runs the sk_msg verdict' },
      { anyOf: ['fn:tcp_bpf_send_verdict', 'fn:tcp_bpf_sendmsg_redir'], in: ['client'], per: 'message', why: 'the verdict redirected the message (tcp_bpf_send_verdict / tcp_bpf_sendmsg_redir)' },
      { anyOf: ['fn:bpf_tcp_ingress'], in: ['client'], per: 'message', why: "the message was queued on the peer socket's ingress (bpf_tcp_ingress)" },
      { anyOf: ['sig:sockmap-recv'], in: ['client'], per: 'message', why: 'the client sidecar reads the request from its psock queue (tcp_bpf_recvmsg)' },
      { anyOf: ['fn:tcp_bpf_recvmsg'], in: ['client'], per: 'message', why: 'tcp_bpf_recvmsg reads redirected messages' },
    ],
    mustNotHit: [
      { anyOf: ['sig:sockmap-payload-tx'], in: EVERYWHERE, why: "a redirected leg's bytes never reach tcp_transmit_skb or a device" },
      { anyOf: ['sig:sockmap-tcp-send'], in: EVERYWHERE, why: "no sockmap socket's message falls back to the TCP send path (a missed redirect)" },
      { anyOf: ['sig:sockmap-skb-copy'], in: EVERYWHERE, why: 'no sockmap socket reads bytes that came through the TCP receive path' },
      noNat,
      noTcRedirect,
    ],
  },
  tc: {
    backend: 'tc',
    mustHit: [
      { anyOf: ['sig:tc-redirected-syn'], in: ['client-node'], per: 'connection', why: "app_outbound redirects the client pod's SYN to the node proxy (skb_do_redirect), not routing" },
      { anyOf: ['fn:skb_do_redirect'], in: ['client-node'], per: 'connection', why: 'skb_do_redirect moves the packet to the proxy veth' },
      { anyOf: ['sig:policy-route'], in: ['client-proxy'], per: 'connection', why: "the proxy namespace's policy route (table 100, local default) delivers the foreign destination locally" },
      { anyOf: ['sig:transparent-accept'], in: ['client-proxy'], per: 'connection', why: "the node proxy's transparent listener accepts the connection with its original 4-tuple (bpf_sk_assign)" },
      { anyOf: ['fn:bpf_sk_assign'], in: ['client-proxy'], per: 'connection', why: 'ztunnel_tproxy assigns the SYN to the listener' },
      { anyOf: ['sig:transparent-accept'], in: ['server-proxy'], per: 'connection', placements: ['cross-node'], why: "inbound: the server node's proxy accepts the connection transparently" },
      { anyOf: ['sig:tc-redirected-syn'], in: ['server-node'], per: 'connection', why: "the proxy's connection to the server pod is redirected onto the pod's veth (ztunnel_host_ingress)" },
    ],
    mustNotHit: [noNat, noSockmap],
    // A BPF helper's BTF prototype has u64 arguments; the first is the skb.
    functionArguments: { bpf_sk_assign: { index: 0, kind: 'skb' } },
  },
  // In-pod redirection (Istio ambient, REDIRECT mode, iptables rules): the node proxy's sockets live
  // inside the pods' namespaces, so every step is counted in the client and server pods.
  ambient: {
    backend: 'ambient',
    mustHit: [
      { anyOf: ['sig:nat-rewritten-syn'], in: ['client'], per: 'connection', why: "in-pod outbound REDIRECT: the app's SYN leaves for the node proxy's :15001 listener in the client pod while its socket dials the server" },
      { anyOf: ['fn:nf_nat_redirect_ipv4'], in: ['client'], per: 'connection', why: 'outbound REDIRECT picks the local destination (nf_nat_redirect_ipv4) once per connection' },
      { anyOf: ['fn:redirect_tg4'], in: ['client'], per: 'connection', why: 'the in-pod REDIRECT is an iptables rule (redirect_tg4)' },
      { anyOf: ['sig:nat-rewritten-tx'], in: ['server'], per: 'connection', why: "in-pod inbound REDIRECT: the node proxy's :15006 socket in the server pod answers as :8080 (the reverse NAT)" },
      { anyOf: ['fn:nf_nat_redirect_ipv4'], in: ['server'], per: 'connection', why: 'inbound REDIRECT to 15006 (nf_nat_redirect_ipv4) once per connection' },
      {
        anyOf: ['sig:transparent-accept'],
        in: ['server'],
        per: 'connection',
        why: "the node proxy dials the app from the client's own address: its IP_TRANSPARENT socket in the server pod reaches ESTABLISHED",
      },
      {
        anyOf: ['sig:policy-route'],
        in: ['server'],
        per: 'connection',
        why: "the app's reply to the client's address is routed by table 100 (connmark 0x111 restored as the mark) back to the node proxy, not out of eth0",
      },
    ],
    mustNotHit: [noSockmap, noTcRedirect, { anyOf: ['fn:nft_redir_eval'], in: PODS, why: "the in-pod rules are iptables rules: nftables' own REDIRECT (nft_redir_eval) never runs" }],
  },
};

/** The kernel functions an expectation names, with argument hints, for startKernelPathTrace. */
export function expectationFunctions(expectation: KernelPathExpectation): KernelFunction[] {
  const names = [...expectation.mustHit, ...expectation.mustNotHit].flatMap((item) => item.anyOf.filter((n) => n.startsWith('fn:')).map((n) => n.slice(3)));
  return [...new Set(names)].map((name) => {
    const argument = expectation.functionArguments?.[name];
    return argument ? { name, argument } : { name };
  });
}
