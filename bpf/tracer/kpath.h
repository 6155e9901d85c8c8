// The kernel-path tracer's ABI, shared by kpath.bpf.c (the programs) and bpf/tools/kpath-trace.c
// (the loader that prints what they saw). lab/tracer/points.ts names the same points and flags: change
// them together.
#ifndef LAB_KPATH_H
#define LAB_KPATH_H

#include <linux/types.h>

/** Where an event was seen: a kernel tracepoint, or (from KP_FUNCTION_BASE on) a traced kernel function. */
enum kpath_point {
	KP_NET_DEV_QUEUE = 1, /* net:net_dev_queue, an skb handed to a device for transmission */
	KP_NETIF_RECEIVE_SKB = 2, /* net:netif_receive_skb, an skb entering a device's receive path */
	KP_FIB_LOOKUP = 3, /* fib:fib_table_lookup, a route lookup in one table */
	KP_SOCK_STATE = 4, /* sock:inet_sock_set_state, a socket changed TCP state */
	KP_SOCK_SEND = 5, /* sock:sock_send_length, a sendmsg on a socket returned */
	KP_SOCK_RECV = 6, /* sock:sock_recv_length, a recvmsg on a socket returned */
	KP_TCP_SENDMSG = 7, /* tcp:tcp_sendmsg_locked, bytes entering the TCP stack's send path */
	KP_SKB_COPY = 8, /* skb:skb_copy_datagram_iovec, bytes copied from an skb to a reader */
	KP_SK_DATA_READY = 9, /* sock:sk_data_ready, a socket told it has data */
	KP_KFREE_SKB = 10, /* skb:kfree_skb, an skb dropped, with the kernel's reason */
	KP_FUNCTION_BASE = 64, /* KP_FUNCTION_BASE + n: the n-th --fn of the loader's command line */
};

/** How many kernel functions one tracer can count (fentry program slots in kpath.bpf.c). */
#define KPATH_MAX_FUNCTIONS 16

/** What an event says about its packet or socket; counts are kept per (netns, point, flags). */
enum kpath_flag {
	KF_PAYLOAD = 1 << 0, /* the skb carries TCP payload, or the send/receive moved bytes */
	KF_NAT = 1 << 1, /* a transmitted skb's IP/TCP 4-tuple differs from its socket's own 4-tuple */
	KF_REDIRECTED = 1 << 2, /* skb->redirected: a tc/BPF redirect (skb_do_redirect) sent it here */
	KF_PSOCK = 1 << 3, /* the socket has a psock: it sits in a sockmap/sockhash */
	KF_TRANSPARENT = 1 << 4, /* the socket is IP_TRANSPARENT (or a child of such a listener) */
	KF_POLICY_TABLE = 1 << 5, /* a route lookup that succeeded in a table other than local/main/default */
	KF_SYN = 1 << 6, /* a TCP SYN without ACK: one per connection */
	KF_ESTABLISHED = 1 << 7, /* a socket entered TCP_ESTABLISHED */
};

/** How a traced function's argument leads to its network namespace. */
enum kpath_arg_kind {
	KA_NONE = 0,
	KA_SKB = 1, /* struct sk_buff *: skb->dev's namespace */
	KA_SOCK = 2, /* struct sock *: sk->sk_net */
	KA_NET = 3, /* struct net * */
	KA_NF_CONN = 4, /* struct nf_conn *: ct->ct_net */
	KA_NFT_PKTINFO = 5, /* struct nft_pktinfo *: pkt->skb */
};

struct kpath_key {
	__u32 netns; /* namespace inode number; 0 when the event carried none */
	__u16 point;
	__u16 flags;
};

/** One step of the trail: what the ring buffer carries to the loader. Ports in host order. */
struct kpath_event {
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 netns;
	__u16 point;
	__u16 flags;
	__u32 ifindex;
	__u32 len; /* TCP payload bytes, or the send/recv return value */
	__u32 aux; /* fib: table id; sock state: old << 8 | new; kfree_skb: drop reason */
	__u32 mark;
	__u32 saddr, daddr; /* the packet's (or the flow's, for fib) addresses, network order */
	__u16 sport, dport;
	__u32 sk_saddr, sk_daddr; /* the owning socket's own addresses, network order; 0 without one */
	__u16 sk_sport, sk_dport;
	__u8 tcp_flags;
	__u8 pad[3];
	char dev[16];
};

/** kpath_state[0]: the trail's bound, and what it emitted or lost. */
struct kpath_state {
	__u32 trail_max;
	__u32 trail_emitted;
	__u32 trail_lost;
	__u32 pad;
};

/**
 * kpath_control[0]: set to 1 by the loader when told to stop. The programs then record nothing, so
 * the counts hold still while they are read, without waiting for a detach (which patches the
 * kernel's code once per tracepoint: slow on a busy VM).
 */
struct kpath_control {
	__u32 stopped;
};

#define KPATH_RINGBUF_BYTES (1 << 20)

#endif /* LAB_KPATH_H */
