/* The audit log on a real store in a temporary directory: records read back
 * as written; oversized and non-UTF-8 fields are capped; each kind of
 * tampering is named at the right record; the crash window (records past the
 * head, a torn last line) is adopted; and processes and threads appending at
 * once leave one contiguous chain with every record in it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ops/audit.h"

typedef struct fixture {
	char dir[64];
	char log[128];
	dp_store *st;
} fixture;

static dp_actor alice = { .uid = 1000, .gid = 1000, .user = "alice", .source = DP_SOURCE_LOCAL };
static dp_actor ci = { .uid = 1001, .gid = 1001, .user = "bob", .source = DP_SOURCE_TOKEN, .token = "ci", .pid = 4242 };

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	dp_error *err = NULL;

	snprintf(f->dir, sizeof(f->dir), "/tmp/doppel-audit-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->log, sizeof(f->log), "%s/audit.log", f->dir);
	if (dp_store_open(f->dir, &f->st, &err) < 0) {
		fprintf(stderr, "%s\n", err->msg);
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

static void append_ok(dp_store *st, const dp_actor *a, const char *action, const char *target, json_t *args,
		      dp_audit_result r, const char *msg)
{
	dp_error *err = NULL;
	int rc = dp_audit_append(st, a, action, target, args, r, msg, &err);
	if (rc < 0)
		fail_msg("append: %s", err->msg);
	json_decref(args);
}

static void append_n(fixture *f, int n)
{
	for (int i = 0; i < n; i++)
		append_ok(f->st, &alice, "list", NULL, json_pack("{si}", "i", i), DP_AUDIT_OK, NULL);
}

static json_t *read_all(fixture *f, int64_t since)
{
	dp_error *err = NULL;
	json_t *out = NULL;
	if (dp_audit_read(f->st, since, &out, &err) < 0)
		fail_msg("read: %s", err->msg);
	return out;
}

static void verify(fixture *f, dp_audit_verdict *v)
{
	dp_error *err = NULL;
	if (dp_audit_verify(f->st, v, &err) < 0)
		fail_msg("verify: %s", err->msg);
}

/* The log's lines, NULL-terminated, each without its newline. */
static char **read_lines(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "r");
	char **v = calloc(4096, sizeof(char *));
	char *line = NULL;
	size_t cap = 0;
	ssize_t k;

	assert_non_null(fp);
	*n = 0;
	while ((k = getline(&line, &cap, fp)) > 0) {
		if (line[k - 1] == '\n')
			line[k - 1] = '\0';
		v[(*n)++] = strdup(line);
	}
	free(line);
	fclose(fp);
	return v;
}

static void write_lines(const char *path, char **v, size_t n)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	for (size_t i = 0; i < n; i++)
		fprintf(fp, "%s\n", v[i]);
	fclose(fp);
}

static void free_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void expect_bad(fixture *f, int64_t first, const char *why)
{
	dp_audit_verdict v;
	verify(f, &v);
	if (v.ok)
		fail_msg("verify says ok, expected record %lld bad (%s)", (long long)first, why);
	if (v.first_bad != first || strstr(v.why, why) == NULL)
		fail_msg("expected record %lld: '%s'; got record %lld: %s", (long long)first, why, (long long)v.first_bad,
			 v.why);
	dp_audit_verdict_clear(&v);
}

