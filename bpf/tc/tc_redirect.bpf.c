// Istio ambient's eBPF redirection (Istio 1.20, cni/pkg/ebpf), reproduced for the lab: tc clsact
// programs in direct-action mode that steer a captured pod's packets to its node proxy and back,
// without any iptables rule in the pod.
//
//   app_outbound          pod host veth, ingress  (packets the pod sends)   -> node proxy veth
//   app_inbound           pod host veth, egress   (packets bound for a pod) -> node proxy veth
//   ztunnel_host_ingress  proxy host veth, ingress (packets the proxy sends) -> the pod's veth
//   ztunnel_tproxy        proxy eth0, ingress (in the proxy netns): bpf_sk_assign to the listener
//   ztunnel_ingress       proxy eth0, ingress: the fallback, marks for iptables TPROXY instead
//
// One object serves every node of the lab: the maps are keyed by pod address (unique across nodes)
// and by node index, which stands in for "one istio-cni per node, each with its own maps".
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lab_counters.h"
#include "lab_trace.h"
#include "tc_redirect.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CAPTURED_PODS);
	__type(key, __u32); // pod IPv4 address, network order
	__type(value, struct tc_pod);
} tc_pods SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_NODES);
	__type(key, __u32); // node index
	__type(value, struct tc_proxy);
} tc_proxies SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tc_config);
} tc_config SEC(".maps");

LAB_COUNTER_MAP(tc_counters, C_COUNT);

#define count(counter) lab_count(&tc_counters, counter)

static __always_inline struct tc_config *config(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&tc_config, &zero);
}

static __always_inline const char *run_tag(void)
{
	struct tc_config *cfg = config();
	return cfg ? cfg->tag : NULL;
}

// The proxy-side programs need the ports and marks; until the lab has written them they let packets
// pass untouched (and count it), rather than steer with zeros.
static __always_inline struct tc_config *ready_config(void)
{
	struct tc_config *cfg = config();
	if (!cfg || !cfg->outbound_port || !cfg->inbound_port || !cfg->proxy_local_mark) {
		count(C_NOT_CONFIGURED);
		return NULL;
	}
	return cfg;
}

struct packet {
	struct ethhdr *eth;
	struct iphdr *ip;
	struct tcphdr *tcp; // NULL for other protocols or a short packet
};

// IPv4 TCP or UDP only (Istio 1.20 left IPv6 and other protocols alone too); `tcp` is set for TCP.
static __always_inline int parse(struct __sk_buff *skb, struct packet *pkt)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	pkt->eth = data;
	pkt->tcp = NULL;
	if ((void *)(pkt->eth + 1) > data_end || pkt->eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	pkt->ip = (void *)(pkt->eth + 1);
	if ((void *)(pkt->ip + 1) > data_end)
		return 0;
	if (pkt->ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)pkt->ip + pkt->ip->ihl * 4;
		if ((void *)(tcp + 1) <= data_end)
			pkt->tcp = tcp;
		return 1;
	}
	return pkt->ip->protocol == IPPROTO_UDP;
}

// Trace lines are written for connection openings only (a SYN without ACK): one line per
// connection and direction, not one per packet, so an iperf3 run does not flood trace_pipe.
static __always_inline int opens_connection(const struct packet *pkt)
{
	return pkt->tcp && pkt->tcp->syn && !pkt->tcp->ack;
}

static __always_inline void trace_redirect(const char *what, const struct packet *pkt, __u32 ifindex)
{
	if (!opens_connection(pkt))
		return;
	__u32 saddr = pkt->ip->saddr, daddr = pkt->ip->daddr;
	__u16 dport = bpf_ntohs(pkt->tcp->dest);
	const char *tag = run_tag();
	LAB_TRACE(tag, "tc %s %pI4->%pI4:%u if=%u", what, &saddr, &daddr, dport, ifindex);
}

// clang has no BPF memcmp: compare the six bytes one by one.
static __always_inline int same_mac(const __u8 *a, const __u8 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] && a[5] == b[5];
}

static __always_inline struct tc_proxy *proxy_of(const struct tc_pod *pod)
{
	__u32 node = pod->node;
	return bpf_map_lookup_elem(&tc_proxies, &node);
}

// Not a TC_ACT_* value: "the packet belongs to a captured pod whose node proxy is known".
#define REDIRECT_IT -1

// The node proxy serving the captured pod at `pod_addr`. TC_ACT_OK when the address is no captured
// pod (not, or no longer, captured); TC_ACT_SHOT when the pod has no proxy, so that captured traffic
// is never sent around the proxy silently.
static __always_inline int proxy_for_captured(__u32 pod_addr, struct tc_proxy **proxy)
{
	struct tc_pod *pod = bpf_map_lookup_elem(&tc_pods, &pod_addr);
	if (!pod)
		return TC_ACT_OK;
	*proxy = proxy_of(pod);
	if (!*proxy || (*proxy)->host_ifindex == 0) {
		count(C_NO_PROXY);
		return TC_ACT_SHOT;
	}
	return REDIRECT_IT;
}

