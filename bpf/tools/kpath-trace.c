// Loads the kernel-path tracer (bpf/tracer/kpath.bpf.c) with libbpf, counts until its standard input
// closes, then prints what it saw. One JSON object per line on standard output:
//
//   {"type":"point","point":1,"name":"net_dev_queue","kind":"tracepoint","available":true}
//   {"type":"point","point":64,"name":"nf_nat_redirect_ipv4","kind":"function","available":false,"reason":"..."}
//   {"type":"ready","setup_ms":84}
//   ... standard input closes (or a line "stop" arrives) ...
//   {"type":"event",...}      the trail, in ring-buffer order (at most --trail of them)
//   {"type":"count","netns":4026532511,"point":1,"flags":3,"count":12}
//   {"type":"end","trail_emitted":40,"trail_lost":0}
//
// Usage: kpath-trace OBJECT [--netns INODE]... [--trail N] [--fn NAME[:ARG:KIND]]...
//   --netns  a network namespace to count in (its inode number); nothing else is counted
//   --trail  how many events to keep in order (default 0: counts only)
//   --fn     a kernel function to count with fentry. ARG:KIND names the argument that leads to the
//            namespace (KIND skb|sock|net|nf_conn|nft_pktinfo); by default the first argument of
//            those types in the function's BTF prototype. A function that cannot be traced is
//            reported with the reason, never left out.
//
// The tracer's programs are detached when this process exits: after the summary line, or when its
// standard input closes (a lab that dies takes them along).
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "../tracer/kpath.h"

#define MAX_LINKS 32

static const struct {
	enum kpath_point point;
	const char *name; /* the tracepoint, as in /sys/kernel/tracing/events/<group>/<name> */
	const char *program;
} TRACEPOINTS[] = {
	{ KP_NET_DEV_QUEUE, "net_dev_queue", "kpath_net_dev_queue" },
	{ KP_NETIF_RECEIVE_SKB, "netif_receive_skb", "kpath_netif_receive_skb" },
	{ KP_FIB_LOOKUP, "fib_table_lookup", "kpath_fib_table_lookup" },
	{ KP_SOCK_STATE, "inet_sock_set_state", "kpath_inet_sock_set_state" },
	{ KP_SOCK_SEND, "sock_send_length", "kpath_sock_send_length" },
	{ KP_SOCK_RECV, "sock_recv_length", "kpath_sock_recv_length" },
	{ KP_TCP_SENDMSG, "tcp_sendmsg_locked", "kpath_tcp_sendmsg_locked" },
	{ KP_SKB_COPY, "skb_copy_datagram_iovec", "kpath_skb_copy_datagram_iovec" },
	{ KP_SK_DATA_READY, "sk_data_ready", "kpath_sk_data_ready" },
	{ KP_KFREE_SKB, "kfree_skb", "kpath_kfree_skb" },
};
#define TRACEPOINT_COUNT (sizeof(TRACEPOINTS) / sizeof(TRACEPOINTS[0]))

static const char *const ARG_KINDS[] = { [KA_NONE] = "none", [KA_SKB] = "skb", [KA_SOCK] = "sock", [KA_NET] = "net", [KA_NF_CONN] = "nf_conn", [KA_NFT_PKTINFO] = "nft_pktinfo" };
#define ARG_KIND_COUNT (sizeof(ARG_KINDS) / sizeof(ARG_KINDS[0]))
/* The struct an argument must point to for each kind (KA_NONE has none). */
static const char *const ARG_STRUCTS[] = { [KA_NONE] = NULL, [KA_SKB] = "sk_buff", [KA_SOCK] = "sock", [KA_NET] = "net", [KA_NF_CONN] = "nf_conn", [KA_NFT_PKTINFO] = "nft_pktinfo" };

enum function_status { FN_PENDING, FN_TRACED, FN_UNAVAILABLE };

struct function {
	char name[128];
	int arg; /* -1: from BTF */
	int kind;
	enum function_status status;
	char reason[640];
};

