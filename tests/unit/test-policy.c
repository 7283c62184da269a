/* access.yaml and the policy check: the built-in roles cell by cell against
 * the table in docs/access.md (written out here, not taken from policy.c),
 * the denial messages, groups, token bindings, custom roles, and every kind
 * of bad file refused with its line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ops/policy.h"

static char path[64];

static void write_file(const char *text, size_t len, mode_t mode)
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/doppel-access-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static dp_policy *load_mode(const char *text, mode_t mode, dp_error **err)
{
	dp_policy *p = NULL;

	write_file(text, strlen(text), mode);
	if (dp_policy_load(path, &p, err) < 0)
		p = NULL;
	unlink(path);
	return p;
}

static dp_policy *load(const char *text)
{
	dp_error *err = NULL;
	dp_policy *p = load_mode(text, 0644, &err);

	if (p == NULL)
		fail_msg("load failed: %s", err ? err->msg : "?");
	return p;
}

/* The file is refused, the message names path:line: and contains needle. */
static void expect_error(const char *text, int line, const char *needle)
{
	dp_error *err = NULL;
	dp_policy *p = load_mode(text, 0644, &err);
	char where[96];

	assert_null(p);
	assert_non_null(err);
	if (line)
		snprintf(where, sizeof(where), "%s:%d:", path, line);
	else
		snprintf(where, sizeof(where), "%s: ", path);
	if (strncmp(err->msg, where, strlen(where)) != 0)
		fail_msg("error '%s' does not start with '%s'", err->msg, where);
	if (strstr(err->msg, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err->msg, needle);
	assert_int_equal(err->status, DP_EXIT_USAGE);
	dp_error_free(&err);
}

typedef struct test_actor {
	dp_actor a;
	char *groups[4];
} test_actor;

static dp_actor *actor(test_actor *t, const char *user, uid_t uid, const char *g1, const char *g2)
{
	memset(t, 0, sizeof(*t));
	t->groups[0] = (char *)g1;
	t->groups[1] = g1 ? (char *)g2 : NULL;
	t->a.uid = uid;
	t->a.gid = uid;
	t->a.user = (char *)user;
	t->a.groups = t->groups;
	t->a.source = DP_SOURCE_LOCAL;
	return &t->a;
}

static dp_actor *token_actor(test_actor *t, const char *user, uid_t uid, const char *token)
{
	actor(t, user, uid, NULL, NULL);
	t->a.source = DP_SOURCE_TOKEN;
	t->a.token = (char *)token;
	return &t->a;
}

static bool allowed(const dp_policy *p, const dp_actor *a, dp_action act, const char *tier, const char *sb,
		    uid_t owner)
{
	dp_target t = { .tier = tier, .sandbox = sb, .owner = owner };
	dp_error *err = NULL;

	if (dp_policy_check(p, a, act, &t, &err) == 0) {
		assert_null(err);
		return true;
	}
	assert_non_null(err);
	assert_int_equal(err->errnum, EACCES);
	assert_int_equal(err->status, DP_EXIT_FAIL);
	dp_error_free(&err);
	return false;
}

/* The check denies with exactly msg. */
static void expect_denied(const dp_policy *p, const dp_actor *a, dp_action act, const char *tier, const char *sb,
			  uid_t owner, const char *msg)
{
	dp_target t = { .tier = tier, .sandbox = sb, .owner = owner };
	dp_error *err = NULL;

	assert_int_equal(dp_policy_check(p, a, act, &t, &err), -1);
	assert_non_null(err);
	assert_string_equal(err->msg, msg);
	assert_int_equal(err->errnum, EACCES);
	assert_int_equal(err->status, DP_EXIT_FAIL);
	dp_error_free(&err);
}

static void expect_roles(const dp_policy *p, const dp_actor *a, const char *want)
{
	const char **r = dp_policy_roles(p, a);
	char got[256] = "";

	assert_non_null(r);
	for (size_t i = 0; r[i]; i++) {
		if (i)
			strcat(got, " ");
		strcat(got, r[i]);
	}
	free(r);
	assert_string_equal(got, want);
}

/* ---- actions ---- */

static void action_names(void **state)
{
	static const char *const want[] = { "sync", "snapshots", "create", "list", "run", "checkpoint",
					    "reset", "diff", "drift", "rebase", "destroy", "scan",
					    "synth", "endpoints", "audit", "token", "check", "postgres" };
	static const char *const tierless = " sync snapshots audit token check postgres ";
	(void)state;

	assert_int_equal(DP_ACT__COUNT, 18);
	for (int i = 0; i < DP_ACT__COUNT; i++) {
		dp_action a = DP_ACT__COUNT;
		char word[32];
		assert_string_equal(dp_action_name((dp_action)i), want[i]);
		assert_int_equal(dp_action_parse(want[i], &a), 0);
		assert_int_equal(a, i);
		snprintf(word, sizeof(word), " %s ", want[i]);
		assert_int_equal(dp_action_tierless((dp_action)i), strstr(tierless, word) != NULL);
	}
	assert_string_equal(dp_action_name(DP_ACT__COUNT), "?");
	{
		dp_action a = DP_ACT_RUN;
		assert_int_equal(dp_action_parse("shell", &a), -1);
		assert_int_equal(dp_action_parse("Run", &a), -1);
		assert_int_equal(dp_action_parse("", &a), -1);
		assert_int_equal(a, DP_ACT_RUN);
	}
}

/* ---- the built-in matrix (docs/access.md, "Built-in roles") ---- */

#define ALL_TIERED "create list run checkpoint reset diff drift rebase destroy scan synth endpoints"
#define DEV_WORK "create list run checkpoint reset diff drift rebase destroy scan synth endpoints"
#define READ "list diff drift"

typedef struct cell {
	const char *role;
	const char *tier; /* NULL: the tierless actions */
	bool own;
	const char *allowed; /* space-separated action names */
} cell;

static const cell matrix[] = {
	{ "admin", "dev", true, ALL_TIERED },
	{ "admin", "dev", false, ALL_TIERED },
	{ "admin", "qa", true, ALL_TIERED },
	{ "admin", "qa", false, ALL_TIERED },
	{ "admin", "staging", true, ALL_TIERED },
	{ "admin", "staging", false, ALL_TIERED },
	{ "admin", NULL, true, "sync snapshots audit token check postgres" },

	{ "developer", "dev", true, DEV_WORK },
	{ "developer", "dev", false, READ },
	{ "developer", "qa", true, READ },
	{ "developer", "qa", false, READ },
	{ "developer", "staging", true, "" },
	{ "developer", "staging", false, "" },
	{ "developer", NULL, true, "snapshots" },

	{ "qa", "qa", true, DEV_WORK },
	{ "qa", "qa", false, READ },
	{ "qa", "dev", true, "run " READ },
	{ "qa", "dev", false, "run " READ },
	{ "qa", "staging", true, "" },
	{ "qa", "staging", false, "" },
	{ "qa", NULL, true, "snapshots" },

	{ "security", "dev", true, "run scan " READ },
	{ "security", "dev", false, "run scan " READ },
	{ "security", "qa", true, "run scan " READ },
	{ "security", "qa", false, "run scan " READ },
	{ "security", "staging", true, "run scan " READ },
	{ "security", "staging", false, "run scan " READ },
	{ "security", NULL, true, "snapshots audit" },

	{ "auditor", "dev", true, READ },
	{ "auditor", "dev", false, READ },
	{ "auditor", "qa", true, READ },
	{ "auditor", "qa", false, READ },
	{ "auditor", "staging", true, READ },
	{ "auditor", "staging", false, READ },
	{ "auditor", NULL, true, "snapshots audit" },

	/* bound to nothing */
	{ "nobody", "dev", true, "" },
	{ "nobody", "qa", false, "" },
	{ "nobody", NULL, true, "" },
};

static const char *const matrix_yaml = "version: 1\n"
				       "users:\n"
				       "  admin: [admin]\n"
				       "  developer: [developer]\n"
				       "  qa: [qa]\n"
				       "  security: [security]\n"
				       "  auditor: [auditor]\n";

static bool listed(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *s = list; (s = strstr(s, word)) != NULL; s += n)
		if ((s == list || s[-1] == ' ') && (s[n] == '\0' || s[n] == ' '))
			return true;
	return false;
}

