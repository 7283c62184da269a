/* The run socket (docs/api.md, "Run"): `doppel run` and `doppel shell` of a
 * Unix socket client. SOCK_SEQPACKET; the client sends one JSON request with
 * exactly three fds (its stdin, stdout, stderr; for a shell, its terminal),
 * the daemon starts a runner (runner.h) with them and relays: the runner's
 * {"started"} / {"exit"} / {"error"} to the client, the client's
 * {"signal": N} to the runner. A client that closes the socket ends its run. */
#ifndef DOPPEL_DAEMON_RUN_H
#define DOPPEL_DAEMON_RUN_H

#include "daemon/daemon.h"
#include "util/error.h"

#define DPD_RUN_REQUEST_MS 30000 /* a connection must send its request this soon */
#define DPD_RUN_SESSIONS_MAX (DPD_MAX_RUNS + 64)

typedef struct dpd_runsock dpd_runsock;

/* Serves on fd (listening SOCK_SEQPACKET; taken). */
int dpd_runsock_start(dpd *d, int fd, dpd_runsock **out, dp_error **err);
/* Stops accepting and closes the listening socket; sessions go on. */
void dpd_runsock_quiesce(dpd_runsock *r);
/* Sessions still going after waiting until deadline (dpd_now_ms). */
int dpd_runsock_wait(dpd_runsock *r, long long deadline);
/* Frees; call when dpd_runsock_wait said 0 (or the runs were killed and
 * waited for again). */
void dpd_runsock_stop(dpd_runsock *r);

#endif
