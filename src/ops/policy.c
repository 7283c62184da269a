/* placeholder until the policy change lands: the single-user policy only. */
#include "ops/policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct dp_policy {
	uid_t owner;
};

static const char *const names[DP_ACT__COUNT] = {
	"sync", "snapshots", "create", "list", "run", "checkpoint", "reset", "diff", "drift",
	"rebase", "destroy", "scan", "synth", "endpoints", "audit", "token", "check", "postgres",
};

const char *dp_action_name(dp_action a)
{
	return a < DP_ACT__COUNT ? names[a] : "?";
}

int dp_action_parse(const char *s, dp_action *out)
{
	for (int i = 0; i < DP_ACT__COUNT; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (dp_action)i;
			return 0;
		}
	return -1;
}

bool dp_action_tierless(dp_action a)
{
	return a == DP_ACT_SYNC || a == DP_ACT_SNAPSHOTS || a == DP_ACT_AUDIT || a == DP_ACT_TOKEN ||
	       a == DP_ACT_CHECK || a == DP_ACT_POSTGRES;
}

int dp_policy_load(const char *path, dp_policy **out, dp_error **err)
{
	(void)out;
	return dp_fail(err, 0, "%s: access.yaml is not supported yet", path);
}

dp_policy *dp_policy_single_user(uid_t owner)
{
	dp_policy *p = calloc(1, sizeof(*p));
	if (p)
		p->owner = owner;
	return p;
}

void dp_policy_free(dp_policy *p)
{
	free(p);
}

int dp_policy_check(const dp_policy *p, const dp_actor *a, dp_action act, const dp_target *t, dp_error **err)
{
	(void)t;
	if (a->uid == p->owner)
		return 0;
	return dp_fail(err, 0, "%s may not %s: the store is not theirs", a->user, dp_action_name(act)),
	       (*err)->errnum = EACCES, -1;
}

const char **dp_policy_roles(const dp_policy *p, const dp_actor *a)
{
	(void)p;
	(void)a;
	return calloc(1, sizeof(char *));
}
