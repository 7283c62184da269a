/* The service layer's common part: which policy a store is under, and the
 * check-then-record frame every action runs in (ops.h). The actions
 * themselves live in ops-*.c, grouped by what they touch. */
#include "ops/ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "util/cleanup.h"

int dp_ops_load_policy(dp_store *st, const char *access, dp_policy **out, dp_error **err)
{
	cleanup_free char *path = NULL;
	struct stat s;

	if (access == NULL || access[0] == '\0')
		access = getenv("DOPPEL_ACCESS");
	if (access && access[0])
		return dp_policy_load(access, out, err);
	if (fstatat(st->rootfd, "access.yaml", &s, AT_SYMLINK_NOFOLLOW) == 0) {
		if (asprintf(&path, "%s/access.yaml", st->root) < 0)
			return dp_fail(err, ENOMEM, "access.yaml");
		return dp_policy_load(path, out, err);
	}
	if (errno != ENOENT)
		return dp_fail_errno(err, "%s/access.yaml", st->root);
	/* a personal store: whoever owns it */
	if (fstat(st->rootfd, &s) < 0)
		return dp_fail_errno(err, "stat store %s", st->root);
	*out = dp_policy_single_user(s.st_uid);
	if (*out == NULL)
		return dp_fail(err, ENOMEM, "policy");
	return 0;
}

static void set_target(dp_ops_guard *g, const dp_target *t)
{
	if (t->sandbox && t->tier)
		snprintf(g->target, sizeof(g->target), "%s/%s", t->tier, t->sandbox);
	else if (t->sandbox)
		snprintf(g->target, sizeof(g->target), "%s", t->sandbox);
	else if (t->tier)
		snprintf(g->target, sizeof(g->target), "%s", t->tier);
	else
		g->target[0] = '\0';
}

int dp_ops_begin_target(dp_ops *o, const dp_actor *a, dp_action act, const dp_target *t, json_t *args,
			dp_ops_guard *g, dp_error **err)
{
	dp_error *e = NULL;

	memset(g, 0, sizeof(*g));
	g->ops = o;
	g->actor = a;
	g->action = act;
	g->args = args;
	set_target(g, t);
	if (dp_policy_check(o->policy, a, act, t, err) == 0)
		return 0;
	/* the denial is recorded even when recording fails the whole call */
	if (dp_audit_append(o->store, a, dp_action_name(act), g->target[0] ? g->target : NULL, args, DP_AUDIT_DENIED,
			    (*err)->msg, &e) < 0) {
		dp_wrap(&e, "record denial (%s)", (*err)->msg);
		dp_error_free(err);
		*err = e;
	}
	json_decref(g->args);
	g->args = NULL;
	return -1;
}

int dp_ops_begin(dp_ops *o, const dp_actor *a, dp_action act, const char *sandbox, json_t *args, dp_ops_guard *g,
		 dp_error **err)
{
	dp_target t = { .sandbox = sandbox };
	dp_sandbox sb;
	int r;

	if (sandbox == NULL)
		return dp_ops_begin_target(o, a, act, &t, args, g, err);
	if (dp_check_name("sandbox name", sandbox, err) < 0 || dp_sandbox_get(o->store, sandbox, &sb, err) < 0) {
		/* unknown sandbox: nothing to check against, still an attempt */
		memset(g, 0, sizeof(*g));
		g->ops = o;
		g->actor = a;
		g->action = act;
		g->args = args;
		snprintf(g->target, sizeof(g->target), "%s", sandbox);
		return dp_ops_end(g, -1, err);
	}
	t.tier = sb.tier;
	t.owner = sb.owner;
	r = dp_ops_begin_target(o, a, act, &t, args, g, err);
	dp_sandbox_clear(&sb);
	return r;
}

int dp_ops_end(dp_ops_guard *g, int r, dp_error **err)
{
	dp_error *e = NULL;
	const char *msg = r < 0 && err && *err ? (*err)->msg : NULL;
	bool recorded = dp_audit_append(g->ops->store, g->actor, dp_action_name(g->action),
					g->target[0] ? g->target : NULL, g->args, r < 0 ? DP_AUDIT_FAILED : DP_AUDIT_OK,
					msg, &e) == 0;

	if (!recorded) {
		if (r < 0) {
			/* keep the action's own error first; the log's follows */
			char *m = NULL;
			if (asprintf(&m, "%s; recording it in the audit log failed too: %s", (*err)->msg, e->msg) >= 0) {
				free((*err)->msg);
				(*err)->msg = m;
			}
			dp_error_free(&e);
		} else {
			*err = e;
			r = -1;
		}
	}
	json_decref(g->args);
	g->args = NULL;
	/* what the action stopped naming goes now that it is recorded: after
	 * the audit head's synced commit (which made the action's commits
	 * durable), not racing it for the disk */
	dp_store_remove_deferred(g->ops->store, recorded);
	return r;
}
