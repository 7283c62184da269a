/* access.yaml and the decisions it drives (policy.h, docs/access.md): the
 * built-in roles, custom roles, the bindings of users, groups and tokens to
 * roles, and the check, whose denial says which grant is missing. The file is
 * read with libfyaml and checked in full before it is used; its errors are
 * "FILE:LINE:COL: KEY: what was expected", like doppel.yaml's. */
#include "ops/policy.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libfyaml.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "util/cleanup.h"
#include "util/suggest.h"
#include "util/yamldiag.h"

/* Limits on a hostile or broken file; real ones are far below. */
#define MAX_FILE_BYTES (1 << 20)
#define MAX_ROLES 256       /* built-in and custom together */
#define MAX_LIST 64         /* grants, actions, tiers or roles in one list */
#define MAX_BINDINGS 10000  /* in users, groups or tokens each */
#define MAX_UNIX_NAME 256   /* a user or group name */

#define ACT(x) (1u << DP_ACT_##x)
#define ALL_ACTIONS ((1u << DP_ACT__COUNT) - 1)

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

typedef struct grant {
	uint32_t actions;          /* 1 << dp_action */
	const char *const *tiers;  /* NULL-terminated; NULL: every tier */
	bool any;                  /* every owner's sandboxes, else the actor's own */
} grant;

typedef struct role {
	const char *name;
	const grant *grants;
	size_t n_grants;
	bool custom; /* name, grants and their tiers are the policy's to free */
} role;

/* The built-in roles (the table in docs/access.md). Only admin has sync,
 * so only an admin ever causes production to be read. */
#define OWN_WORK                                                                                              \
	(ACT(CREATE) | ACT(RUN) | ACT(RESET) | ACT(CHECKPOINT) | ACT(DIFF) | ACT(DRIFT) | ACT(REBASE) |      \
	 ACT(DESTROY) | ACT(SYNTH) | ACT(ENDPOINTS) | ACT(SCAN))
#define READ (ACT(LIST) | ACT(DIFF) | ACT(DRIFT))

static const char *const dev[] = { "dev", NULL };
static const char *const qa[] = { "qa", NULL };
static const char *const dev_qa[] = { "dev", "qa", NULL };

static const grant admin_grants[] = { { ALL_ACTIONS, NULL, true } };
static const grant developer_grants[] = {
	{ OWN_WORK, dev, false },
	{ READ, dev_qa, true },
	{ ACT(SNAPSHOTS), NULL, true },
};
static const grant qa_grants[] = {
	{ OWN_WORK, qa, false },
	{ ACT(RUN), dev, true },
	{ READ, dev_qa, true },
	{ ACT(SNAPSHOTS), NULL, true },
};
static const grant security_grants[] = {
	{ ACT(RUN) | ACT(SCAN) | READ, NULL, true },
	{ ACT(AUDIT) | ACT(SNAPSHOTS), NULL, true },
};
static const grant auditor_grants[] = { { READ | ACT(SNAPSHOTS) | ACT(AUDIT), NULL, true } };

#define N_BUILTIN 5
static const role builtin[N_BUILTIN] = {
	{ "admin", admin_grants, 1, false },
	{ "developer", developer_grants, 3, false },
	{ "qa", qa_grants, 4, false },
	{ "security", security_grants, 2, false },
	{ "auditor", auditor_grants, 1, false },
};

typedef struct binding {
	char *name;
	size_t *roles; /* indexes into dp_policy.roles */
	size_t n_roles;
	int line;      /* in access.yaml, for "given twice" */
} binding;

enum { USERS, GROUPS, TOKENS, N_KINDS };
static const char *const kind_names[N_KINDS] = { "users", "groups", "tokens" };

struct dp_policy {
	bool single_user; /* no access.yaml: owner is admin, nobody else anything */
	uid_t owner;
	role *roles;      /* the built-ins first, then the file's */
	size_t n_roles;
	binding *bind[N_KINDS]; /* sorted by name */
	size_t n_bind[N_KINDS];
};

static dp_policy *policy_new(void)
{
	dp_policy *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->roles = calloc(MAX_ROLES, sizeof(role));
	if (p->roles == NULL) {
		free(p);
		return NULL;
	}
	memcpy(p->roles, builtin, sizeof(builtin));
	p->n_roles = N_BUILTIN;
	return p;
}

dp_policy *dp_policy_single_user(uid_t owner)
{
	dp_policy *p = policy_new();

	if (p) {
		p->single_user = true;
		p->owner = owner;
	}
	return p;
}

bool dp_policy_binds_groups(const dp_policy *p)
{
	return !p->single_user && p->n_bind[GROUPS] > 0;
}

