/* A sandbox's API stand-ins (doppel.yaml `endpoints`, tier `network:
 * endpoints`): which loopback address each host gets, what a run adds to its
 * plan, where the stand-ins' state and control socket live, and starting and
 * stopping the server around a run. The server runs in a confined child of
 * the monitor, outside the sandbox; the sandbox sees sockets, host names and
 * the CA certificate.
 *
 * In the store:
 *   ca/ca.key, ca/ca.crt                  the store's sandbox CA (endpoints/ca.c)
 *   sandboxes/<name>/endpoints/HOST.json  journal and scenario states, saved
 *                                         at the end of a run, cleared by reset
 *   sandboxes/<name>/endpoints.sock       the running server's admin socket */
#ifndef DOPPEL_SANDBOX_ENDPOINTS_H
#define DOPPEL_SANDBOX_ENDPOINTS_H

#include <stddef.h>
#include <stdint.h>

#include "isolate/plan.h"
#include "sandbox/sandbox.h"
#include "spec/spec.h"
#include "store/store.h"
#include "util/error.h"

/* Stand-in hosts per sandbox: two listening sockets each (80, 443). */
#define DP_SANDBOX_MAX_ENDPOINTS (DP_PLAN_MAX_LISTEN / 2)

/* The sandbox's stand-ins: the tier's endpoints, sorted by host, or none
 * when its network is not `endpoints`. *out is freed with free() only. */
int dp_sandbox_endpoint_list(const dp_spec *spec, const dp_sandbox *sb, const dp_endpoint_spec ***out, size_t *n,
			     dp_error **err);
/* The loopback address of the i-th host of that list (127.0.0.2 + i), host order. */
uint32_t dp_sandbox_endpoint_addr(size_t i);

/* Paths below the store root. */
void dp_sandbox_endpoints_state_dir(const char *name, char *buf, size_t n);
void dp_sandbox_endpoints_socket(const char *name, char *buf, size_t n);
/* An AF_UNIX address (at most 108 bytes) of the admin socket: its path below
 * the store root when that fits, else one through sandbox_dir, an open fd of
 * sandboxes/<name> that the caller keeps open while it uses the address. */
void dp_sandbox_endpoints_socket_addr(const char *root, const char *name, int sandbox_dir, char *buf, size_t n);

typedef struct dp_sandbox_endpoints dp_sandbox_endpoints;

/* Adds the stand-ins to a run's plan: sockets on each host's address, ports
 * 80 and 443, the /etc/hosts lines, the CA certificate and the variables
 * that point TLS libraries at the bundle; plan->on_listen starts the server.
 * *out is NULL when the sandbox has no stand-ins (or the plan no network). */
int dp_sandbox_endpoints_plan(dp_store *st, const dp_spec *spec, const dp_sandbox *sb, dp_plan *plan,
			      dp_sandbox_endpoints **out, dp_error **err);
/* After the run: stops the server (saving journals and scenario states),
 * removes the admin socket, frees. NULL is fine. */
void dp_sandbox_endpoints_end(dp_sandbox_endpoints *e);

/* Forgets the journals and scenario states (reset, destroy). The caller
 * holds the sandbox's lock. */
int dp_sandbox_endpoints_clear(dp_store *st, const char *name, dp_error **err);

#endif
