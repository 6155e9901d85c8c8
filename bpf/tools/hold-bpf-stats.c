// Keeps BPF run-time statistics (program run counts and run time) on for as long as it runs.
//
// BPF_ENABLE_STATS returns a file descriptor, and the kernel counts runs while any such descriptor
// is open: a reference count. Holding one per lab run, instead of writing the machine-wide sysctl
// kernel.bpf_stats_enabled, means two concurrent runs never switch statistics off under each other,
// and a run killed with SIGKILL cannot leave them on: its descriptor closes with it.
//
// Prints "enabled" once the descriptor is held, then waits until its standard input closes (the
// lab's end, or its death) and exits.
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.enable_stats.type = BPF_STATS_RUN_TIME;
	int fd = (int)syscall(SYS_bpf, BPF_ENABLE_STATS, &attr, sizeof(attr));
	if (fd < 0) {
		fprintf(stderr, "BPF_ENABLE_STATS failed: %s (needs Linux 5.8+ and CAP_SYS_ADMIN)\n", strerror(errno));
		return 1;
	}
	printf("enabled\n");
	fflush(stdout);
	char buf[256];
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return 0;
}
