// Istio sidecar interception in eBPF, as Merbridge does it (Istio facts in docs/architecture.md), with no iptables rule:
//
//   cgroup/connect4|6  an app's TCP connect is rewritten to its own sidecar (<pod IP>:15001); the
//                      sidecar's (UID 1337) connect to another captured pod goes to that pod's 15006.
//                      The destination asked for is kept under the socket cookie.
//   sockops            on ESTABLISHED, the cookie's record is re-filed under the 4-tuple (the key the
//                      other end can compute), and sidecar legs between pods of one node go into the
//                      SOCKHASH.
//   cgroup/getsockopt  answers SO_ORIGINAL_DST from the 4-tuple record, for HAProxy's
//                      `server 0.0.0.0:0`; every other getsockopt passes through untouched.
//   sk_msg             every message sent on a SOCKHASH socket goes straight into the peer socket's
//                      receive queue (bpf_msg_redirect_hash, BPF_F_INGRESS): no TCP/IP stack between.
//
// The 4-tuple collision across pods (maps are global, every pod has a 127.0.0.1) is avoided by
// sending apps to their sidecar at the pod IP instead of 127.0.0.1: the pod IP is unique, so is the
// app-to-sidecar 4-tuple.
//
// All lab "nodes" share this one kernel. The sidecar's connect-time rewrite to 15006 therefore also
// reaches pods of the other node, and the server sidecar's getsockopt finds the record the client
// side filed (a real multi-node cluster needs Merbridge's per-node inbound hook for that). Sockets
// are short-circuited only between pods of one node, so cross-node bytes do cross the underlay.
//
// In SOCKMAP_MODE_ALL (the loopback seed example) sockops inserts every
// socket; that mode is only safe with a single pod, which is how the lab uses it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lab_counters.h"
#include "lab_sock_key.h"
#include "lab_trace.h"
#include "sockmap.h"

#define IPPROTO_TCP 6
#define SOL_IP 0
#define SO_ORIGINAL_DST 80
/* TCP states (include/net/tcp_states.h) */
#define TCP_ESTABLISHED 1
#define TCP_FIN_WAIT1 4
#define TCP_CLOSE 7
#define TCP_CLOSE_WAIT 8
#define TCP_LAST_ACK 9

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sockmap_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64); /* cgroup v2 id (the pod cgroup directory's inode) */
	__type(value, struct sockmap_pod);
} pods_by_cgroup SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* pod IP, network order */
	__type(value, struct sockmap_pod);
} pods_by_ip SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* socket cookie */
	__type(value, struct sockmap_origin);
} cookie_origin SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct lab_sock_key); /* the connecting socket's own key */
	__type(value, struct sockmap_origin);
} pair_origin SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 16384);
	__type(key, struct lab_sock_key);
	__type(value, __u64); /* 8 bytes: a lookup from user space returns the socket cookie */
} sock_pairs SEC(".maps");

LAB_COUNTER_MAP(counters, SOCKMAP_COUNTER_COUNT);

/** Same layout as struct sockaddr_in, declared here to keep libc headers out of a BPF build. */
struct lab_sockaddr_in {
	__u16 family;
	__be16 port;
	__u32 addr;
	__u8 zero[8];
};

static __always_inline struct sockmap_config *ready_config(void)
{
	__u32 zero = 0;
	struct sockmap_config *cfg = bpf_map_lookup_elem(&config, &zero);

	return cfg && cfg->tag[0] ? cfg : 0;
}

static __always_inline int is_loopback(__u32 ip)
{
	return (bpf_ntohl(ip) >> 24) == 127;
}

static __always_inline int is_excluded_inbound(const struct sockmap_config *cfg, __u16 port)
{
	for (int i = 0; i < SOCKMAP_MAX_EXCLUDED_PORTS; i++) {
		if (cfg->excluded_inbound[i] && cfg->excluded_inbound[i] == port)
			return 1;
	}
	return 0;
}

