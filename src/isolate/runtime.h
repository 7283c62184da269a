/* Shared between the files of src/isolate/ only: the context the sandbox's
 * init process works from, and the steps it runs in order (child.c calls
 * them; each lives in the file named after its concern). */
#ifndef DOPPEL_ISOLATE_RUNTIME_H
#define DOPPEL_ISOLATE_RUNTIME_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "isolate/plan.h"
#include "util/error.h"

/* rootfs.c: the host trees of a run with mapped ids (plan->map_ids), as the
 * monitor sent them to init; see dp_rootfs_send_trees. */
typedef struct dp_host_trees dp_host_trees;

typedef struct dp_child_ctx {
	const dp_plan *plan;
	int sync_fd;          /* init's end of the monitor channel */
	uid_t outer_uid;      /* the caller, as seen on the host */
	gid_t outer_gid;
	uid_t inner_uid;      /* what the command runs as inside */
	gid_t inner_gid;
	bool rootless;        /* caller is not host root */
	bool mapped;          /* root, with plan->map_ids: inner ids are a subordinate range */
	bool spread;          /* the monitor moved init off its CPU: give it back 'cpus' */
	cpu_set_t cpus;       /* the caller's CPU affinity */
	uint64_t sig_reset;   /* signals (bit n-1: n) whose disposition the command must reset:
			       * those not at their default in the monitor; ~0: all */
	dp_host_trees *trees; /* mapped: what the monitor sent, filled in init */
	int etc_lock;         /* -1, or the /etc template's manifest (read-only), share-locked
			       * (flock) so no build collects the template while the sandbox
			       * lives: init keeps it open; dp_rootfs_setup sets it, -1 first */
} dp_child_ctx;

/* child.c: the first process of the new namespaces (PID 1). Never returns. */
__attribute__((noreturn)) void dp_child_main(dp_child_ctx *ctx);

/* rootfs.c: builds the new root from the plan and pivots into it; sets
 * ctx->etc_lock. */
int dp_rootfs_setup(dp_child_ctx *ctx, dp_error **err);

/* rootfs.c, in the monitor, for a mapped run, once init's id maps are
 * written: init cannot open the host's root-owned trees, and only host root
 * may make idmapped mounts of them, so the monitor opens every host tree the
 * plan mounts, and the system dirs, as detached idmapped mounts (idmapped
 * through init's own user namespace) and sends them to init (DP_MSG_TREE),
 * before DP_MSG_GO. */
int dp_rootfs_send_trees(const dp_plan *plan, pid_t init, int sync_fd, dp_error **err);
/* rootfs.c, in init: keeps one tree the monitor sent (payload and fd of a
 * DP_MSG_TREE); the fd is init's from then on, also on failure. */
int dp_rootfs_take_tree(dp_child_ctx *ctx, const void *payload, size_t len, int fd, dp_error **err);

/* net.c: brings loopback up in the new network namespace. */
int dp_net_loopback_up(dp_error **err);

/* listen.c, in init: makes plan->listen's sockets in the sandbox's network
 * namespace, hands each to the monitor and waits until the monitor took them
 * all, so the command starts with its peers already listening. */
int dp_listen_handover(const dp_child_ctx *ctx, dp_error **err);

/* listen.c, in the monitor: sockets as they arrive; once all are in, calls
 * plan->on_listen and tells init to go on. */
typedef struct dp_listen_rx {
	int *fds;     /* not yet handed over; -1 once on_listen has them */
	size_t n, got;
	bool done;
} dp_listen_rx;
int dp_listen_receive(const dp_plan *plan, dp_listen_rx *rx, int sync_fd, const void *payload, size_t len, int fd,
		      dp_error **err);
void dp_listen_rx_free(dp_listen_rx *rx);

/* caps.c: keeps only 'keep' capabilities (bitmask of CAP_*) in the bounding,
 * permitted and effective sets; clears inheritable and ambient. */
int dp_caps_restrict(unsigned long long keep, dp_error **err);
/* The set a sandbox's root keeps: file ownership and signals, nothing that
 * reaches the kernel or other namespaces. */
unsigned long long dp_caps_sandbox_default(void);

/* exec.c: the command's process: session, tty, env, caps, no_new_privs, fds,
 * seccomp, execve. Never returns; exits 126/127 when the command cannot run. */
/* exec.c, in init before vfork: the command's environment (allowlisted host
 * variables, PATH, HOME, USER, LOGNAME, the plan's --env); NULL on ENOMEM. */
typedef struct dp_cmd_env dp_cmd_env;
dp_cmd_env *dp_exec_env_new(const dp_child_ctx *ctx);
void dp_exec_env_free(dp_cmd_env *e);
__attribute__((noreturn)) void dp_exec_command(const dp_child_ctx *ctx, const dp_cmd_env *env, int tty_slave);

/* init.c: PID 1's loop: reaps, forwards signals, serves socket requests;
 * returns the exit status to leave with. */
int dp_init_loop(const dp_child_ctx *ctx, pid_t command);
/* Answers the monitor's DP_MSG_SOCKET (--publish) with a fresh socket. */
void dp_init_serve_socket(int sync_fd);

#endif
