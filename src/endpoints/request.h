/* One HTTP request as the stand-in server received it, in the form the
 * matcher, the templater and the journal all read. The server builds it from
 * libmicrohttpd's callbacks; nothing here knows about sockets. */
#ifndef DOPPEL_ENDPOINTS_REQUEST_H
#define DOPPEL_ENDPOINTS_REQUEST_H

#include <stddef.h>

typedef struct ep_kv {
	char *name;
	char *value;
} ep_kv;

typedef struct ep_request {
	char *method;      /* "GET", as received */
	char *url;         /* path and query as received: "/v1/charges?limit=3" */
	char *path;        /* url up to '?', not decoded */
	char *host;        /* Host header without the port, lower case; "" if none */
	ep_kv *query;      /* decoded query parameters, in order (a name may repeat) */
	size_t n_query;
	ep_kv *headers;    /* in order; names as received (matching is case-insensitive) */
	size_t n_headers;
	ep_kv *cookies;    /* from Cookie headers */
	size_t n_cookies;
	char *body;        /* NUL-terminated for convenience; may hold NULs before body_len */
	size_t body_len;
	char *client;      /* "127.0.0.1:51234" */
	char *scheme;      /* "http" or "https" */
} ep_request;

/* First header with this name (case-insensitive), or NULL. */
const char *ep_request_header(const ep_request *r, const char *name);
void ep_request_clear(ep_request *r);

#endif
