// One way to name a TCP socket by its 4-tuple, shared by every program that keys a map by
// connection: sockops (inserting a socket into a SOCKHASH), sk_msg (finding the peer socket) and
// cgroup/getsockopt (finding what sockops recorded for the peer). If the sides built their keys
// differently the lookups would silently miss, so there is exactly one builder.
//
// Byte order (docs/architecture.md, Traps): in bpf_sock_ops and sk_msg_md, `local_port` is host order while
// `remote_port` holds the network-order port in the upper 16 bits of the u32 (the kernel loads the
// __be16 sk_dport and shifts it left by 16 on little-endian machines). struct bpf_sock (the socket in
// cgroup/getsockopt) has yet another layout; LAB_SOCK_FIELDS_FROM_BPF_SOCK converts it to the first.
//
// IPv4-mapped IPv6 sockets (an AF_INET6 socket talking to ::ffff:a.b.c.d, e.g. whatever a dual-stack
// [::] listener accepts from an IPv4 client) get the same key as the IPv4 socket on the other end,
// so the two ends of such a connection find each other. Native IPv6 has no key.
//
// The key holds addresses in network order and ports in host order. This header is plain C without
// BPF helpers so a host test can compile it (bpf/include/tests/).
#ifndef LAB_SOCK_KEY_H
#define LAB_SOCK_KEY_H

#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define LAB_AF_INET 2
#define LAB_AF_INET6 10

/** A socket from its own point of view. 12 bytes, no padding: map keys are compared bytewise. */
struct lab_sock_key {
	__u32 local_ip4;  /* network order */
	__u32 remote_ip4; /* network order */
	__u16 local_port; /* host order */
	__u16 remote_port; /* host order */
};

/** The context fields the key is built from, copied out as the kernel presents them. */
struct lab_sock_fields {
	__u32 family;
	__u32 local_ip4;
	__u32 remote_ip4;
	__u32 local_ip6[4];
	__u32 remote_ip6[4];
	/** Host order. */
	__u32 local_port;
	/** As bpf_sock_ops / sk_msg_md present it: the network-order port in the upper 16 bits. */
	__u32 remote_port;
};

/** What kind of socket the key was built for (0: none could be built). */
enum lab_sock_key_kind {
	LAB_SOCK_KEY_NONE = 0,
	LAB_SOCK_KEY_IPV4 = 4,
	LAB_SOCK_KEY_V4_MAPPED = 6,
};

/** Which end the key names: the socket itself, or the socket at the other end of its connection. */
enum lab_sock_key_side {
	LAB_SOCK_KEY_SELF = 0,
	LAB_SOCK_KEY_PEER = 1,
};

// A context field read that the compiler must perform right here. Without it clang may sink a load
// into a later branch as "pointer = ctx + offset; load pointer", which the verifier rejects
// ("dereference of modified ctx ptr").
#define LAB_CTX_READ(field) (*(volatile __typeof__(field) *)&(field))

// Copies the key fields of a bpf_sock_ops or sk_msg_md (same field names, same encodings). A macro,
// because context fields must be read with constant offsets from the context pointer itself.
#define LAB_SOCK_FIELDS_FROM_CTX(ctx, f)                                                        \
	do {                                                                                    \
		(f)->family = LAB_CTX_READ((ctx)->family);                                                    \
		(f)->local_ip4 = LAB_CTX_READ((ctx)->local_ip4);                                              \
		(f)->remote_ip4 = LAB_CTX_READ((ctx)->remote_ip4);                                            \
		(f)->local_ip6[0] = LAB_CTX_READ((ctx)->local_ip6[0]);                                        \
		(f)->local_ip6[1] = LAB_CTX_READ((ctx)->local_ip6[1]);                                        \
		(f)->local_ip6[2] = LAB_CTX_READ((ctx)->local_ip6[2]);                                        \
		(f)->local_ip6[3] = LAB_CTX_READ((ctx)->local_ip6[3]);                                        \
		(f)->remote_ip6[0] = LAB_CTX_READ((ctx)->remote_ip6[0]);                                      \
		(f)->remote_ip6[1] = LAB_CTX_READ((ctx)->remote_ip6[1]);                                      \
		(f)->remote_ip6[2] = LAB_CTX_READ((ctx)->remote_ip6[2]);                                      \
		(f)->remote_ip6[3] = LAB_CTX_READ((ctx)->remote_ip6[3]);                                      \
		(f)->local_port = LAB_CTX_READ((ctx)->local_port);                                            \
		(f)->remote_port = LAB_CTX_READ((ctx)->remote_port);                                          \
	} while (0)

