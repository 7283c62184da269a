/* Who may do what: access.yaml (docs/access.md) binds users, groups and API
 * tokens to roles; a role is a list of grants, each some actions on some
 * tiers, on the actor's own sandboxes or on any. Deny by default. With no
 * access.yaml the store is a personal one: its owner may do everything and
 * nobody else anything. */
#ifndef DOPPEL_OPS_POLICY_H
#define DOPPEL_OPS_POLICY_H

#include <stdbool.h>
#include <sys/types.h>

#include "ops/actor.h"
#include "util/error.h"

/* Actions as the policy names them. Tierless ones (sync, snapshots, audit,
 * token, check, postgres) ignore a grant's tiers. run covers shell; list
 * covers ls and reading a sandbox's details; endpoints covers reading a
 * journal and setting a scenario. */
typedef enum dp_action {
	DP_ACT_SYNC,
	DP_ACT_SNAPSHOTS,
	DP_ACT_CREATE,
	DP_ACT_LIST,
	DP_ACT_RUN,
	DP_ACT_CHECKPOINT,
	DP_ACT_RESET,
	DP_ACT_DIFF,
	DP_ACT_DRIFT,
	DP_ACT_REBASE,
	DP_ACT_DESTROY,
	DP_ACT_SCAN,
	DP_ACT_SYNTH,
	DP_ACT_ENDPOINTS,
	DP_ACT_AUDIT,
	DP_ACT_TOKEN,    /* tokens of other users; one's own need only some role */
	DP_ACT_CHECK,
	DP_ACT_POSTGRES,
	DP_ACT__COUNT
} dp_action;

const char *dp_action_name(dp_action a);
/* 0 and *out, or -1 when s names no action. */
int dp_action_parse(const char *s, dp_action *out);
bool dp_action_tierless(dp_action a);

typedef struct dp_policy dp_policy;

/* Parses access.yaml. Errors name the file and line and say what was
 * expected (unknown role, action, tier when tiers is given, key). */
int dp_policy_load(const char *path, dp_policy **out, dp_error **err);
/* The policy of a store without access.yaml: owner is admin, nobody else anything. */
dp_policy *dp_policy_single_user(uid_t owner);
/* Whether an actor's groups can change what p allows (it binds a group). */
bool dp_policy_binds_groups(const dp_policy *p);
void dp_policy_free(dp_policy *p);

/* What an action is on. tier NULL for tierless actions; sandbox NULL when
 * the action is on none (create names the one it makes: owner is then the
 * actor). */
typedef struct dp_target {
	const char *tier;
	const char *sandbox;
	uid_t owner;
} dp_target;

/* 0 when allowed; else -1 with an error whose errnum is EACCES, e.g.
 * "bob may not reset qa/checkout: role qa lacks reset on tier qa",
 * "bob may not sync: bob has no role (access.yaml binds neither user bob
 *  nor their groups)", "bob may not run dev/x: it is alice's and role
 *  developer grants run on own sandboxes only". */
int dp_policy_check(const dp_policy *p, const dp_actor *a, dp_action act, const dp_target *t, dp_error **err);

/* The names of the roles the actor has, NULL-terminated (borrowed from p;
 * free the array only). */
const char **dp_policy_roles(const dp_policy *p, const dp_actor *a);

#endif