static void round_trip(void **state)
{
	fixture *f = *state;
	dp_audit_verdict v;
	json_t *all, *r;
	struct stat sb;

	verify(f, &v); /* no log yet: nothing to check */
	assert_true(v.ok);
	assert_int_equal(v.records, 0);
	all = read_all(f, 0);
	assert_int_equal(json_array_size(all), 0);
	json_decref(all);

	append_ok(f->st, &alice, "create", "dev/x", json_pack("{ss}", "tier", "dev"), DP_AUDIT_OK, NULL);
	append_ok(f->st, &ci, "reset", "qa/y", NULL, DP_AUDIT_DENIED, "bob may not reset qa/y: role developer lacks reset");
	append_ok(f->st, &alice, "sync", NULL, NULL, DP_AUDIT_FAILED, "production: gone");

	assert_int_equal(stat(f->log, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	all = read_all(f, 0);
	assert_int_equal(json_array_size(all), 3);
	r = json_array_get(all, 0);
	assert_int_equal(json_integer_value(json_object_get(r, "seq")), 1);
	assert_string_equal(json_string_value(json_object_get(r, "prev")),
			    "0000000000000000000000000000000000000000000000000000000000000000");
	assert_string_equal(json_string_value(json_object_get(r, "user")), "alice");
	assert_int_equal(json_integer_value(json_object_get(r, "uid")), 1000);
	assert_string_equal(json_string_value(json_object_get(r, "source")), "local");
	assert_string_equal(json_string_value(json_object_get(r, "action")), "create");
	assert_string_equal(json_string_value(json_object_get(r, "target")), "dev/x");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "args"), "tier")), "dev");
	assert_string_equal(json_string_value(json_object_get(r, "result")), "ok");
	assert_null(json_object_get(r, "token"));
	assert_null(json_object_get(r, "pid"));
	assert_null(json_object_get(r, "message"));
	r = json_array_get(all, 1);
	assert_string_equal(json_string_value(json_object_get(r, "source")), "token");
	assert_string_equal(json_string_value(json_object_get(r, "token")), "ci");
	assert_int_equal(json_integer_value(json_object_get(r, "pid")), 4242);
	assert_string_equal(json_string_value(json_object_get(r, "result")), "denied");
	assert_string_equal(json_string_value(json_object_get(r, "message")),
			    "bob may not reset qa/y: role developer lacks reset");
	assert_null(json_object_get(r, "args"));
	r = json_array_get(all, 2);
	assert_string_equal(json_string_value(json_object_get(r, "result")), "failed");
	assert_null(json_object_get(r, "target"));
	json_decref(all);

	/* since: all are from now; none from tomorrow */
	all = read_all(f, (int64_t)time(NULL) - 60);
	assert_int_equal(json_array_size(all), 3);
	json_decref(all);
	all = read_all(f, (int64_t)time(NULL) + 86400);
	assert_int_equal(json_array_size(all), 0);
	json_decref(all);

	verify(f, &v);
	assert_true(v.ok);
	assert_int_equal(v.records, 3);
	assert_int_equal(v.first_bad, 0);
	assert_null(v.note);
	assert_int_equal(strlen(v.head_hash), 64);
	dp_audit_verdict_clear(&v);
}

static void caps(void **state)
{
	fixture *f = *state;
	size_t big = 200000, n;
	char *huge = malloc(big + 1);
	json_t *args = json_object(), *all, *r;
	dp_audit_verdict v;
	char **lines;

	memset(huge, 'A', big);
	huge[big] = '\0';
	json_object_set_new(args, "cmd", json_string(huge));
	/* a message with invalid UTF-8 and control characters */
	append_ok(f->st, &alice, "run", "dev/x", args, DP_AUDIT_FAILED, huge);
	append_ok(f->st, &alice, "run", "dev/x", NULL, DP_AUDIT_FAILED, "bad \xff\xfe name\n\x1b[2J here");
	free(huge);

	lines = read_lines(f->log, &n);
	assert_int_equal(n, 2);
	assert_true(strlen(lines[0]) < 3 * 4096);
	free_lines(lines, n);

	all = read_all(f, 0);
	r = json_array_get(all, 0);
	assert_true(json_is_string(json_object_get(json_object_get(r, "args"), "truncated")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "args"), "bytes")), big + 10);
	assert_non_null(strstr(json_string_value(json_object_get(r, "message")), "(cut from 200000 bytes)"));
	r = json_array_get(all, 1);
	assert_string_equal(json_string_value(json_object_get(r, "message")), "bad ?? name\n\x1b[2J here");
	json_decref(all);

	verify(f, &v);
	assert_true(v.ok);
	assert_int_equal(v.records, 2);
	dp_audit_verdict_clear(&v);
}

/* Tampering: each way on a fresh log of 8 records. */
static void tamper(fixture *f, void (*how)(fixture *f, char **lines, size_t *n), int64_t first, const char *why)
{
	size_t n;
	char **lines;

	append_n(f, 8);
	lines = read_lines(f->log, &n);
	assert_int_equal(n, 8);
	how(f, lines, &n);
	write_lines(f->log, lines, n);
	free_lines(lines, n);
	expect_bad(f, first, why);
}

static void edit_field(fixture *f, char **l, size_t *n)
{
	char *p = strstr(l[4], "\"user\":\"alice\"");
	(void)f, (void)n;
	assert_non_null(p);
	memcpy(p, "\"user\":\"bobby\"", 14);
}

static void remove_line(fixture *f, char **l, size_t *n)
{
	(void)f;
	free(l[2]);
	memmove(l + 2, l + 3, (*n - 3) * sizeof(char *));
	(*n)--;
}

static void swap_lines(fixture *f, char **l, size_t *n)
{
	char *t = l[5];
	(void)f, (void)n;
	l[5] = l[6];
	l[6] = t;
}

static void truncate_end(fixture *f, char **l, size_t *n)
{
	(void)f;
	free(l[7]);
	free(l[6]);
	*n = 6;
}

static void insert_copy(fixture *f, char **l, size_t *n)
{
	(void)f;
	memmove(l + 4, l + 3, (*n - 3) * sizeof(char *));
	l[3] = strdup(l[2]);
	(*n)++;
}

static void reformat(fixture *f, char **l, size_t *n)
{
	char *s;
	(void)f, (void)n;
	assert_true(asprintf(&s, " %s", l[1]) > 0);
	free(l[1]);
	l[1] = s;
}

