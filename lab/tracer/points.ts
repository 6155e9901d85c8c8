// The kernel-path tracer's vocabulary: the probe points bpf/tracer/kpath.bpf.c counts at, the flags
// it classifies each event with, and the named signals (a point plus flags) that tell the
// interception paths apart. The numbers match bpf/tracer/kpath.h (a unit test reads that header).

/** Tracepoints the tracer always attaches, by the number kpath.h gives them. */
export const TRACEPOINTS = {
  1: 'net_dev_queue',
  2: 'netif_receive_skb',
  3: 'fib_table_lookup',
  4: 'inet_sock_set_state',
  5: 'sock_send_length',
  6: 'sock_recv_length',
  7: 'tcp_sendmsg_locked',
  8: 'skb_copy_datagram_iovec',
  9: 'sk_data_ready',
  10: 'kfree_skb',
} as const satisfies Record<number, string>;

/** Point numbers from here on are the loader's --fn functions, in command-line order. */
export const FUNCTION_POINT_BASE = 64;
/** fentry program slots in kpath.bpf.c: the most functions one trace can count. */
export const MAX_FUNCTIONS = 16;

/** Event flags (enum kpath_flag), by bit. */
export const FLAGS = {
  payload: 1 << 0,
  nat: 1 << 1,
  redirected: 1 << 2,
  psock: 1 << 3,
  transparent: 1 << 4,
  'policy-table': 1 << 5,
  syn: 1 << 6,
  established: 1 << 7,
} as const;
export type FlagName = keyof typeof FLAGS;

export function flagNames(bits: number): FlagName[] {
  return (Object.keys(FLAGS) as FlagName[]).filter((name) => (bits & FLAGS[name]) !== 0);
}

/** `tp:<tracepoint>` or `fn:<kernel function>`: where an event was counted. */
export type PointName = `tp:${string}` | `fn:${string}`;

export const tracepointName = (name: string): PointName => `tp:${name}`;
export const functionName = (name: string): PointName => `fn:${name}`;

/**
 * A signal: events at one point that carry every flag of `all` and none of `none`. Signals are what
 * expectations name; each says in one line what its events mean in the kernel.
 */
export interface Signal {
  point: PointName;
  all: readonly FlagName[];
  none?: readonly FlagName[];
  meaning: string;
}

export const SIGNALS = {
  'nat-rewritten-tx': {
    point: 'tp:net_dev_queue',
    all: ['nat'],
    meaning: "a socket's packet left with an IP/TCP 4-tuple other than the socket's own: netfilter NAT rewrote it (REDIRECT, or its reverse on the reply)",
  },
  'nat-rewritten-syn': {
    point: 'tp:net_dev_queue',
    all: ['nat', 'syn'],
    meaning: "a connection's SYN left with a destination other than its socket's: NAT at connection set-up (nf_nat_setup_info's work), one per connection",
  },
  'tc-redirected-tx': {
    point: 'tp:net_dev_queue',
    all: ['redirected'],
    meaning: 'an skb queued on a device by a tc BPF redirect (skb_do_redirect sets skb->redirected), not by routing',
  },
  'tc-redirected-syn': {
    point: 'tp:net_dev_queue',
    all: ['redirected', 'syn'],
    meaning: "a connection's SYN queued on a device by a tc BPF redirect: one per redirected connection",
  },
  'policy-route': {
    point: 'tp:fib_table_lookup',
    all: ['policy-table'],
    meaning: 'a route found in a policy-routing table (fwmark rule): the TPROXY / sk_assign "local default dev lo" table',
  },
  'transparent-accept': {
    point: 'tp:inet_sock_set_state',
    all: ['established', 'transparent'],
    meaning: 'an IP_TRANSPARENT socket reached ESTABLISHED: a connection to a foreign address was handed to a transparent proxy listener',
  },
  'sockmap-send': {
    point: 'tp:sock_send_length',
    all: ['psock', 'payload'],
    meaning: 'a sendmsg that moved bytes on a sockmap socket: tcp_bpf_sendmsg, where the sk_msg verdict runs',
  },
  'sockmap-recv': {
    point: 'tp:sock_recv_length',
    all: ['psock', 'payload'],
    meaning: 'a recvmsg that moved bytes on a sockmap socket: tcp_bpf_recvmsg reading its psock queue',
  },
  'sockmap-tcp-send': {
    point: 'tp:tcp_sendmsg_locked',
    all: ['psock'],
    meaning: "a sockmap socket's bytes entered the TCP send path (tcp_sendmsg_locked): the message was passed, not redirected",
  },
  'sockmap-payload-tx': {
    point: 'tp:net_dev_queue',
    all: ['psock', 'payload'],
    meaning: "a sockmap socket's payload reached a device: it went through tcp_transmit_skb, not through the sk_msg redirect",
  },
  'sockmap-skb-copy': {
    point: 'tp:skb_copy_datagram_iovec',
    all: ['psock'],
    meaning: 'a sockmap socket read bytes out of an skb: they came through the TCP receive path, not from a redirected message',
  },
  'payload-tx': {
    point: 'tp:net_dev_queue',
    all: ['payload'],
    meaning: 'TCP payload handed to a device (after tcp_transmit_skb)',
  },
  'tcp-send': {
    point: 'tp:tcp_sendmsg_locked',
    all: [],
    meaning: 'bytes entering the TCP send path (tcp_sendmsg_locked)',
  },
  'skb-drop': {
    point: 'tp:kfree_skb',
    all: [],
    meaning: 'an IPv4 TCP skb freed as dropped (kfree_skb, with the reason in the trail)',
  },
} as const satisfies Record<string, Signal>;
export type SignalName = keyof typeof SIGNALS;

/** What an expectation may name: a signal, or a point counted whatever its flags. */
export type EvidenceName = `sig:${SignalName}` | PointName;

export function signalOf(name: EvidenceName): Signal | undefined {
  return name.startsWith('sig:') ? (SIGNALS as Record<string, Signal>)[name.slice(4)] : undefined;
}

/** The point an evidence name is counted at (a signal's point, or the point itself). */
export function pointOf(name: EvidenceName): PointName {
  return signalOf(name)?.point ?? (name as PointName);
}

/** Whether an event with these flags counts for the evidence name. */
export function matchesFlags(name: EvidenceName, flags: readonly string[]): boolean {
  const signal = signalOf(name);
  if (!signal) return true;
  return signal.all.every((f) => flags.includes(f)) && !(signal.none ?? []).some((f) => flags.includes(f));
}