// Hands the packet to the node proxy's veth: its MAC as destination, the direction in cb[4] for
// the proxy-side program, counted and (for a new connection) traced.
static __always_inline int redirect_to_proxy(struct __sk_buff *skb, struct packet *pkt, struct tc_proxy *proxy, __u32 direction,
					     __u32 counter, const char *what)
{
	__builtin_memcpy(pkt->eth->h_dest, proxy->mac, ETH_ALEN);
	skb->cb[4] = direction;
	count(counter);
	trace_redirect(what, pkt, proxy->host_ifindex);
	return bpf_redirect(proxy->host_ifindex, 0);
}

// Pod host veth, ingress: everything a captured pod sends goes to its node proxy, except replies to
// the node itself (kubelet-style probes), which Istio leaves alone.
SEC("tc")
int app_outbound(struct __sk_buff *skb)
{
	struct packet pkt;
	// TCP only: the node proxy serves TCP (Istio 1.20 also sent UDP, for ztunnel's DNS proxy; a lab
	// proxy without one would swallow it).
	if (!parse(skb, &pkt) || !pkt.tcp)
		return TC_ACT_OK;
	struct tc_proxy *proxy;
	int verdict = proxy_for_captured(pkt.ip->saddr, &proxy);
	if (verdict != REDIRECT_IT)
		return verdict;
	if (pkt.ip->daddr == proxy->node_ip) {
		count(C_NODE_BYPASS);
		return TC_ACT_OK;
	}
	return redirect_to_proxy(skb, &pkt, proxy, OUTBOUND_CB, C_OUTBOUND_REDIRECT, "outbound");
}

// Pod host veth, egress: everything bound for a captured pod goes to its node proxy first, except
// what the proxy itself sends (ztunnel_host_ingress redirected it here) and the node's own probes.
SEC("tc")
int app_inbound(struct __sk_buff *skb)
{
	struct packet pkt;
	if (!parse(skb, &pkt) || !pkt.tcp)
		return TC_ACT_OK;
	struct tc_proxy *proxy;
	int verdict = proxy_for_captured(pkt.ip->daddr, &proxy);
	if (verdict != REDIRECT_IT)
		return verdict;
	// Istio marks the proxy's packets with BYPASS_CB; the ingress device says the same without
	// trusting a cb value that an unrelated path may have left behind.
	if (skb->cb[4] == BYPASS_CB && skb->ingress_ifindex == proxy->host_ifindex) {
		count(C_INBOUND_SKIP_FROM_PROXY);
		return TC_ACT_OK;
	}
	if (pkt.ip->saddr == proxy->node_ip) {
		count(C_NODE_BYPASS);
		return TC_ACT_OK;
	}
	return redirect_to_proxy(skb, &pkt, proxy, INBOUND_CB, C_INBOUND_REDIRECT, "inbound");
}

// Proxy host veth, ingress: what the proxy sends to a captured pod of its own node goes straight to
// that pod's veth (which app_inbound then lets through). Anything else is routed by the node.
SEC("tc")
int ztunnel_host_ingress(struct __sk_buff *skb)
{
	struct packet pkt;
	if (!parse(skb, &pkt))
		return TC_ACT_OK;
	__u32 daddr = pkt.ip->daddr;
	struct tc_pod *pod = bpf_map_lookup_elem(&tc_pods, &daddr);
	struct tc_proxy *proxy = pod ? proxy_of(pod) : NULL;
	// The pod must belong to this proxy's node: its ifindex means nothing in another node's netns.
	// This veth belongs to the proxy whose eth0 MAC is the packet's source.
	if (!proxy || proxy->host_ifindex != skb->ifindex || !same_mac(proxy->mac, pkt.eth->h_source)) {
		count(C_PROXY_PASS);
		return TC_ACT_OK;
	}
	__builtin_memcpy(pkt.eth->h_dest, pod->mac, ETH_ALEN);
	skb->cb[4] = BYPASS_CB;
	count(C_PROXY_RETURN);
	trace_redirect("proxy-to-pod", &pkt, pod->host_ifindex);
	return bpf_redirect(pod->host_ifindex, 0);
}

static __always_inline struct bpf_sock_tuple *tuple_of(struct __sk_buff *skb, const struct packet *pkt)
{
	struct bpf_sock_tuple *tuple = (struct bpf_sock_tuple *)&pkt->ip->saddr;
	if ((void *)tuple + sizeof(tuple->ipv4) > (void *)(long)skb->data_end)
		return NULL;
	return tuple;
}

