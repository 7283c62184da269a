/* One API request from bytes to answer: who is asking, which route, then the
 * handler, with the store connection opened for this request alone and the
 * mutating calls taken one at a time (daemon.h). version and whoami are
 * answered here; the routes that call ops are in api-ops.c and api-run.c. */
#include "daemon/api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/auth.h"
#include "daemon/reply.h"
#include "util/log.h"

static void set_error(dpd_response *out, unsigned status, const char *msg)
{
	json_decref(out->body);
	out->status = status;
	out->body = dpd_error_json(msg);
}

static json_t *whoami(dpd *d, const dp_actor *a)
{
	json_t *groups = json_array(), *roles = json_array(), *j;
	const char **names = dp_policy_roles(d->policy, a);
	bool ok = groups && roles && names;

	for (char **g = a->groups; ok && g && *g; g++)
		ok = json_array_append_new(groups, json_string(*g)) == 0;
	for (const char **r = names; ok && *r; r++)
		ok = json_array_append_new(roles, json_string(*r)) == 0;
	free(names);
	if (!ok) {
		json_decref(groups);
		json_decref(roles);
		return NULL;
	}
	j = json_pack("{s:s, s:I, s:o, s:s, s:o}", "user", a->user, "uid", (json_int_t)a->uid, "groups", groups,
		      "source", dp_source_name(a->source), "roles", roles);
	if (j && a->token && json_object_set_new(j, "token", json_string(a->token)) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static int identify(dpd *d, const dpd_request *r, dp_store **st, dp_actor *a, dpd_response *out, dp_error **err)
{
	if (dp_store_open(d->store_root, st, err) < 0) {
		out->status = 500;
		return -1;
	}
	if (r->via == DPD_VIA_UNIX) {
		if (dpd_actor_socket(r->cred, a, err) < 0) {
			out->status = 500;
			return -1;
		}
		return 0;
	}
	if (dpd_actor_token(*st, r->authorization, a, err) < 0) {
		if ((*err)->errnum == EACCES) {
			out->status = 401;
			out->www_authenticate = true;
		} else {
			out->status = dpd_error_status(*err);
		}
		return -1;
	}
	return 0;
}

/* The handler for a routed call, under the config read lock. */
static void dispatch(dpd_ctx *c, dpd_response *out, dp_error **err)
{
	unsigned status = 200;
	json_t *body = NULL;
	int r;

	switch (c->call->op) {
	case DPD_OP_VERSION:
		body = json_pack("{s:s, s:i}", "version", DPD_VERSION, "api", DPD_API);
		break;
	case DPD_OP_WHOAMI:
		body = whoami(c->d, c->actor);
		break;
	case DPD_OP_RUN:
		if (dpd_api_run(c, out, err) < 0)
			out->status = dpd_error_status(*err);
		return;
	default:
		if (c->call->mutates)
			pthread_mutex_lock(&c->d->mutate);
		r = dpd_api_ops(c, &status, &body, err);
		if (c->call->mutates)
			pthread_mutex_unlock(&c->d->mutate);
		if (r < 0) {
			out->status = dpd_error_status(*err);
			return;
		}
		break;
	}
	if (body == NULL) {
		dp_fail(err, ENOMEM, "answer");
		out->status = 500;
		return;
	}
	out->status = status;
	out->body = body;
}

void dpd_api_handle(dpd *d, const dpd_request *r, dpd_response *out)
{
	dp_error *err = NULL;
	dp_store *st = NULL;
	dp_actor actor = { 0 };
	dpd_refusal why;
	dpd_call call = { 0 };
	dp_ops ops;

	memset(out, 0, sizeof(*out));
	if (atomic_load(&d->stopping)) {
		set_error(out, 503, "doppeld is shutting down");
		return;
	}
	if (r->via == DPD_VIA_UNIX && r->authorization) {
		set_error(out, 400, "the Unix socket knows you by your uid: send no Authorization header");
		return;
	}
	if (identify(d, r, &st, &actor, out, &err) < 0)
		goto out;
	if (dpd_route(r->method, r->url, r->body, r->body_len, &call, &why, &err) < 0) {
		out->status = why.status;
		memcpy(out->allow, why.allow, sizeof(out->allow));
		goto out;
	}
	pthread_rwlock_rdlock(&d->lock);
	ops = (dp_ops){ .spec = d->spec, .store = st, .policy = d->policy };
	dispatch(&(dpd_ctx){ .d = d, .req = r, .call = &call, .actor = &actor, .ops = &ops }, out, &err);
	pthread_rwlock_unlock(&d->lock);
out:
	if (err) {
		if (out->status >= 500)
			dp_warn("doppeld: %s %.200s (%s): %s", r->method, r->url, actor.user ? actor.user : "?", err->msg);
		else
			dp_debug("doppeld: %s %.200s (%s) -> %u: %s", r->method, r->url, actor.user ? actor.user : "?",
				 out->status, err->msg);
		set_error(out, out->status ? out->status : 500, err->msg);
		dp_error_free(&err);
	}
	dpd_call_clear(&call);
	dp_actor_clear(&actor);
	dp_store_close(st);
}
