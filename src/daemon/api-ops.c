/* The routes that are one ops call each (docs/api.md): the call's checked
 * body and query become the ops arguments, the result its JSON (the same
 * shape as the CLI's --json). The policy check and the audit record happen
 * inside ops, as they do for the CLI. */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/api.h"
#include "util/parse.h"

static const char *str(const dpd_call *c, const char *key)
{
	return json_string_value(json_object_get(c->body, key));
}

static bool flag(const dpd_call *c, const char *key)
{
	return json_is_true(json_object_get(c->body, key));
}

static int64_t num(const dpd_call *c, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(c->body, key));
}

/* tokens' "user": a login name, or a uid in decimal */
static int user_uid(const char *user, uid_t *out, dp_error **err)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	uint64_t n;

	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) == 0 && res) {
		*out = res->pw_uid;
		return 0;
	}
	if (user[0] >= '0' && user[0] <= '9') {
		dp_error *e = NULL;
		if (dp_parse_uint("user", user, 0, UINT32_MAX - 1, &n, &e) == 0) {
			*out = (uid_t)n;
			return 0;
		}
		dp_error_free(&e);
	}
	dp_usage(err, "user '%.64s': no such user", user);
	(*err)->errnum = ENOENT;
	return -1;
}

static json_t *sandbox_json(const char *key, const char *name)
{
	return json_pack("{s:s}", key, name);
}

static int sync_op(dpd_ctx *c, json_t **body, dp_error **err)
{
	dp_sync_opts opts = { .verify = flag(c->call, "verify"), .progress = false };
	dp_sync_result res;

	memset(&res, 0, sizeof(res));
	if (dp_ops_sync(c->ops, c->actor, &opts, &res, err) < 0)
		return -1;
	*body = dp_ops_sync_json(&res);
	return 0;
}

static int create_op(dpd_ctx *c, json_t **body, dp_error **err)
{
	const char *name = str(c->call, "name"), *tier_out = NULL;

	if (dp_ops_create(c->ops, c->actor, name, str(c->call, "tier"), num(c->call, "from"), &tier_out, err) < 0)
		return -1;
	*body = json_pack("{s:s, s:s}", "name", name, "tier", tier_out ? tier_out : "");
	return 0;
}

static int rebase_op(dpd_ctx *c, json_t **body, dp_error **err)
{
	bool keep = flag(c->call, "keep_changes");
	dp_rebase_result res;

	memset(&res, 0, sizeof(res));
	if (dp_ops_rebase(c->ops, c->actor, c->call->name, keep, flag(c->call, "force"), &res, err) < 0)
		return -1;
	*body = dp_ops_rebase_json(c->call->name, keep, &res);
	dp_rebase_result_clear(&res);
	return 0;
}

static int synth_op(dpd_ctx *c, json_t **body, dp_error **err)
{
	json_t *seed = json_object_get(c->call->body, "seed");
	uint64_t s = (uint64_t)json_integer_value(seed);

	return dp_ops_synth(c->ops, c->actor, c->call->name, str(c->call, "table"), (uint64_t)num(c->call, "rows"),
			    seed ? &s : NULL, body, err);
}

static int audit_verify_op(dpd_ctx *c, json_t **body, dp_error **err)
{
	dp_audit_verdict v;

	memset(&v, 0, sizeof(v));
	if (dp_ops_audit_verify(c->ops, c->actor, &v, err) < 0)
		return -1;
	*body = dp_audit_verdict_json(&v);
	dp_audit_verdict_clear(&v);
	return 0;
}

