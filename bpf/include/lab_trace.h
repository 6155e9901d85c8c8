// Tagged trace lines. trace_pipe is shared by every BPF program on the machine (other lab runs
// included), so each line starts with the run's tag ("lab-<run>"), which the lab's reader filters
// on. The tag lives in a map the lab fills at install time; a program without a tag prints nothing
// rather than an untagged line nobody could attribute.
#ifndef LAB_TRACE_H
#define LAB_TRACE_H

#include <bpf/bpf_helpers.h>

#define LAB_TAG_LEN 16

/** Prints `<tag> <fmt...>` when `tag` (a NUL-terminated char[LAB_TAG_LEN] in a map) is set. */
#define LAB_TRACE(tag, fmt, args...)                                  \
	do {                                                          \
		if ((tag) && (tag)[0])                                \
			bpf_printk("%s " fmt, (tag), ##args);         \
	} while (0)

#endif /* LAB_TRACE_H */
