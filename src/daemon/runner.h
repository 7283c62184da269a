/* Runs are done by a runner: doppeld itself, started again in an internal
 * mode (`doppeld --internal-runner`), one process per run, whose stdin,
 * stdout and stderr are the client's (run socket) or pipes the daemon relays
 * (TCP). Keeping the run in its own single-threaded process means the
 * runtime's signal handling, fork and terminal code see the process they
 * were written for, and a client going away ends exactly its run.
 *
 * The daemon and its runner talk over fd 3 (SOCK_SEQPACKET, one JSON object
 * per message). Daemon -> runner: one request,
 *   {"uid","gid","pid","source","token"?,"config","access"?,"store","run":{...}}
 * Runner -> daemon: {"started":true}, then {"exit":N}; or {"error","status"}
 * (before or, rarely, after started). Signals go to the runner's pid; the
 * runtime forwards them into the sandbox.
 *
 * Why the mode is safe to leave reachable: a runner acts with its own
 * credentials only. Started by a user, it is that user, who cannot open a
 * store that is not theirs (the store root is 0700), and it refuses to act
 * for another uid unless its real uid is root or owns the store, i.e. it
 * already could do anything to the store. It refuses to run set-uid. */
#ifndef DOPPEL_DAEMON_RUNNER_H
#define DOPPEL_DAEMON_RUNNER_H

#include <jansson.h>
#include <sys/types.h>

#include "daemon/daemon.h"
#include "daemon/routes.h"
#include "ops/actor.h"
#include "util/error.h"

#define DPD_RUNNER_ARG "--internal-runner"
#define DPD_MSG_MAX (DPD_BODY_MAX + 4096) /* a control message */

/* Who a run is for: the daemon found this out (SO_PEERCRED or a token). */
typedef struct dpd_who {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	dp_source source;
	const char *token;
} dpd_who;

/* Starts a runner for req with fds[0..2] as its stdio (the runner gets
 * copies; the caller keeps its own). *pid and *ctl (the daemon's end of the
 * control channel) on success; the runner is counted in d's runs. */
int dpd_runner_spawn(dpd *d, const dpd_who *who, const dpd_run_req *req, const int fds[3], pid_t *pid, int *ctl,
		     dp_error **err);

/* The runner's main: reads its request from fd 3; returns the exit status. */
int dpd_runner_main(void);

/* One JSON message on a SOCK_SEQPACKET socket (MSG_NOSIGNAL). -1 on error. */
int dpd_msg_send(int fd, json_t *j);
/* Receives one message: 1 and *out (an object), 0 at end of stream, -1 on
 * error or a message that is not a JSON object. */
int dpd_msg_recv(int fd, json_t **out);

#endif
