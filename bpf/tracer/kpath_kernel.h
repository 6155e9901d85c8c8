// CO-RE views of the kernel structures the tracer reads: member names only. Offsets are not written
// here; libbpf relocates every access against the running kernel's BTF (/sys/kernel/btf/vmlinux) at
// load time, and refuses to load when a member is missing. A member that sits inside an anonymous
// struct or union in the kernel (skb->redirected, sk->skc_daddr) is found there by name.
#ifndef LAB_KPATH_KERNEL_H
#define LAB_KPATH_KERNEL_H

#include <linux/types.h>

#define KPATH_CORE __attribute__((preserve_access_index))

struct ns_common {
	unsigned int inum;
} KPATH_CORE;

struct net {
	struct ns_common ns;
} KPATH_CORE;

typedef struct {
	struct net *net;
} possible_net_t;

struct net_device {
	possible_net_t nd_net;
	int ifindex;
	char name[16];
} KPATH_CORE;

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	volatile unsigned char skc_state;
	possible_net_t skc_net;
} KPATH_CORE;

struct sock {
	struct sock_common __sk_common;
	__u16 sk_protocol;
	void *sk_user_data;
} KPATH_CORE;

struct inet_sock {
	unsigned long inet_flags;
} KPATH_CORE;

struct sk_buff {
	struct net_device *dev;
	struct sock *sk;
	unsigned int len;
	__u32 mark;
	__be16 protocol;
	__u16 transport_header;
	__u16 network_header;
	unsigned char *head;
	unsigned char *data;
	__u8 redirected : 1;
} KPATH_CORE;

struct flowi_common {
	__u32 flowic_mark;
	__u8 flowic_proto;
} KPATH_CORE;

struct flowi_uli_ports {
	__be16 dport;
	__be16 sport;
} KPATH_CORE;

union flowi_uli {
	struct flowi_uli_ports ports;
} KPATH_CORE;

struct flowi4 {
	struct flowi_common __fl_common;
	__be32 saddr;
	__be32 daddr;
	union flowi_uli uli;
} KPATH_CORE;

struct fib_nh_common {
	struct net_device *nhc_dev;
} KPATH_CORE;

struct nf_conn {
	possible_net_t ct_net;
} KPATH_CORE;

struct nft_pktinfo {
	struct sk_buff *skb;
} KPATH_CORE;

struct msghdr;

#endif /* LAB_KPATH_KERNEL_H */