static void builtin_matrix(void **state)
{
	dp_policy *p = load(matrix_yaml);
	size_t checked = 0, allowed_n = 0;
	(void)state;

	for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
		const cell *c = &matrix[i];
		uid_t me = 2000 + (uid_t)i, other = 3999999;
		test_actor ta;
		dp_actor *a = actor(&ta, c->role, me, "staff", NULL);

		for (int act = 0; act < DP_ACT__COUNT; act++) {
			const char *name = dp_action_name((dp_action)act);
			bool tierless = dp_action_tierless((dp_action)act), want, got;
			dp_target t = { .tier = c->tier, .sandbox = "x", .owner = c->own ? me : other };
			dp_error *err = NULL;

			if (tierless != (c->tier == NULL))
				continue;
			if (tierless)
				t = (dp_target){ 0 };
			want = listed(c->allowed, name);
			got = dp_policy_check(p, a, (dp_action)act, &t, &err) == 0;
			if (got != want)
				fail_msg("%s %s %s (%s): expected %s, got %s%s%s", c->role, name, c->tier ? c->tier : "-",
					 c->own ? "own" : "other's", want ? "allowed" : "denied",
					 got ? "allowed" : "denied: ", err ? err->msg : "", "");
			if (!got) {
				char prefix[128];
				if (tierless)
					snprintf(prefix, sizeof(prefix), "%s may not %s: ", c->role, name);
				else
					snprintf(prefix, sizeof(prefix), "%s may not %s %s/x: ", c->role, name, c->tier);
				assert_int_equal(err->errnum, EACCES);
				if (strncmp(err->msg, prefix, strlen(prefix)) != 0)
					fail_msg("'%s' does not start with '%s'", err->msg, prefix);
				dp_error_free(&err);
			} else {
				allowed_n++;
			}
			checked++;
		}
	}
	/* every cell was visited: 32 tiered rows x 12 + 6 tierless rows x 6 */
	assert_int_equal(checked, 32 * 12 + 6 * 6);
	assert_true(allowed_n > 100);
	dp_policy_free(p);
}

