/* libmicrohttpd responses for respond.h. A plain mapping's response is built
 * once and shared (libmicrohttpd reference counts it), so the hot path
 * allocates nothing for it; only templated and dribbled answers are built
 * per request. */
#include "endpoints/respond.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "endpoints/template.h"
#include "util/cleanup.h"
#include "util/dl-mhd.h"

bool ep_resp_is_fixed(const ep_response *resp)
{
	return !resp->templated && resp->dribble_chunks == 0 && resp->fault == EP_FAULT_NONE;
}

/* libmicrohttpd computes Content-Length itself and refuses one from us. */
static bool skipped_header(const char *name)
{
	return strcasecmp(name, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0;
}

static int add_headers(struct MHD_Response *mr, const ep_response *resp, const ep_request *r, const char *where,
		       dp_error **err)
{
	for (size_t i = 0; i < resp->n_headers; i++) {
		const ep_kv *h = &resp->headers[i];
		cleanup_free char *rendered = NULL;
		const char *value = h->value;
		size_t len;

		if (skipped_header(h->name))
			continue;
		if (r && resp->templated && strstr(value, "{{")) {
			if (ep_template_render(value, strlen(value), r, &rendered, &len, err) < 0)
				return dp_wrap(err, "response.headers.%s", h->name);
			value = rendered;
		}
		if (sym_MHD_add_response_header(mr, h->name, value) != MHD_YES)
			return dp_usage(err, "%s: response.headers.%s: libmicrohttpd refuses to send this header",
					where, h->name);
	}
	return 0;
}

struct MHD_Response *ep_resp_fixed(const ep_response *resp, const char *where, dp_error **err)
{
	struct MHD_Response *mr =
		sym_MHD_create_response_from_buffer(resp->body_len, resp->body ? resp->body : (char *)"",
						MHD_RESPMEM_MUST_COPY);

	if (mr == NULL) {
		dp_fail(err, ENOMEM, "%s: response", where);
		return NULL;
	}
	if (add_headers(mr, resp, NULL, where, err) < 0) {
		sym_MHD_destroy_response(mr);
		return NULL;
	}
	return mr;
}

static int body_for(const ep_response *resp, const ep_request *r, char **out, size_t *len, dp_error **err)
{
	if (resp->templated && resp->body)
		return ep_template_render(resp->body, resp->body_len, r, out, len, err);
	*out = malloc(resp->body_len ? resp->body_len : 1);
	if (*out == NULL)
		return dp_fail(err, ENOMEM, "response body");
	if (resp->body_len)
		memcpy(*out, resp->body, resp->body_len);
	*len = resp->body_len;
	return 0;
}

struct MHD_Response *ep_resp_render(const ep_response *resp, const ep_request *r, dp_error **err)
{
	struct MHD_Response *mr;
	char *body;
	size_t len;

	if (body_for(resp, r, &body, &len, err) < 0)
		return NULL;
	mr = sym_MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (mr == NULL) {
		free(body);
		dp_fail(err, ENOMEM, "response");
		return NULL;
	}
	if (add_headers(mr, resp, r, "mapping", err) < 0) {
		sym_MHD_destroy_response(mr);
		return NULL;
	}
	return mr;
}

typedef struct dribble {
	char *body;
	size_t len;
	uint32_t chunks, k; /* k: the chunk being sent */
	uint64_t start, total_ms;
	struct MHD_Connection *conn;
	ep_timer *timer;
} dribble;

static void resume(void *conn)
{
	sym_MHD_resume_connection(conn);
}

/* Suspends until due; false when that cannot be arranged (send now). */
static bool wait_for(dribble *d, uint64_t due)
{
	sym_MHD_suspend_connection(d->conn);
	if (ep_timer_add(d->timer, due, resume, d->conn) == 0)
		return true;
	sym_MHD_resume_connection(d->conn);
	return false;
}

static ssize_t dribble_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	dribble *d = cls;

	for (;;) {
		uint64_t due = d->start + d->total_ms * d->k / d->chunks;
		size_t end, n;

		if (ep_now_ms() < due && wait_for(d, due))
			return 0;
		if (d->k == d->chunks)
			return MHD_CONTENT_READER_END_OF_STREAM;
		end = (size_t)((uint64_t)d->len * (d->k + 1) / d->chunks);
		if (pos >= end) {
			d->k++; /* this chunk is out (or was empty) */
			continue;
		}
		n = end - (size_t)pos < max ? end - (size_t)pos : max;
		memcpy(buf, d->body + pos, n);
		return (ssize_t)n;
	}
}

static void dribble_free(void *cls)
{
	dribble *d = cls;

	free(d->body);
	free(d);
}

struct MHD_Response *ep_resp_dribble(const ep_response *resp, const ep_request *r, struct MHD_Connection *conn,
				     ep_timer *timer, dp_error **err)
{
	struct MHD_Response *mr;
	dribble *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		dp_fail(err, ENOMEM, "response");
		return NULL;
	}
	if (body_for(resp, r, &d->body, &d->len, err) < 0) {
		free(d);
		return NULL;
	}
	d->chunks = resp->dribble_chunks;
	d->total_ms = resp->dribble_total_ms;
	d->start = ep_now_ms();
	d->conn = conn;
	d->timer = timer;
	mr = sym_MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, dribble_read, d, dribble_free);
	if (mr == NULL) {
		dribble_free(d);
		dp_fail(err, ENOMEM, "response");
		return NULL;
	}
	if (add_headers(mr, resp, r, "mapping", err) < 0) {
		sym_MHD_destroy_response(mr);
		return NULL;
	}
	return mr;
}

struct MHD_Response *ep_resp_json(json_t *j)
{
	struct MHD_Response *mr;
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (s == NULL)
		return NULL;
	mr = sym_MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (mr == NULL) {
		free(s);
		return NULL;
	}
	if (sym_MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") != MHD_YES) {
		sym_MHD_destroy_response(mr);
		return NULL;
	}
	return mr;
}
