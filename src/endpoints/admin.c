/* The admin API of admin.h, routed by method and path. Answers follow
 * WireMock's shapes; bad input is a 4xx with WireMock's error form, so a
 * client sees why (the mapping parser's message names the key). */
#include "endpoints/admin.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/dl-mhd.h"

#define ADMIN_SOURCE "(admin API)"

typedef struct reply {
	unsigned status;
	json_t *body;
} reply;

bool ep_admin_path(const char *path)
{
	size_t n = strlen(EP_ADMIN_PREFIX);

	return strncmp(path, EP_ADMIN_PREFIX, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

json_t *ep_admin_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:[{s:s}]}", "errors", "title", msg);
}

static void fail(reply *out, unsigned status, json_t *err)
{
	out->status = status;
	out->body = err;
}

static void ok(reply *out, unsigned status, json_t *body)
{
	out->status = body ? status : MHD_HTTP_INTERNAL_SERVER_ERROR;
	out->body = body ? body : ep_admin_error("out of memory");
}

/* The request body as JSON, or a 400 already in out. */
static json_t *body_json(const ep_request *r, reply *out)
{
	json_error_t je;
	json_t *j = json_loadb(r->body, r->body_len, 0, &je);

	if (j == NULL)
		fail(out, MHD_HTTP_BAD_REQUEST,
		     ep_admin_error("request body: invalid JSON: line %d, column %d: %s", je.line, je.column, je.text));
	return j;
}

static ep_mapping *parse_mapping(ep_endpoint *ep, json_t *j, reply *out)
{
	dp_error *err = NULL;
	ep_mapping *m = NULL;

	if (!json_is_object(j)) {
		fail(out, MHD_HTTP_BAD_REQUEST, ep_admin_error("request body: expected a mapping object"));
		return NULL;
	}
	if (ep_mapping_parse(j, ADMIN_SOURCE, ep->stubs.files_dir, &m, &err) < 0) {
		fail(out, err->status == DP_EXIT_USAGE ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR,
		     ep_admin_error("%s", err->msg));
		dp_error_free(&err);
		return NULL;
	}
	return m;
}

static void add_mapping(ep_endpoint *ep, const ep_request *r, reply *out)
{
	json_t *j = body_json(r, out), *shown;
	dp_error *err = NULL;
	ep_mapping *m;

	if (j == NULL)
		return;
	m = parse_mapping(ep, j, out);
	json_decref(j);
	if (m == NULL)
		return;
	shown = json_incref(m->json);
	if (ep_stubs_add(&ep->stubs, m, &err) < 0) {
		json_decref(shown);
		fail(out, MHD_HTTP_BAD_REQUEST, ep_admin_error("%s", err->msg));
		dp_error_free(&err);
		return;
	}
	ok(out, MHD_HTTP_CREATED, shown);
}

static void put_mapping(ep_endpoint *ep, const char *id, const ep_request *r, reply *out)
{
	json_t *j = body_json(r, out), *shown;
	dp_error *err = NULL;
	ep_mapping *m;

	if (j == NULL)
		return;
	if (json_is_object(j)) {
		/* the path names the mapping, whatever the body says */
		json_object_set_new(j, "id", json_string(id));
		if (json_object_get(j, "uuid"))
			json_object_set_new(j, "uuid", json_string(id));
	}
	m = parse_mapping(ep, j, out);
	json_decref(j);
	if (m == NULL)
		return;
	shown = json_incref(m->json);
	if (ep_stubs_replace(&ep->stubs, id, m, &err) < 0) {
		json_decref(shown);
		if (err == NULL) {
			ep_mapping_free(m);
			fail(out, MHD_HTTP_NOT_FOUND, ep_admin_error("no mapping with id %s", id));
			return;
		}
		fail(out, MHD_HTTP_BAD_REQUEST, ep_admin_error("%s", err->msg));
		dp_error_free(&err);
		return;
	}
	ok(out, MHD_HTTP_OK, shown);
}