void dp_policy_free(dp_policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n_roles; i++) {
		role *r = &p->roles[i];
		if (!r->custom)
			continue;
		for (size_t g = 0; g < r->n_grants; g++) {
			for (size_t t = 0; r->grants[g].tiers && r->grants[g].tiers[t]; t++)
				free((char *)r->grants[g].tiers[t]);
			free((char **)r->grants[g].tiers);
		}
		free((grant *)r->grants);
		free((char *)r->name);
	}
	free(p->roles);
	for (int k = 0; k < N_KINDS; k++) {
		for (size_t i = 0; i < p->n_bind[k]; i++) {
			free(p->bind[k][i].name);
			free(p->bind[k][i].roles);
		}
		free(p->bind[k]);
	}
	free(p);
}

/* ---- the decision ---- */

static int cmp_binding(const void *a, const void *b)
{
	return strcmp(((const binding *)a)->name, ((const binding *)b)->name);
}

static const binding *find_binding(const dp_policy *p, int kind, const char *name)
{
	binding key = { .name = (char *)name };

	if (name == NULL || p->n_bind[kind] == 0)
		return NULL;
	return bsearch(&key, p->bind[kind], p->n_bind[kind], sizeof(binding), cmp_binding);
}

static bool token_bound(const dp_policy *p, const dp_actor *a)
{
	return !p->single_user && a->source == DP_SOURCE_TOKEN && find_binding(p, TOKENS, a->token) != NULL;
}

static void add_roles(const binding *b, size_t *out, size_t *n)
{
	for (size_t i = 0; b && i < b->n_roles; i++) {
		bool seen = false;
		for (size_t j = 0; j < *n; j++)
			seen |= out[j] == b->roles[i];
		if (!seen)
			out[(*n)++] = b->roles[i];
	}
}

/* The actor's roles as indexes into p->roles (at most MAX_ROLES), in the
 * order the file binds them, each once. */
static size_t actor_roles(const dp_policy *p, const dp_actor *a, size_t *out)
{
	size_t n = 0;

	if (p->single_user) {
		if (a->uid == p->owner)
			out[n++] = 0; /* admin */
		return n;
	}
	if (token_bound(p, a)) {
		/* a bound token acts with its own roles instead of its user's */
		add_roles(find_binding(p, TOKENS, a->token), out, &n);
		return n;
	}
	add_roles(find_binding(p, USERS, a->user), out, &n);
	for (char **g = a->groups; g && *g; g++)
		add_roles(find_binding(p, GROUPS, *g), out, &n);
	return n;
}

static bool grant_has_tier(const grant *g, const char *tier)
{
	if (g->tiers == NULL || tier == NULL)
		return true;
	for (const char *const *t = g->tiers; *t; t++)
		if (strcmp(*t, tier) == 0)
			return true;
	return false;
}

/* How near a role comes to allowing the action, for picking the role a
 * denial names. */
enum match { M_NONE, M_OTHER_TIER, M_OWN_ONLY, M_YES };

/* A tiered action with no tier asks whether the action is granted on some
 * tier; no sandbox means none is owned by anyone else. Tierless actions
 * have no sandbox, so scope does not apply to them. */
static enum match role_match(const role *r, const dp_actor *a, dp_action act, const dp_target *t)
{
	bool tierless = dp_action_tierless(act);
	bool own = t->sandbox == NULL || t->owner == a->uid;
	enum match best = M_NONE;

	for (size_t i = 0; i < r->n_grants; i++) {
		const grant *g = &r->grants[i];
		if (!(g->actions & (1u << act)))
			continue;
		if (!tierless && !grant_has_tier(g, t->tier)) {
			if (best < M_OTHER_TIER)
				best = M_OTHER_TIER;
			continue;
		}
		if (tierless || g->any || own)
			return M_YES;
		best = M_OWN_ONLY;
	}
	return best;
}

/* A user's name from the passwd database, else the uid in decimal. */
static void user_name(uid_t uid, char *out, size_t size)
{
	struct passwd pw, *res = NULL;
	long max = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t n = max > 0 ? (size_t)max : 16384;
	cleanup_free char *buf = malloc(n);

	if (buf && getpwuid_r(uid, &pw, buf, n, &res) == 0 && res)
		snprintf(out, size, "%s", res->pw_name);
	else
		snprintf(out, size, "%u", (unsigned)uid);
}

