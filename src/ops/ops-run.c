/* The service layer's run (and shell): the policy check, the sandbox's run
 * lock, its plan (tier settings, PostgreSQL socket, API stand-ins), the
 * isolated command with this process's stdio, and two audit records: one
 * when the command starts (so a long run is in the log while it runs) and
 * one with its exit status when it ends. */
#include "ops/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "isolate/isolate.h"
#include "sandbox/endpoints.h"
#include "sandbox/pgsandbox.h"
#include "sandbox/sandbox.h"

/* One word of a command line for the log: at most DP_OPS_ARG_MAX bytes (cut
 * on a character boundary, marked "..."), '?' for bytes that are not UTF-8. */
static json_t *arg_text(const char *s)
{
	size_t len = strlen(s), keep = len;
	char buf[DP_OPS_ARG_MAX + 4];
	json_t *j;

	if (keep > DP_OPS_ARG_MAX) {
		keep = DP_OPS_ARG_MAX;
		while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
			keep--;
	}
	memcpy(buf, s, keep);
	if (keep < len) {
		memcpy(buf + keep, "...", 3);
		keep += 3;
	}
	j = json_stringn(buf, keep);
	if (j)
		return j;
	for (size_t i = 0; i < keep; i++)
		if ((unsigned char)buf[i] >= 0x80)
			buf[i] = '?';
	return json_stringn(buf, keep);
}

json_t *dp_ops_run_args(char **argv, bool tty)
{
	json_t *v = json_array();
	size_t n = 0;

	for (; argv && argv[n]; n++)
		if (n < DP_OPS_ARGV_MAX)
			json_array_append_new(v, arg_text(argv[n]));
	if (n > DP_OPS_ARGV_MAX) {
		char more[64];
		snprintf(more, sizeof(more), "...(%zu more)", n - DP_OPS_ARGV_MAX);
		json_array_append_new(v, json_string(more));
	}
	return json_pack("{s:o, s:b}", "argv", v, "tty", tty);
}

int dp_ops_run(dp_ops *o, const dp_actor *a, const char *name, const dp_plan *tighten, char **argv, bool tty,
	       int *status, dp_error **err)
{
	dp_sandbox_endpoints *eps = NULL;
	dp_sandbox sb = { 0 };
	dp_ops_guard g;
	dp_plan plan;
	bool started = false;
	int lock, r = -1;

	*status = 0;
	if (dp_ops_begin(o, a, DP_ACT_RUN, name, dp_ops_run_args(argv, tty), &g, err) < 0)
		return -1;
	if (argv == NULL || argv[0] == NULL)
		return dp_ops_end(&g, dp_usage(err, "run %s: expected a command", name), err);
	dp_plan_init(&plan);
	/* the sandbox as it is under the lock (a reset may have come between) */
	lock = dp_sandbox_lock_run(o->store, name, err);
	if (lock >= 0 && dp_sandbox_get(o->store, name, &sb, err) == 0 &&
	    dp_sandbox_plan(o->store, o->spec, &sb, tighten, &plan, err) == 0 &&
	    dp_pgsb_plan(o->store, o->spec, &sb, &plan, err) == 0 &&
	    /* run by root for someone else (doppeld's runner): that user's
	     * subordinate ids, never host root (isolate/plan.h) */
	    (geteuid() != 0 || a->uid == 0 || dp_plan_map_user(&plan, a->uid, err) == 0) &&
	    dp_sandbox_endpoints_plan(o->store, o->spec, &sb, &plan, &eps, err) == 0) {
		plan.tty = tty;
		plan.argv = argv;
		if (dp_audit_append(o->store, a, dp_action_name(DP_ACT_RUN), g.target[0] ? g.target : NULL, g.args,
				    DP_AUDIT_OK, NULL, err) == 0) {
			started = true;
			r = dp_isolate_run(&plan, status, err);
		}
		/* the stand-ins save their state while the sandbox is still locked */
		dp_sandbox_endpoints_end(eps);
	}
	dp_sandbox_clear(&sb);
	if (lock >= 0) {
		/* the runner is gone: nothing for reset --force to stop */
		int rc_trunc = ftruncate(lock, 0);
		(void)rc_trunc;
		close(lock);
	}
	plan.argv = NULL;
	dp_plan_free(&plan);
	if (started && r == 0 && g.args)
		json_object_set_new(g.args, "exit_status", json_integer(*status));
	return dp_ops_end(&g, r, err);
}