static void reload(ep_endpoint *ep, reply *out)
{
	dp_error *err = NULL;

	if (ep_stubs_reload(&ep->stubs, &err) < 0) {
		fail(out, MHD_HTTP_INTERNAL_SERVER_ERROR, ep_admin_error("reset: %s", err->msg));
		dp_error_free(&err);
		return;
	}
	ok(out, MHD_HTTP_OK, json_object());
}

static void mappings(ep_endpoint *ep, const char *method, const char *rest, const ep_request *r, reply *out)
{
	if (rest[0] == '\0') {
		if (strcmp(method, "GET") == 0)
			return ok(out, MHD_HTTP_OK, ep_stubs_list_json(&ep->stubs));
		if (strcmp(method, "POST") == 0)
			return add_mapping(ep, r, out);
		if (strcmp(method, "DELETE") == 0) {
			ep_stubs_remove_all(&ep->stubs);
			return ok(out, MHD_HTTP_OK, json_object());
		}
		return fail(out, MHD_HTTP_METHOD_NOT_ALLOWED, ep_admin_error("/__admin/mappings: GET, POST or DELETE"));
	}
	if (strcmp(rest, "/reset") == 0) {
		if (strcmp(method, "POST") != 0)
			return fail(out, MHD_HTTP_METHOD_NOT_ALLOWED, ep_admin_error("/__admin/mappings/reset: POST"));
		return reload(ep, out);
	}
	const char *id = rest + 1;
	if (strchr(id, '/') || id[0] == '\0')
		return fail(out, MHD_HTTP_NOT_FOUND, ep_admin_error("no admin call %s", r->path));
	if (strcmp(method, "GET") == 0) {
		json_t *j = ep_stubs_get_json(&ep->stubs, id);
		if (j == NULL)
			return fail(out, MHD_HTTP_NOT_FOUND, ep_admin_error("no mapping with id %s", id));
		return ok(out, MHD_HTTP_OK, j);
	}
	if (strcmp(method, "DELETE") == 0) {
		if (ep_stubs_remove(&ep->stubs, id) < 0)
			return fail(out, MHD_HTTP_NOT_FOUND, ep_admin_error("no mapping with id %s", id));
		return ok(out, MHD_HTTP_OK, json_object());
	}
	if (strcmp(method, "PUT") == 0)
		return put_mapping(ep, id, r, out);
	return fail(out, MHD_HTTP_METHOD_NOT_ALLOWED, ep_admin_error("/__admin/mappings/ID: GET, PUT or DELETE"));
}

static size_t query_limit(const ep_request *r)
{
	for (size_t i = 0; i < r->n_query; i++)
		if (strcmp(r->query[i].name, "limit") == 0)
			return (size_t)strtoul(r->query[i].value, NULL, 10);
	return 0;
}

/* POST /__admin/requests/count: the body is a request pattern. */
static void count(ep_endpoint *ep, const ep_request *r, reply *out)
{
	json_t *j = body_json(r, out), *wrapped;
	ep_mapping *m;

	if (j == NULL)
		return;
	if (!json_is_object(j)) {
		json_decref(j);
		return fail(out, MHD_HTTP_BAD_REQUEST, ep_admin_error("request body: expected a request pattern object"));
	}
	wrapped = json_pack("{s:o, s:{}}", "request", j, "response");
	if (wrapped == NULL)
		return fail(out, MHD_HTTP_INTERNAL_SERVER_ERROR, ep_admin_error("out of memory"));
	m = parse_mapping(ep, wrapped, out);
	json_decref(wrapped);
	if (m == NULL)
		return;
	ok(out, MHD_HTTP_OK, json_pack("{s:I}", "count", (json_int_t)ep_journal_count(ep->journal, &m->req)));
	ep_mapping_free(m);
}

static void requests(ep_endpoint *ep, const char *method, const char *rest, const ep_request *r, reply *out)
{
	if (rest[0] == '\0' && strcmp(method, "GET") == 0)
		return ok(out, MHD_HTTP_OK, ep_journal_json(ep->journal, &ep->stubs, query_limit(r)));
	if ((rest[0] == '\0' && strcmp(method, "DELETE") == 0) ||
	    (strcmp(rest, "/reset") == 0 && strcmp(method, "POST") == 0)) {
		ep_journal_clear(ep->journal);
		return ok(out, MHD_HTTP_OK, json_object());
	}
	if (strcmp(rest, "/count") == 0 && strcmp(method, "POST") == 0)
		return count(ep, r, out);
	fail(out, rest[0] == '\0' || strcmp(rest, "/count") == 0 ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND,
	     ep_admin_error("no admin call %s %s", method, r->path));
}