static void garbage(fixture *f, char **l, size_t *n)
{
	(void)f, (void)n;
	free(l[3]);
	l[3] = strdup("{not json");
}

static void tamper_edit(void **state)
{
	tamper(*state, edit_field, 5, "record 5 was edited: its hash does not match");
}
static void tamper_remove(void **state)
{
	tamper(*state, remove_line, 3, "record 3 is missing: line 3 holds record 4");
}
static void tamper_swap(void **state)
{
	tamper(*state, swap_lines, 6, "record 6 is missing: line 6 holds record 7");
}
static void tamper_truncate(void **state)
{
	tamper(*state, truncate_end, 7, "records 7..8 are missing (truncated)");
}
static void tamper_insert(void **state)
{
	tamper(*state, insert_copy, 4, "line 4 should hold record 4 but holds record 3");
}
static void tamper_reformat(void **state)
{
	tamper(*state, reformat, 2, "its bytes are not the form doppel writes");
}
static void tamper_garbage(void **state)
{
	tamper(*state, garbage, 4, "line 4 is not an audit record");
}

/* An edit with the record's own hash recomputed: the next one's link breaks. */
static void tamper_rehash(void **state)
{
	fixture *f = *state;
	size_t n;
	char **l;
	json_t *rec;
	unsigned char h[32];
	char hex[65];

	append_n(f, 5);
	l = read_lines(f->log, &n);
	rec = json_loads(l[2], 0, NULL);
	json_object_set_new(rec, "user", json_string("mallory"));
	json_object_del(rec, "hash");
	{
		char *s = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
		crypto_hash_sha256(h, (unsigned char *)s, strlen(s));
		free(s);
	}
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	json_object_set_new(rec, "hash", json_string(hex));
	free(l[2]);
	l[2] = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(rec);
	write_lines(f->log, l, n);
	free_lines(l, n);
	expect_bad(f, 4, "record 4 does not follow record 3");
}

static void missing_log(void **state)
{
	fixture *f = *state;

	append_n(f, 3);
	assert_int_equal(unlink(f->log), 0);
	expect_bad(f, 1, "audit.log is missing but the store's chain head is record 3");
	/* appending goes on from the head; the gap stays visible */
	append_n(f, 1);
	expect_bad(f, 1, "record 1 is missing: line 1 holds record 4");
}

/* After a truncation, new records link to the head, not to what is left. */
static void append_after_truncation(void **state)
{
	fixture *f = *state;
	size_t n;
	char **l;

	append_n(f, 5);
	l = read_lines(f->log, &n);
	write_lines(f->log, l, 3);
	free_lines(l, n);
	append_n(f, 2);
	expect_bad(f, 4, "record 4 is missing: line 4 holds record 6");
}

