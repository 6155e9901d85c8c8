// Not part of any backend: "another component's" tc filter, for the nemesis (test/nemesis/). The
// nemesis attaches one of these ahead of a lab filter (a lower pref on the same clsact hook) with
// `tc filter add ... pref 1 bpf da obj tc_neighbour.bpf.o sec <section>`.
//   tc/ok:   ends classification with TC_ACT_OK, so no later filter on the hook runs (the case the
//            ambient eBPF talk warns about: the lab's program is silently skipped);
//   tc/pipe: returns TC_ACT_PIPE, which a direct-action cls_bpf filter turns into "continue with the
//            next filter" (cls_bpf_exec_opcode maps it to TC_ACT_UNSPEC), so the lab's program runs.
// Both let every packet through unchanged; neither uses a map, so tc loads them without bpffs.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc/ok")
int neighbour_ok(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

SEC("tc/pipe")
int neighbour_pipe(struct __sk_buff *skb)
{
	return TC_ACT_PIPE;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
