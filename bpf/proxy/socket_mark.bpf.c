// Marks every IPv4/IPv6 socket a proxy process creates, the way ztunnel sets SO_MARK 0x539 on its own
// sockets in Istio ambient's in-pod mode: the in-pod rules leave marked packets alone (no REDIRECT)
// and turn them into the connection mark that routes the app's replies back to the proxy.
//
// Why a program and not the proxy itself: the packaged HAProxy (2.6) marks only the client side of a
// connection (`tcp-request connection set-mark`); it has no way to mark the sockets it connects from
// (`set-bc-mark` came later). A cgroup/sock_create program on the proxy's own cgroup sets sk_mark as
// each socket is created, listeners and upstream connections alike, in whatever netns the proxy
// creates it (HAProxy enters a pod's netns for `bind ... namespace` and `server ... namespace`).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lab_counters.h"

char LICENSE[] SEC("license") = "GPL";

// socket_mark_config[0]: the mark, written by the lab before the program is attached.
struct socket_mark_config {
	__u32 mark;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct socket_mark_config);
} socket_mark_config SEC(".maps");

enum socket_mark_counter {
	SM_MARKED,         // sockets created with the mark set
	SM_NOT_CONFIGURED, // sockets created before socket_mark_config held a mark (left unmarked)
	SM_COUNTER_COUNT,
};

LAB_COUNTER_MAP(socket_mark_counters, SM_COUNTER_COUNT);

SEC("cgroup/sock_create")
int proxy_socket_mark(struct bpf_sock *sk)
{
	__u32 key = 0;
	struct socket_mark_config *config = bpf_map_lookup_elem(&socket_mark_config, &key);

	if (!config || config->mark == 0) {
		lab_count(&socket_mark_counters, SM_NOT_CONFIGURED);
		return 1;
	}
	sk->mark = config->mark;
	lab_count(&socket_mark_counters, SM_MARKED);
	return 1; // allow the socket: the program only marks
}
