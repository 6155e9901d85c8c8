// Map layouts and counters shared by sockmap.bpf.c and the lab. The lab writes these structs through
// the object's BTF (lab/bpf/maps.ts; lab/backends/sockmap/layout.ts names their members), and
// lab/backends/sockmap/counters.ts lists the counters in this order (a unit test compares it with
// this file): change them together.
#ifndef LAB_SOCKMAP_H
#define LAB_SOCKMAP_H

#include <linux/types.h>
#include "lab_trace.h"

/** Which sockets sockops puts into the SOCKHASH. */
enum sockmap_mode {
	/** Istio sidecar interception (Merbridge): only the legs through a sidecar, and only when both ends share a node. */
	SOCKMAP_MODE_MESH = 0,
	/** The classic loopback acceleration: every IPv4 (and IPv4-mapped) TCP socket, both ends. */
	SOCKMAP_MODE_ALL = 1,
};

#define SOCKMAP_MAX_EXCLUDED_PORTS 4

/** config[0]: 40 bytes. Programs do nothing until the lab has written a tag. */
struct sockmap_config {
	char tag[LAB_TAG_LEN]; /* "lab-<run>", NUL-terminated */
	__u32 mode;            /* enum sockmap_mode */
	__u32 proxy_uid;       /* also matched as GID, as istio-iptables does */
	__u16 outbound_port;   /* 15001 */
	__u16 inbound_port;    /* 15006 */
	__u16 hbone_port;      /* 15008: never captured */
	__u16 reserved;
	__u16 excluded_inbound[SOCKMAP_MAX_EXCLUDED_PORTS]; /* 0 = unused slot */
};

/** A captured pod, by cgroup id (who is connecting) and by IP (where to). 8 bytes. */
struct sockmap_pod {
	__u32 ip;   /* network order */
	__u32 node; /* sockets are only short-circuited between pods of one node */
};

enum sockmap_direction {
	SOCKMAP_OUTBOUND = 1, /* app -> its own sidecar's 15001 */
	SOCKMAP_INBOUND = 2,  /* sidecar -> the destination pod's sidecar 15006 */
};

/** The destination a connect asked for, before the rewrite. 8 bytes. */
struct sockmap_origin {
	__u32 ip;   /* network order */
	__u16 port; /* host order */
	__u8 direction;
	__u8 reserved;
};

enum sockmap_counter {
	SOCKMAP_CONNECT_SEEN = 0,          /* TCP connects by processes in the lab's cgroups */
	SOCKMAP_CONNECT_NOT_A_POD,         /* ... whose cgroup is no captured pod */
	SOCKMAP_REWRITE_OUTBOUND,          /* app -> own sidecar 15001 */
	SOCKMAP_REWRITE_INBOUND,           /* sidecar -> destination pod's 15006 */
	SOCKMAP_SKIP_LOOPBACK,             /* 127.0.0.0/8 destination */
	SOCKMAP_SKIP_HBONE,                /* destination port 15008 */
	SOCKMAP_SKIP_PROXY_UID,            /* proxy UID/GID to something that is not another captured pod */
	SOCKMAP_SKIP_OWN_POD,              /* proxy UID to its own pod (inbound passthrough) */
	SOCKMAP_SKIP_EXCLUDED_PORT,        /* proxy UID to an excluded inbound port */
	SOCKMAP_SKIP_IPV6,                 /* connect6 to a native IPv6 destination: not captured */
	SOCKMAP_ESTABLISHED_ACTIVE,
	SOCKMAP_ESTABLISHED_PASSIVE,
	SOCKMAP_ESTABLISHED_UNSUPPORTED,   /* native IPv6: no key, never in the SOCKHASH */
	SOCKMAP_PAIR_RECORDED,             /* original destination recorded by 4-tuple */
	SOCKMAP_SOCKHASH_INSERTED,
	SOCKMAP_SOCKHASH_INSERT_FAILED,    /* e.g. the 4-tuple is already there: a cross-pod collision */
	SOCKMAP_SOCKHASH_CROSS_NODE,       /* a captured leg between nodes: left to the network */
	SOCKMAP_MSG_REDIRECTED,            /* sk_msg messages redirected to the peer socket */
	SOCKMAP_MSG_REDIRECTED_BYTES,
	SOCKMAP_MSG_MISS,                  /* peer not in the SOCKHASH: message sent the normal way */
	SOCKMAP_MSG_NO_KEY,
	SOCKMAP_ORIGINAL_DST_ANSWERED,     /* getsockopt(SO_ORIGINAL_DST) answered from the pair record */
	SOCKMAP_ORIGINAL_DST_UNKNOWN,      /* ... asked but nothing recorded */
	SOCKMAP_PAIR_FORGOTTEN,            /* pair record removed when its socket closed */
	SOCKMAP_COUNTER_COUNT
};

#endif /* LAB_SOCKMAP_H */
