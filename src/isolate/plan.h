/* The mount plan and run options: everything the isolation runtime needs to
 * know to run one command, and nothing about snapshots, sandboxes or tiers.
 * Front ends fill a dp_plan; dp_plan_validate() refuses bad plans before
 * anything is created or mounted. */
#ifndef DOPPEL_ISOLATE_PLAN_H
#define DOPPEL_ISOLATE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

enum dp_mount_kind {
	DP_MOUNT_RO_BIND,   /* src (host) read-only at dst */
	DP_MOUNT_BIND,      /* src (host) writable at dst: only for front ends, not the CLI */
	DP_MOUNT_OVERLAY,   /* lowers (host) + upper/work (host) at dst */
	DP_MOUNT_TMPFS,     /* fresh tmpfs at dst */
	DP_MOUNT_TMP_OVERLAY, /* lowers (host) + a throwaway tmpfs upper at dst */
};

typedef struct dp_mount {
	enum dp_mount_kind kind;
	char *src;          /* RO_BIND/BIND: host path */
	char **lowers;      /* OVERLAY: host paths, top first; NULL-terminated */
	char *upper, *work; /* OVERLAY: host paths */
	char *dst;          /* path inside the sandbox */
} dp_mount;

enum dp_net_mode { DP_NET_LOOPBACK, DP_NET_NONE };

typedef struct dp_publish {
	uint16_t host_port, sandbox_port;
} dp_publish;

typedef struct dp_plan {
	dp_mount *mounts;
	size_t n_mounts;
	char *system;        /* "host" or a root directory for /usr, /etc ... */
	char *hostname;
	uint64_t mem_bytes;  /* 0: no limit */
	uint64_t pids;       /* 0: no limit */
	uint32_t millicpus;  /* 0: no limit */
	uint64_t disk_bytes; /* 0: no limit; caps every writable tmpfs layer */
	enum dp_net_mode net;
	dp_publish *publish;
	size_t n_publish;
	char **env;          /* "K=V", added to the allowlisted environment */
	size_t n_env;
	char *chdir;
	bool tty;
	bool keep_uid;       /* appear as the caller's uid instead of 0 */
	char **argv;         /* command, NULL-terminated */
} dp_plan;

void dp_plan_init(dp_plan *plan);
void dp_plan_free(dp_plan *plan);
int dp_plan_add_mount(dp_plan *plan, const dp_mount *m, dp_error **err);
/* Checks every path and value; opens nothing for writing, mounts nothing. */
int dp_plan_validate(const dp_plan *plan, dp_error **err);

#endif
