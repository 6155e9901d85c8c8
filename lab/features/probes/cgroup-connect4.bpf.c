// Feature probe: a cgroup/connect4 program (BPF_PROG_TYPE_CGROUP_SOCK_ADDR), as sockmap's connect
// rewrite uses. The lab attaches it to a scratch pod's cgroup; it allows every connect unchanged.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("cgroup/connect4")
int probe_cgroup_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