/* Only admin may sync: the one action that reads production. */
static void only_admin_syncs(void **state)
{
	static const char *const roles[] = { "admin", "developer", "qa", "security", "auditor" };
	dp_policy *p = load(matrix_yaml);
	(void)state;

	for (size_t i = 0; i < 5; i++) {
		test_actor ta;
		bool ok = allowed(p, actor(&ta, roles[i], 100, NULL, NULL), DP_ACT_SYNC, NULL, NULL, 0);
		assert_int_equal(ok, i == 0);
	}
	dp_policy_free(p);
}

/* create names the sandbox it makes, owned by the actor, or only a tier. */
static void create_targets(void **state)
{
	dp_policy *p = load(matrix_yaml);
	test_actor ta;
	dp_actor *dev = actor(&ta, "developer", 1001, NULL, NULL);
	(void)state;

	assert_true(allowed(p, dev, DP_ACT_CREATE, "dev", "feature", 1001));
	assert_true(allowed(p, dev, DP_ACT_CREATE, "dev", NULL, 0));
	expect_denied(p, dev, DP_ACT_CREATE, "qa", NULL, 0,
		      "developer may not create qa: role developer lacks create on tier qa");
	expect_denied(p, dev, DP_ACT_CREATE, "qa", "feature", 1001,
		      "developer may not create qa/feature: role developer lacks create on tier qa");
	dp_policy_free(p);
}

/* ---- messages ---- */

