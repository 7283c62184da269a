/* WireMock's admin API (/__admin/...) for the calls existing clients and
 * scripts use most: mappings, the request journal, scenarios, reset. It sees
 * requests as ep_request and answers JSON; the server does the HTTP. */
#ifndef DOPPEL_ENDPOINTS_ADMIN_H
#define DOPPEL_ENDPOINTS_ADMIN_H

#include <jansson.h>
#include <stdbool.h>

#include "endpoints/endpoint.h"
#include "endpoints/request.h"

#define EP_ADMIN_PREFIX "/__admin"

bool ep_admin_path(const char *path);
/* Answers r (a path under /__admin) for ep: *status and a JSON body (owned
 * by the caller, never NULL). */
void ep_admin_handle(ep_endpoint *ep, const ep_request *r, unsigned *status, json_t **body);
/* {"errors":[{"title": ...}]} */
json_t *ep_admin_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
