/* The mount plan and run options: everything the isolation runtime needs to
 * know to run one command, and nothing about snapshots, sandboxes or tiers.
 * Front ends fill a dp_plan; dp_plan_validate() refuses bad plans before
 * anything is created or mounted. */
#ifndef DOPPEL_ISOLATE_PLAN_H
#define DOPPEL_ISOLATE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/* A listening TCP socket made by init inside the sandbox's network namespace
 * before the command starts, and handed to the monitor (see on_listen). */
typedef struct dp_listen {
	uint32_t addr;  /* IPv4, host byte order, in 127.0.0.0/8 */
	uint16_t port;
} dp_listen;

/* One extra /etc/hosts line inside the sandbox. */
typedef struct dp_host_entry {
	char *addr;     /* IPv4 or IPv6 address, as text */
	char *name;     /* a DNS name */
} dp_host_entry;

/* Called once in the monitor (outside every sandbox namespace) with the
 * sockets of plan->listen, in plan order, before the command starts; the
 * callee owns the fds (closed on failure too). Returning -1 ends the run
 * with *err before the command runs. */
typedef int (*dp_on_listen_fn)(void *arg, int *fds, size_t n, dp_error **err);

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
	dp_listen *listen;
	size_t n_listen;
	dp_on_listen_fn on_listen; /* required when n_listen > 0 */
	void *on_listen_arg;
	dp_host_entry *hosts;      /* added to /etc/hosts */
	size_t n_hosts;
	char *ca_pem;        /* extra trusted CA certificates (PEM): the sandbox's
			      * /etc/ssl/certs/ca-certificates.crt is the system
			      * bundle plus these */
	char **env;          /* "K=V", added to the allowlisted environment */
	size_t n_env;
	char *chdir;
	bool tty;
	bool keep_uid;       /* appear as the caller's uid instead of 0 */
	/* A subordinate identity, for a runtime started as root on behalf of
	 * another user (dp_plan_map_user fills these from that user's
	 * /etc/subuid and /etc/subgid): the sandbox's ids 0..DP_MAP_IDS-1 are
	 * the host's map_uid_base.. and map_gid_base.., so none of its
	 * processes is host root. Every host tree the plan mounts (binds,
	 * overlay lowers, upper and work, the system dirs) is seen through an
	 * idmapped mount with that same mapping, so on-disk owners 0..65535
	 * look, and are written, exactly as without it. Refused when the
	 * runtime is not root. */
	bool map_ids;
	uid_t map_uid_base;
	gid_t map_gid_base;
	char **argv;         /* command, NULL-terminated */
} dp_plan;

void dp_plan_init(dp_plan *plan);
void dp_plan_free(dp_plan *plan);
int dp_plan_add_mount(dp_plan *plan, const dp_mount *m, dp_error **err);
/* Copies addr and name; checked by dp_plan_validate. */
int dp_plan_add_host(dp_plan *plan, const char *addr, const char *name, dp_error **err);
int dp_plan_add_listen(dp_plan *plan, uint32_t addr, uint16_t port, dp_error **err);
/* The limits dp_plan_validate enforces on these. */
#define DP_PLAN_MAX_LISTEN 64
#define DP_PLAN_MAX_HOSTS 256
#define DP_PLAN_MAX_CA_PEM (1u << 20)
/* The ids a mapped sandbox gets: inner 0..65535, as rootful runs without
 * a mapping. */
#define DP_MAP_IDS 65536u
#define DP_SUBUID_FILE "/etc/subuid"
#define DP_SUBGID_FILE "/etc/subgid"
/* Sets plan->map_ids and the bases from the first range of at least
 * DP_MAP_IDS ids that /etc/subuid and /etc/subgid give the user with this
 * uid (named there by login name or by number). Refuses a user without
 * such a range, and a range that starts at 0 (that would be host root). */
int dp_plan_map_user(dp_plan *plan, uid_t uid, dp_error **err);
/* The lookup itself, in one shadow-format file ("name:first:count" lines):
 * the first range for 'name' (may be NULL) or 'id' with count >= DP_MAP_IDS. */
int dp_subid_find(const char *file, const char *name, uint32_t id, uint32_t *first, dp_error **err);
/* Checks every path and value; opens nothing for writing, mounts nothing. */
int dp_plan_validate(const dp_plan *plan, dp_error **err);

#endif