static void fn_unavailable(struct function *fn, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void fn_unavailable(struct function *fn, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vsnprintf(fn->reason, sizeof(fn->reason), format, args);
	va_end(args);
	fn->status = FN_UNAVAILABLE;
}

static struct bpf_link *links[MAX_LINKS];
static int link_count;
static char libbpf_last[512]; /* the first libbpf warning since it was last cleared */

/* libbpf's own messages: kept (the first warning becomes the reason a function is unavailable), not printed. */
static int keep_libbpf_message(enum libbpf_print_level level, const char *format, va_list args)
{
	char line[sizeof(libbpf_last)];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), format, args);
	line[strcspn(line, "\n")] = 0;
	if (line[0] && !libbpf_last[0])
		snprintf(libbpf_last, sizeof(libbpf_last), "%s", strncmp(line, "libbpf: ", 8) == 0 ? line + 8 : line);
	return 0;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_point(int point, const char *name, const char *kind, const char *reason)
{
	printf("{\"type\":\"point\",\"point\":%d,\"name\":", point);
	json_string(name);
	printf(",\"kind\":\"%s\",\"available\":%s", kind, reason ? "false" : "true");
	if (reason) {
		printf(",\"reason\":");
		json_string(reason);
	}
	printf("}\n");
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/** Whether a whole line `name` (or `name` followed by a space or tab) appears in a file. */
static int file_lists(const char *path, const char *name, int *readable)
{
	char line[512];
	size_t n = strlen(name);
	FILE *f = fopen(path, "r");
	int found = 0;

	*readable = f != NULL;
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, n) == 0 && (line[n] == '\n' || line[n] == ' ' || line[n] == '\t' || line[n] == 0))
			found = 1;
	}
	fclose(f);
	return found;
}

/** The first of a function's first four arguments that leads to a namespace; -1 when none does. */
static int argument_from_btf(const struct btf *btf, int func_id, int *kind)
{
	const struct btf_type *proto = btf__type_by_id(btf, btf__type_by_id(btf, func_id)->type);
	const struct btf_param *params = btf_params(proto);
	int count = btf_vlen(proto);

	for (int i = 0; i < count && i < 4; i++) {
		const struct btf_type *t = btf__type_by_id(btf, params[i].type);

		while (t && (btf_is_typedef(t) || btf_is_const(t) || btf_is_volatile(t) || btf_is_restrict(t) || btf_is_type_tag(t)))
			t = btf__type_by_id(btf, t->type);
		if (!t || !btf_is_ptr(t))
			continue;
		t = btf__type_by_id(btf, t->type);
		while (t && (btf_is_typedef(t) || btf_is_const(t) || btf_is_volatile(t)))
			t = btf__type_by_id(btf, t->type);
		if (!t || !btf_is_struct(t))
			continue;
		for (int k = 1; k < (int)ARG_KIND_COUNT; k++) {
			if (strcmp(btf__name_by_offset(btf, t->name_off), ARG_STRUCTS[k]) == 0) {
				*kind = k;
				return i;
			}
		}
	}
	return -1;
}

/** Sets element `index` of a `const volatile __u32` array in the object's .rodata, before load. */
static int set_rodata(struct bpf_object *obj, const char *var, int index, __u32 value)
{
	const struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *map = bpf_object__find_map_by_name(obj, ".rodata");
	int sec_id = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -1;
	const struct btf_type *sec;
	const struct btf_var_secinfo *vars;
	const void *current;
	char data[256];
	size_t size;

	if (!map || sec_id < 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, sec_id);
	vars = btf_var_secinfos(sec);
	current = bpf_map__initial_value(map, &size);
	if (!current || size > sizeof(data))
		return -E2BIG;
	memcpy(data, current, size);
	for (int i = 0; i < btf_vlen(sec); i++) {
		const struct btf_type *v = btf__type_by_id(btf, vars[i].type);

		size_t at = vars[i].offset + index * sizeof(value);

		if (strcmp(btf__name_by_offset(btf, v->name_off), var) == 0 && at + sizeof(value) <= vars[i].offset + vars[i].size && at + sizeof(value) <= size) {
			memcpy(data + at, &value, sizeof(value));
			return bpf_map__set_initial_value(map, data, size);
		}
	}
	return -ENOENT;
}

