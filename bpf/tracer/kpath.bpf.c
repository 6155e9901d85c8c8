// The kernel-path tracer: counts where a lab run's packets and socket messages go in the kernel, per
// network namespace, and keeps an ordered trail of the first events for `lab path`.
//
// Two kinds of probe points:
//   tracepoints  (tp_btf, the kernel's stable instrumentation) on the skb, route and socket events
//                that tell the interception paths apart; each event is classified by flags that the
//                kernel state shows (NAT-rewritten, tc-redirected, sockmap socket, transparent
//                socket, policy-routing table), see kpath.h.
//   functions    (fentry: KPATH_MAX_FUNCTIONS program slots kpath_function_<n>, each pointed at one
//                kernel function by the loader) on kernels that allow it.
//
// The namespace of an event is the namespace of its packet's device (skb->dev) or its socket
// (sk->sk_net), never the current task's: softirq processing runs on whatever task is interrupted.
// Only namespaces the loader lists in kpath_netns are counted.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "kpath_kernel.h"
#include "kpath.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define ETH_P_IP 0x0800
#define IPPROTO_TCP 6
/* include/net/tcp_states.h */
#define TCP_ESTABLISHED 1
#define TCP_TIME_WAIT 6
#define TCP_CLOSE 7
#define TCP_NEW_SYN_RECV 12
/* include/net/sock.h: the sk_user_data flag bit that marks a psock (sockmap/sockhash member) */
#define SK_USER_DATA_PSOCK 4UL
/* include/net/inet_sock.h: bit of inet_sk(sk)->inet_flags (Linux 6.5+) */
#define INET_FLAGS_TRANSPARENT 15
/* include/net/ip_fib.h: the tables every namespace has */
#define RT_TABLE_DEFAULT 253
#define RT_TABLE_MAIN 254
#define RT_TABLE_LOCAL 255
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32); /* namespace inode number */
	__type(value, __u32);
} kpath_netns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct kpath_key);
	__type(value, __u64);
} kpath_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, KPATH_RINGBUF_BYTES);
} kpath_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kpath_state);
} kpath_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kpath_control);
} kpath_control SEC(".maps");

/* Set by the loader before load: per function slot, which argument leads to the namespace, and how. */
const volatile __u32 kp_fn_arg[KPATH_MAX_FUNCTIONS] = {};
const volatile __u32 kp_fn_kind[KPATH_MAX_FUNCTIONS] = {};

struct kp_iphdr {
	__u8 ver_ihl;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__be32 saddr;
	__be32 daddr;
};

struct kp_tcphdr {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__u8 doff_res;
	__u8 flags;
	__be16 window;
};

static __always_inline __u32 net_inum(struct net *net)
{
	return net ? BPF_CORE_READ(net, ns.inum) : 0;
}

static __always_inline __u32 device_netns(struct net_device *dev)
{
	return dev ? net_inum(BPF_CORE_READ(dev, nd_net.net)) : 0;
}

static __always_inline __u32 sock_netns(struct sock *sk)
{
	return sk ? net_inum(BPF_CORE_READ(sk, __sk_common.skc_net.net)) : 0;
}

static __always_inline int traced(__u32 netns)
{
	return netns && bpf_map_lookup_elem(&kpath_netns, &netns);
}

static __always_inline void count(const struct kpath_event *ev)
{
	struct kpath_key key = { .netns = ev->netns, .point = ev->point, .flags = ev->flags };
	__u64 one = 1, *value = bpf_map_lookup_elem(&kpath_counts, &key);

	if (value) {
		__sync_fetch_and_add(value, 1);
		return;
	}
	if (bpf_map_update_elem(&kpath_counts, &key, &one, BPF_NOEXIST) != 0) {
		/* Another CPU inserted the key first. */
		value = bpf_map_lookup_elem(&kpath_counts, &key);
		if (value)
			__sync_fetch_and_add(value, 1);
	}
}

static __always_inline void record(struct kpath_event *ev)
{
	__u32 zero = 0;
	struct kpath_control *control = bpf_map_lookup_elem(&kpath_control, &zero);
	struct kpath_state *state = bpf_map_lookup_elem(&kpath_state, &zero);

	if (!control || control->stopped)
		return;
	count(ev);
	/* The bound may be passed by one event per CPU racing here: the ring buffer's size still holds. */
	if (!state || state->trail_emitted >= state->trail_max)
		return;
	__sync_fetch_and_add(&state->trail_emitted, 1);
	ev->ts_ns = bpf_ktime_get_ns();
	if (bpf_ringbuf_output(&kpath_events, ev, sizeof(*ev), 0) != 0)
		__sync_fetch_and_add(&state->trail_lost, 1);
}