static int token_create_op(dpd_ctx *c, json_t **body, dp_error **err)
{
	const char *name = str(c->call, "name"), *user = str(c->call, "user");
	int64_t expires = num(c->call, "expires");
	uid_t uid = c->actor->uid;
	char *secret = NULL;

	if (user && user_uid(user, &uid, err) < 0)
		return -1;
	if (expires != 0 && expires <= (int64_t)time(NULL))
		return dp_usage(err, "expires: %lld is in the past", (long long)expires);
	if (dp_ops_token_create(c->ops, c->actor, name, uid, expires, &secret, err) < 0)
		return -1;
	*body = json_pack("{s:s, s:s, s:I}", "name", name, "secret", secret, "expires", (json_int_t)expires);
	/* the only copy outside the client's hands: gone at once */
	explicit_bzero(secret, strlen(secret));
	free(secret);
	return 0;
}

int dpd_api_ops(dpd_ctx *c, unsigned *status, json_t **body, dp_error **err)
{
	dpd_call *k = c->call;
	dp_ops *o = c->ops;
	const dp_actor *a = c->actor;
	const char *to;
	int r = 0;

	*status = 200;
	*body = NULL;
	switch (k->op) {
	case DPD_OP_SNAPSHOTS:
		r = dp_ops_snapshots(o, a, body, err);
		break;
	case DPD_OP_SYNC:
		r = sync_op(c, body, err);
		break;
	case DPD_OP_LIST:
		r = dp_ops_list(o, a, body, err);
		break;
	case DPD_OP_CREATE:
		*status = 201;
		r = create_op(c, body, err);
		break;
	case DPD_OP_DIFF:
		r = dp_ops_diff(o, a, k->name, body, err);
		break;
	case DPD_OP_DRIFT:
		r = dp_ops_drift(o, a, k->name, body, err);
		break;
	case DPD_OP_CHECKPOINT:
		*status = 201;
		r = dp_ops_checkpoint(o, a, k->name, str(k, "label"), err);
		if (r == 0)
			*body = json_pack("{s:s, s:s}", "sandbox", k->name, "label", str(k, "label"));
		break;
	case DPD_OP_RESET:
		to = str(k, "to");
		r = dp_ops_reset(o, a, k->name, to, flag(k, "force"), err);
		if (r == 0)
			*body = json_pack("{s:s, s:s?}", "sandbox", k->name, "to", to);
		break;
	case DPD_OP_REBASE:
		r = rebase_op(c, body, err);
		break;
	case DPD_OP_DESTROY:
		r = dp_ops_destroy(o, a, k->name, k->force, err);
		if (r == 0)
			*body = sandbox_json("destroyed", k->name);
		break;
	case DPD_OP_SCAN:
		r = dp_ops_scan(o, a, k->name, (uint64_t)num(k, "min_length"), body, err);
		break;
	case DPD_OP_SYNTH:
		r = synth_op(c, body, err);
		break;
	case DPD_OP_ENDPOINTS:
		r = dp_ops_endpoints_list(o, a, k->name, body, err);
		break;
	case DPD_OP_ENDPOINTS_JOURNAL:
		r = dp_ops_endpoints_journal(o, a, k->name, k->host[0] ? k->host : NULL, body, err);
		break;
	case DPD_OP_ENDPOINTS_SCENARIO:
		r = dp_ops_endpoints_scenario(o, a, k->name, str(k, "host"), str(k, "scenario"), str(k, "state"), body,
					      err);
		break;
	case DPD_OP_AUDIT:
		r = dp_ops_audit(o, a, k->since, body, err);
		break;
	case DPD_OP_AUDIT_VERIFY:
		r = audit_verify_op(c, body, err);
		break;
	case DPD_OP_TOKENS:
		r = dp_ops_token_list(o, a, k->all ? (uid_t)-1 : a->uid, body, err);
		break;
	case DPD_OP_TOKEN_CREATE:
		*status = 201;
		r = token_create_op(c, body, err);
		break;
	case DPD_OP_TOKEN_REVOKE:
		r = dp_ops_token_revoke(o, a, k->name, err);
		if (r == 0)
			*body = sandbox_json("revoked", k->name);
		break;
	default:
		return dp_fail(err, 0, "internal: no handler for this route");
	}
	if (r < 0)
		return -1;
	if (*body == NULL)
		return dp_fail(err, ENOMEM, "answer");
	return 0;
}