static const char *const SHARED_MAPS[] = { "kpath_netns", "kpath_counts", "kpath_events", "kpath_state", "kpath_control" };

static void slot_program_name(int slot, char *name, size_t size)
{
	snprintf(name, size, "kpath_function_%d", slot);
}

/** The slot libbpf named in its message about a refused program ("prog 'kpath_function_3': ..."); -1 if none. */
static int refused_slot(const char *message)
{
	const char *at = strstr(message, "'kpath_function_");
	int slot;

	return at && sscanf(at, "'kpath_function_%d'", &slot) == 1 ? slot : -1;
}

/**
 * Loads the fentry slots of every function whose precheck passed, all in one object (one load: the
 * kernel's BTF is parsed once), and attaches them. A function the kernel refuses gets its reason and
 * the rest are loaded again without it; EPERM, a refusal of permission rather than of one function,
 * ends the attempts for all.
 */
static void trace_functions(const char *object_path, struct bpf_object *main_obj, const struct btf *vmlinux, struct function *fns, int count)
{
	int first = -1;

	for (int i = 0; i < count && first < 0; i++)
		if (fns[i].status == FN_PENDING)
			first = i;
	if (first < 0)
		return;
	/*
	 * A two-instruction fentry program on the first function costs a millisecond; loading the real
	 * object costs a parse of the kernel's BTF and its relocations. When the small one is refused for
	 * lack of permission (lockdown, an LSM, a missing capability), the object is not tried.
	 */
	{
		const struct bpf_insn ret0[] = {
			{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
			{ .code = BPF_JMP | BPF_EXIT },
		};
		LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY,
			    .attach_btf_id = btf__find_by_name_kind(vmlinux, fns[first].name, BTF_KIND_FUNC));
		int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "kpath_probe", "GPL", ret0, 2, &opts);

		if (fd < 0 && (errno == EPERM || errno == EACCES)) {
			int err = errno;

			for (int i = 0; i < count; i++)
				if (fns[i].status == FN_PENDING)
					fn_unavailable(&fns[i], "fentry refused by this kernel: %s (for a minimal fentry program on %s: a refusal of permission, not of one function; the others were not tried)",
						       strerror(err), fns[first].name);
			return;
		}
		if (fd >= 0)
			close(fd);
	}
	for (;;) {
		struct bpf_object *obj;
		struct bpf_program *prog;
		int pending = 0, err, slot;

		for (int i = 0; i < count; i++)
			pending += fns[i].status == FN_PENDING;
		if (!pending)
			return;
		obj = bpf_object__open_file(object_path, NULL);
		if (!obj) {
			for (int i = 0; i < count; i++)
				if (fns[i].status == FN_PENDING)
					fn_unavailable(&fns[i], "could not open %s: %s", object_path, strerror(errno));
			return;
		}
		bpf_object__for_each_program(prog, obj)
			bpf_program__set_autoload(prog, false);
		for (size_t m = 0; m < sizeof(SHARED_MAPS) / sizeof(SHARED_MAPS[0]); m++)
			bpf_map__reuse_fd(bpf_object__find_map_by_name(obj, SHARED_MAPS[m]), bpf_map__fd(bpf_object__find_map_by_name(main_obj, SHARED_MAPS[m])));
		err = 0;
		for (int i = 0; i < count && !err; i++) {
			char name[32];

			if (fns[i].status != FN_PENDING)
				continue;
			slot_program_name(i, name, sizeof(name));
			prog = bpf_object__find_program_by_name(obj, name);
			err = prog ? 0 : -ENOENT;
			if (!err)
				err = bpf_program__set_autoload(prog, true) ?: bpf_program__set_attach_target(prog, 0, fns[i].name) ?:
				      set_rodata(obj, "kp_fn_arg", i, fns[i].arg) ?: set_rodata(obj, "kp_fn_kind", i, fns[i].kind);
		}
		libbpf_last[0] = 0;
		if (!err)
			err = bpf_object__load(obj);
		if (!err) {
			for (int i = 0; i < count; i++) {
				char name[32];
				struct bpf_link *link;

				if (fns[i].status != FN_PENDING)
					continue;
				slot_program_name(i, name, sizeof(name));
				link = bpf_program__attach(bpf_object__find_program_by_name(obj, name));
				if (!link) {
					fn_unavailable(&fns[i], "fentry attach refused by this kernel: %s", strerror(errno));
					continue;
				}
				links[link_count++] = link;
				fns[i].status = FN_TRACED;
			}
			/* The object stays open: its programs live as long as their links, until this process exits. */
			return;
		}
		bpf_object__close(obj);
		slot = refused_slot(libbpf_last);
		if (err == -EPERM || slot < 0 || slot >= count || fns[slot].status != FN_PENDING) {
			int first = slot >= 0 && slot < count ? slot : -1;

			for (int i = 0; i < count; i++) {
				if (fns[i].status != FN_PENDING)
					continue;
				if (i == first || first < 0)
					fn_unavailable(&fns[i], "fentry refused by this kernel: %s%s%s", strerror(-err), libbpf_last[0] ? "; libbpf: " : "", libbpf_last);
				else
					fn_unavailable(&fns[i], "fentry refused by this kernel: %s for %s, a refusal of permission, not of one function (not retried alone)",
						       strerror(-err), fns[first].name);
			}
			return;
		}
		fn_unavailable(&fns[slot], "fentry refused by this kernel: %s; libbpf: %s", strerror(-err), libbpf_last);
	}
}