/** The socket's own 4-tuple and what kind of socket it is; 0 when it is not an IPv4 socket. */
static __always_inline int read_sock(struct sock *sk, struct kpath_event *ev)
{
	unsigned char state;
	struct inet_sock *inet = (struct inet_sock *)sk;

	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != AF_INET)
		return 0;
	ev->sk_saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
	ev->sk_daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	ev->sk_sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	ev->sk_dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	/* Request and time-wait sockets share only sock_common: nothing past it may be read. */
	if (state == TCP_NEW_SYN_RECV || state == TCP_TIME_WAIT)
		return 1;
	if ((unsigned long)BPF_CORE_READ(sk, sk_user_data) & SK_USER_DATA_PSOCK)
		ev->flags |= KF_PSOCK;
	if (bpf_core_field_exists(inet->inet_flags) && (BPF_CORE_READ(inet, inet_flags) & (1UL << INET_FLAGS_TRANSPARENT)))
		ev->flags |= KF_TRANSPARENT;
	return 1;
}

static __always_inline int tcp_sock(struct sock *sk)
{
	unsigned char state;

	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != AF_INET)
		return 0;
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	return state == TCP_NEW_SYN_RECV || state == TCP_TIME_WAIT || BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP;
}

/**
 * The IPv4/TCP header of an skb: at `nh` (the network header). Returns 0 for anything else.
 * TCP payload = IP total length - IP header - TCP header.
 */
static __always_inline int read_tcp_packet(unsigned char *nh, struct kpath_event *ev)
{
	struct kp_iphdr ip;
	struct kp_tcphdr tcp;
	__u32 ihl, doff, total;

	if (!nh || bpf_probe_read_kernel(&ip, sizeof(ip), nh) != 0)
		return 0;
	if ((ip.ver_ihl >> 4) != 4 || ip.protocol != IPPROTO_TCP)
		return 0;
	ihl = (ip.ver_ihl & 0xf) * 4;
	if (ihl < sizeof(ip) || bpf_probe_read_kernel(&tcp, sizeof(tcp), nh + ihl) != 0)
		return 0;
	doff = (tcp.doff_res >> 4) * 4;
	total = bpf_ntohs(ip.tot_len);
	ev->saddr = ip.saddr;
	ev->daddr = ip.daddr;
	ev->sport = bpf_ntohs(tcp.source);
	ev->dport = bpf_ntohs(tcp.dest);
	ev->tcp_flags = tcp.flags;
	ev->len = total > ihl + doff ? total - ihl - doff : 0;
	if (ev->len)
		ev->flags |= KF_PAYLOAD;
	if ((tcp.flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN)
		ev->flags |= KF_SYN;
	return 1;
}

static __always_inline unsigned char *network_header(struct sk_buff *skb)
{
	return BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, network_header);
}

static __always_inline void read_device(struct net_device *dev, struct kpath_event *ev)
{
	ev->ifindex = BPF_CORE_READ(dev, ifindex);
	bpf_core_read_str(ev->dev, sizeof(ev->dev), &dev->name);
}

/**
 * An IPv4 TCP skb at a device. `rx`: at netif_receive_skb the Ethernet header is already pulled, so
 * skb->data is the IP header; on transmit the network header offset is set.
 */
