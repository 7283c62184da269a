/* API tokens (ops/token.h) against a real store in a scratch directory:
 * create and authenticate, expiry, revocation, a wrong key under a right id,
 * malformed bearer strings (refused before the database is asked), what the
 * tokens table holds (a hash, never the secret), listing by user, and the
 * ops layer's check and record around them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "ops/ops.h"
#include "ops/token.h"
#include "store/store.h"

#define SECRET_LEN 64 /* "dpt_" + 16 hex + "_" + 43 base64url */

typedef struct fixture {
	char dir[64];
	dp_store *st;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	dp_error *err = NULL;

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/doppel-token.XXXXXX");
	if (mkdtemp(f->dir) == NULL || dp_store_open(f->dir, &f->st, &err) < 0) {
		if (err)
			fprintf(stderr, "%s\n", err->msg);
		dp_error_free(&err);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];

	dp_store_close(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static char *make(dp_store *st, const char *name, uid_t uid, int64_t expires)
{
	dp_error *err = NULL;
	char *secret = NULL;

	if (dp_token_create(st, name, uid, expires, &secret, &err) < 0)
		fail_msg("create %s: %s", name, err->msg);
	assert_non_null(secret);
	return secret;
}

/* authenticate must fail with EACCES and exactly this message */
static void refused(dp_store *st, const char *secret, const char *want)
{
	dp_token_info t;
	dp_error *err = NULL;

	assert_int_equal(dp_token_authenticate(st, secret, &t, &err), -1);
	assert_non_null(err);
	assert_int_equal(err->errnum, EACCES);
	assert_string_equal(err->msg, want);
	assert_null(t.name);
	dp_error_free(&err);
}

static void accepted(dp_store *st, const char *secret, const char *name, uid_t uid)
{
	dp_token_info t;
	dp_error *err = NULL;

	if (dp_token_authenticate(st, secret, &t, &err) < 0)
		fail_msg("authenticate %s: %s", name, err->msg);
	assert_string_equal(t.name, name);
	assert_int_equal(t.uid, uid);
	assert_false(t.revoked);
	dp_token_info_clear(&t);
}

static void create_and_authenticate(void **state)
{
	fixture *f = *state;
	char *a = make(f->st, "ci", 1234, 0), *b = make(f->st, "deploy", 1234, 0);

	assert_int_equal(strlen(a), SECRET_LEN);
	assert_memory_equal(a, "dpt_", 4);
	assert_int_equal(a[20], '_');
	assert_string_not_equal(a, b);
	assert_memory_not_equal(a + 4, b + 4, 16); /* distinct ids */
	accepted(f->st, a, "ci", 1234);
	accepted(f->st, b, "deploy", 1234);
	/* the key part must match exactly: the other token's key under this id */
	{
		char mixed[SECRET_LEN + 1];
		memcpy(mixed, a, 21);
		memcpy(mixed + 21, b + 21, SECRET_LEN - 21 + 1);
		refused(f->st, mixed, "token unknown");
	}
	free(a);
	free(b);
}

static void stored_as_hash_only(void **state)
{
	fixture *f = *state;
	char *s = make(f->st, "ci", 1000, 0);
	unsigned char want[crypto_hash_sha256_BYTES];
	sqlite3_stmt *q = NULL;
	dp_error *err = NULL;
	int rows = 0;

	assert_int_equal(sodium_init() < 0, 0);
	crypto_hash_sha256(want, (const unsigned char *)s, strlen(s));
	assert_int_equal(dp_store_prepare(f->st, "SELECT id, name, uid, hash, created, expires, revoked FROM tokens", &q, &err), 0);
	while (sqlite3_step(q) == SQLITE_ROW) {
		rows++;
		assert_int_equal(sqlite3_column_bytes(q, 3), sizeof(want));
		assert_memory_equal(sqlite3_column_blob(q, 3), want, sizeof(want));
		/* the id is the public part of the secret, nothing more */
		assert_int_equal(sqlite3_column_bytes(q, 0), 16);
		assert_memory_equal(sqlite3_column_text(q, 0), s + 4, 16);
		for (int c = 0; c < 7; c++) {
			const unsigned char *v = sqlite3_column_blob(q, c);
			int n = sqlite3_column_bytes(q, c);
			assert_null(v && n >= 43 ? memmem(v, (size_t)n, s + 21, 43) : NULL);
		}
	}
	sqlite3_finalize(q);
	assert_int_equal(rows, 1);
	free(s);
}

static void wrong_key_right_id(void **state)
{
	fixture *f = *state;
	char *s = make(f->st, "ci", 1000, 0);
	char bad[SECRET_LEN + 1];

	/* each position of the key changed in turn: all refused alike */
	for (size_t i = 21; i < SECRET_LEN; i++) {
		memcpy(bad, s, sizeof(bad));
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		refused(f->st, bad, "token unknown");
	}
	/* an id that does not exist reads the same as a wrong key */
	memcpy(bad, s, sizeof(bad));
	bad[4] = bad[4] == '0' ? '1' : '0';
	refused(f->st, bad, "token unknown");
	accepted(f->st, s, "ci", 1000);
	free(s);
}

static void malformed(void **state)
{
	fixture *f = *state;
	char *s = make(f->st, "ci", 1000, 0);
	char buf[SECRET_LEN + 2];
	char *huge = malloc(1 << 20);
	/* a database without the tokens table: a malformed string must be
	 * refused before it is asked (asking it fails differently) */
	dp_store nodb = { .root = (char *)"/nonexistent", .rootfd = -1, .db = NULL };
	static const char *const cases[] = {
		"",
		"dpt_",
		"dpt__",
		"dpt_0123456789abcdef",
		"dpt_0123456789abcdef_",
		"0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"Bearer dpt_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"dpx_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"dpt_0123456789ABCDEF_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* upper-case hex */
		"dpt_0123456789abcdeg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"dpt_0123456789abcdef-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"dpt_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",  /* standard base64 */
		"dpt_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  /* padding */
		"dpt_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ",
		"dpt_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
		"dpt_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* one short */
		"dpt_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* one long */
		"dpt_0123456789abcde_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* id short, key long */
	};

	assert_non_null(huge);
	assert_int_equal(sqlite3_open(":memory:", &nodb.db), SQLITE_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		refused(&nodb, cases[i], "token unknown");
		refused(f->st, cases[i], "token unknown");
	}
	refused(&nodb, NULL, "token unknown");
	/* the real secret with something after it, or cut short */
	snprintf(buf, sizeof(buf), "%sA", s);
	refused(&nodb, buf, "token unknown");
	snprintf(buf, sizeof(buf), "%.*s", SECRET_LEN - 1, s);
	refused(&nodb, buf, "token unknown");
	/* a megabyte of a valid-looking prefix */
	memset(huge, 'a', (1 << 20) - 1);
	huge[(1 << 20) - 1] = '\0';
	memcpy(huge, s, SECRET_LEN);
	refused(&nodb, huge, "token unknown");
	/* a well-formed string does reach the database (so the cases above
	 * were refused for their shape, not for the missing one) */
	{
		dp_token_info t;
		dp_error *err = NULL;
		assert_int_equal(dp_token_authenticate(&nodb, s, &t, &err), -1);
		assert_string_not_equal(err->msg, "token unknown");
		dp_error_free(&err);
	}
	accepted(f->st, s, "ci", 1000);
	sqlite3_close(nodb.db);
	free(huge);
	free(s);
}

static void expiry(void **state)
{
	fixture *f = *state;
	int64_t now = (int64_t)time(NULL);
	char *live = make(f->st, "live", 1000, now + 3600), *old = make(f->st, "old", 1000, now + 3600);
	char *s = NULL;
	dp_error *err = NULL;
	dp_token_info *v = NULL;
	size_t n = 0;

	accepted(f->st, live, "live", 1000);
	accepted(f->st, old, "old", 1000);
	/* time passes for "old": its expiry moved to the past */
	assert_int_equal(dp_store_exec(f->st, "UPDATE tokens SET expires = 1700000000 WHERE name = 'old'", &err), 0);
	refused(f->st, old, "token expired on 2023-11-14T22:13:20Z");
	accepted(f->st, live, "live", 1000);
	/* an expiry that arrives while we wait */
	free(live);
	live = make(f->st, "soon", 1000, (int64_t)time(NULL) + 1);
	accepted(f->st, live, "soon", 1000);
	sleep(2);
	{
		dp_token_info t;
		assert_int_equal(dp_token_authenticate(f->st, live, &t, &err), -1);
		assert_int_equal(err->errnum, EACCES);
		assert_memory_equal(err->msg, "token expired on ", 17);
		dp_error_free(&err);
	}
	/* made already expired: a usage error, and nothing is added */
	assert_int_equal(dp_token_create(f->st, "late", 1000, now - 1, &s, &err), -1);
	assert_int_equal(err->status, DP_EXIT_USAGE);
	assert_null(s);
	dp_error_free(&err);
	assert_int_equal(dp_token_create(f->st, "late", 1000, -5, &s, &err), -1);
	dp_error_free(&err);
	assert_int_equal(dp_token_list(f->st, (uid_t)-1, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(v[i].name, "late");
	dp_token_infos_free(v, n);
	free(live);
	free(old);
}

static void revoking(void **state)
{
	fixture *f = *state;
	char *a = make(f->st, "a", 1000, 0), *b = make(f->st, "b", 2000, 0);
	dp_error *err = NULL;
	dp_token_info *v = NULL;
	size_t n = 0;

	/* only_uid that is not the owner: not found, and nothing changes */
	assert_int_equal(dp_token_revoke(f->st, "a", 2000, &err), -1);
	assert_int_equal(err->status, DP_EXIT_USAGE);
	assert_non_null(strstr(err->msg, "token a not found"));
	dp_error_free(&err);
	accepted(f->st, a, "a", 1000);
	assert_int_equal(dp_token_revoke(f->st, "nope", (uid_t)-1, &err), -1);
	assert_int_equal(err->status, DP_EXIT_USAGE);
	dp_error_free(&err);
	assert_int_equal(dp_token_revoke(f->st, "../a", (uid_t)-1, &err), -1);
	assert_int_equal(err->status, DP_EXIT_USAGE);
	dp_error_free(&err);

	assert_int_equal(dp_token_revoke(f->st, "a", 1000, &err), 0);
	refused(f->st, a, "token revoked");
	accepted(f->st, b, "b", 2000);
	/* revoked beats expired, and a second revoke is harmless */
	assert_int_equal(dp_store_exec(f->st, "UPDATE tokens SET expires = 1700000000 WHERE name = 'a'", &err), 0);
	refused(f->st, a, "token revoked");
	assert_int_equal(dp_token_revoke(f->st, "a", (uid_t)-1, &err), 0);
	/* the row stays, flagged */
	assert_int_equal(dp_token_list(f->st, (uid_t)-1, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "a");
	assert_true(v[0].revoked);
	assert_false(v[1].revoked);
	dp_token_infos_free(v, n);
	/* its name stays taken */
	{
		char *s = NULL;
		assert_int_equal(dp_token_create(f->st, "a", 1000, 0, &s, &err), -1);
		assert_int_equal(err->status, DP_EXIT_USAGE);
		assert_non_null(strstr(err->msg, "token a already exists"));
		dp_error_free(&err);
	}
	free(a);
	free(b);
}

static void names(void **state)
{
	fixture *f = *state;
	static const char *const bad[] = { "", "A", "-a", "a b", "a/b", "..", "a.b",
					   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	char *s = make(f->st, "ci", 1000, 0), *t = NULL;
	dp_error *err = NULL;
	dp_token_info *v = NULL;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(dp_token_create(f->st, bad[i], 1000, 0, &t, &err), -1);
		assert_int_equal(err->status, DP_EXIT_USAGE);
		assert_null(t);
		dp_error_free(&err);
	}
	assert_int_equal(dp_token_create(f->st, NULL, 1000, 0, &t, &err), -1);
	dp_error_free(&err);
	/* a duplicate names itself and leaves the first working */
	assert_int_equal(dp_token_create(f->st, "ci", 2000, 0, &t, &err), -1);
	assert_int_equal(err->status, DP_EXIT_USAGE);
	assert_non_null(strstr(err->msg, "ci"));
	assert_null(t);
	dp_error_free(&err);
	accepted(f->st, s, "ci", 1000);
	assert_int_equal(dp_token_list(f->st, (uid_t)-1, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	dp_token_infos_free(v, n);
	free(s);
}

static void list_by_uid(void **state)
{
	fixture *f = *state;
	char *s[4] = { make(f->st, "zed", 1000, 0), make(f->st, "bob-ci", 2000, 0), make(f->st, "alpha", 1000, 5000000000),
		       make(f->st, "root-ci", 0, 0) };
	dp_error *err = NULL;
	dp_token_info *v = NULL;
	size_t n = 0;

	assert_int_equal(dp_token_list(f->st, 1000, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "alpha");
	assert_int_equal(v[0].expires, 5000000000);
	assert_string_equal(v[1].name, "zed");
	assert_int_equal(v[1].uid, 1000);
	assert_int_equal(v[1].expires, 0);
	assert_true(v[1].created > 0 && v[1].created <= (int64_t)time(NULL));
	dp_token_infos_free(v, n);
	assert_int_equal(dp_token_list(f->st, 0, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "root-ci");
	dp_token_infos_free(v, n);
	assert_int_equal(dp_token_list(f->st, 3000, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	dp_token_infos_free(v, n);
	assert_int_equal(dp_token_list(f->st, (uid_t)-1, &v, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(v[0].name, "alpha");
	assert_string_equal(v[1].name, "bob-ci");
	assert_string_equal(v[2].name, "root-ci");
	assert_string_equal(v[3].name, "zed");
	dp_token_infos_free(v, n);
	for (int i = 0; i < 4; i++)
		free(s[i]);
}

/* The ops layer under a personal store's policy: its owner may manage
 * tokens, anyone else is denied and nothing is made. */
static void ops_check(void **state)
{
	fixture *f = *state;
	uid_t owner = 4242, other = 4343;
	dp_policy *p = dp_policy_single_user(owner);
	dp_ops o = { .store = f->st, .policy = p };
	dp_actor me, them;
	dp_error *err = NULL;
	char *s = NULL;
	json_t *j = NULL;

	assert_non_null(p);
	assert_int_equal(dp_actor_for_uid(owner, owner, DP_SOURCE_LOCAL, &me, &err), 0);
	assert_int_equal(dp_actor_for_uid(other, other, DP_SOURCE_LOCAL, &them, &err), 0);

	assert_int_equal(dp_ops_token_create(&o, &me, "mine", owner, 0, &s, &err), 0);
	accepted(f->st, s, "mine", owner);
	free(s);
	s = NULL;
	assert_int_equal(dp_ops_token_create(&o, &me, "theirs", other, 0, &s, &err), 0);
	free(s);
	s = NULL;

	assert_int_equal(dp_ops_token_create(&o, &them, "sneaky", other, 0, &s, &err), -1);
	assert_int_equal(err->errnum, EACCES);
	assert_null(s);
	dp_error_free(&err);
	assert_int_equal(dp_ops_token_revoke(&o, &them, "mine", &err), -1);
	assert_int_equal(err->errnum, EACCES);
	dp_error_free(&err);
	assert_int_equal(dp_ops_token_list(&o, &them, (uid_t)-1, &j, &err), -1);
	assert_null(j);
	dp_error_free(&err);

	/* the owner's own list: one entry, no hash or secret in it */
	assert_int_equal(dp_ops_token_list(&o, &me, owner, &j, &err), 0);
	assert_int_equal(json_array_size(j), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "name")), "mine");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "state")), "live");
	assert_null(json_object_get(json_array_get(j, 0), "hash"));
	assert_true(json_is_null(json_object_get(json_array_get(j, 0), "expires")));
	json_decref(j);
	assert_int_equal(dp_ops_token_revoke(&o, &me, "theirs", &err), 0);
	assert_int_equal(dp_ops_token_list(&o, &me, (uid_t)-1, &j, &err), 0);
	assert_int_equal(json_array_size(j), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "state")), "revoked");
	json_decref(j);

	dp_actor_clear(&me);
	dp_actor_clear(&them);
	dp_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(create_and_authenticate, setup, teardown),
		cmocka_unit_test_setup_teardown(stored_as_hash_only, setup, teardown),
		cmocka_unit_test_setup_teardown(wrong_key_right_id, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(revoking, setup, teardown),
		cmocka_unit_test_setup_teardown(names, setup, teardown),
		cmocka_unit_test_setup_teardown(list_by_uid, setup, teardown),
		cmocka_unit_test_setup_teardown(ops_check, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