/** Marks `fn` unavailable when it cannot be traced at all, and picks the argument that leads to its namespace. */
static void precheck_function(const struct btf *vmlinux, struct function *fn)
{
	int func_id = vmlinux ? btf__find_by_name_kind(vmlinux, fn->name, BTF_KIND_FUNC) : -1;
	int readable;

	/* fentry attaches only to a BTF FUNC: one inlined into all its callers, or absent, has none. */
	if (func_id < 0) {
		fn_unavailable(fn, "not a function in the kernel's BTF: inlined or absent on this kernel (fentry needs one)");
		return;
	}
	if (!file_lists("/sys/kernel/tracing/available_filter_functions", fn->name, &readable) && readable) {
		fn_unavailable(fn, "not in available_filter_functions: not traceable (notrace or inlined)");
		return;
	}
	if (fn->arg < 0)
		fn->arg = argument_from_btf(vmlinux, func_id, &fn->kind);
	if (fn->arg < 0)
		fn_unavailable(fn, "no argument among its first four leads to a network namespace (sk_buff, sock, net, nf_conn, nft_pktinfo)");
}

static int parse_function(const char *spec, struct function *fn)
{
	char kind[32];

	fn->arg = -1;
	fn->kind = KA_NONE;
	if (sscanf(spec, "%127[^:]:%d:%31s", fn->name, &fn->arg, kind) == 3) {
		for (int k = 1; k < (int)ARG_KIND_COUNT; k++)
			if (strcmp(kind, ARG_KINDS[k]) == 0)
				fn->kind = k;
		return fn->kind != KA_NONE && fn->arg >= 0 && fn->arg < 4 ? 0 : -1;
	}
	fn->arg = -1;
	return sscanf(spec, "%127[^:]", fn->name) == 1 && !strchr(spec, ':') ? 0 : -1;
}

/** The name of a value of a kernel enum, from its BTF (skb_drop_reason for kfree_skb); NULL if unknown. */
static const char *enum_name(const struct btf *btf, const char *type, __u32 value)
{
	int id = btf ? btf__find_by_name_kind(btf, type, BTF_KIND_ENUM) : -1;
	const struct btf_type *t;
	const struct btf_enum *values;

	if (id < 0)
		return NULL;
	t = btf__type_by_id(btf, id);
	values = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++)
		if ((__u32)values[i].val == value)
			return btf__name_by_offset(btf, values[i].name_off);
	return NULL;
}

