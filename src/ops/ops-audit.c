/* The audit actions (ops.h): reading the log and verifying its chain. Both
 * are audited themselves: who looked at the log, and who checked it with
 * what verdict, is in it too. The record follows the read, so a reader
 * never sees its own. */
#include "ops/ops.h"

#include <string.h>

int dp_ops_audit(dp_ops *o, const dp_actor *a, int64_t since, json_t **out, dp_error **err)
{
	dp_ops_guard g;
	json_t *args = since ? json_pack("{sI}", "since", (json_int_t)since) : NULL;
	int r;

	*out = NULL;
	if (dp_ops_begin(o, a, DP_ACT_AUDIT, NULL, args, &g, err) < 0)
		return -1;
	r = dp_audit_read(o->store, since, out, err);
	if (dp_ops_end(&g, r, err) < 0) {
		/* read, but the reading could not be recorded: show nothing */
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int dp_ops_audit_verify(dp_ops *o, const dp_actor *a, dp_audit_verdict *v, dp_error **err)
{
	dp_ops_guard g;
	int r;

	memset(v, 0, sizeof(*v));
	if (dp_ops_begin(o, a, DP_ACT_AUDIT, NULL, json_pack("{sb}", "verify", 1), &g, err) < 0)
		return -1;
	r = dp_audit_verify(o->store, v, err);
	if (r == 0) {
		json_t *args = v->ok ? json_pack("{sb sb sI}", "verify", 1, "ok", 1, "records",
						 (json_int_t)v->records)
				     : json_pack("{sb sb sI sI}", "verify", 1, "ok", 0, "records",
						 (json_int_t)v->records, "first_bad", (json_int_t)v->first_bad);
		json_decref(g.args);
		g.args = args;
	}
	if (dp_ops_end(&g, r, err) < 0) {
		dp_audit_verdict_clear(v);
		return -1;
	}
	return 0;
}
