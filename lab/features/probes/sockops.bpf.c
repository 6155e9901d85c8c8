// Feature probe: a sockops program that files sockets into a SOCKHASH (bpf_sock_hash_update), as
// sockmap's ESTABLISHED hook does. The lab attaches it to a scratch pod's cgroup.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} probe_sock_hash SEC(".maps");

SEC("sockops")
int probe_sockops(struct bpf_sock_ops *skops)
{
	__u32 key = 0;

	if (skops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
		bpf_sock_hash_update(skops, &probe_sock_hash, &key, BPF_NOEXIST);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
