// Feature probe: a tc classifier that looks a listener up and hands the packet to it with
// bpf_sk_assign, as the tc backend steers to its node proxy. The verifier accepts the call only where
// the helper exists for tc programs (Linux 5.7). The lab attaches it as a direct-action filter on a
// scratch pod's host veth.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int probe_tc_sk_assign(struct __sk_buff *skb)
{
	struct bpf_sock_tuple tuple = {};
	struct bpf_sock *sk;

	sk = bpf_skc_lookup_tcp(skb, &tuple, sizeof(tuple.ipv4), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return TC_ACT_OK;
	bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