static void messages(void **state)
{
	dp_policy *p = load("version: 1\n"
			    "users:\n"
			    "  bob: [developer]\n"
			    "  dana: [auditor, developer]\n"
			    "  eve: [auditor]\n"
			    "groups: {staff: []}\n");
	test_actor ta;
	dp_actor *bob = actor(&ta, "bob", 1001, "bob", "staff");
	(void)state;

	expect_denied(p, bob, DP_ACT_RESET, "qa", "checkout", 1001,
		      "bob may not reset qa/checkout: role developer lacks reset on tier qa");
	expect_denied(p, bob, DP_ACT_RUN, "dev", "x", 0,
		      "bob may not run dev/x: it is root's, and role developer grants run on own sandboxes only");
	expect_denied(p, bob, DP_ACT_RUN, "dev", "x", 3999999,
		      "bob may not run dev/x: it is 3999999's, and role developer grants run on own sandboxes only");
	expect_denied(p, bob, DP_ACT_SYNC, NULL, NULL, 0, "bob may not sync: role developer lacks sync");
	/* a tierless action shows no target even when given one */
	expect_denied(p, bob, DP_ACT_AUDIT, "dev", "x", 0, "bob may not audit: role developer lacks audit");
	/* a tiered action on no particular tier: granted on some tier or not */
	assert_true(allowed(p, bob, DP_ACT_SCAN, NULL, NULL, 0));
	{
		test_actor te;
		dp_actor *eve = actor(&te, "eve", 1009, NULL, NULL);
		expect_denied(p, eve, DP_ACT_RUN, NULL, NULL, 0, "eve may not run: role auditor lacks run on any tier");
		assert_true(allowed(p, eve, DP_ACT_LIST, NULL, NULL, 0));
	}
	assert_true(allowed(p, bob, DP_ACT_RUN, "dev", "x", 1001));
	assert_true(allowed(p, bob, DP_ACT_LIST, "dev", "x", 0));

	/* of several roles, the one that came nearest is named */
	{
		test_actor td;
		dp_actor *dana = actor(&td, "dana", 1002, NULL, NULL);
		expect_denied(p, dana, DP_ACT_RUN, "dev", "x", 0,
			      "dana may not run dev/x: it is root's, and role developer grants run on own sandboxes only");
		expect_denied(p, dana, DP_ACT_RESET, "qa", "y", 1002,
			      "dana may not reset qa/y: role developer lacks reset on tier qa");
		expect_denied(p, dana, DP_ACT_SYNC, NULL, NULL, 0, "dana may not sync: role auditor lacks sync");
		assert_true(allowed(p, dana, DP_ACT_AUDIT, NULL, NULL, 0));
		assert_true(allowed(p, dana, DP_ACT_DIFF, "staging", "z", 0));
	}
	/* no binding at all (staff binds to nothing) */
	{
		test_actor tc;
		dp_actor *carol = actor(&tc, "carol", 1003, "carol", "staff");
		expect_denied(p, carol, DP_ACT_SYNC, NULL, NULL, 0,
			      "carol may not sync: no role (access.yaml binds neither user carol nor any of their groups)");
		expect_denied(p, carol, DP_ACT_LIST, "dev", "x", 1003,
			      "carol may not list dev/x: no role (access.yaml binds neither user carol nor any of their "
			      "groups)");
		expect_roles(p, carol, "");
	}
	dp_policy_free(p);
}

static void single_user(void **state)
{
	dp_policy *p = dp_policy_single_user(0);
	test_actor ta, tb;
	dp_actor *root = actor(&ta, "root", 0, "root", NULL);
	dp_actor *bob = actor(&tb, "bob", 1001, "root", NULL);
	(void)state;

	assert_non_null(p);
	for (int act = 0; act < DP_ACT__COUNT; act++) {
		assert_true(allowed(p, root, (dp_action)act, "staging", "x", 1001));
		assert_false(allowed(p, bob, (dp_action)act, "dev", "x", 1001));
	}
	expect_denied(p, bob, DP_ACT_SYNC, NULL, NULL, 0, "bob may not sync: this store is root's (no access.yaml)");
	expect_denied(p, bob, DP_ACT_RUN, "dev", "x", 1001, "bob may not run dev/x: this store is root's (no access.yaml)");
	expect_roles(p, root, "admin");
	expect_roles(p, bob, "");
	dp_policy_free(p);

	/* an owner without a passwd entry is named by number */
	p = dp_policy_single_user(3999999);
	expect_denied(p, bob, DP_ACT_SYNC, NULL, NULL, 0, "bob may not sync: this store is 3999999's (no access.yaml)");
	dp_policy_free(p);
}

/* ---- groups and tokens ---- */

