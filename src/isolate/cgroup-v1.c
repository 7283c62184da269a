/* cgroup v1: each controller has its own hierarchy (cpu usually co-mounted
 * with cpuacct), so a run gets one directory per hierarchy. There are no
 * subtree_control rules: a writable parent is all it takes. */
#include "isolate/cgroup-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

void dp_cg1_check(const char *parent, int ctrl, dp_cgroup_probe_ctrl *st)
{
	(void)ctrl;
	memset(st, 0, sizeof(*st));
	st->version = DP_CGROUP_V1;
	snprintf(st->parent, sizeof(st->parent), "%s", parent);
	/* the child's files belong to whoever creates it, so the parent's own
	 * write permission is the whole question */
	st->usable = dp_cg_writable(parent, NULL, st);
}

static int apply_memory(const char *dir, uint64_t bytes, dp_error **err)
{
	if (dp_cg_set(err, DP_CGROUP_MEMORY, dir, "memory.limit_in_bytes", "%" PRIu64, bytes) < 0)
		return -1;
	/* memory+swap at the same cap, or a memory bomb just swaps; the file
	 * is missing when the kernel does not account swap (then there is
	 * nothing to escape into either) */
	if (dp_cg_exists(dir, "memory.memsw.limit_in_bytes") &&
	    dp_cg_set(err, DP_CGROUP_MEMORY, dir, "memory.memsw.limit_in_bytes", "%" PRIu64, bytes) < 0)
		return -1;
	/* best effort: memsw above already bounds swap; this only keeps the
	 * kernel from preferring swap inside the limit */
	if (dp_cg_write(dir, "memory.swappiness", "0") < 0)
		dp_debug("write 0 to %s/memory.swappiness: %s", dir, strerror(errno));
	return 0;
}

int dp_cg1_apply(const char *dir, unsigned ctrls, const dp_limits *limits, dp_error **err)
{
	if ((ctrls & DP_CG_BIT(DP_CGROUP_MEMORY)) && apply_memory(dir, limits->mem_bytes, err) < 0)
		return -1;
	if ((ctrls & DP_CG_BIT(DP_CGROUP_PIDS)) &&
	    dp_cg_set(err, DP_CGROUP_PIDS, dir, "pids.max", "%" PRIu64, limits->pids) < 0)
		return -1;
	if (ctrls & DP_CG_BIT(DP_CGROUP_CPU)) {
		if (dp_cg_set(err, DP_CGROUP_CPU, dir, "cpu.cfs_period_us", "%u", DP_CG_CPU_PERIOD) < 0 ||
		    dp_cg_set(err, DP_CGROUP_CPU, dir, "cpu.cfs_quota_us", "%llu", dp_cg_cpu_quota(limits->millicpus)) < 0)
			return -1;
	}
	return 0;
}
