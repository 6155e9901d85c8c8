// Map layouts and constants of tc_redirect.bpf.c. The lab reads and writes the maps through their
// BTF (lab/bpf/maps.ts): a struct here needs no byte offset changed on the lab's side. Its counter
// names (lab/backends/tc/maps.ts) follow enum tc_counter, which a unit test compares with this file.
#ifndef LAB_TC_REDIRECT_H
#define LAB_TC_REDIRECT_H

#include <linux/types.h>

#include "lab_trace.h"

#define ETH_ALEN 6

// Markers in skb->cb[4], as Istio 1.20 used them. cb survives a bpf_redirect and the veth crossing
// into the proxy's namespace (unlike skb->mark, which the netns crossing scrubs), so the proxy-side
// program learns which way the packet was captured.
#define OUTBOUND_CB 4321
#define INBOUND_CB 1234
#define BYPASS_CB 0xC001F00D

#define MAX_NODES 4
#define MAX_CAPTURED_PODS 1024

// A captured pod: where its host-side veth is (in its node's namespace) and its eth0 MAC.
struct tc_pod {
	__u32 host_ifindex;
	__u8 mac[ETH_ALEN];
	__u8 node; // index into tc_proxies
	__u8 pad;
};

// One node's proxy: its host-side veth (in the node namespace), its eth0 MAC, and the node's own
// address, whose traffic (probes) is never redirected.
struct tc_proxy {
	__u32 host_ifindex;
	__u8 mac[ETH_ALEN];
	__u8 pad[2];
	__u32 node_ip; // network order
};

// tc_config[0]: the run's settings, written by the lab before any program is attached. The ports and
// marks are the ones the lab also gives the node proxy's listeners, policy route and TPROXY rules,
// so they are set in one place (lab/backends/tc/steering.ts), not compiled in.
struct tc_config {
	char tag[LAB_TAG_LEN]; // "lab-<run>", the first word of every trace line, NUL-padded
	__u16 outbound_port; // the node proxy's outbound listener (15001)
	__u16 inbound_port; // its inbound listener (15006)
	__u16 hbone_port; // its HBONE listener (15008), for inbound connections addressed to that port
	__u16 reserved;
	// Inside the proxy's namespace: packets steered to a proxy socket carry this mark, and the
	// policy route (`ip rule fwmark <mark>/0xfff lookup 100`, `local default dev lo table 100`)
	// delivers them locally.
	__u32 proxy_local_mark;
	// The iptables TPROXY fallback: the program only marks, the mangle table does the steering.
	__u32 tproxy_outbound_mark;
	__u32 tproxy_inbound_mark;
};

// Per-CPU event counters, read by the lab as evidence. Keep in step with lab/backends/tc/maps.ts.
enum tc_counter {
	C_OUTBOUND_REDIRECT = 0, // app_outbound sent a pod's packet to its node proxy
	C_INBOUND_REDIRECT, // app_inbound sent a packet bound for a pod to the node proxy
	C_NODE_BYPASS, // traffic from or to the node's own address, left alone
	C_PROXY_RETURN, // ztunnel_host_ingress delivered a proxy packet straight to a pod veth
	C_PROXY_PASS, // ztunnel_host_ingress: destination not a local captured pod, routed normally
	C_INBOUND_SKIP_FROM_PROXY, // app_inbound saw a packet the proxy sent (not captured again)
	C_ASSIGN_LISTENER, // ztunnel_tproxy assigned a new connection to a proxy listener
	C_ASSIGN_ESTABLISHED, // ztunnel_tproxy assigned a packet to an existing proxy socket
	C_ASSIGN_FAILED, // bpf_sk_assign refused (packet dropped)
	C_NO_LISTENER, // no proxy listener for a captured packet (passed on; the proxy is down)
	C_MARK_OUTBOUND, // ztunnel_ingress (fallback) marked a packet for the outbound TPROXY rule
	C_MARK_INBOUND, // ztunnel_ingress (fallback) marked a packet for the inbound TPROXY rule
	C_NO_PROXY, // a captured pod without proxy info: dropped, never bypassed silently
	C_NO_SOCKET, // mid-connection packet whose proxy socket was not found: dropped, never given to a listener
	C_NOT_CONFIGURED, // a proxy-side program ran before tc_config held ports and marks (passed on untouched)
	C_COUNT,
};

#endif
