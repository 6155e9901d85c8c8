// Event counters: a per-CPU array indexed by an enum the program defines, so counting never
// contends between CPUs; the lab sums the per-CPU values (bpftool map dump).
#ifndef LAB_COUNTERS_H
#define LAB_COUNTERS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define LAB_COUNTER_MAP(name, count)                       \
	struct {                                           \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);   \
		__uint(max_entries, count);                \
		__type(key, __u32);                        \
		__type(value, __u64);                      \
	} name SEC(".maps")

static __always_inline void lab_count_add(void *counters, __u32 index, __u64 amount)
{
	__u64 *value = bpf_map_lookup_elem(counters, &index);

	if (value)
		*value += amount;
}

#define lab_count(counters, index) lab_count_add(counters, index, 1)

#endif /* LAB_COUNTERS_H */