static int print_event(void *ctx, void *data, size_t size)
{
	const struct btf *vmlinux = ctx;
	const struct kpath_event *ev = data;
	const char *drop_reason = ev->point == KP_KFREE_SKB ? enum_name(vmlinux, "skb_drop_reason", ev->aux) : NULL;
	char saddr[INET_ADDRSTRLEN], daddr[INET_ADDRSTRLEN], sk_saddr[INET_ADDRSTRLEN], sk_daddr[INET_ADDRSTRLEN], dev[sizeof(ev->dev) + 1];

	if (size < sizeof(*ev))
		return 0;
	inet_ntop(AF_INET, &ev->saddr, saddr, sizeof(saddr));
	inet_ntop(AF_INET, &ev->daddr, daddr, sizeof(daddr));
	inet_ntop(AF_INET, &ev->sk_saddr, sk_saddr, sizeof(sk_saddr));
	inet_ntop(AF_INET, &ev->sk_daddr, sk_daddr, sizeof(sk_daddr));
	memcpy(dev, ev->dev, sizeof(ev->dev));
	dev[sizeof(ev->dev)] = 0;
	printf("{\"type\":\"event\",\"ts_ns\":%llu,\"netns\":%u,\"point\":%u,\"flags\":%u,\"ifindex\":%u,\"dev\":", (unsigned long long)ev->ts_ns,
	       ev->netns, ev->point, ev->flags, ev->ifindex);
	json_string(dev);
	printf(",\"len\":%u,\"aux\":%u,\"mark\":%u,\"saddr\":\"%s\",\"sport\":%u,\"daddr\":\"%s\",\"dport\":%u,\"sk_saddr\":\"%s\",\"sk_sport\":%u,"
	       "\"sk_daddr\":\"%s\",\"sk_dport\":%u,\"tcp_flags\":%u",
	       ev->len, ev->aux, ev->mark, saddr, ev->sport, daddr, ev->dport, sk_saddr, ev->sk_sport, sk_daddr, ev->sk_dport, ev->tcp_flags);
	if (drop_reason) {
		printf(",\"drop_reason\":");
		json_string(drop_reason);
	}
	printf("}\n");
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: kpath-trace OBJECT [--netns INODE]... [--trail N] [--fn NAME[:ARG:KIND]]...\n");
	return 2;
}