static __always_inline void on_device_skb(struct sk_buff *skb, __u16 point, int rx)
{
	struct kpath_event ev = { .point = point };
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	struct sock *sk;

	ev.netns = device_netns(dev);
	if (!traced(ev.netns) || BPF_CORE_READ(skb, protocol) != bpf_htons(ETH_P_IP))
		return;
	if (!read_tcp_packet(rx ? BPF_CORE_READ(skb, data) : network_header(skb), &ev))
		return;
	read_device(dev, &ev);
	ev.mark = BPF_CORE_READ(skb, mark);
	if (BPF_CORE_READ_BITFIELD_PROBED(skb, redirected))
		ev.flags |= KF_REDIRECTED;
	sk = BPF_CORE_READ(skb, sk);
	/*
	 * A transmitted skb belongs to the socket that sent it. Its header differs from the socket's own
	 * 4-tuple only when netfilter NAT rewrote it (REDIRECT, DNAT, or the reverse of either on a
	 * reply). Only a connected socket of the device's own namespace is compared: the TCP control
	 * socket (resets, time-wait ACKs) and a listener (a reset it sends) have no peer of their own, and
	 * an skb keeps its sender's socket across veth until ip_rcv orphans it, so a tc-redirected skb
	 * still carries a pod's socket on the node.
	 */
	if (!rx && read_sock(sk, &ev) && ev.sk_sport != 0 && ev.sk_daddr != 0 && BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_CLOSE &&
	    sock_netns(sk) == ev.netns) {
		if (ev.saddr != ev.sk_saddr || ev.sport != ev.sk_sport || ev.daddr != ev.sk_daddr || ev.dport != ev.sk_dport)
			ev.flags |= KF_NAT;
	}
	record(&ev);
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(kpath_net_dev_queue, struct sk_buff *skb)
{
	on_device_skb(skb, KP_NET_DEV_QUEUE, 0);
	return 0;
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(kpath_netif_receive_skb, struct sk_buff *skb)
{
	on_device_skb(skb, KP_NETIF_RECEIVE_SKB, 1);
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(kpath_kfree_skb, struct sk_buff *skb, void *location, int reason)
{
	struct kpath_event ev = { .point = KP_KFREE_SKB };
	struct net_device *dev = BPF_CORE_READ(skb, dev);

	ev.netns = device_netns(dev);
	if (!traced(ev.netns) || BPF_CORE_READ(skb, protocol) != bpf_htons(ETH_P_IP))
		return 0;
	if (!read_tcp_packet(network_header(skb), &ev))
		return 0;
	read_device(dev, &ev);
	ev.aux = reason;
	record(&ev);
	return 0;
}

/*
 * One lookup in one routing table. Only lookups that found a route carry a next hop, whose device
 * gives the namespace; misses (a table consulted before the one that matched) are not counted.
 */
SEC("tp_btf/fib_table_lookup")
int BPF_PROG(kpath_fib_table_lookup, __u32 table, const struct flowi4 *flow, const struct fib_nh_common *nhc, int err)
{
	struct kpath_event ev = { .point = KP_FIB_LOOKUP };
	struct net_device *dev;

	if (!nhc || err)
		return 0;
	dev = BPF_CORE_READ(nhc, nhc_dev);
	ev.netns = device_netns(dev);
	if (!traced(ev.netns))
		return 0;
	read_device(dev, &ev);
	ev.aux = table;
	ev.saddr = BPF_CORE_READ(flow, saddr);
	ev.daddr = BPF_CORE_READ(flow, daddr);
	ev.mark = BPF_CORE_READ(flow, __fl_common.flowic_mark);
	if (BPF_CORE_READ(flow, __fl_common.flowic_proto) == IPPROTO_TCP) {
		ev.sport = bpf_ntohs(BPF_CORE_READ(flow, uli.ports.sport));
		ev.dport = bpf_ntohs(BPF_CORE_READ(flow, uli.ports.dport));
	}
	if (table != RT_TABLE_DEFAULT && table != RT_TABLE_MAIN && table != RT_TABLE_LOCAL)
		ev.flags |= KF_POLICY_TABLE;
	record(&ev);
	return 0;
}

static __always_inline void on_sock(struct sock *sk, __u16 point, __u32 len, __u32 aux, __u16 flags)
{
	struct kpath_event ev = { .point = point, .len = len, .aux = aux, .flags = flags };

	ev.netns = sock_netns(sk);
	if (!traced(ev.netns) || !tcp_sock(sk) || !read_sock(sk, &ev))
		return;
	record(&ev);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(kpath_inet_sock_set_state, struct sock *sk, int oldstate, int newstate)
{
	on_sock(sk, KP_SOCK_STATE, 0, (oldstate & 0xff) << 8 | (newstate & 0xff), newstate == TCP_ESTABLISHED ? KF_ESTABLISHED : 0);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(kpath_sock_send_length, struct sock *sk, int ret, int flags)
{
	on_sock(sk, KP_SOCK_SEND, ret > 0 ? ret : 0, ret < 0 ? -ret : 0, ret > 0 ? KF_PAYLOAD : 0);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(kpath_sock_recv_length, struct sock *sk, int ret, int flags)
{
	on_sock(sk, KP_SOCK_RECV, ret > 0 ? ret : 0, ret < 0 ? -ret : 0, ret > 0 ? KF_PAYLOAD : 0);
	return 0;
}

SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(kpath_tcp_sendmsg_locked, struct sock *sk, struct msghdr *msg, struct sk_buff *skb, int size_goal)
{
	on_sock(sk, KP_TCP_SENDMSG, 0, 0, 0);
	return 0;
}

SEC("tp_btf/skb_copy_datagram_iovec")
int BPF_PROG(kpath_skb_copy_datagram_iovec, struct sk_buff *skb, int len)
{
	on_sock(BPF_CORE_READ(skb, sk), KP_SKB_COPY, len > 0 ? len : 0, 0, len > 0 ? KF_PAYLOAD : 0);
	return 0;
}

SEC("tp_btf/sk_data_ready")
int BPF_PROG(kpath_sk_data_ready, struct sock *sk)
{
	on_sock(sk, KP_SK_DATA_READY, 0, 0, 0);
	return 0;
}

/*
 * A traced kernel function. The object has KPATH_MAX_FUNCTIONS fentry programs, one slot each; the
 * loader points each used slot at a function (bpf_program__set_attach_target) and fills the slot's
 * kp_fn_arg/kp_fn_kind from the function's BTF prototype. The verifier sees those as constants and
 * keeps only the branch that applies.
 */
static __always_inline int on_function(__u64 *ctx, __u32 slot)
{
	struct kpath_event ev = { .point = KP_FUNCTION_BASE + slot };
	__u32 arg_index = kp_fn_arg[slot], kind = kp_fn_kind[slot];
	struct sk_buff *skb = 0;
	struct sock *sk = 0;
	__u64 arg;

	if (arg_index == 0)
		arg = ctx[0];
	else if (arg_index == 1)
		arg = ctx[1];
	else if (arg_index == 2)
		arg = ctx[2];
	else if (arg_index == 3)
		arg = ctx[3];
	else
		return 0;
	if (kind == KA_SKB) {
		skb = (struct sk_buff *)arg;
	} else if (kind == KA_NFT_PKTINFO) {
		skb = BPF_CORE_READ((struct nft_pktinfo *)arg, skb);
	} else if (kind == KA_SOCK) {
		sk = (struct sock *)arg;
		ev.netns = sock_netns(sk);
	} else if (kind == KA_NET) {
		ev.netns = net_inum((struct net *)arg);
	} else if (kind == KA_NF_CONN) {
		ev.netns = net_inum(BPF_CORE_READ((struct nf_conn *)arg, ct_net.net));
	} else {
		return 0;
	}
	if (skb) {
		struct net_device *dev = BPF_CORE_READ(skb, dev);

		ev.netns = device_netns(dev);
		if (!traced(ev.netns))
			return 0;
		read_device(dev, &ev);
		ev.mark = BPF_CORE_READ(skb, mark);
		if (BPF_CORE_READ(skb, protocol) == bpf_htons(ETH_P_IP))
			read_tcp_packet(network_header(skb), &ev);
		sk = BPF_CORE_READ(skb, sk);
	}
	if (!traced(ev.netns))
		return 0;
	if (sk)
		read_sock(sk, &ev);
	record(&ev);
	return 0;
}

#define KPATH_FUNCTION_SLOT(n)                           \
	SEC("fentry")                                    \
	int kpath_function_##n(__u64 *ctx)               \
	{                                                \
		return on_function(ctx, n);              \
	}

KPATH_FUNCTION_SLOT(0)
KPATH_FUNCTION_SLOT(1)
KPATH_FUNCTION_SLOT(2)
KPATH_FUNCTION_SLOT(3)
KPATH_FUNCTION_SLOT(4)
KPATH_FUNCTION_SLOT(5)
KPATH_FUNCTION_SLOT(6)
KPATH_FUNCTION_SLOT(7)
KPATH_FUNCTION_SLOT(8)
KPATH_FUNCTION_SLOT(9)
KPATH_FUNCTION_SLOT(10)
KPATH_FUNCTION_SLOT(11)
KPATH_FUNCTION_SLOT(12)
KPATH_FUNCTION_SLOT(13)
KPATH_FUNCTION_SLOT(14)
KPATH_FUNCTION_SLOT(15)