static void groups_and_users(void **state)
{
	dp_policy *p = load("version: 1\n"
			    "users: {erin: [developer, qa]}\n"
			    "groups:\n"
			    "  devs: [developer]\n"
			    "  qa-team: [qa]\n"
			    "  sec: [security, auditor]\n");
	test_actor ta, tb, tc;
	dp_actor *carol = actor(&ta, "carol", 1003, "carol", "qa-team");
	dp_actor *erin = actor(&tb, "erin", 1004, "devs", "sec");
	dp_actor *frank = actor(&tc, "frank", 1005, "devs", NULL);
	(void)state;

	/* carol is qa through her group only */
	expect_roles(p, carol, "qa");
	assert_true(allowed(p, carol, DP_ACT_RESET, "qa", "c", 1003));
	assert_true(allowed(p, carol, DP_ACT_RUN, "dev", "d", 1004));
	assert_false(allowed(p, carol, DP_ACT_RESET, "dev", "d", 1003));
	/* erin: her user's roles, then her groups', each once */
	expect_roles(p, erin, "developer qa security auditor");
	assert_true(allowed(p, erin, DP_ACT_AUDIT, NULL, NULL, 0));
	assert_true(allowed(p, erin, DP_ACT_SCAN, "staging", "s", 1003));
	assert_false(allowed(p, erin, DP_ACT_RESET, "staging", "s", 1004));
	assert_false(allowed(p, erin, DP_ACT_SYNC, NULL, NULL, 0));
	expect_roles(p, frank, "developer");
	assert_false(allowed(p, frank, DP_ACT_DESTROY, "dev", "e", 1004));
	dp_policy_free(p);
}

static void token_bindings(void **state)
{
	dp_policy *p = load("version: 1\n"
			    "roles:\n"
			    "  ci:\n"
			    "    - {actions: [create, run, reset, destroy], tiers: [qa], scope: own}\n"
			    "    - {actions: [list], tiers: \"*\", scope: any}\n"
			    "users: {alice: [admin]}\n"
			    "groups: {wheel: [admin]}\n"
			    "tokens:\n"
			    "  ci-bot: [ci]\n"
			    "  locked: []\n");
	test_actor ta, tb, tc, td;
	dp_actor *bot = token_actor(&ta, "alice", 1000, "ci-bot");
	dp_actor *plain = token_actor(&tb, "alice", 1000, "laptop");
	dp_actor *locked = token_actor(&tc, "alice", 1000, "locked");
	dp_actor *local = actor(&td, "alice", 1000, "wheel", NULL);
	(void)state;

	/* the bound token has its roles instead of alice's (and her group's) */
	bot->groups = local->groups;
	expect_roles(p, bot, "ci");
	expect_denied(p, bot, DP_ACT_SYNC, NULL, NULL, 0, "alice (token ci-bot) may not sync: role ci lacks sync");
	assert_true(allowed(p, bot, DP_ACT_RUN, "qa", "t", 1000));
	assert_true(allowed(p, bot, DP_ACT_LIST, "staging", "t", 0));
	expect_denied(p, bot, DP_ACT_RUN, "qa", "t", 0,
		      "alice (token ci-bot) may not run qa/t: it is root's, and role ci grants run on own sandboxes only");
	expect_denied(p, bot, DP_ACT_RUN, "dev", "t", 1000,
		      "alice (token ci-bot) may not run dev/t: role ci lacks run on tier dev");
	/* an unbound token acts with its user's roles */
	expect_roles(p, plain, "admin");
	assert_true(allowed(p, plain, DP_ACT_SYNC, NULL, NULL, 0));
	/* bound to no role: nothing, although alice is admin */
	expect_roles(p, locked, "");
	expect_denied(p, locked, DP_ACT_LIST, "dev", "x", 1000,
		      "alice (token locked) may not list dev/x: no role (access.yaml binds token locked to none)");
	/* a local caller never counts as a token, whatever the field holds */
	local->token = "ci-bot";
	expect_roles(p, local, "admin");
	assert_true(allowed(p, local, DP_ACT_SYNC, NULL, NULL, 0));
	dp_policy_free(p);
}

/* ---- custom roles ---- */

