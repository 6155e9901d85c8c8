// Feature probe: a cgroup/getsockopt program (BPF_PROG_TYPE_CGROUP_SOCKOPT), as sockmap's
// SO_ORIGINAL_DST answer uses. The lab attaches it to a scratch pod's cgroup; it passes every call.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("cgroup/getsockopt")
int probe_cgroup_getsockopt(struct bpf_sockopt *ctx)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
