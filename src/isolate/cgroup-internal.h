/* Shared between cgroup.c (detection, the v1/v2 choice, directories and
 * processes) and cgroup-v1.c / cgroup-v2.c (what differs between the two
 * hierarchies: when a parent is usable, which files carry the limits, where
 * OOM kills are counted). Not for use outside src/isolate/cgroup*.c, except
 * by tests/unit/test-cgroup.c. */
#ifndef DOPPEL_ISOLATE_CGROUP_INTERNAL_H
#define DOPPEL_ISOLATE_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "isolate/cgroup.h"

#define DP_CG_BIT(c) (1u << (c))
#define DP_CG_ALL (DP_CG_BIT(DP_CGROUP_MEMORY) | DP_CG_BIT(DP_CGROUP_PIDS) | DP_CG_BIT(DP_CGROUP_CPU))

extern const char *const dp_cg_ctrl_name[DP_CGROUP_NCTRL]; /* "memory", "pids", "cpu" */

/* The hierarchies as this process sees them: for each, the directory of our
 * own cgroup (mount point joined with our path from /proc/self/cgroup). */
typedef struct dp_cg_host {
	char *v2_dir;                      /* NULL: no cgroup2 mount containing our cgroup */
	char *v1_dir[DP_CGROUP_NCTRL];     /* NULL: no v1 hierarchy carries the controller */
} dp_cg_host;

/* Parses /proc/self/mountinfo and /proc/self/cgroup contents (streams, so
 * tests can feed other hosts' layouts). Never fails on odd lines: a
 * hierarchy that cannot be placed is left NULL. */
void dp_cg_host_parse(dp_cg_host *h, FILE *mountinfo, FILE *self_cgroup);
int dp_cg_host_detect(dp_cg_host *h, dp_error **err);
void dp_cg_host_free(dp_cg_host *h);

/* For every controller in 'need', which hierarchy serves it and whether it
 * can: v2 when the unified hierarchy can serve all of 'need', else each
 * controller from its v1 hierarchy (or v2 when only v2 has it). Fills
 * v2_note (size 512) with why v2 was not chosen. */
void dp_cg_choose(const dp_cg_host *h, unsigned need, dp_cgroup_probe_ctrl ctl[DP_CGROUP_NCTRL],
		  char *v2_note, size_t note_size);

/* Small file helpers; cgroup files are tiny and written in one write(2).
 * 0, or -1 with errno (the kernel reports a refused value on write). */
int dp_cg_write(const char *dir, const char *file, const char *value);
/* Writes a formatted value to dir/file for the limit on 'ctrl', failing
 * with a dp_cg_fail message that names the value and the file. */
int dp_cg_set(dp_error **err, int ctrl, const char *dir, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
bool dp_cg_exists(const char *dir, const char *file);
/* Whole file, NUL-terminated; NULL with errno on failure. */
char *dp_cg_read(const char *dir, const char *file);
/* True when 'word' is one of the space- or comma-separated words of 'list'. */
bool dp_cg_has_word(const char *list, const char *word);
/* Sets why/errnum when dir (or dir/file, file may be NULL) is not writable
 * by us; returns true when it is. */
bool dp_cg_writable(const char *dir, const char *file, dp_cgroup_probe_ctrl *st);
/* "cannot enforce the memory limit: WHAT[: strerror]; run 'doppel doctor'"
 * for the controllers in the bitmask 'ctrls'. Returns -1. */
int dp_cg_fail(dp_error **err, unsigned ctrls, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* CFS quota in microseconds per 100 ms period. The kernel refuses quotas
 * under 1 ms, so tiny requests get the smallest enforceable one. */
#define DP_CG_CPU_PERIOD 100000u
static inline unsigned long long dp_cg_cpu_quota(uint32_t millicpus)
{
	unsigned long long q = (unsigned long long)millicpus * (DP_CG_CPU_PERIOD / 1000u);
	return q < 1000 ? 1000 : q;
}

/* cgroup-v1.c: one hierarchy per controller (cpu may be co-mounted). */
void dp_cg1_check(const char *parent, int ctrl, dp_cgroup_probe_ctrl *st);
int dp_cg1_apply(const char *dir, unsigned ctrls, const dp_limits *limits, dp_error **err);

/* cgroup-v2.c: the unified hierarchy; controllers must be enabled in the
 * parent's cgroup.subtree_control before the child exists. */
void dp_cg2_check(const char *parent, int ctrl, dp_cgroup_probe_ctrl *st);
int dp_cg2_enable(const char *parent, unsigned ctrls, dp_error **err);
int dp_cg2_apply(const char *dir, unsigned ctrls, const dp_limits *limits, dp_error **err);

/* Test-only: the directory serving controller 'ctrl' in cg and its
 * hierarchy's version; NULL when cg has none for it. */
const char *dp_cgroup_dir(const dp_cgroup *cg, int ctrl, enum dp_cgroup_version *version);
size_t dp_cgroup_ndirs(const dp_cgroup *cg);

#endif