int main(int argc, char **argv)
{
	static struct function functions[KPATH_MAX_FUNCTIONS];
	__u32 netns[256];
	int netns_count = 0, function_count = 0;
	struct kpath_state state = { 0 };
	const char *object_path;
	struct bpf_object *obj;
	struct btf *vmlinux;
	struct ring_buffer *ring;
	double started = now_ms();
	char line[64];
	int err;

	if (argc < 2)
		return usage();
	object_path = argv[1];
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--netns") == 0 && i + 1 < argc && netns_count < 256)
			netns[netns_count++] = (__u32)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--trail") == 0 && i + 1 < argc)
			state.trail_max = (__u32)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--fn") == 0 && i + 1 < argc && function_count < KPATH_MAX_FUNCTIONS) {
			if (parse_function(argv[++i], &functions[function_count++]) != 0)
				return usage();
		} else
			return usage();
	}
	libbpf_set_print(keep_libbpf_message);
	vmlinux = btf__load_vmlinux_btf();

	obj = bpf_object__open_file(object_path, NULL);
	if (!obj) {
		fprintf(stderr, "kpath-trace: cannot open %s: %s\n", object_path, strerror(errno));
		return 1;
	}
	{
		struct bpf_program *prog;

		/* The fentry slots load separately (trace_functions): a refused one must not take the tracepoints along. */
		bpf_object__for_each_program(prog, obj)
			if (strncmp(bpf_program__name(prog), "kpath_function_", 15) == 0)
				bpf_program__set_autoload(prog, false);
	}
	/* A tracepoint the kernel lacks (older kernels) is reported, and its program not loaded. */
	for (size_t i = 0; i < TRACEPOINT_COUNT; i++) {
		char typedef_name[128];

		snprintf(typedef_name, sizeof(typedef_name), "btf_trace_%s", TRACEPOINTS[i].name);
		if (vmlinux && btf__find_by_name_kind(vmlinux, typedef_name, BTF_KIND_TYPEDEF) < 0)
			bpf_program__set_autoload(bpf_object__find_program_by_name(obj, TRACEPOINTS[i].program), false);
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "kpath-trace: the kernel refused the tracer: %s; libbpf: %s\n", strerror(-err), libbpf_last);
		return 1;
	}
	for (int i = 0; i < netns_count; i++) {
		__u32 one = 1;

		bpf_map__update_elem(bpf_object__find_map_by_name(obj, "kpath_netns"), &netns[i], sizeof(__u32), &one, sizeof(one), BPF_ANY);
	}
	{
		__u32 zero = 0;

		bpf_map__update_elem(bpf_object__find_map_by_name(obj, "kpath_state"), &zero, sizeof(zero), &state, sizeof(state), BPF_ANY);
	}
	for (size_t i = 0; i < TRACEPOINT_COUNT; i++) {
		struct bpf_program *prog = bpf_object__find_program_by_name(obj, TRACEPOINTS[i].program);
		char reason[640];
		struct bpf_link *link;

		if (!bpf_program__autoload(prog)) {
			print_point(TRACEPOINTS[i].point, TRACEPOINTS[i].name, "tracepoint", "tracepoint absent on this kernel (no btf_trace_ typedef in its BTF)");
			continue;
		}
		link = bpf_program__attach(prog);
		if (!link) {
			snprintf(reason, sizeof(reason), "attach refused: %s", strerror(errno));
			print_point(TRACEPOINTS[i].point, TRACEPOINTS[i].name, "tracepoint", reason);
			continue;
		}
		links[link_count++] = link;
		print_point(TRACEPOINTS[i].point, TRACEPOINTS[i].name, "tracepoint", NULL);
	}
	for (int i = 0; i < function_count; i++)
		precheck_function(vmlinux, &functions[i]);
	trace_functions(object_path, obj, vmlinux, functions, function_count);
	for (int i = 0; i < function_count; i++)
		print_point(KP_FUNCTION_BASE + i, functions[i].name, "function", functions[i].status == FN_TRACED ? NULL : functions[i].reason);
	printf("{\"type\":\"ready\",\"setup_ms\":%.0f}\n", now_ms() - started);
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin) && strcmp(line, "stop\n") != 0)
		;
	/*
	 * Stop recording first, so the counts and the trail hold still while they are read. The programs
	 * stay attached until this process exits after the summary line: the lab need not wait for that.
	 */
	{
		__u32 zero = 0;
		struct kpath_control control = { .stopped = 1 };

		bpf_map__update_elem(bpf_object__find_map_by_name(obj, "kpath_control"), &zero, sizeof(zero), &control, sizeof(control), BPF_ANY);
	}

	ring = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "kpath_events")), print_event, vmlinux, NULL);
	if (ring) {
		ring_buffer__consume(ring);
		ring_buffer__free(ring);
	}
	{
		int counts = bpf_map__fd(bpf_object__find_map_by_name(obj, "kpath_counts"));
		struct kpath_key key, next;
		void *prev = NULL;
		__u64 value;

		while (bpf_map_get_next_key(counts, prev, &next) == 0) {
			if (bpf_map_lookup_elem(counts, &next, &value) == 0)
				printf("{\"type\":\"count\",\"netns\":%u,\"point\":%u,\"flags\":%u,\"count\":%llu}\n", next.netns, next.point, next.flags,
				       (unsigned long long)value);
			key = next;
			prev = &key;
		}
	}
	{
		__u32 zero = 0;

		bpf_map__lookup_elem(bpf_object__find_map_by_name(obj, "kpath_state"), &zero, sizeof(zero), &state, sizeof(state), 0);
	}
	printf("{\"type\":\"end\",\"trail_emitted\":%u,\"trail_lost\":%u}\n", state.trail_emitted, state.trail_lost);
	fflush(stdout);
	return 0;
}