static void custom_roles(void **state)
{
	dp_policy *p = load("# a comment\n"
			    "version: 1\n"
			    "users: {ann: [ci], ben: [reader, tokens]}\n"
			    "roles:\n"
			    "  ci:\n"
			    "    - {actions: [create, run, reset, destroy], tiers: [qa, pre_prod], scope: own}\n"
			    "    - actions: [list]\n"
			    "      tiers: [\"*\", dev]\n"
			    "      scope: any\n"
			    "  reader:\n"
			    "    - {actions: [diff, drift], tiers: [dev]}\n"
			    "  tokens:\n"
			    "    - {actions: [token, audit]}\n");
	test_actor ta, tb;
	dp_actor *ann = actor(&ta, "ann", 1010, NULL, NULL);
	dp_actor *ben = actor(&tb, "ben", 1011, NULL, NULL);
	(void)state;

	expect_roles(p, ann, "ci");
	assert_true(allowed(p, ann, DP_ACT_CREATE, "qa", "n", 1010));
	assert_true(allowed(p, ann, DP_ACT_DESTROY, "pre_prod", "n", 1010));
	assert_false(allowed(p, ann, DP_ACT_DESTROY, "qa", "n", 1011));
	assert_false(allowed(p, ann, DP_ACT_CHECKPOINT, "qa", "n", 1010));
	assert_true(allowed(p, ann, DP_ACT_LIST, "anything", "n", 1011)); /* "*" in a list: every tier */
	assert_false(allowed(p, ann, DP_ACT_SNAPSHOTS, NULL, NULL, 0));
	expect_denied(p, ann, DP_ACT_RUN, "dev", "n", 1010, "ann may not run dev/n: role ci lacks run on tier dev");
	/* scope defaults to own */
	assert_true(allowed(p, ben, DP_ACT_DIFF, "dev", "m", 1011));
	expect_denied(p, ben, DP_ACT_DIFF, "dev", "m", 3999999,
		      "ben may not diff dev/m: it is 3999999's, and role reader grants diff on own sandboxes only");
	/* tierless grants need no tiers */
	assert_true(allowed(p, ben, DP_ACT_TOKEN, NULL, NULL, 0));
	assert_true(allowed(p, ben, DP_ACT_AUDIT, NULL, NULL, 0));
	assert_false(allowed(p, ben, DP_ACT_SYNC, NULL, NULL, 0));
	dp_policy_free(p);
}

/* The commented example shipped in examples/ loads, when the tree is at
 * hand (DOPPEL_SRC, or the source this file was compiled from). */
static void shipped_example(void **state)
{
	const char *src = getenv("DOPPEL_SRC");
	char root[4096], file[4200];
	dp_policy *p = NULL;
	dp_error *err = NULL;
	test_actor ta;
	struct stat st;
	(void)state;

	snprintf(root, sizeof(root), "%s", src ? src : __FILE__);
	if (src == NULL && strstr(root, "tests/unit/") != NULL) {
		*strstr(root, "tests/unit/") = '\0';
		if (root[0] == '\0')
			strcpy(root, ".");
	}
	snprintf(file, sizeof(file), "%s/examples/access.yaml", root);
	if (stat(file, &st) < 0)
		skip();
	if (dp_policy_load(file, &p, &err) < 0)
		fail_msg("%s", err->msg);
	expect_roles(p, token_actor(&ta, "alice", 1000, "ci-bot"), "ci");
	expect_roles(p, actor(&ta, "root", 0, "root", NULL), "admin");
	dp_policy_free(p);
}

/* ---- bad files ---- */