// Proxy eth0, ingress, inside the proxy netns: a captured packet belongs either to a connection the
// proxy already holds (look the 4-tuple up) or is new, and then goes to the listener for its
// direction (15001 outbound, 15006 inbound, 15008 when it is addressed to HBONE). bpf_sk_assign picks
// the socket; the mark makes the policy route deliver the foreign destination locally.
SEC("tc")
int ztunnel_tproxy(struct __sk_buff *skb)
{
	struct packet pkt;
	__u32 direction = skb->cb[4];
	if (direction != OUTBOUND_CB && direction != INBOUND_CB)
		return TC_ACT_OK;
	if (!parse(skb, &pkt) || !pkt.tcp)
		return TC_ACT_OK;
	struct tc_config *cfg = ready_config();
	if (!cfg)
		return TC_ACT_OK;
	struct bpf_sock_tuple *tuple = tuple_of(skb, &pkt);
	if (!tuple)
		return TC_ACT_SHOT;
	__u32 counter = C_ASSIGN_ESTABLISHED;
	struct bpf_sock *sk = bpf_skc_lookup_tcp(skb, tuple, sizeof(tuple->ipv4), BPF_F_CURRENT_NETNS, 0);
	if (sk && sk->state == BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		sk = NULL;
	}
	__u16 listener_port = 0;
	if (!sk && !opens_connection(&pkt)) {
		// Only a SYN may go to a listener: a listener answers any other segment with a RST, which
		// would kill a live connection whose socket lookup missed once. Dropping lets TCP retransmit.
		// (The proxy netns turns SYN cookies off, so no handshake ever completes at a listener.)
		count(C_NO_SOCKET);
		return TC_ACT_SHOT;
	}
	if (!sk) {
		struct bpf_sock_tuple listener = {};
		listener_port = direction == OUTBOUND_CB ? cfg->outbound_port
				: cfg->hbone_port && tuple->ipv4.dport == bpf_htons(cfg->hbone_port) ? cfg->hbone_port
				: cfg->inbound_port;
		listener.ipv4.dport = bpf_htons(listener_port);
		sk = bpf_skc_lookup_tcp(skb, &listener, sizeof(listener.ipv4), BPF_F_CURRENT_NETNS, 0);
		if (sk && sk->state != BPF_TCP_LISTEN) {
			bpf_sk_release(sk);
			sk = NULL;
		}
		counter = C_ASSIGN_LISTENER;
	}
	if (!sk) {
		count(C_NO_LISTENER);
		return TC_ACT_OK;
	}
	long err = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	if (err) {
		count(C_ASSIGN_FAILED);
		return TC_ACT_SHOT;
	}
	skb->mark = cfg->proxy_local_mark;
	count(counter);
	if (counter == C_ASSIGN_LISTENER && opens_connection(&pkt)) {
		__u32 saddr = pkt.ip->saddr, daddr = pkt.ip->daddr;
		__u16 dport = bpf_ntohs(pkt.tcp->dest);
		const char *tag = run_tag();
		LAB_TRACE(tag, "tc assign %pI4->%pI4:%u listener=%u", &saddr, &daddr, dport, listener_port);
	}
	return TC_ACT_OK;
}

// The fallback for kernels without bpf_sk_assign (before 5.7): mark new captured connections for the
// iptables TPROXY rules in the proxy netns. Packets of connections the proxy already holds are left
// unmarked: the `socket --transparent` rule finds their socket.
SEC("tc")
int ztunnel_ingress(struct __sk_buff *skb)
{
	struct packet pkt;
	__u32 direction = skb->cb[4];
	if (direction != OUTBOUND_CB && direction != INBOUND_CB)
		return TC_ACT_OK;
	if (!parse(skb, &pkt) || !pkt.tcp)
		return TC_ACT_OK;
	struct tc_config *cfg = ready_config();
	if (!cfg)
		return TC_ACT_OK;
	struct bpf_sock_tuple *tuple = tuple_of(skb, &pkt);
	if (!tuple)
		return TC_ACT_SHOT;
	struct bpf_sock *sk = bpf_skc_lookup_tcp(skb, tuple, sizeof(tuple->ipv4), BPF_F_CURRENT_NETNS, 0);
	if (sk) {
		int established = sk->state != BPF_TCP_LISTEN;
		bpf_sk_release(sk);
		if (established)
			return TC_ACT_OK;
	}
	skb->mark = direction == OUTBOUND_CB ? cfg->tproxy_outbound_mark : cfg->tproxy_inbound_mark;
	count(direction == OUTBOUND_CB ? C_MARK_OUTBOUND : C_MARK_INBOUND);
	if (opens_connection(&pkt)) {
		__u32 saddr = pkt.ip->saddr, daddr = pkt.ip->daddr;
		__u16 dport = bpf_ntohs(pkt.tcp->dest);
		const char *tag = run_tag();
		LAB_TRACE(tag, "tc mark %pI4->%pI4:%u mark=%u", &saddr, &daddr, dport, skb->mark);
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
