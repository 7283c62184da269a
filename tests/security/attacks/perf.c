/* perf_event_open: kernel profiling, a long list of local privilege
 * escalations and side channels. Refused for this process, every cpu and
 * kernel tracepoints. */
#include <linux/perf_event.h>

#include "attack.h"

/* A /proc/sys knob that exists only on kernels built with the feature. */
static void knob(const char *path, int want)
{
	if (access(path, F_OK) < 0) {
		note("%s: not on this kernel", path);
		return;
	}
	EXPECT_ERRNO_AS(path, dac_or(path, want), open(path, O_WRONLY));
}

int main(void)
{
	struct perf_event_attr a;

	attack_begin("perf");
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_CPU_CLOCK;
	EXPECT_ERRNO_AS("perf_event_open(self, sw cpu-clock)", EPERM, syscall(SYS_perf_event_open, &a, 0, -1, -1, 0));
	EXPECT_ERRNO_AS("perf_event_open(all tasks, cpu 0)", EPERM, syscall(SYS_perf_event_open, &a, -1, 0, -1, 0));
	a.type = PERF_TYPE_HARDWARE;
	a.config = PERF_COUNT_HW_CPU_CYCLES;
	EXPECT_ERRNO_AS("perf_event_open(self, hw cycles)", EPERM, syscall(SYS_perf_event_open, &a, 0, -1, -1, 0));
	a.type = PERF_TYPE_TRACEPOINT;
	a.config = 1;
	EXPECT_ERRNO_AS("perf_event_open(tracepoint)", EPERM, syscall(SYS_perf_event_open, &a, -1, 0, -1, 0));
	knob("/proc/sys/kernel/perf_event_paranoid", EROFS);
	attack_end();
}