static void bad_roles_and_actions(void **state)
{
	(void)state;
	expect_error("version: 1\nusers:\n  alice: [develper]\n", 3, "users.alice: unknown role 'develper'; did you mean 'developer'?");
	expect_error("version: 1\nusers:\n  alice: [wizard]\n", 3,
		     "unknown role 'wizard'; expected one of: admin, developer, qa, security, auditor");
	/* custom roles are offered too */
	expect_error("version: 1\nroles: {deployer: [{actions: [run], tiers: [dev]}]}\nusers: {alice: [deployr]}\n", 3,
		     "did you mean 'deployer'?");
	expect_error("version: 1\nroles:\n  ci:\n    - {actions: [run, restet], tiers: [qa]}\nusers: {a: [ci]}\n", 4,
		     "roles.ci[0].actions: unknown action 'restet'; did you mean 'reset'? (expected one of: sync, "
		     "snapshots, create, list, run, checkpoint, reset");
	expect_error("version: 1\nroles:\n  ci:\n    - {actions: [fly], tiers: [qa]}\nusers: {a: [ci]}\n", 4,
		     "unknown action 'fly'; expected one of: sync, snapshots, create, list, run, checkpoint, reset, diff, "
		     "drift, rebase, destroy, scan, synth, endpoints, audit, token, check, postgres");
	expect_error("version: 1\nroles:\n  ci:\n    - {actions: [run], tiers: [qa], scope: mine}\nusers: {a: [ci]}\n", 4,
		     "roles.ci[0].scope: expected own (the actor's sandboxes) or any (everyone's), got 'mine'");
	expect_error("version: 1\nroles:\n  admin: [{actions: [run], tiers: [dev]}]\nusers: {a: [admin]}\n", 3,
		     "'admin' is a built-in role and cannot be redefined");
	expect_error("version: 1\nroles:\n  Big_Role: [{actions: [run], tiers: [dev]}]\n", 3, "role name 'Big_Role'");
	expect_error("version: 1\nroles:\n  ci: []\nusers: {a: [ci]}\n", 3, "roles.ci: expected at least one item");
	expect_error("version: 1\nroles:\n  ci:\n    - {tiers: [dev]}\n", 4, "missing 'actions'");
	expect_error("version: 1\nroles:\n  ci:\n    - {actions: [audit, reset]}\n", 4,
		     "missing 'tiers' (needed for reset)");
	expect_error("version: 1\nroles:\n  ci:\n    - {actions: [run], tiers: [Dev]}\n", 4,
		     "tier 'Dev': expected a tier name");
	expect_error("version: 1\nroles:\n  ci:\n    - {actions: [run], tiers: all}\n", 4,
		     "expected \"*\" (every tier) or a list such as [dev, qa], got 'all'");
	/* * unquoted is a YAML alias */
	expect_error("version: 1\nroles:\n  ci:\n    - {actions: [run], tiers: *}\n", 4, "write \"*\" in quotes");
}

static void bad_keys_and_types(void **state)
{
	(void)state;
	expect_error("version: 1\nuser:\n  alice: [admin]\n", 2, "access.yaml: unknown key 'user'; did you mean 'users'?");
	expect_error("version: 1\npermissions: {}\n", 2,
		     "unknown key 'permissions'; expected one of: version, roles, users, groups, tokens");
	expect_error("version: 1\nroles:\n  ci:\n    - {actions: [run], tier: [dev]}\n", 4,
		     "roles.ci[0]: unknown key 'tier'; did you mean 'tiers'?");
	expect_error("version: 1\nusers: [alice]\n", 2, "users: expected a mapping such as {alice: [developer]}");
	expect_error("version: 1\nusers:\n  alice: developer\n", 3, "users.alice: expected a list such as [developer]");
	expect_error("version: 1\nusers:\n  alice:\n", 3, "users.alice: expected a list");
	expect_error("version: 1\nusers:\n  alice: [[admin]]\n", 3, "expected a role name");
	expect_error("version: 1\ntokens:\n  CI_Bot: [admin]\n", 3, "token name 'CI_Bot'");
	expect_error("version: 1\nusers:\n  \"al ice\": [admin]\n", 3, "'al ice' is not a user name");
	expect_error("version: 1\ngroups:\n  \"a:b\": [admin]\n", 3, "'a:b' is not a group name");
	expect_error("version: 1\nroles:\n  ci:\n    - [run]\n", 4, "roles.ci[0]: expected a mapping such as {actions:");
	expect_error("version: 1\nusers: {a: &r [admin], b: *r}\n", 2, "aliases");
	expect_error("version: 1\n? [a, b]\n: 1\n", 2, "keys must be plain words");
	expect_error("- version: 1\n", 1, "expected a mapping with version");
}