/** Where a connect should really go; 0 when it is left alone (the counter says why). */
static __always_inline int capture_target(const struct sockmap_config *cfg, __u32 dst_ip, __u16 dst_port, __u32 *new_ip,
					  __u16 *new_port, struct sockmap_origin *origin)
{
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	__u64 uid_gid = bpf_get_current_uid_gid();
	__u32 uid = (__u32)uid_gid, gid = (__u32)(uid_gid >> 32);
	struct sockmap_pod *self, *destination;
	const char *action;
	__u32 port = dst_port;

	lab_count(&counters, SOCKMAP_CONNECT_SEEN);
	self = bpf_map_lookup_elem(&pods_by_cgroup, &cgroup_id);
	if (!self) {
		lab_count(&counters, SOCKMAP_CONNECT_NOT_A_POD);
		return 0;
	}
	origin->ip = dst_ip;
	origin->port = dst_port;
	origin->reserved = 0;
	if (is_loopback(dst_ip)) {
		lab_count(&counters, SOCKMAP_SKIP_LOOPBACK);
		action = "skip-loopback";
		goto leave_alone;
	}
	if (dst_port == cfg->hbone_port) {
		lab_count(&counters, SOCKMAP_SKIP_HBONE);
		action = "skip-hbone";
		goto leave_alone;
	}
	if (uid != cfg->proxy_uid && gid != cfg->proxy_uid) {
		*new_ip = self->ip;
		*new_port = cfg->outbound_port;
		origin->direction = SOCKMAP_OUTBOUND;
		lab_count(&counters, SOCKMAP_REWRITE_OUTBOUND);
		LAB_TRACE(cfg->tag, "sockmap connect uid=%u dst=%pI4:%u action=rewrite-outbound to=%pI4:%u", uid, &dst_ip, port,
			  new_ip, *new_port);
		return 1;
	}
	destination = bpf_map_lookup_elem(&pods_by_ip, &dst_ip);
	if (!destination) {
		lab_count(&counters, SOCKMAP_SKIP_PROXY_UID);
		action = "skip-proxy-uid";
		goto leave_alone;
	}
	if (dst_ip == self->ip) {
		lab_count(&counters, SOCKMAP_SKIP_OWN_POD);
		action = "skip-own-pod";
		goto leave_alone;
	}
	if (is_excluded_inbound(cfg, dst_port)) {
		lab_count(&counters, SOCKMAP_SKIP_EXCLUDED_PORT);
		action = "skip-excluded-port";
		goto leave_alone;
	}
	*new_ip = dst_ip;
	*new_port = cfg->inbound_port;
	origin->direction = SOCKMAP_INBOUND;
	lab_count(&counters, SOCKMAP_REWRITE_INBOUND);
	LAB_TRACE(cfg->tag, "sockmap connect uid=%u dst=%pI4:%u action=rewrite-inbound to=%pI4:%u", uid, &dst_ip, port, new_ip,
		  *new_port);
	return 1;

leave_alone:
	LAB_TRACE(cfg->tag, "sockmap connect uid=%u dst=%pI4:%u action=%s", uid, &dst_ip, port, action);
	return 0;
}

SEC("cgroup/connect4")
int sockmap_connect4(struct bpf_sock_addr *ctx)
{
	struct sockmap_config *cfg = ready_config();
	struct sockmap_origin origin = {};
	__u32 new_ip = 0;
	__u16 new_port = 0;
	__u64 cookie;

	if (!cfg || cfg->mode != SOCKMAP_MODE_MESH || ctx->protocol != IPPROTO_TCP)
		return 1;
	if (!capture_target(cfg, ctx->user_ip4, bpf_ntohs((__u16)ctx->user_port), &new_ip, &new_port, &origin))
		return 1;
	cookie = bpf_get_socket_cookie(ctx);
	bpf_map_update_elem(&cookie_origin, &cookie, &origin, BPF_ANY);
	ctx->user_ip4 = new_ip;
	ctx->user_port = bpf_htons(new_port);
	return 1;
}

// An AF_INET6 socket can dial an IPv4 destination as ::ffff:a.b.c.d; without this hook such a
// connect would bypass the sidecar silently. Native IPv6 is counted (the lab fails on it), not captured.
SEC("cgroup/connect6")
int sockmap_connect6(struct bpf_sock_addr *ctx)
{
	struct sockmap_config *cfg = ready_config();
	struct sockmap_origin origin = {};
	__u32 ip6[4], new_ip = 0;
	__u16 new_port = 0;
	__u64 cookie, cgroup_id;

	if (!cfg || cfg->mode != SOCKMAP_MODE_MESH || ctx->protocol != IPPROTO_TCP)
		return 1;
	ip6[0] = ctx->user_ip6[0];
	ip6[1] = ctx->user_ip6[1];
	ip6[2] = ctx->user_ip6[2];
	ip6[3] = ctx->user_ip6[3];
	if (!lab_ip6_is_v4_mapped(ip6)) {
		cgroup_id = bpf_get_current_cgroup_id();
		if (bpf_map_lookup_elem(&pods_by_cgroup, &cgroup_id)) {
			lab_count(&counters, SOCKMAP_SKIP_IPV6);
			LAB_TRACE(cfg->tag, "sockmap connect6 action=skip-ipv6 port=%u", (__u32)bpf_ntohs((__u16)ctx->user_port));
		}
		return 1;
	}
	if (!capture_target(cfg, ip6[3], bpf_ntohs((__u16)ctx->user_port), &new_ip, &new_port, &origin))
		return 1;
	cookie = bpf_get_socket_cookie(ctx);
	bpf_map_update_elem(&cookie_origin, &cookie, &origin, BPF_ANY);
	ctx->user_ip6[3] = new_ip;
	ctx->user_port = bpf_htons(new_port);
	return 1;
}

