/* Building libmicrohttpd responses from mappings: the fixed response a
 * plain mapping shares between all its requests, the per-request one of a
 * templated mapping, a chunked dribble, and JSON answers. */
#ifndef DOPPEL_ENDPOINTS_RESPOND_H
#define DOPPEL_ENDPOINTS_RESPOND_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "endpoints/mapping.h"
#include "endpoints/request.h"
#include "endpoints/timer.h"
#include "util/error.h"

struct MHD_Response;
struct MHD_Connection;

/* Whether a mapping's response can be built once and shared. */
bool ep_resp_is_fixed(const ep_response *resp);
/* Body and headers of resp (body copied). Errors name where (the mapping). */
struct MHD_Response *ep_resp_fixed(const ep_response *resp, const char *where, dp_error **err);
/* The body rendered for r when templated, else copied. Takes nothing. */
struct MHD_Response *ep_resp_render(const ep_response *resp, const ep_request *r, dp_error **err);
/* The body sent in resp->dribble_chunks chunks over dribble_total_ms: the
 * connection is suspended between chunks and resumed by timer. */
struct MHD_Response *ep_resp_dribble(const ep_response *resp, const ep_request *r, struct MHD_Connection *conn,
				     ep_timer *timer, dp_error **err);
/* j serialised (j is consumed), Content-Type application/json. */
struct MHD_Response *ep_resp_json(json_t *j);

#endif
