/* The CLI's remote mode: when doppeld serves this machine (--host,
 * $DOPPEL_HOST, or the system socket exists), a command becomes one call of
 * the daemon's API (docs/api.md) and run/shell hand the terminal's fds to the
 * daemon's run socket. The daemon then checks, records and acts; the CLI only
 * formats, exactly as in local mode. */
#ifndef DOPPEL_CLI_REMOTE_H
#define DOPPEL_CLI_REMOTE_H

#include <jansson.h>

#include "util/error.h"

#define DP_SYSTEM_SOCKET "/run/doppel/doppel.sock"

typedef struct dp_remote dp_remote;

/* host: "unix:PATH", "http://127.0.0.1:PORT" (loopback only), "local", or
 * NULL for $DOPPEL_HOST, else the system socket if it exists, else local.
 * *out is NULL in local mode. */
int dp_remote_open(const char *host, dp_remote **out, dp_error **err);
void dp_remote_close(dp_remote *r);

/* One API call. body (borrowed) may be NULL; on 2xx *out (may be NULL to
 * ignore) holds the response. Otherwise -1 with the daemon's message: exit
 * status 2 for 400/404/413, 1 for the rest. */
int dp_remote_call(dp_remote *r, const char *method, const char *path, json_t *body, json_t **out,
		   dp_error **err);

/* Runs a command through the run socket (unix hosts only): req (borrowed)
 * per docs/api.md, this process's stdin, stdout and stderr passed to the
 * daemon; SIGINT, SIGTERM, SIGHUP and SIGQUIT are forwarded. *status is the
 * command's exit status. */
int dp_remote_run(dp_remote *r, json_t *req, int *status, dp_error **err);

#endif