/* "ACTION", "ACTION TIER" or "ACTION TIER/SANDBOX" */
static void describe(dp_action act, const dp_target *t, char *out, size_t size)
{
	const char *tier = dp_action_tierless(act) ? NULL : t->tier;
	const char *sb = dp_action_tierless(act) ? NULL : t->sandbox;

	if (tier && sb)
		snprintf(out, size, "%s %s/%s", dp_action_name(act), tier, sb);
	else if (tier || sb)
		snprintf(out, size, "%s %s", dp_action_name(act), tier ? tier : sb);
	else
		snprintf(out, size, "%s", dp_action_name(act));
}

__attribute__((format(printf, 2, 3))) static int denied(dp_error **err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err == NULL || *err != NULL)
		return -1;
	dp_fail(err, 0, "%s", msg);
	(*err)->errnum = EACCES;
	return -1;
}

static int deny(const dp_policy *p, const dp_actor *a, dp_action act, const dp_target *t, const size_t *roles,
		size_t n, dp_error **err)
{
	char who[320], what[320], owner[64];
	const role *pick = NULL;
	enum match pick_m = M_NONE;

	describe(act, t, what, sizeof(what));
	if (token_bound(p, a))
		snprintf(who, sizeof(who), "%s (token %s)", a->user, a->token);
	else
		snprintf(who, sizeof(who), "%s", a->user);
	if (p->single_user) {
		user_name(p->owner, owner, sizeof(owner));
		return denied(err, "%s may not %s: this store is %s's (no access.yaml)", who, what, owner);
	}
	if (n == 0) {
		if (token_bound(p, a))
			return denied(err, "%s may not %s: no role (access.yaml binds token %s to none)", who, what,
				      a->token);
		return denied(err, "%s may not %s: no role (access.yaml binds neither user %s nor any of their groups)",
			      who, what, a->user);
	}
	/* the role that came nearest says most about what is missing */
	for (size_t i = 0; i < n; i++) {
		enum match m = role_match(&p->roles[roles[i]], a, act, t);
		if (pick == NULL || m > pick_m) {
			pick = &p->roles[roles[i]];
			pick_m = m;
		}
	}
	if (pick_m == M_OWN_ONLY) {
		user_name(t->owner, owner, sizeof(owner));
		return denied(err, "%s may not %s: it is %s's, and role %s grants %s on own sandboxes only", who, what,
			      owner, pick->name, dp_action_name(act));
	}
	if (dp_action_tierless(act))
		return denied(err, "%s may not %s: role %s lacks %s", who, what, pick->name, dp_action_name(act));
	if (t->tier == NULL)
		return denied(err, "%s may not %s: role %s lacks %s on any tier", who, what, pick->name,
			      dp_action_name(act));
	return denied(err, "%s may not %s: role %s lacks %s on tier %s", who, what, pick->name, dp_action_name(act),
		      t->tier);
}

int dp_policy_check(const dp_policy *p, const dp_actor *a, dp_action act, const dp_target *t, dp_error **err)
{
	static const dp_target none = { 0 };
	size_t roles[MAX_ROLES], n;

	if (act >= DP_ACT__COUNT)
		return denied(err, "%s may not do action %d: no such action", a->user, (int)act);
	if (t == NULL)
		t = &none;
	n = actor_roles(p, a, roles);
	for (size_t i = 0; i < n; i++)
		if (role_match(&p->roles[roles[i]], a, act, t) == M_YES)
			return 0;
	return deny(p, a, act, t, roles, n, err);
}

const char **dp_policy_roles(const dp_policy *p, const dp_actor *a)
{
	size_t roles[MAX_ROLES], n = actor_roles(p, a, roles);
	const char **out = calloc(n + 1, sizeof(char *));

	for (size_t i = 0; out && i < n; i++)
		out[i] = p->roles[roles[i]].name;
	return out;
}

/* ---- reading access.yaml ---- */

typedef struct ctx {
	const char *file;
	dp_error **err;
	dp_policy *p;
} ctx;

/* Line and column of a node: a scalar's own, a collection's first scalar's
 * (libfyaml 0.7 gives only scalars a position); 0 when it has none. */
static int line_of(struct fy_node *n, int *col)
{
	*col = 0;
	if (n == NULL)
		return 0;
	if (fy_node_is_scalar(n)) {
		struct fy_token *t = fy_node_get_scalar_token(n);
		const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
		if (m == NULL)
			return 0;
		*col = m->column + 1;
		return m->line + 1;
	}
	if (fy_node_is_mapping(n)) {
		void *it = NULL;
		struct fy_node_pair *pr = fy_node_mapping_iterate(n, &it);
		return pr ? line_of(fy_node_pair_key(pr), col) : 0;
	}
	if (fy_node_is_sequence(n)) {
		void *it = NULL;
		return line_of(fy_node_sequence_iterate(n, &it), col);
	}
	return 0;
}

