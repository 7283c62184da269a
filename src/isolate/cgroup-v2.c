/* cgroup v2: one unified hierarchy. A child gets a controller only when its
 * parent lists it in cgroup.controllers and enables it in
 * cgroup.subtree_control, and the kernel refuses to enable one in a
 * non-root cgroup that holds processes ("no internal processes"). Moving a
 * process also needs write access to cgroup.procs of the common ancestor,
 * here the parent itself. */
#include "isolate/cgroup-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/cleanup.h"

/* Only the root cgroup lacks cgroup.type; it is exempt from the
 * no-internal-processes rule. */
static bool is_root(const char *dir)
{
	return !dp_cg_exists(dir, "cgroup.type");
}

static bool has_procs(const char *dir)
{
	cleanup_free char *procs = dp_cg_read(dir, "cgroup.procs");
	return procs == NULL || procs[strspn(procs, " \n")] != '\0';
}

void dp_cg2_check(const char *parent, int ctrl, dp_cgroup_probe_ctrl *st)
{
	const char *name = dp_cg_ctrl_name[ctrl];
	cleanup_free char *offered = NULL;
	cleanup_free char *enabled = NULL;

	memset(st, 0, sizeof(*st));
	snprintf(st->parent, sizeof(st->parent), "%s", parent);
	offered = dp_cg_read(parent, "cgroup.controllers");
	if (offered == NULL) {
		st->errnum = errno;
		snprintf(st->why, sizeof(st->why), "read %.400s/cgroup.controllers: %s", parent, strerror(errno));
		return;
	}
	if (!dp_cg_has_word(offered, name)) {
		offered[strcspn(offered, "\n")] = '\0';
		st->errnum = ENOENT;
		snprintf(st->why, sizeof(st->why), "cgroup2 at %.300s does not offer %s, its cgroup.controllers %s%.100s",
			 parent, name, offered[0] ? "lists only " : "is empty", offered);
		return;
	}
	st->version = DP_CGROUP_V2;
	if (!dp_cg_writable(parent, NULL, st) || !dp_cg_writable(parent, "cgroup.procs", st))
		return;
	enabled = dp_cg_read(parent, "cgroup.subtree_control");
	if (enabled != NULL && dp_cg_has_word(enabled, name)) {
		st->usable = true;
		return;
	}
	if (!dp_cg_writable(parent, "cgroup.subtree_control", st))
		return;
	if (!is_root(parent) && has_procs(parent)) {
		st->errnum = EBUSY;
		snprintf(st->why, sizeof(st->why),
			 "%.300s holds processes (this one among them), and cgroup v2 enables %s for child cgroups "
			 "only in a cgroup without processes of its own",
			 parent, name);
		return;
	}
	st->usable = true;
}

int dp_cg2_enable(const char *parent, unsigned ctrls, dp_error **err)
{
	cleanup_free char *enabled = dp_cg_read(parent, "cgroup.subtree_control");

	/* left enabled afterwards: other children may rely on it by then, and
	 * an enabled controller costs nothing while no limit is set */
	for (int c = 0; c < DP_CGROUP_NCTRL; c++) {
		char value[32];
		if (!(ctrls & DP_CG_BIT(c)) || (enabled != NULL && dp_cg_has_word(enabled, dp_cg_ctrl_name[c])))
			continue;
		snprintf(value, sizeof(value), "+%s", dp_cg_ctrl_name[c]);
		if (dp_cg_write(parent, "cgroup.subtree_control", value) < 0)
			return dp_cg_fail(err, DP_CG_BIT(c), errno, "write '%s' to %s/cgroup.subtree_control", value, parent);
	}
	return 0;
}

int dp_cg2_apply(const char *dir, unsigned ctrls, const dp_limits *limits, dp_error **err)
{
	if (ctrls & DP_CG_BIT(DP_CGROUP_MEMORY)) {
		if (dp_cg_set(err, DP_CGROUP_MEMORY, dir, "memory.max", "%" PRIu64, limits->mem_bytes) < 0)
			return -1;
		/* v2 counts swap separately: zero, or a memory bomb just swaps.
		 * Missing when the kernel does not account swap. */
		if (dp_cg_exists(dir, "memory.swap.max") && dp_cg_set(err, DP_CGROUP_MEMORY, dir, "memory.swap.max", "0") < 0)
			return -1;
	}
	if ((ctrls & DP_CG_BIT(DP_CGROUP_PIDS)) &&
	    dp_cg_set(err, DP_CGROUP_PIDS, dir, "pids.max", "%" PRIu64, limits->pids) < 0)
		return -1;
	if ((ctrls & DP_CG_BIT(DP_CGROUP_CPU)) &&
	    dp_cg_set(err, DP_CGROUP_CPU, dir, "cpu.max", "%llu %u", dp_cg_cpu_quota(limits->millicpus), DP_CG_CPU_PERIOD) < 0)
		return -1;
	return 0;
}
