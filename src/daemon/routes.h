/* The API's shape, apart from any socket or store: which (method, path)
 * pairs exist, what each accepts in its query and JSON body, and the checks
 * on both. Everything a client sends passes through here before a handler
 * (api.c) runs, so this is what tests/fuzz/fuzz-api.c feeds hostile input to.
 * The run socket's request (run.c) is parsed here too. */
#ifndef DOPPEL_DAEMON_ROUTES_H
#define DOPPEL_DAEMON_ROUTES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define DPD_BODY_MAX (64u * 1024)  /* request bodies, and run socket requests */
#define DPD_ARGV_MAX 1024          /* words of a command */
#define DPD_ENV_MAX 256            /* "K=V" entries of a run */
#define DPD_HOST_MAX 253           /* a stand-in's host name in a query */

typedef enum dpd_op {
	DPD_OP_VERSION,
	DPD_OP_WHOAMI,
	DPD_OP_SNAPSHOTS,
	DPD_OP_SYNC,
	DPD_OP_LIST,
	DPD_OP_CREATE,
	DPD_OP_DIFF,
	DPD_OP_DRIFT,
	DPD_OP_CHECKPOINT,
	DPD_OP_RESET,
	DPD_OP_REBASE,
	DPD_OP_DESTROY,
	DPD_OP_RUN,
	DPD_OP_SCAN,
	DPD_OP_SYNTH,
	DPD_OP_ENDPOINTS,
	DPD_OP_ENDPOINTS_JOURNAL,
	DPD_OP_ENDPOINTS_SCENARIO,
	DPD_OP_AUDIT,
	DPD_OP_AUDIT_VERIFY,
	DPD_OP_TOKENS,
	DPD_OP_TOKEN_CREATE,
	DPD_OP_TOKEN_REVOKE,
} dpd_op;

/* A request that passed every check: the route, the name in its path, its
 * query values and its body (an object with only known fields of the right
 * types; {} when none was sent). */
typedef struct dpd_call {
	dpd_op op;
	bool mutates;    /* serialized with every other mutating call */
	char name[64];   /* the path's {name}, dp_check_name-clean; "" if none */
	bool force, all; /* ?force=1, ?all=1 */
	int64_t since;   /* ?since=UNIXSECONDS, 0 if absent */
	char host[DPD_HOST_MAX + 1]; /* ?host=HOST: [A-Za-z0-9._-]; "" if absent */
	json_t *body;    /* owned */
} dpd_call;

/* A refusal: the HTTP status and, for 405, the methods the path takes. */
typedef struct dpd_refusal {
	unsigned status;
	char allow[32];
} dpd_refusal;

/* Matches method and raw (not percent-decoded) URL against the table and
 * checks the name, query and body. 0 and *out (free with dpd_call_clear),
 * or -1 with *err and *why (400, 404, 405 or 413). */
int dpd_route(const char *method, const char *raw_url, const char *body, size_t body_len, dpd_call *out,
	      dpd_refusal *why, dp_error **err);
void dpd_call_clear(dpd_call *c);

/* A run request (run socket, or the TCP run route's body turned into one):
 * everything owned. */
typedef struct dpd_run_req {
	char sandbox[64];
	char **argv;     /* NULL-terminated, never empty (a default shell when none was sent) */
	bool tty;
	char **env;      /* "K=V", n_env of them */
	size_t n_env;
	char *chdir;     /* NULL: the tier's */
	uint64_t mem_bytes, pids; /* 0: the tier's */
	uint32_t millicpus;
	bool net_none;
} dpd_run_req;

/* Parses the run socket's JSON request:
 * {"sandbox","argv"?,"tty"?,"env"?,"chdir"?,"mem"?,"pids"?,"cpus"?,"net"?}.
 * -1 with a usage error on anything else. */
int dpd_run_parse(const char *buf, size_t len, dpd_run_req *out, dp_error **err);
/* The same from an already parsed object (the runner's copy). */
int dpd_run_from_json(json_t *j, dpd_run_req *out, dp_error **err);
/* The request as the JSON object dpd_run_from_json reads. */
json_t *dpd_run_to_json(const dpd_run_req *r);
void dpd_run_clear(dpd_run_req *r);

#endif