/* "FILE:LINE:COL: KEY: message" as a usage error, at node at (else at
 * fallback, for values such as an empty one that have no position). */
__attribute__((format(printf, 5, 6))) static int bad(ctx *c, struct fy_node *at, struct fy_node *fallback,
						      const char *key, const char *fmt, ...)
{
	char msg[1024];
	int line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	line = line_of(at, &col);
	if (line == 0)
		line = line_of(fallback, &col);
	if (line)
		return dp_usage(c->err, "%s:%d:%d: %s: %s", c->file, line, col, key, msg);
	return dp_usage(c->err, "%s: %s: %s", c->file, key, msg);
}

/* The candidate nearest to s, when it is near enough to be a typo. */
static const char *nearest(const char *s, const char *const *cands, size_t n)
{
	size_t limit = strlen(s) / 2 < 2 ? strlen(s) / 2 : 2;
	return dp_suggest(s, cands, n, limit);
}

/* "a, b, c" into out, cut with "..." when it does not fit. */
static void join(const char *const *items, size_t n, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + len, size - len, "%s%s", i ? ", " : "", items[i]);
		if (w < 0 || (size_t)w >= size - len - 4) {
			snprintf(out + len, size - len, ", ...");
			return;
		}
		len += (size_t)w;
	}
}

/* "unknown WHAT 'S'; did you mean 'X'?" or "...; expected one of: ..." (both
 * when always_list). */
static int unknown(ctx *c, struct fy_node *at, const char *key, const char *what, const char *s,
		   const char *const *cands, size_t n, bool always_list)
{
	const char *near = nearest(s, cands, n);
	char list[512];

	join(cands, n, list, sizeof(list));
	if (near && always_list)
		return bad(c, at, NULL, key, "unknown %s '%s'; did you mean '%s'? (expected one of: %s)", what, s, near,
			   list);
	if (near)
		return bad(c, at, NULL, key, "unknown %s '%s'; did you mean '%s'?", what, s, near);
	return bad(c, at, NULL, key, "unknown %s '%s'; expected one of: %s", what, s, list);
}

static bool is_alias(struct fy_node *n)
{
	return n && fy_node_get_style(n) == FYNS_ALIAS;
}

/* A non-empty scalar without NUL bytes; keyn places errors about a missing
 * value. */
static int want_scalar(ctx *c, struct fy_node *n, struct fy_node *keyn, const char *key, const char *what,
		       const char **out)
{
	size_t len = 0;
	const char *raw;

	if (is_alias(n))
		return bad(c, n, keyn, key, "YAML aliases (*name) are not supported here; a bare * must be quoted: \"*\"");
	if (n == NULL || !fy_node_is_scalar(n))
		return bad(c, n, keyn, key, "expected %s", what);
	raw = fy_node_get_scalar(n, &len);
	if (raw == NULL || len == 0)
		return bad(c, n, keyn, key, "expected %s", what);
	if (memchr(raw, '\0', len))
		return bad(c, n, keyn, key, "contains a NUL byte");
	*out = fy_node_get_scalar0(n);
	if (*out == NULL)
		return dp_fail(c->err, ENOMEM, "%s", c->file);
	return 0;
}

/* A sequence of min..MAX_LIST items. */
static int want_list(ctx *c, struct fy_node *n, struct fy_node *keyn, const char *key, const char *example,
		     int min)
{
	int count;

	if (is_alias(n))
		return bad(c, n, keyn, key, "YAML aliases (*name) are not supported here; a bare * must be quoted: \"*\"");
	if (n == NULL || !fy_node_is_sequence(n))
		return bad(c, n, keyn, key, "expected a list such as %s", example);
	count = fy_node_sequence_item_count(n);
	if (count < min)
		return bad(c, n, keyn, key, "expected at least one item, such as %s", example);
	if (count > MAX_LIST)
		return bad(c, n, keyn, key, "%d items; at most %d are allowed", count, MAX_LIST);
	return 0;
}

static int want_map(ctx *c, struct fy_node *n, struct fy_node *keyn, const char *key, const char *example,
		    int max)
{
	int count;

	if (is_alias(n))
		return bad(c, n, keyn, key, "YAML aliases (*name) are not supported here");
	if (n == NULL || !fy_node_is_mapping(n))
		return bad(c, n, keyn, key, "expected a mapping such as %s", example);
	count = fy_node_mapping_item_count(n);
	if (count > max)
		return bad(c, n, keyn, key, "%d entries; at most %d are allowed", count, max);
	return 0;
}

