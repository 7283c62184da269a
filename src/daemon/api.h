/* The API's handlers: a request that server.c read in full goes through
 * identity (auth.h), the route table (routes.h) and one ops call, and comes
 * back as a status and a JSON body (or, for a TCP run, a streamed answer). */
#ifndef DOPPEL_DAEMON_API_H
#define DOPPEL_DAEMON_API_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "daemon/daemon.h"
#include "daemon/routes.h"
#include "ops/actor.h"
#include "ops/ops.h"
#include "util/dl-mhd.h"

typedef enum dpd_via { DPD_VIA_UNIX, DPD_VIA_TCP } dpd_via;

typedef struct dpd_request {
	const char *method;
	const char *url;           /* as received: not percent-decoded */
	const char *body;
	size_t body_len;
	dpd_via via;
	const struct ucred *cred;  /* DPD_VIA_UNIX: the peer */
	const char *authorization; /* the header, or NULL */
	struct MHD_Connection *mc;
	int fd;                    /* the connection's socket */
} dpd_request;

typedef struct dpd_response {
	unsigned status;
	json_t *body;              /* owned */
	char allow[32];            /* 405: the Allow header */
	bool www_authenticate;     /* 401 */
	struct MHD_Response *stream; /* instead of body: an answer still being made */
} dpd_response;

/* Fills *out; never fails (a failure is a response). */
void dpd_api_handle(dpd *d, const dpd_request *r, dpd_response *out);

/* What one handler gets: the daemon, the request, the checked call, and
 * the actor with an ops on its own store connection. */
typedef struct dpd_ctx {
	dpd *d;
	const dpd_request *req;
	dpd_call *call;
	dp_actor *actor;
	dp_ops *ops;
} dpd_ctx;

/* The handlers of the routes that call ops (api-ops.c): 0 with *status and
 * *body, or -1 with *err (the caller maps it). */
int dpd_api_ops(dpd_ctx *c, unsigned *status, json_t **body, dp_error **err);
/* POST /v1/sandboxes/NAME/run (api-run.c): fills out with the streamed
 * answer, or with the runner's refusal (its status and message); -1 with
 * *err when the run could not be started at all. */
int dpd_api_run(dpd_ctx *c, dpd_response *out, dp_error **err);

#endif