static void bad_version_and_syntax(void **state)
{
	(void)state;
	expect_error("users: {alice: [admin]}\n", 0, "version: missing; the first line should be 'version: 1'");
	expect_error("version: 2\nusers: {alice: [admin]}\n", 1, "version: expected 1 (the only version this doppel reads), got '2'");
	expect_error("version: [1]\nusers: {alice: [admin]}\n", 1, "version: expected 1");
	/* duplicate keys, each kind */
	expect_error("version: 1\nusers:\n  alice: [admin]\n  bob: [qa]\n  alice: [developer]\n", 5,
		     "users.alice: given twice (also on line 3)");
	expect_error("version: 1\ntokens:\n  t: [qa]\ngroups: {devs: [qa]}\ntokens: {}\n", 5, "tokens: given twice");
	expect_error("version: 1\nusers: {a: [ci]}\nroles:\n  ci: [{actions: [audit]}]\n  ci: [{actions: [sync]}]\n", 5,
		     "roles.ci: defined twice");
	expect_error("version: 1\nusers: {a: [ci]}\nroles:\n  ci: [{actions: [audit], actions: [sync]}]\n", 4,
		     "roles.ci[0].actions: given twice in one grant");
	expect_error("version: 1\nusers: {alice: [admin]\n", 3, "not valid YAML");
	expect_error("version: 1\n", 0, "binds nobody");
	expect_error("", 0, "empty; expected 'version: 1'");
	expect_error("# only a comment\n\n", 0, "empty");
}

static void hostile_files(void **state)
{
	dp_error *err = NULL;
	dp_policy *p = NULL;
	size_t big = (1 << 20) + 1;
	char *text;
	(void)state;

	/* over 1 MiB: refused before parsing */
	text = malloc(big + 1);
	assert_non_null(text);
	memset(text, '#', big);
	memcpy(text, "version: 1\n", 11);
	write_file(text, big, 0644);
	assert_int_equal(dp_policy_load(path, &p, &err), -1);
	assert_non_null(strstr(err->msg, "at most 1 MiB"));
	dp_error_free(&err);
	unlink(path);
	free(text);

	/* absurd counts */
	{
		size_t cap = 10001 * 16 + 64, len = 0;
		text = malloc(cap);
		assert_non_null(text);
		len += (size_t)sprintf(text, "version: 1\nusers:\n");
		for (int i = 0; i < 10001; i++)
			len += (size_t)sprintf(text + len, "  u%d: []\n", i);
		expect_error(text, 3, "users: 10001 entries; at most 10000 are allowed");
		free(text);
	}
	{
		char list[1024] = "version: 1\nusers:\n  alice: [";
		for (int i = 0; i < 65; i++)
			strcat(list, i ? ", qa" : "qa");
		strcat(list, "]\n");
		expect_error(list, 3, "65 items; at most 64 are allowed");
	}

	/* NUL bytes */
	write_file("version: 1\n\0users: {}\n", 23, 0644);
	assert_int_equal(dp_policy_load(path, &p, &err), -1);
	assert_non_null(strstr(err->msg, "NUL"));
	dp_error_free(&err);
	unlink(path);

	/* writable by everyone: it decides who may do what */
	assert_null(load_mode("version: 1\nusers: {alice: [admin]}\n", 0666, &err));
	assert_non_null(strstr(err->msg, "every user may write it (mode 666)"));
	assert_int_equal(err->status, DP_EXIT_FAIL);
	dp_error_free(&err);

	/* not there, not a file */
	assert_int_equal(dp_policy_load("/nonexistent/access.yaml", &p, &err), -1);
	assert_string_equal(err->msg, "/nonexistent/access.yaml: no such access file");
	assert_int_equal(err->status, DP_EXIT_USAGE);
	dp_error_free(&err);
	assert_int_equal(dp_policy_load("/tmp", &p, &err), -1);
	assert_string_equal(err->msg, "/tmp: not a regular file");
	dp_error_free(&err);
	assert_null(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(action_names),
		cmocka_unit_test(builtin_matrix),
		cmocka_unit_test(only_admin_syncs),
		cmocka_unit_test(create_targets),
		cmocka_unit_test(messages),
		cmocka_unit_test(single_user),
		cmocka_unit_test(groups_and_users),
		cmocka_unit_test(token_bindings),
		cmocka_unit_test(custom_roles),
		cmocka_unit_test(shipped_example),
		cmocka_unit_test(bad_roles_and_actions),
		cmocka_unit_test(bad_keys_and_types),
		cmocka_unit_test(bad_version_and_syntax),
		cmocka_unit_test(hostile_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