/* A mapping key: a plain word. */
static int key_of(ctx *c, struct fy_node *k, struct fy_node *map, const char *section, const char **out)
{
	if (k == NULL || !fy_node_is_scalar(k) || is_alias(k))
		return bad(c, k, map, section, "keys must be plain words");
	return want_scalar(c, k, map, section, "a key", out);
}

/* Tier names as doppel.yaml's (lowercase letters, digits, '-' and '_'). */
static bool tier_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

/* Unix user and group names: whatever the system databases hold, short of
 * what no name contains (separators, blanks, control characters). */
static bool unix_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= MAX_UNIX_NAME || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (iscntrl((unsigned char)s[i]) || isspace((unsigned char)s[i]) || s[i] == ':' || s[i] == '/' ||
		    s[i] == ',')
			return false;
	return true;
}

static ssize_t find_role(const dp_policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_roles; i++)
		if (strcmp(p->roles[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* tiers: [dev, qa] or "*" (also ["*"]) */
static int load_tiers(ctx *c, struct fy_node *k, struct fy_node *v, const char *key, grant *g)
{
	const char *s;
	char **tiers;
	struct fy_node *e;
	void *it = NULL;
	size_t n = 0;
	bool every = false;

	if (v && fy_node_is_scalar(v) && !is_alias(v)) {
		if (want_scalar(c, v, k, key, "\"*\" or a list of tiers such as [dev, qa]", &s) < 0)
			return -1;
		if (strcmp(s, "*") != 0)
			return bad(c, v, k, key, "expected \"*\" (every tier) or a list such as [dev, qa], got '%s'", s);
		g->tiers = NULL;
		return 0;
	}
	if (want_list(c, v, k, key, "[dev, qa] (or \"*\" for every tier)", 1) < 0)
		return -1;
	tiers = calloc((size_t)fy_node_sequence_item_count(v) + 1, sizeof(char *));
	if (tiers == NULL)
		return dp_fail(c->err, ENOMEM, "%s", c->file);
	g->tiers = (const char *const *)tiers;
	while ((e = fy_node_sequence_iterate(v, &it)) != NULL) {
		bool dup = false;
		if (want_scalar(c, e, k, key, "a tier name such as dev", &s) < 0)
			return -1;
		if (strcmp(s, "*") == 0) {
			every = true;
			continue;
		}
		if (!tier_name_ok(s))
			return bad(c, e, k, key,
				   "tier '%s': expected a tier name of doppel.yaml (lowercase letters, digits, '-' and "
				   "'_') or \"*\"",
				   s);
		for (size_t i = 0; i < n; i++)
			dup |= strcmp(tiers[i], s) == 0;
		if (dup)
			continue;
		if ((tiers[n] = strdup(s)) == NULL)
			return dp_fail(c->err, ENOMEM, "%s", c->file);
		n++;
	}
	if (every) {
		/* "*" in a list: the other names say nothing more */
		for (size_t i = 0; i < n; i++)
			free(tiers[i]);
		free(tiers);
		g->tiers = NULL;
	}
	return 0;
}

static int load_grant(ctx *c, struct fy_node *item, struct fy_node *rolek, const char *section, grant *g)
{
	static const char *const keys[] = { "actions", "tiers", "scope" };
	struct fy_node_pair *pr;
	bool seen[3] = { false, false, false };
	void *it = NULL;

	if (want_map(c, item, rolek, section, "{actions: [run, reset], tiers: [dev], scope: own}", 16) < 0)
		return -1;
	g->any = false; /* scope own unless the grant says any */
	while ((pr = fy_node_mapping_iterate(item, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(pr), *v = fy_node_pair_value(pr);
		const char *key, *s;
		char full[160];

		if (key_of(c, k, item, section, &key) < 0)
			return -1;
		snprintf(full, sizeof(full), "%.100s.%.50s", section, key);
		for (size_t i = 0; i < 3; i++)
			if (strcmp(key, keys[i]) == 0) {
				if (seen[i])
					return bad(c, k, NULL, full, "given twice in one grant");
				seen[i] = true;
			}
		if (strcmp(key, "actions") == 0) {
			struct fy_node *e;
			void *ai = NULL;
			if (want_list(c, v, k, full, "[create, run, reset]", 1) < 0)
				return -1;
			while ((e = fy_node_sequence_iterate(v, &ai)) != NULL) {
				dp_action a;
				if (want_scalar(c, e, k, full, "an action such as run", &s) < 0)
					return -1;
				if (dp_action_parse(s, &a) < 0)
					return unknown(c, e, full, "action", s, names, DP_ACT__COUNT, true);
				g->actions |= 1u << a;
			}
		} else if (strcmp(key, "tiers") == 0) {
			if (load_tiers(c, k, v, full, g) < 0)
				return -1;
		} else if (strcmp(key, "scope") == 0) {
			if (want_scalar(c, v, k, full, "own or any", &s) < 0)
				return -1;
			if (strcmp(s, "own") == 0)
				g->any = false;
			else if (strcmp(s, "any") == 0)
				g->any = true;
			else
				return bad(c, v, k, full, "expected own (the actor's sandboxes) or any (everyone's), got '%s'",
					   s);
		} else {
			return unknown(c, k, section, "key", key, keys, 3, false);
		}
	}
	if (g->actions == 0)
		return bad(c, item, rolek, section, "missing 'actions', e.g. actions: [run, reset]");
	if (!seen[1]) {
		/* tiers matter to all but the tierless actions; say which, never guess "*" */
		for (int a = 0; a < DP_ACT__COUNT; a++)
			if ((g->actions & (1u << a)) && !dp_action_tierless((dp_action)a))
				return bad(c, item, rolek, section,
					   "missing 'tiers' (needed for %s): a list such as [dev] or \"*\" for every tier",
					   names[a]);
	}
	return 0;
}

static int load_role(ctx *c, struct fy_node *k, struct fy_node *v, const char *name)
{
	char section[128];
	role *r;
	grant *gs;
	struct fy_node *e;
	void *it = NULL;
	dp_error *inner = NULL;

	snprintf(section, sizeof(section), "roles.%s", name);
	for (size_t i = 0; i < N_BUILTIN; i++)
		if (strcmp(name, builtin[i].name) == 0)
			return bad(c, k, NULL, section, "'%s' is a built-in role and cannot be redefined; give yours "
				   "another name", name);
	if (dp_check_name("role name", name, &inner) < 0) {
		bad(c, k, NULL, section, "%s", inner->msg);
		dp_error_free(&inner);
		return -1;
	}
	if (find_role(c->p, name) >= 0)
		return bad(c, k, NULL, section, "defined twice");
	if (want_list(c, v, k, section, "[{actions: [run], tiers: [dev], scope: own}]", 1) < 0)
		return -1;
	gs = calloc((size_t)fy_node_sequence_item_count(v), sizeof(grant));
	if (gs == NULL)
		return dp_fail(c->err, ENOMEM, "%s", c->file);
	r = &c->p->roles[c->p->n_roles++];
	r->custom = true;
	r->grants = gs;
	if ((r->name = strdup(name)) == NULL)
		return dp_fail(c->err, ENOMEM, "%s", c->file);
	while ((e = fy_node_sequence_iterate(v, &it)) != NULL) {
		char where[160];
		snprintf(where, sizeof(where), "%s[%zu]", section, r->n_grants);
		r->n_grants++; /* counted before it is filled, so a failure frees it */
		if (load_grant(c, e, k, where, &gs[r->n_grants - 1]) < 0)
			return -1;
	}
	return 0;
}

static int load_roles(ctx *c, struct fy_node *k, struct fy_node *v)
{
	struct fy_node_pair *pr;
	void *it = NULL;

	if (want_map(c, v, k, "roles", "{ci: [{actions: [run], tiers: [qa], scope: own}]}", MAX_ROLES - N_BUILTIN) <
	    0)
		return -1;
	while ((pr = fy_node_mapping_iterate(v, &it)) != NULL) {
		const char *name;
		if (key_of(c, fy_node_pair_key(pr), v, "roles", &name) < 0 ||
		    load_role(c, fy_node_pair_key(pr), fy_node_pair_value(pr), name) < 0)
			return -1;
	}
	return 0;
}

static int load_bindings(ctx *c, int kind, struct fy_node *k, struct fy_node *v)
{
	static const char *const examples[N_KINDS] = { "{alice: [developer]}", "{devs: [developer]}",
						       "{ci-bot: [ci]}" };
	const char *role_names[MAX_ROLES];
	const char *section = kind_names[kind];
	dp_policy *p = c->p;
	struct fy_node_pair *pr;
	void *it = NULL;

	if (want_map(c, v, k, section, examples[kind], MAX_BINDINGS) < 0)
		return -1;
	for (size_t i = 0; i < p->n_roles; i++)
		role_names[i] = p->roles[i].name;
	p->bind[kind] = calloc((size_t)fy_node_mapping_item_count(v) + 1, sizeof(binding));
	if (p->bind[kind] == NULL)
		return dp_fail(c->err, ENOMEM, "%s", c->file);
	while ((pr = fy_node_mapping_iterate(v, &it)) != NULL) {
		struct fy_node *bk = fy_node_pair_key(pr), *bv = fy_node_pair_value(pr), *e;
		binding *b = &p->bind[kind][p->n_bind[kind]];
		const char *name, *s;
		char where[320];
		void *ri = NULL;
		int col;

		if (key_of(c, bk, v, section, &name) < 0)
			return -1;
		snprintf(where, sizeof(where), "%s.%s", section, name);
		if (kind == TOKENS) {
			dp_error *inner = NULL;
			if (dp_check_name("token name", name, &inner) < 0) {
				bad(c, bk, NULL, section, "%s", inner->msg);
				dp_error_free(&inner);
				return -1;
			}
		} else if (!unix_name_ok(name)) {
			return bad(c, bk, NULL, section, "'%s' is not a %s name", name, kind == USERS ? "user" : "group");
		}
		/* an empty list is allowed: a token bound to [] may do nothing */
		if (want_list(c, bv, bk, where, "[developer]", 0) < 0)
			return -1;
		b->roles = calloc((size_t)fy_node_sequence_item_count(bv) + 1, sizeof(size_t));
		if (b->roles == NULL || (b->name = strdup(name)) == NULL)
			return dp_fail(c->err, ENOMEM, "%s", c->file);
		b->line = line_of(bk, &col);
		p->n_bind[kind]++;
		while ((e = fy_node_sequence_iterate(bv, &ri)) != NULL) {
			ssize_t r;
			bool seen = false;
			if (want_scalar(c, e, bk, where, "a role name such as developer", &s) < 0)
				return -1;
			if ((r = find_role(p, s)) < 0)
				return unknown(c, e, where, "role", s, role_names, p->n_roles, false);
			for (size_t j = 0; j < b->n_roles; j++)
				seen |= b->roles[j] == (size_t)r;
			if (!seen)
				b->roles[b->n_roles++] = (size_t)r;
		}
	}
	/* sorted for lookups; equal neighbours are a name given twice (found
	 * here rather than by libfyaml, whose check is quadratic) */
	qsort(p->bind[kind], p->n_bind[kind], sizeof(binding), cmp_binding);
	for (size_t i = 1; i < p->n_bind[kind]; i++) {
		const binding *x = &p->bind[kind][i - 1], *y = &p->bind[kind][i];
		if (strcmp(x->name, y->name) == 0)
			return dp_usage(c->err, "%s:%d: %s.%s: given twice (also on line %d)", c->file,
					x->line > y->line ? x->line : y->line, section, x->name,
					x->line > y->line ? y->line : x->line);
	}
	return 0;
}

static int load_root(ctx *c, struct fy_node *root)
{
	static const char *const keys[] = { "version", "roles", "users", "groups", "tokens" };
	struct fy_node *sec_k[N_KINDS] = { 0 }, *sec_v[N_KINDS] = { 0 }, *roles_k = NULL, *roles_v = NULL;
	struct fy_node_pair *pr;
	bool seen[5] = { false, false, false, false, false };
	void *it = NULL;

	if (root == NULL || !fy_node_is_mapping(root))
		return bad(c, root, NULL, "access.yaml", "expected a mapping with version and users, groups or tokens");
	while ((pr = fy_node_mapping_iterate(root, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(pr), *v = fy_node_pair_value(pr);
		const char *key, *s;
		int kind;

		if (key_of(c, k, root, "access.yaml", &key) < 0)
			return -1;
		for (size_t i = 0; i < 5; i++)
			if (strcmp(key, keys[i]) == 0) {
				if (seen[i])
					return bad(c, k, NULL, key, "given twice");
				seen[i] = true;
			}
		for (kind = 0; kind < N_KINDS && strcmp(key, kind_names[kind]) != 0; kind++)
			;
		if (kind < N_KINDS) {
			sec_k[kind] = k;
			sec_v[kind] = v;
		} else if (strcmp(key, "roles") == 0) {
			roles_k = k;
			roles_v = v;
		} else if (strcmp(key, "version") == 0) {
			if (want_scalar(c, v, k, "version", "1", &s) < 0)
				return -1;
			if (strcmp(s, "1") != 0)
				return bad(c, v, k, "version", "expected 1 (the only version this doppel reads), got '%s'", s);
		} else {
			return unknown(c, k, "access.yaml", "key", key, keys, 5, false);
		}
	}
	if (!seen[0])
		return bad(c, NULL, NULL, "version", "missing; the first line should be 'version: 1'");
	/* roles first: the bindings may name them wherever they are written */
	if (roles_k && load_roles(c, roles_k, roles_v) < 0)
		return -1;
	for (int kind = 0; kind < N_KINDS; kind++)
		if (sec_k[kind] && load_bindings(c, kind, sec_k[kind], sec_v[kind]) < 0)
			return -1;
	if (c->p->n_bind[USERS] + c->p->n_bind[GROUPS] + c->p->n_bind[TOKENS] == 0)
		return bad(c, NULL, NULL, "access.yaml",
			   "binds nobody, so every action would be denied; add e.g. users: {root: [admin]}");
	return 0;
}

/* Only whitespace and comments (libfyaml then reports an internal error). */
static bool blank(const char *s, size_t n)
{
	bool comment = false;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			comment = false;
		else if (s[i] == '#')
			comment = true;
		else if (!comment && !isspace((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* The whole file, refused when it is not a regular file, is larger than
 * MAX_FILE_BYTES, or may be written by every user (it decides who may do
 * what). */
static int read_file(const char *path, char **out, size_t *len, dp_error **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	cleanup_free char *buf = NULL;
	struct stat st;
	size_t n = 0;

	if (fd < 0 && errno == ENOENT)
		return dp_usage(err, "%s: no such access file", path);
	if (fd < 0)
		return dp_fail_errno(err, "%s", path);
	if (fstat(fd, &st) < 0)
		return dp_fail_errno(err, "stat %s", path);
	if (!S_ISREG(st.st_mode))
		return dp_usage(err, "%s: not a regular file", path);
	if (st.st_mode & S_IWOTH)
		return dp_fail(err, 0, "%s: every user may write it (mode %03o), and it decides who may do what; "
			       "chmod o-w it", path, (unsigned)(st.st_mode & 07777));
	if (st.st_size > MAX_FILE_BYTES)
		return dp_usage(err, "%s: %lld bytes; an access file is at most 1 MiB", path, (long long)st.st_size);
	buf = malloc(MAX_FILE_BYTES + 2);
	if (buf == NULL)
		return dp_fail(err, ENOMEM, "%s", path);
	for (;;) {
		ssize_t r = read(fd, buf + n, MAX_FILE_BYTES + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return dp_fail_errno(err, "read %s", path);
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > MAX_FILE_BYTES)  /* grew while read */
			return dp_usage(err, "%s: more than 1 MiB; an access file is at most 1 MiB", path);
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n))
		return dp_usage(err, "%s: contains a NUL byte; expected YAML text", path);
	*out = dp_steal_ptr(&buf);
	*len = n;
	return 0;
}

/* A libfyaml diagnostic ("<memory-...>:L:C: error: msg") as a located error. */
static int yaml_error(const char *file, const char *diag, dp_error **err)
{
	const char *at = strstr(diag, ">:");
	const char *hint = strstr(diag, "alias") ? " (a bare * starts a YAML alias; write \"*\" in quotes)" : "";
	int line = 0, col = 0, off = 0;

	if (at && sscanf(at + 2, "%d:%d: error: %n", &line, &col, &off) == 2 && off > 0)
		return dp_usage(err, "%s:%d:%d: not valid YAML: %s%s", file, line, col, at + 2 + off, hint);
	return dp_usage(err, "%s: not valid YAML: %s%s", file, diag[0] ? diag : "parse error", hint);
}

int dp_policy_load(const char *path, dp_policy **out, dp_error **err)
{
	char first_error[DP_YAML_DIAG_MAX] = "";
	struct fy_diag *diag;
	struct fy_parse_cfg pcfg = {
		/* duplicates are found by the loader: libfyaml's check is quadratic */
		.flags = FYPCF_QUIET | FYPCF_DEFAULT_DOC | FYPCF_ALLOW_DUPLICATE_KEYS,
	};
	struct fy_document *doc;
	cleanup_free char *text = NULL;
	size_t len = 0;
	ctx c = { .file = path, .err = err };
	int r;

	if (read_file(path, &text, &len, err) < 0)
		return -1;
	if (blank(text, len))
		return dp_usage(err, "%s: empty; expected 'version: 1' and users, groups or tokens (see docs/access.md)",
				path);
	diag = dp_yaml_diag_new(first_error);
	if (diag == NULL)
		return dp_fail(err, ENOMEM, "%s: yaml diagnostics", path);
	pcfg.diag = diag;
	doc = fy_document_build_from_string(&pcfg, text, len);
	if (doc == NULL) {
		yaml_error(path, first_error, err);
		fy_diag_unref(diag);
		return -1;
	}
	c.p = policy_new();
	if (c.p == NULL) {
		r = dp_fail(err, ENOMEM, "%s", path);
	} else {
		r = load_root(&c, fy_document_root(doc));
	}
	fy_document_destroy(doc);
	fy_diag_unref(diag);
	if (r < 0) {
		dp_policy_free(c.p);
		return -1;
	}
	*out = c.p;
	return 0;
}
