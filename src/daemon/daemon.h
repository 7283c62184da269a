/* doppeld's process-wide state, shared by the HTTP side (server.c, api.c),
 * the run socket (run.c) and main.c. Every request opens its own store
 * connection from store_root; what is shared here is read-only between
 * reloads (spec, policy: under lock) or synchronized (mutate, runs). */
#ifndef DOPPEL_DAEMON_DAEMON_H
#define DOPPEL_DAEMON_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "ops/policy.h"
#include "spec/spec.h"
#include "util/error.h"

#define DPD_VERSION DOPPEL_VERSION /* meson.project_version(), from src/daemon/meson.build */
#define DPD_API 1
#define DPD_DRAIN_S 20      /* shutdown: how long in-flight requests and runs may take */
#define DPD_KILL_GRACE_MS 2000 /* a runner told to hang up gets this long before SIGKILL */
#define DPD_MAX_RUNS 256    /* runs at once, both sockets */

typedef struct dpd_runner_entry {
	pid_t pid;
	struct dpd_runner_entry *next;
} dpd_runner_entry;

typedef struct dpd {
	/* fixed at start */
	char *config;      /* doppel.yaml, absolute */
	char *access;      /* --access, absolute, or NULL */
	char *store_root;
	char *self_exe;    /* this binary, for the runner */
	char **runner_env; /* the runner's environment (NULL-terminated) */

	/* spec and policy: replaced on SIGHUP; requests hold the read lock */
	pthread_rwlock_t lock;
	dp_spec *spec;
	dp_policy *policy;

	/* create, destroy, reset, checkpoint, rebase, sync, token changes: one
	 * at a time (core was written for one process at a time per store) */
	pthread_mutex_t mutate;

	atomic_bool stopping;
	atomic_int busy;   /* requests being handled and runs going on */

	/* live runners, so shutdown can end them */
	pthread_mutex_t runs_lock;
	dpd_runner_entry *runs;
	int n_runs;
} dpd;

/* A runner is counted in by dpd_runner_spawn (runner.h), which refuses
 * past DPD_MAX_RUNS or while stopping (errnum EAGAIN), and out by this
 * once it is reaped. */
void dpd_runs_remove(dpd *d, pid_t pid);
/* Sends sig to every live runner. */
void dpd_runs_signal(dpd *d, int sig);

/* Reaps a runner. finished: it said its last word, so it gets
 * DPD_KILL_GRACE_MS to exit by itself first; then (or at once) SIGHUP, and
 * SIGKILL after DPD_KILL_GRACE_MS more. Returns its wait status. */
int dpd_runner_end(pid_t pid, bool finished);

/* Milliseconds of CLOCK_MONOTONIC. */
long long dpd_now_ms(void);

#endif