/* PUT /__admin/scenarios/NAME/state {"state": "X"}; NAME is URL-encoded. */
static void set_scenario(ep_endpoint *ep, const char *rest, const ep_request *r, reply *out)
{
	const char *slash = strchr(rest, '/');
	cleanup_free char *name = NULL;
	json_t *j;
	const char *state;

	if (slash == NULL || strcmp(slash, "/state") != 0 || slash == rest)
		return fail(out, MHD_HTTP_NOT_FOUND, ep_admin_error("no admin call %s", r->path));
	name = strndup(rest, (size_t)(slash - rest));
	if (name == NULL)
		return fail(out, MHD_HTTP_INTERNAL_SERVER_ERROR, ep_admin_error("out of memory"));
	sym_MHD_http_unescape(name);
	j = body_json(r, out);
	if (j == NULL)
		return;
	state = json_string_value(json_object_get(j, "state"));
	if (state == NULL || state[0] == '\0') {
		json_decref(j);
		return fail(out, MHD_HTTP_BAD_REQUEST, ep_admin_error("request body: expected {\"state\": \"NAME\"}"));
	}
	if (ep_stubs_scenario_set(&ep->stubs, name, state) < 0) {
		json_decref(j);
		if (errno == ENOENT)
			return fail(out, MHD_HTTP_NOT_FOUND, ep_admin_error("no scenario named %s", name));
		return fail(out, MHD_HTTP_INTERNAL_SERVER_ERROR, ep_admin_error("out of memory"));
	}
	json_decref(j);
	ok(out, MHD_HTTP_OK, json_object());
}

static void scenarios(ep_endpoint *ep, const char *method, const char *rest, const ep_request *r, reply *out)
{
	if (rest[0] == '\0' && strcmp(method, "GET") == 0)
		return ok(out, MHD_HTTP_OK, ep_stubs_scenarios_json(&ep->stubs));
	if (strcmp(rest, "/reset") == 0 && strcmp(method, "POST") == 0) {
		ep_stubs_scenarios_reset(&ep->stubs);
		return ok(out, MHD_HTTP_OK, json_object());
	}
	if (rest[0] == '/' && strcmp(method, "PUT") == 0)
		return set_scenario(ep, rest + 1, r, out);
	fail(out, MHD_HTTP_NOT_FOUND, ep_admin_error("no admin call %s %s", method, r->path));
}

/* "/__admin/mappings/x" with section "/mappings": the rest ("/x"), or NULL. */
static const char *under(const char *path, const char *section)
{
	size_t n = strlen(section);

	if (strncmp(path, section, n) != 0 || (path[n] != '\0' && path[n] != '/'))
		return NULL;
	return path + n;
}

void ep_admin_handle(ep_endpoint *ep, const ep_request *r, unsigned *status, json_t **body)
{
	const char *path = r->path + strlen(EP_ADMIN_PREFIX), *rest;
	reply out = { 0 };

	if ((rest = under(path, "/mappings")))
		mappings(ep, r->method, rest, r, &out);
	else if ((rest = under(path, "/requests")))
		requests(ep, r->method, rest, r, &out);
	else if ((rest = under(path, "/scenarios")))
		scenarios(ep, r->method, rest, r, &out);
	else if (strcmp(path, "/reset") == 0 && strcmp(r->method, "POST") == 0) {
		ep_journal_clear(ep->journal);
		reload(ep, &out);
		ep_stubs_scenarios_reset(&ep->stubs);
	} else
		fail(&out, MHD_HTTP_NOT_FOUND, ep_admin_error("no admin call %s %s", r->method, r->path));
	if (out.body == NULL) {
		out.status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		out.body = json_object();
	}
	*status = out.status;
	*body = out.body;
}
