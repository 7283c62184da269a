/* Resource limits for one isolated run: a cgroup per run, v2 when the unified
 * hierarchy offers the needed controllers, v1 otherwise (these hosts run a
 * v1/v2 hybrid). The cgroup is created under the caller's own cgroup, so it
 * works as root and, when that cgroup is delegated to the user, rootless. */
#ifndef DOPPEL_ISOLATE_CGROUP_H
#define DOPPEL_ISOLATE_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

typedef struct dp_limits {
	uint64_t mem_bytes;  /* 0: unlimited */
	uint64_t pids;       /* 0: unlimited */
	uint32_t millicpus;  /* 0: unlimited */
} dp_limits;

enum dp_cgroup_version { DP_CGROUP_NONE = 0, DP_CGROUP_V1 = 1, DP_CGROUP_V2 = 2 };

typedef struct dp_cgroup dp_cgroup;

/* Index of a controller in dp_cgroup_probe.ctrl. */
enum { DP_CGROUP_MEMORY = 0, DP_CGROUP_PIDS = 1, DP_CGROUP_CPU = 2, DP_CGROUP_NCTRL = 3 };

/* One controller as the probe found it, so doctor can say what to change. */
typedef struct dp_cgroup_probe_ctrl {
	enum dp_cgroup_version version; /* hierarchy that would serve it; NONE: no hierarchy offers it */
	bool usable;
	int errnum;                     /* why not: ENOENT nothing offers it, EACCES/EROFS not
	                                 * writable, EBUSY v2 parent holds processes */
	char parent[512];               /* where the run's cgroup would be created */
	char why[512];                  /* one line, empty when usable */
} dp_cgroup_probe_ctrl;

/* Which hierarchy would serve these limits, and where; for `doppel doctor`.
 * Fills 'why' with a one-line reason when none can. */
typedef struct dp_cgroup_probe {
	enum dp_cgroup_version version;
	bool memory, pids, cpu;     /* controller usable (present and writable) */
	char where[512];            /* the parent directory (per controller for v1: memory's) */
	char why[512];
	dp_cgroup_probe_ctrl ctrl[DP_CGROUP_NCTRL]; /* indexed by DP_CGROUP_MEMORY... */
	char v2_note[512];          /* why the unified hierarchy is not used, empty when it is */
} dp_cgroup_probe;
void dp_cgroup_probe_host(dp_cgroup_probe *probe);

/* Creates a fresh cgroup with the limits applied. Fails with a clear message
 * (and a hint to run `doppel doctor`) when a requested limit cannot be
 * enforced. */
int dp_cgroup_create(const dp_limits *limits, dp_cgroup **out, dp_error **err);
/* Moves a process (and its future children) into the cgroup. */
int dp_cgroup_add(dp_cgroup *cg, pid_t pid, dp_error **err);
/* True when the memory controller recorded an OOM kill in this cgroup. */
bool dp_cgroup_oom_killed(dp_cgroup *cg);
/* Kills whatever is left, removes the cgroup directories and frees cg. */
void dp_cgroup_destroy(dp_cgroup *cg);

#endif