static void set_head(fixture *f, int64_t seq, const char *line)
{
	sqlite3_stmt *q;
	unsigned char h[32];
	char hex[65];

	crypto_hash_sha256(h, (const unsigned char *)line, strlen(line));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	assert_int_equal(sqlite3_prepare_v2(f->st->db, "UPDATE audit_head SET seq = ?1, hash = ?2", -1, &q, NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(q, 1, seq);
	sqlite3_bind_text(q, 2, hex, -1, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
}

/* A crash between the log write and the head update leaves records past
 * the head: verify says so, and the next append adopts them. */
static void crash_window(void **state)
{
	fixture *f = *state;
	dp_audit_verdict v;
	size_t n;
	char **l;

	append_n(f, 5);
	l = read_lines(f->log, &n);
	set_head(f, 2, l[1]);
	free_lines(l, n);
	verify(f, &v);
	assert_true(v.ok);
	assert_int_equal(v.records, 5);
	assert_non_null(v.note);
	assert_non_null(strstr(v.note, "records 3..5 follow the store's chain head"));
	dp_audit_verdict_clear(&v);
	append_n(f, 1);
	verify(f, &v);
	assert_true(v.ok);
	assert_int_equal(v.records, 6);
	assert_null(v.note);
	dp_audit_verdict_clear(&v);
}

/* A write cut short (no newline): verify notes it, the next append cuts it. */
static void torn_tail(void **state)
{
	fixture *f = *state;
	dp_audit_verdict v;
	size_t n;
	char **l;
	int fd;

	append_n(f, 2);
	fd = open(f->log, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"action\":\"li", 14), 14);
	close(fd);
	verify(f, &v);
	assert_true(v.ok);
	assert_int_equal(v.records, 2);
	assert_non_null(v.note);
	assert_non_null(strstr(v.note, "partial line"));
	dp_audit_verdict_clear(&v);
	append_n(f, 1);
	l = read_lines(f->log, &n);
	assert_int_equal(n, 3);
	free_lines(l, n);
	verify(f, &v);
	assert_true(v.ok);
	assert_int_equal(v.records, 3);
	assert_null(v.note);
	dp_audit_verdict_clear(&v);
}

static void inside_transaction(void **state)
{
	fixture *f = *state;
	dp_error *err = NULL;

	assert_int_equal(dp_store_begin(f->st, &err), 0);
	assert_int_equal(dp_audit_append(f->st, &alice, "list", NULL, NULL, DP_AUDIT_OK, NULL, &err), -1);
	assert_non_null(strstr(err->msg, "inside a store transaction"));
	dp_error_free(&err);
	dp_store_rollback(f->st);
	assert_int_equal(access(f->log, F_OK), -1);
}

/* --- concurrency ------------------------------------------------------------ */

#define PROCS 4
#define THREADS 4
#define EACH 25

typedef struct worker {
	const char *dir;
	int proc, thread;
	int failed;
} worker;

static void *work(void *p)
{
	worker *w = p;
	dp_store *st = NULL;
	dp_error *err = NULL;

	if (dp_store_open(w->dir, &st, &err) < 0) {
		fprintf(stderr, "open: %s\n", err->msg);
		w->failed = 1;
		return NULL;
	}
	for (int i = 0; i < EACH && !w->failed; i++) {
		json_t *args = json_pack("{si si si}", "p", w->proc, "t", w->thread, "i", i);
		if (dp_audit_append(st, &alice, "run", "dev/x", args, DP_AUDIT_OK, NULL, &err) < 0) {
			fprintf(stderr, "append: %s\n", err->msg);
			w->failed = 1;
		}
		json_decref(args);
	}
	dp_store_close(st);
	return NULL;
}

static int run_threads(const char *dir, int proc)
{
	pthread_t t[THREADS];
	worker w[THREADS];
	int failed = 0;

	for (int i = 0; i < THREADS; i++) {
		w[i] = (worker){ .dir = dir, .proc = proc, .thread = i };
		if (pthread_create(&t[i], NULL, work, &w[i]) != 0)
			return 1;
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		failed |= w[i].failed;
	}
	return failed;
}

static void concurrent(void **state)
{
	fixture *f = *state;
	pid_t pids[PROCS];
	dp_audit_verdict v;
	json_t *all, *r;
	size_t i;
	static char seen[PROCS][THREADS][EACH];

	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		assert_true(pids[p] >= 0);
		if (pids[p] == 0)
			_exit(run_threads(f->dir, p));
	}
	/* verify while they append: the head and the log it reads agree */
	for (int checks = 0, left = PROCS; left > 0; checks++) {
		verify(f, &v);
		if (!v.ok || v.note)
			fail_msg("verify during concurrent appends (check %d): %s", checks, v.ok ? v.note : v.why);
		dp_audit_verdict_clear(&v);
		for (int p = 0; p < PROCS; p++) {
			int status;
			if (pids[p] == 0 || waitpid(pids[p], &status, WNOHANG) != pids[p])
				continue;
			pids[p] = 0;
			left--;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				fail_msg("appender %d failed (status %#x)", p, status);
		}
	}
	verify(f, &v);
	if (!v.ok)
		fail_msg("verify after concurrent appends: %s", v.why);
	assert_int_equal(v.records, PROCS * THREADS * EACH);
	assert_null(v.note);
	dp_audit_verdict_clear(&v);

	memset(seen, 0, sizeof(seen));
	all = read_all(f, 0);
	assert_int_equal(json_array_size(all), PROCS * THREADS * EACH);
	json_array_foreach (all, i, r) {
		json_t *a = json_object_get(r, "args");
		int p = (int)json_integer_value(json_object_get(a, "p")), t = (int)json_integer_value(json_object_get(a, "t")),
		    k = (int)json_integer_value(json_object_get(a, "i"));
		assert_int_equal(json_integer_value(json_object_get(r, "seq")), (json_int_t)i + 1);
		assert_true(p >= 0 && p < PROCS && t >= 0 && t < THREADS && k >= 0 && k < EACH);
		assert_int_equal(seen[p][t][k], 0);
		seen[p][t][k] = 1;
	}
	json_decref(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(caps, setup, teardown),
		cmocka_unit_test_setup_teardown(tamper_edit, setup, teardown),
		cmocka_unit_test_setup_teardown(tamper_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(tamper_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(tamper_truncate, setup, teardown),
		cmocka_unit_test_setup_teardown(tamper_insert, setup, teardown),
		cmocka_unit_test_setup_teardown(tamper_reformat, setup, teardown),
		cmocka_unit_test_setup_teardown(tamper_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(tamper_rehash, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_log, setup, teardown),
		cmocka_unit_test_setup_teardown(append_after_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(crash_window, setup, teardown),
		cmocka_unit_test_setup_teardown(torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(inside_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
