// Feature probe: a kprobe program for tcp_connect. Loading proves the program type; attaching also
// needs the kernel's kprobe event source (CONFIG_KPROBE_EVENTS), which the lab checks separately.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("kprobe/tcp_connect")
int probe_kprobe(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
