/* placeholder until the audit change lands: records nothing. */
#include "ops/audit.h"

#include <stdlib.h>

int dp_audit_append(dp_store *st, const dp_actor *a, const char *action, const char *target, json_t *args,
		    dp_audit_result result, const char *message, dp_error **err)
{
	(void)st, (void)a, (void)action, (void)target, (void)args, (void)result, (void)message, (void)err;
	return 0;
}

int dp_audit_read(dp_store *st, int64_t since, json_t **out, dp_error **err)
{
	(void)st, (void)since, (void)out;
	return dp_fail(err, 0, "audit: not built yet");
}

int dp_audit_verify(dp_store *st, dp_audit_verdict *out, dp_error **err)
{
	(void)st, (void)out;
	return dp_fail(err, 0, "audit: not built yet");
}

void dp_audit_verdict_clear(dp_audit_verdict *v)
{
	free(v->why);
	v->why = NULL;
}
