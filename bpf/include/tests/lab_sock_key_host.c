// Host-side driver for lab_sock_key.h (built with the host compiler by
// lab/backends/sockmap/sock-key.test.ts, never by scripts/build-bpf.sh, which builds *.bpf.c only).
//
// Each input line describes one socket as addresses and ports; the driver lays the fields out the
// way the kernel presents them to sockops/sk_msg and to cgroup/getsockopt (written here
// independently of the header, from the kernel's context conversion code), builds the key through
// the header, and prints the key bytes. Input: "<family 4|6|mapped> <local ip> <local port>
// <remote ip> <remote port> <self|peer> <ctx|bpf_sock>". Output: "<kind> <24 hex digits>".
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "../lab_sock_key.h"

struct fake_sock_ops { /* the fields of bpf_sock_ops / sk_msg_md the macro reads */
	__u32 family, local_ip4, remote_ip4, local_ip6[4], remote_ip6[4], local_port, remote_port;
};

struct fake_bpf_sock { /* the fields of struct bpf_sock */
	__u32 family, src_ip4, src_ip6[4], src_port;
	__be16 dst_port;
	__u32 dst_ip4, dst_ip6[4];
};

static void set_ip6(__u32 out[4], const char *family, __u32 ip4_network)
{
	memset(out, 0, 16);
	if (strcmp(family, "mapped") == 0) {
		((unsigned char *)out)[10] = 0xff;
		((unsigned char *)out)[11] = 0xff;
		out[3] = ip4_network;
	} else if (strcmp(family, "6") == 0) {
		((unsigned char *)out)[0] = 0xfd; /* fd00::/8, a native IPv6 address */
		out[3] = ip4_network;
	}
}

int main(void)
{
	char family[8], lip[32], rip[32], side[8], layout[16];
	unsigned lport, rport;

	while (scanf("%7s %31s %u %31s %u %7s %15s", family, lip, &lport, rip, &rport, side, layout) == 7) {
		struct lab_sock_fields fields;
		struct lab_sock_key key;
		struct in_addr l, r;
		__u32 fam = strcmp(family, "4") == 0 ? LAB_AF_INET : LAB_AF_INET6;
		__u16 dport_in_memory = htons((__u16)rport); /* sk->sk_dport: network order in memory */

		inet_pton(AF_INET, lip, &l);
		inet_pton(AF_INET, rip, &r);
		if (strcmp(layout, "ctx") == 0) {
			struct fake_sock_ops ctx = { .family = fam, .local_ip4 = l.s_addr, .remote_ip4 = r.s_addr, .local_port = lport };
			/* The kernel loads the __be16 sk_dport and, on little-endian, shifts it left by 16. */
			ctx.remote_port = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? (__u32)dport_in_memory << 16 : dport_in_memory;
			set_ip6(ctx.local_ip6, family, l.s_addr);
			set_ip6(ctx.remote_ip6, family, r.s_addr);
			LAB_SOCK_FIELDS_FROM_CTX(&ctx, &fields);
		} else {
			struct fake_bpf_sock sk = { .family = fam, .src_ip4 = l.s_addr, .dst_ip4 = r.s_addr, .src_port = lport, .dst_port = dport_in_memory };
			set_ip6(sk.src_ip6, family, l.s_addr);
			set_ip6(sk.dst_ip6, family, r.s_addr);
			LAB_SOCK_FIELDS_FROM_BPF_SOCK(&sk, &fields);
		}
		enum lab_sock_key_kind kind = lab_sock_key_build(&fields, strcmp(side, "peer") == 0 ? LAB_SOCK_KEY_PEER : LAB_SOCK_KEY_SELF, &key);
		printf("%d ", kind);
		for (size_t i = 0; i < sizeof(key); i++)
			printf("%02x", ((unsigned char *)&key)[i]);
		printf("\n");
	}
	return 0;
}