static __always_inline int same_node(const struct lab_sock_key *key)
{
	struct sockmap_pod *local = bpf_map_lookup_elem(&pods_by_ip, &key->local_ip4);
	struct sockmap_pod *remote = bpf_map_lookup_elem(&pods_by_ip, &key->remote_ip4);

	return local && remote && local->node == remote->node;
}

static __always_inline void on_established(struct bpf_sock_ops *skops, const struct sockmap_config *cfg, int active)
{
	const char *side = active ? "active" : "passive";
	struct sockmap_origin *origin = 0;
	struct lab_sock_fields fields;
	struct lab_sock_key key;
	enum lab_sock_key_kind kind;
	const char *action, *family;
	int captured_leg, insert, inserted = 0;
	__u64 cookie;
	__u32 local_port, remote_port;

	lab_count(&counters, active ? SOCKMAP_ESTABLISHED_ACTIVE : SOCKMAP_ESTABLISHED_PASSIVE);
	LAB_SOCK_FIELDS_FROM_CTX(skops, &fields);
	kind = lab_sock_key_build(&fields, LAB_SOCK_KEY_SELF, &key);
	if (kind == LAB_SOCK_KEY_NONE) {
		lab_count(&counters, SOCKMAP_ESTABLISHED_UNSUPPORTED);
		LAB_TRACE(cfg->tag, "sockmap established side=%s family=ipv6 local_port=%u action=unsupported", side,
			  fields.local_port);
		return;
	}
	family = kind == LAB_SOCK_KEY_V4_MAPPED ? "ipv4-mapped-ipv6" : "ipv4";
	if (active) {
		cookie = bpf_get_socket_cookie(skops);
		origin = bpf_map_lookup_elem(&cookie_origin, &cookie);
		if (origin) {
			bpf_map_update_elem(&pair_origin, &key, origin, BPF_ANY);
			bpf_map_delete_elem(&cookie_origin, &cookie);
			lab_count(&counters, SOCKMAP_PAIR_RECORDED);
		}
	}
	// In mesh mode only the legs through a sidecar: a rewritten connect, or a sidecar listener's socket.
	captured_leg = origin || key.local_port == cfg->outbound_port || key.local_port == cfg->inbound_port;
	if (cfg->mode == SOCKMAP_MODE_ALL) {
		insert = 1;
	} else if (captured_leg) {
		insert = same_node(&key);
		if (!insert)
			lab_count(&counters, SOCKMAP_SOCKHASH_CROSS_NODE);
	} else {
		insert = 0;
	}
	if (!insert) {
		action = captured_leg ? "cross-node" : "not-captured";
	} else if (bpf_sock_hash_update(skops, &sock_pairs, &key, BPF_NOEXIST) == 0) {
		lab_count(&counters, SOCKMAP_SOCKHASH_INSERTED);
		action = "inserted";
		inserted = 1;
	} else {
		lab_count(&counters, SOCKMAP_SOCKHASH_INSERT_FAILED);
		action = "insert-failed";
	}
	// State callbacks for sockets the lab follows: a pair record is dropped when its socket closes, and
	// a SOCKHASH socket's departure is traced (its peer's later messages miss, and the lab explains why).
	if (origin || inserted)
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
	local_port = key.local_port;
	remote_port = key.remote_port;
	LAB_TRACE(cfg->tag, "sockmap established side=%s family=%s local=%pI4:%u remote=%pI4:%u action=%s", side, family,
		  &key.local_ip4, local_port, &key.remote_ip4, remote_port, action);
}

static __always_inline void on_state_change(struct bpf_sock_ops *skops, const struct sockmap_config *cfg)
{
	__u32 old_state = skops->args[0], new_state = skops->args[1];
	struct lab_sock_fields fields;
	struct lab_sock_key key;
	__u32 local_port, remote_port;

	LAB_SOCK_FIELDS_FROM_CTX(skops, &fields);
	if (lab_sock_key_build(&fields, LAB_SOCK_KEY_SELF, &key) == LAB_SOCK_KEY_NONE)
		return;
	// Closing an established socket (close() moves it to FIN_WAIT1 or LAST_ACK, a reset to CLOSE)
	// also takes it out of the SOCKHASH.
	if ((old_state == TCP_ESTABLISHED || old_state == TCP_CLOSE_WAIT) &&
	    (new_state == TCP_FIN_WAIT1 || new_state == TCP_LAST_ACK || new_state == TCP_CLOSE)) {
		local_port = key.local_port;
		remote_port = key.remote_port;
		LAB_TRACE(cfg->tag, "sockmap closing local=%pI4:%u remote=%pI4:%u state=%u", &key.local_ip4, local_port, &key.remote_ip4,
			  remote_port, new_state);
	}
	if (new_state == TCP_CLOSE && bpf_map_delete_elem(&pair_origin, &key) == 0)
		lab_count(&counters, SOCKMAP_PAIR_FORGOTTEN);
}

