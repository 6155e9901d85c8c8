// Feature probe: an fentry program on tcp_connect, the cheapest hook a tracer of the lab's paths would
// use. Loading resolves tcp_connect in the kernel's BTF; the program is loaded, not attached.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("fentry/tcp_connect")
int probe_fentry(unsigned long long *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
