// Feature probe: an sk_msg verdict program that redirects into a SOCKHASH peer's receive queue
// (bpf_msg_redirect_hash with BPF_F_INGRESS), as sockmap's data path does. The lab attaches it to the
// program's own map.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} probe_msg_hash SEC(".maps");

SEC("sk_msg")
int probe_sk_msg(struct sk_msg_md *msg)
{
	__u32 key = 0;

	bpf_msg_redirect_hash(msg, &probe_msg_hash, &key, BPF_F_INGRESS);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