// struct bpf_sock: src_* is local, dst_* remote; dst_port is a plain __be16, which is re-encoded the
// way sock_ops presents remote_port so the one builder below handles both.
#define LAB_SOCK_FIELDS_FROM_BPF_SOCK(sk, f)                                                    \
	do {                                                                                    \
		(f)->family = LAB_CTX_READ((sk)->family);                                                     \
		(f)->local_ip4 = LAB_CTX_READ((sk)->src_ip4);                                                 \
		(f)->remote_ip4 = LAB_CTX_READ((sk)->dst_ip4);                                                \
		(f)->local_ip6[0] = LAB_CTX_READ((sk)->src_ip6[0]);                                           \
		(f)->local_ip6[1] = LAB_CTX_READ((sk)->src_ip6[1]);                                           \
		(f)->local_ip6[2] = LAB_CTX_READ((sk)->src_ip6[2]);                                           \
		(f)->local_ip6[3] = LAB_CTX_READ((sk)->src_ip6[3]);                                           \
		(f)->remote_ip6[0] = LAB_CTX_READ((sk)->dst_ip6[0]);                                          \
		(f)->remote_ip6[1] = LAB_CTX_READ((sk)->dst_ip6[1]);                                          \
		(f)->remote_ip6[2] = LAB_CTX_READ((sk)->dst_ip6[2]);                                          \
		(f)->remote_ip6[3] = LAB_CTX_READ((sk)->dst_ip6[3]);                                          \
		(f)->local_port = LAB_CTX_READ((sk)->src_port);                                               \
		(f)->remote_port = lab_remote_port_field_from_be16(LAB_CTX_READ((sk)->dst_port));             \
	} while (0)

static __always_inline __u16 lab_swap16(__u16 v)
{
	return (__u16)((v >> 8) | (v << 8));
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/** The network-order port in a sock_ops/sk_msg remote_port field, in host order. */
static __always_inline __u16 lab_remote_port_host(__u32 field)
{
	return lab_swap16((__u16)(field >> 16));
}

static __always_inline __u32 lab_remote_port_field_from_be16(__u16 be_port)
{
	return (__u32)be_port << 16;
}

static __always_inline __u32 lab_ipv4_mapped_marker(void)
{
	return 0xffff0000; /* ::ffff:0:0/96, third word, network order read on little-endian */
}
#else
static __always_inline __u16 lab_remote_port_host(__u32 field)
{
	return (__u16)field;
}

static __always_inline __u32 lab_remote_port_field_from_be16(__u16 be_port)
{
	return be_port;
}

static __always_inline __u32 lab_ipv4_mapped_marker(void)
{
	return 0x0000ffff;
}
#endif

/** True for ::ffff:a.b.c.d. */
static __always_inline int lab_ip6_is_v4_mapped(const __u32 ip6[4])
{
	return ip6[0] == 0 && ip6[1] == 0 && ip6[2] == lab_ipv4_mapped_marker();
}

/**
 * Builds the key of the socket (LAB_SOCK_KEY_SELF) or of its peer (LAB_SOCK_KEY_PEER: local and
 * remote swapped, which is the peer's own key when both ends live in this kernel). Returns the kind
 * of socket, or LAB_SOCK_KEY_NONE (key zeroed) for anything but IPv4 and IPv4-mapped IPv6.
 */
static __always_inline enum lab_sock_key_kind lab_sock_key_build(const struct lab_sock_fields *f, enum lab_sock_key_side side,
								 struct lab_sock_key *key)
{
	enum lab_sock_key_kind kind;
	__u32 local_ip, remote_ip;
	__u16 local_port = (__u16)f->local_port;
	__u16 remote_port = lab_remote_port_host(f->remote_port);

	key->local_ip4 = 0;
	key->remote_ip4 = 0;
	key->local_port = 0;
	key->remote_port = 0;
	if (f->family == LAB_AF_INET) {
		local_ip = f->local_ip4;
		remote_ip = f->remote_ip4;
		kind = LAB_SOCK_KEY_IPV4;
	} else if (f->family == LAB_AF_INET6 && lab_ip6_is_v4_mapped(f->local_ip6) && lab_ip6_is_v4_mapped(f->remote_ip6)) {
		local_ip = f->local_ip6[3];
		remote_ip = f->remote_ip6[3];
		kind = LAB_SOCK_KEY_V4_MAPPED;
	} else {
		return LAB_SOCK_KEY_NONE;
	}
	if (side == LAB_SOCK_KEY_PEER) {
		key->local_ip4 = remote_ip;
		key->remote_ip4 = local_ip;
		key->local_port = remote_port;
		key->remote_port = local_port;
	} else {
		key->local_ip4 = local_ip;
		key->remote_ip4 = remote_ip;
		key->local_port = local_port;
		key->remote_port = remote_port;
	}
	return kind;
}

#endif /* LAB_SOCK_KEY_H */
