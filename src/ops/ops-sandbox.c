/* The service layer's actions that change one sandbox: create, checkpoint,
 * reset, destroy, rebase. Each asks the policy through the ops frame
 * (ops.c), calls core (sandbox/sandbox.h) and records the outcome. */
#include "ops/ops.h"

#include <stdlib.h>
#include <string.h>

#include "sandbox/sandbox.h"

int dp_ops_create(dp_ops *o, const dp_actor *a, const char *name, const char *tier, int64_t from,
		  const char **tier_out, dp_error **err)
{
	const dp_tier *known;
	dp_target t = { .sandbox = name, .owner = a->uid };
	dp_ops_guard g;
	json_t *args;

	if (tier == NULL && (dp_spec_tier(o->spec, "dev") || o->spec->n_tiers == 0))
		tier = "dev";
	else if (tier == NULL)
		tier = o->spec->tiers[0].name;
	known = dp_spec_tier(o->spec, tier);
	if (known)
		tier = known->name;
	if (tier_out)
		*tier_out = tier;
	t.tier = tier;
	args = json_pack("{s:s?}", "tier", tier);
	if (args && from > 0)
		json_object_set_new(args, "from", json_integer((json_int_t)from));
	if (dp_ops_begin_target(o, a, DP_ACT_CREATE, &t, args, &g, err) < 0)
		return -1;
	return dp_ops_end(&g, dp_sandbox_create(o->store, o->spec, name, tier, from, a->uid, err), err);
}

int dp_ops_checkpoint(dp_ops *o, const dp_actor *a, const char *name, const char *label, dp_error **err)
{
	dp_ops_guard g;

	if (dp_ops_begin(o, a, DP_ACT_CHECKPOINT, name, json_pack("{s:s?}", "label", label), &g, err) < 0)
		return -1;
	return dp_ops_end(&g, dp_sandbox_checkpoint(o->store, name, label, err), err);
}

int dp_ops_reset(dp_ops *o, const dp_actor *a, const char *name, const char *label, bool force, dp_error **err)
{
	dp_ops_guard g;

	if (dp_ops_begin(o, a, DP_ACT_RESET, name, json_pack("{s:s?, s:b}", "to", label, "force", force), &g, err) <
	    0)
		return -1;
	return dp_ops_end(&g, dp_sandbox_reset(o->store, name, label, force, err), err);
}

int dp_ops_destroy(dp_ops *o, const dp_actor *a, const char *name, bool force, dp_error **err)
{
	dp_ops_guard g;

	if (dp_ops_begin(o, a, DP_ACT_DESTROY, name, json_pack("{s:b}", "force", force), &g, err) < 0)
		return -1;
	return dp_ops_end(&g, dp_sandbox_destroy(o->store, name, force, err), err);
}

int dp_ops_rebase(dp_ops *o, const dp_actor *a, const char *name, bool keep_changes, bool force,
		  dp_rebase_result *res, dp_error **err)
{
	dp_ops_guard g;
	int r;

	memset(res, 0, sizeof(*res));
	if (dp_ops_begin(o, a, DP_ACT_REBASE, name,
			 json_pack("{s:b, s:b}", "keep_changes", keep_changes, "force", force), &g, err) < 0)
		return -1;
	r = dp_sandbox_rebase(o->store, name, keep_changes, force, &res->conflicts, &res->n_conflicts, &res->from,
			      &res->to, err);
	return dp_ops_end(&g, r, err);
}

void dp_rebase_result_clear(dp_rebase_result *r)
{
	for (size_t i = 0; i < r->n_conflicts; i++)
		free(r->conflicts[i]);
	free(r->conflicts);
	memset(r, 0, sizeof(*r));
}

json_t *dp_ops_rebase_json(const char *name, bool keep_changes, const dp_rebase_result *res)
{
	json_t *c = json_array();

	for (size_t i = 0; i < res->n_conflicts; i++)
		json_array_append_new(c, json_string(res->conflicts[i]));
	return json_pack("{s:s, s:I, s:I, s:b, s:o}", "sandbox", name, "from", (json_int_t)res->from, "to",
			 (json_int_t)res->to, "keep_changes", keep_changes, "conflicts", c);
}