SEC("sockops")
int sockmap_sockops(struct bpf_sock_ops *skops)
{
	struct sockmap_config *cfg = ready_config();

	if (!cfg)
		return 1;
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		on_established(skops, cfg, 1);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		on_established(skops, cfg, 0);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		on_state_change(skops, cfg);
		break;
	}
	return 1;
}

SEC("sk_msg")
int sockmap_redirect(struct sk_msg_md *msg)
{
	struct lab_sock_fields fields;
	struct lab_sock_key peer;
	struct sockmap_config *cfg;
	__u32 size = msg->size, local_port, remote_port;

	LAB_SOCK_FIELDS_FROM_CTX(msg, &fields);
	if (lab_sock_key_build(&fields, LAB_SOCK_KEY_PEER, &peer) == LAB_SOCK_KEY_NONE) {
		lab_count(&counters, SOCKMAP_MSG_NO_KEY);
		return SK_PASS;
	}
	if (bpf_msg_redirect_hash(msg, &sock_pairs, &peer, BPF_F_INGRESS) == SK_PASS) {
		lab_count(&counters, SOCKMAP_MSG_REDIRECTED);
		lab_count_add(&counters, SOCKMAP_MSG_REDIRECTED_BYTES, size);
		return SK_PASS;
	}
	// The peer is not in the SOCKHASH (not yet established, or never inserted): the message takes the
	// normal TCP path, which is correct but slower. Each miss is traced so the lab can explain it.
	lab_count(&counters, SOCKMAP_MSG_MISS);
	cfg = ready_config();
	if (cfg) {
		local_port = peer.remote_port;
		remote_port = peer.local_port;
		LAB_TRACE(cfg->tag, "sockmap msg-miss local=%pI4:%u remote=%pI4:%u size=%u", &peer.remote_ip4, local_port,
			  &peer.local_ip4, remote_port, size);
	}
	return SK_PASS;
}

SEC("cgroup/getsockopt")
int sockmap_getsockopt(struct bpf_sockopt *ctx)
{
	struct lab_sockaddr_in *answer;
	struct sockmap_origin *origin;
	struct sockmap_config *cfg;
	struct lab_sock_fields fields;
	struct lab_sock_key peer;
	struct bpf_sock *sk;
	__u32 port;

	if (ctx->level != SOL_IP || ctx->optname != SO_ORIGINAL_DST)
		return 1;
	sk = ctx->sk;
	cfg = ready_config();
	if (!sk || !cfg)
		return 1;
	LAB_SOCK_FIELDS_FROM_BPF_SOCK(sk, &fields);
	// The record was filed under the connecting socket's own key: from this (accepting) side that is
	// the peer's key.
	if (lab_sock_key_build(&fields, LAB_SOCK_KEY_PEER, &peer) == LAB_SOCK_KEY_NONE)
		return 1;
	origin = bpf_map_lookup_elem(&pair_origin, &peer);
	port = peer.remote_port;
	if (!origin) {
		lab_count(&counters, SOCKMAP_ORIGINAL_DST_UNKNOWN);
		LAB_TRACE(cfg->tag, "sockmap original-dst action=unknown local=%pI4:%u", &peer.remote_ip4, port);
		return 1;
	}
	answer = ctx->optval;
	if ((void *)(answer + 1) > ctx->optval_end)
		return 1;
	answer->family = LAB_AF_INET;
	answer->port = bpf_htons(origin->port);
	answer->addr = origin->ip;
	__builtin_memset(answer->zero, 0, sizeof(answer->zero));
	// Two separate 4-byte stores: clang would merge adjacent ones into an 8-byte store the verifier refuses.
	*(volatile __s32 *)&ctx->optlen = sizeof(*answer);
	*(volatile __s32 *)&ctx->retval = 0;
	lab_count(&counters, SOCKMAP_ORIGINAL_DST_ANSWERED);
	LAB_TRACE(cfg->tag, "sockmap original-dst action=answered local=%pI4:%u original=%pI4:%u", &peer.remote_ip4, port,
		  &origin->ip, (__u32)origin->port);
	return 1;
}
