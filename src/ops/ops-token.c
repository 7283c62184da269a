/* The token actions (ops.h): create, list and revoke API tokens. One's own
 * tokens need only some role (a user the policy knows may give a script
 * their own access); another user's, or all of them, need the token grant.
 * A caller that is itself a token always needs the grant: else a token
 * bound to a narrow role, or near its expiry, could mint its user a new,
 * wider or longer-lived one. Every call leaves one audit record; the secret
 * is never in it. */
#include "ops/ops.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "ops/token.h"
#include "util/cleanup.h"

static void user_name(uid_t uid, char *buf, size_t n)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, n, "%s", res->pw_name);
	else
		snprintf(buf, n, "%u", (unsigned)uid);
}

static json_t *user_args(uid_t uid)
{
	char name[256];

	user_name(uid, name, sizeof(name));
	return json_pack("{s:s, s:I}", "user", name, "uid", (json_int_t)uid);
}

/* Own tokens: a local or socket caller with at least one role. */
static bool own_ok(const dp_ops *o, const dp_actor *a, uid_t uid)
{
	const char **roles;
	bool r;

	if (a->source == DP_SOURCE_TOKEN || uid != a->uid)
		return false;
	roles = dp_policy_roles(o->policy, a);
	r = roles && roles[0];
	free(roles);
	return r;
}

/* The frame's begin: for one's own tokens the check is own_ok; otherwise
 * (or when own_ok says no: the token grant covers one's own too) the
 * policy's, whose denial dp_ops_begin_target records. owner is the user
 * whose tokens are acted on, (uid_t)-1 for all. */
static int begin(dp_ops *o, const dp_actor *a, uid_t owner, json_t *args, dp_ops_guard *g, dp_error **err)
{
	dp_target t = { .owner = owner };

	if (own_ok(o, a, owner)) {
		memset(g, 0, sizeof(*g));
		g->ops = o;
		g->actor = a;
		g->action = DP_ACT_TOKEN;
		g->args = args;
		return 0;
	}
	return dp_ops_begin_target(o, a, DP_ACT_TOKEN, &t, args, g, err);
}

int dp_ops_token_create(dp_ops *o, const dp_actor *a, const char *name, uid_t uid, int64_t expires, char **secret,
			dp_error **err)
{
	dp_ops_guard g;
	json_t *args = user_args(uid);
	int r;

	*secret = NULL;
	json_object_set_new(args, "name", json_string(name ? name : ""));
	json_object_set_new(args, "expires", expires ? json_integer(expires) : json_null());
	if (begin(o, a, uid, args, &g, err) < 0)
		return -1;
	r = dp_token_create(o->store, name, uid, expires, secret, err);
	if (dp_ops_end(&g, r, err) < 0 && r == 0) {
		/* made but not recorded: a credential nobody can account for
		 * must not work; the caller never sees it */
		dp_error *e = NULL;
		if (dp_token_revoke(o->store, name, (uid_t)-1, &e) < 0) {
			dp_wrap(err, "and revoking the unrecorded token %s failed (%s); revoke it by hand", name, e->msg);
			dp_error_free(&e);
		}
		sodium_memzero(*secret, strlen(*secret));
		free(*secret);
		*secret = NULL;
		r = -1;
	}
	return r;
}

static const char *state(const dp_token_info *t, int64_t now)
{
	if (t->revoked)
		return "revoked";
	if (t->expires != 0 && t->expires <= now)
		return "expired";
	return "live";
}

int dp_ops_token_list(dp_ops *o, const dp_actor *a, uid_t uid, json_t **out, dp_error **err)
{
	dp_ops_guard g;
	dp_token_info *v = NULL;
	size_t n = 0;
	json_t *args = uid == (uid_t)-1 ? json_pack("{s:b}", "all", 1) : user_args(uid);
	int64_t now = (int64_t)time(NULL);
	int r;

	*out = NULL;
	if (begin(o, a, uid, args, &g, err) < 0)
		return -1;
	r = dp_token_list(o->store, uid, &v, &n, err);
	if (r == 0) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++) {
			char user[256];
			user_name(v[i].uid, user, sizeof(user));
			json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I, s:o, s:s}", "name", v[i].name, "user",
							     user, "uid", (json_int_t)v[i].uid, "created",
							     (json_int_t)v[i].created, "expires",
							     v[i].expires ? json_integer(v[i].expires) : json_null(),
							     "state", state(&v[i], now)));
		}
		*out = arr;
	}
	dp_token_infos_free(v, n);
	r = dp_ops_end(&g, r, err);
	if (r < 0) {
		json_decref(*out);
		*out = NULL;
	}
	return r;
}

/* Is name one of uid's tokens? -1 on a store error. */
static int is_own(dp_store *st, uid_t uid, const char *name, dp_error **err)
{
	dp_token_info *v = NULL;
	size_t n = 0;
	int found = 0;

	if (dp_token_list(st, uid, &v, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && !found; i++)
		found = strcmp(v[i].name, name) == 0;
	dp_token_infos_free(v, n);
	return found;
}

int dp_ops_token_revoke(dp_ops *o, const dp_actor *a, const char *name, dp_error **err)
{
	dp_ops_guard g;
	json_t *args = json_pack("{s:s}", "name", name ? name : "");
	int own = 0, r;

	if (name && dp_check_name("token name", name, NULL) == 0 && a->source != DP_SOURCE_TOKEN &&
	    (own = is_own(o->store, a->uid, name, err)) < 0) {
		json_decref(args);
		return -1;
	}
	/* not one's own (or not there): needs the grant before anything is
	 * said about other users' tokens, even whether the name exists */
	if (begin(o, a, own ? a->uid : (uid_t)-1, args, &g, err) < 0)
		return -1;
	r = dp_token_revoke(o->store, name, own ? a->uid : (uid_t)-1, err);
	return dp_ops_end(&g, r, err);
}
