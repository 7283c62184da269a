/* Unit tests of src/isolate/plan.h: dp_plan_validate() is the one place plan
 * paths and values are judged. Each rule is checked with a plan that breaks
 * only that rule, next to a plan that is fine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "isolate/plan.h"
#include "util/error.h"

static char *true_argv[] = { "true", NULL };
/* the case being checked, for failure messages */
static const char *g_case = "";

typedef struct fixture {
	char dir[256];
	dp_plan plan;
} fixture;

static char *at(const fixture *f, const char *rel)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *b = buf[next++ % 4];
	snprintf(b, PATH_MAX, "%s/%s", f->dir, rel);
	return b;
}

/* D/lower, D/lower2, D/upper, D/work (dirs), D/file, D/link -> lower, D/fifo,
 * D/comma,dir */
static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	char tmpl[] = "/tmp/doppel-unit-plan.XXXXXX";
	char *real;
	FILE *fp;

	if (f == NULL || mkdtemp(tmpl) == NULL || (real = realpath(tmpl, NULL)) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s", real);
	free(real);
	if (mkdir(at(f, "lower"), 0755) || mkdir(at(f, "lower2"), 0755) || mkdir(at(f, "upper"), 0755) ||
	    mkdir(at(f, "work"), 0755) || mkdir(at(f, "comma,dir"), 0755) || symlink(at(f, "lower"), at(f, "link")) ||
	    mkfifo(at(f, "fifo"), 0644))
		return -1;
	fp = fopen(at(f, "file"), "we");
	if (fp == NULL)
		return -1;
	fputs("x", fp);
	fclose(fp);
	dp_plan_init(&f->plan);
	f->plan.argv = true_argv;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	g_case = "";
	fixture *f = *state;
	char *cmd = NULL;

	dp_plan_free(&f->plan);
	if (asprintf(&cmd, "rm -rf '%s'", f->dir) > 0 && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	free(cmd);
	free(f);
	return 0;
}

static void valid(const dp_plan *plan)
{
	dp_error *err = NULL;
	if (dp_plan_validate(plan, &err) != 0)
		fail_msg("[%s] valid plan refused: %s", g_case, err ? err->msg : "?");
	assert_null(err);
}

/* refused as a usage error whose message contains 'needle' */
static void invalid(const dp_plan *plan, const char *needle)
{
	dp_error *err = NULL;
	if (dp_plan_validate(plan, &err) != -1)
		fail_msg("[%s] invalid plan accepted (expected an error about '%s')", g_case, needle);
	assert_non_null(err);
	assert_int_equal(err->status, DP_EXIT_USAGE);
	if (needle && !strstr(err->msg, needle))
		fail_msg("[%s] message lacks '%s': %s", g_case, needle, err->msg);
	dp_error_free(&err);
}

static void add(dp_plan *plan, enum dp_mount_kind kind, const char *src, const char *lower, const char *upper,
		const char *work, const char *dst)
{
	char *lowers[3] = { (char *)lower, NULL, NULL };
	dp_mount m = { .kind = kind, .src = (char *)src, .upper = (char *)upper, .work = (char *)work, .dst = (char *)dst };
	dp_error *err = NULL;

	if (lower) {
		/* "a:b" gives two lowers */
		char *colon = strchr(lower, ':');
		static char first[PATH_MAX];
		if (colon) {
			snprintf(first, sizeof(first), "%.*s", (int)(colon - lower), lower);
			lowers[0] = first;
			lowers[1] = colon + 1;
		}
		m.lowers = lowers;
	}
	assert_int_equal(dp_plan_add_mount(plan, &m, &err), 0);
	assert_null(err);
}

/* a fresh plan with only the command, for one rule at a time */
static dp_plan *fresh(fixture *f)
{
	dp_plan_free(&f->plan);
	dp_plan_init(&f->plan);
	f->plan.argv = true_argv;
	return &f->plan;
}

static void test_init(void **state)
{
	fixture *f = *state;
	dp_plan plan;
	(void)f;
	dp_plan_init(&plan);
	assert_int_equal(plan.net, DP_NET_LOOPBACK);
	assert_int_equal(plan.n_mounts, 0);
	assert_null(plan.system);
	assert_int_equal(plan.mem_bytes, 0);
	assert_false(plan.tty);
	assert_false(plan.keep_uid);
	dp_plan_free(&plan);
}

static void test_command(void **state)
{
	fixture *f = *state;
	dp_plan *p = fresh(f);
	char *empty[] = { NULL };

	valid(p);
	p->argv = NULL;
	invalid(p, "no command");
	p->argv = empty;
	invalid(p, "no command");
	p->argv = true_argv;
}

static void test_system(void **state)
{
	fixture *f = *state;
	dp_plan *p = fresh(f);

	p->system = strdup("host");
	valid(p);
	free(p->system);
	p->system = strdup(at(f, "lower"));
	valid(p);
	free(p->system);
	p->system = strdup(at(f, "missing"));
	invalid(p, "does not exist");
	free(p->system);
	p->system = strdup(at(f, "file"));
	invalid(p, "not a directory");
	free(p->system);
	p->system = strdup(at(f, "link"));
	invalid(p, "symlink");
	free(p->system);
	p->system = strdup("relative");
	invalid(p, "--system");
	free(p->system);
	p->system = strdup(at(f, "lower/../lower"));
	invalid(p, "..");
}

static void test_ro_bind(void **state)
{
	fixture *f = *state;

	add(fresh(f), DP_MOUNT_RO_BIND, at(f, "file"), NULL, NULL, NULL, "/etc/conf");
	add(&f->plan, DP_MOUNT_RO_BIND, at(f, "lower"), NULL, NULL, NULL, "/srv/data");
	add(&f->plan, DP_MOUNT_BIND, at(f, "upper"), NULL, NULL, NULL, "/srv/rw");
	valid(&f->plan);
	add(fresh(f), DP_MOUNT_RO_BIND, "relative/src", NULL, NULL, NULL, "/x");
	invalid(&f->plan, "absolute");
	add(fresh(f), DP_MOUNT_RO_BIND, at(f, "file"), NULL, NULL, NULL, "relative/dst");
	invalid(&f->plan, "absolute");
	add(fresh(f), DP_MOUNT_RO_BIND, at(f, "missing"), NULL, NULL, NULL, "/x");
	invalid(&f->plan, "does not exist");
	add(fresh(f), DP_MOUNT_RO_BIND, at(f, "link"), NULL, NULL, NULL, "/x");
	invalid(&f->plan, "symlink");
	add(fresh(f), DP_MOUNT_RO_BIND, at(f, "link/x"), NULL, NULL, NULL, "/x");
	invalid(&f->plan, "symlink");
	add(fresh(f), DP_MOUNT_RO_BIND, at(f, "fifo"), NULL, NULL, NULL, "/x");
	invalid(&f->plan, "neither a directory nor a regular file");
	add(fresh(f), DP_MOUNT_RO_BIND, at(f, "lower/../file"), NULL, NULL, NULL, "/x");
	invalid(&f->plan, "..");
	add(fresh(f), DP_MOUNT_RO_BIND, at(f, "file"), NULL, NULL, NULL, "/a/../x");
	invalid(&f->plan, "..");
	add(fresh(f), DP_MOUNT_RO_BIND, at(f, "file"), NULL, NULL, NULL, "/a/./x");
	invalid(&f->plan, "'.'");
	add(fresh(f), DP_MOUNT_RO_BIND, NULL, NULL, NULL, NULL, "/x");
	invalid(&f->plan, "--ro-bind");
	/* the second mount is the bad one */
	add(fresh(f), DP_MOUNT_RO_BIND, at(f, "file"), NULL, NULL, NULL, "/ok");
	add(&f->plan, DP_MOUNT_RO_BIND, at(f, "missing"), NULL, NULL, NULL, "/x");
	invalid(&f->plan, "missing");
}

static void test_reserved_destinations(void **state)
{
	fixture *f = *state;
	static const char *const reserved[] = { "/", "/proc", "/proc/sys", "/proc/1/root", "/dev", "/dev/shm",
						"/dev/pts", "/dev/", "/proc//sys", NULL };
	static const char *const fine[] = { "/procfs", "/devices", "/tmp", "/usr/local", "/etc/x", "/a/proc", NULL };

	for (const char *const *d = reserved; *d; d++) {
		g_case = *d;
		add(fresh(f), DP_MOUNT_TMPFS, NULL, NULL, NULL, NULL, *d);
		invalid(&f->plan, "managed by doppel");
		add(fresh(f), DP_MOUNT_RO_BIND, at(f, "lower"), NULL, NULL, NULL, *d);
		invalid(&f->plan, "managed by doppel");
	}
	for (const char *const *d = fine; *d; d++) {
		g_case = *d;
		add(fresh(f), DP_MOUNT_TMPFS, NULL, NULL, NULL, NULL, *d);
		valid(&f->plan);
	}
}

/* The same destinations spelled with repeated slashes: the kernel (and
 * dp_open_in_root) resolve "//proc" to /proc, so the rule must too. */
static void test_reserved_destinations_slashes(void **state)
{
	fixture *f = *state;
	static const char *const reserved[] = { "//", "///", "//proc", "//proc/", "///proc//sys", "//dev",
						"//dev//shm", NULL };

	for (const char *const *d = reserved; *d; d++) {
		g_case = *d;
		add(fresh(f), DP_MOUNT_TMPFS, NULL, NULL, NULL, NULL, *d);
		invalid(&f->plan, "managed by doppel");
		add(fresh(f), DP_MOUNT_RO_BIND, at(f, "lower"), NULL, NULL, NULL, *d);
		invalid(&f->plan, "managed by doppel");
	}
}

static void test_overlay(void **state)
{
	fixture *f = *state;
	char two[2 * PATH_MAX + 2];

	add(fresh(f), DP_MOUNT_OVERLAY, NULL, at(f, "lower"), at(f, "upper"), at(f, "work"), "/data");
	valid(&f->plan);
	snprintf(two, sizeof(two), "%s:%s", at(f, "lower"), at(f, "lower2"));
	add(fresh(f), DP_MOUNT_OVERLAY, NULL, two, at(f, "upper"), at(f, "work"), "/data");
	assert_non_null(f->plan.mounts[0].lowers[1]);
	valid(&f->plan);
	add(fresh(f), DP_MOUNT_TMP_OVERLAY, NULL, at(f, "lower"), NULL, NULL, "/data");
	valid(&f->plan);

	add(fresh(f), DP_MOUNT_OVERLAY, NULL, NULL, at(f, "upper"), at(f, "work"), "/data");
	invalid(&f->plan, "at least one lower");
	add(fresh(f), DP_MOUNT_TMP_OVERLAY, NULL, NULL, NULL, NULL, "/data");
	invalid(&f->plan, "at least one lower");
	add(fresh(f), DP_MOUNT_OVERLAY, NULL, at(f, "missing"), at(f, "upper"), at(f, "work"), "/data");
	invalid(&f->plan, "does not exist");
	add(fresh(f), DP_MOUNT_OVERLAY, NULL, at(f, "file"), at(f, "upper"), at(f, "work"), "/data");
	invalid(&f->plan, "not a directory");
	add(fresh(f), DP_MOUNT_OVERLAY, NULL, at(f, "link"), at(f, "upper"), at(f, "work"), "/data");
	invalid(&f->plan, "symlink");
	add(fresh(f), DP_MOUNT_OVERLAY, NULL, at(f, "comma,dir"), at(f, "upper"), at(f, "work"), "/data");
	invalid(&f->plan, "','");
	add(fresh(f), DP_MOUNT_OVERLAY, NULL, at(f, "lower"), at(f, "missing"), at(f, "work"), "/data");
	invalid(&f->plan, "does not exist");
	add(fresh(f), DP_MOUNT_OVERLAY, NULL, at(f, "lower"), at(f, "upper"), at(f, "missing"), "/data");
	invalid(&f->plan, "does not exist");
	add(fresh(f), DP_MOUNT_OVERLAY, NULL, at(f, "lower"), at(f, "link"), at(f, "work"), "/data");
	invalid(&f->plan, "symlink");
	add(fresh(f), DP_MOUNT_OVERLAY, NULL, at(f, "lower"), at(f, "file"), at(f, "work"), "/data");
	invalid(&f->plan, "not a directory");
	add(fresh(f), DP_MOUNT_OVERLAY, NULL, at(f, "lower"), at(f, "upper"), at(f, "upper"), "/data");
	invalid(&f->plan, "different");
	add(fresh(f), DP_MOUNT_OVERLAY, NULL, at(f, "lower"), NULL, at(f, "work"), "/data");
	invalid(&f->plan, "--overlay");
	add(fresh(f), DP_MOUNT_OVERLAY, NULL, at(f, "lower"), at(f, "upper"), at(f, "work"), "data");
	invalid(&f->plan, "absolute");
	add(fresh(f), DP_MOUNT_OVERLAY, NULL, at(f, "lower"), at(f, "upper"), at(f, "work"), "/proc/x");
	invalid(&f->plan, "managed by doppel");
	add(fresh(f), DP_MOUNT_TMP_OVERLAY, NULL, at(f, "missing"), NULL, NULL, "/data");
	invalid(&f->plan, "does not exist");
}

/* upper and work on different filesystems: our scratch dir and /dev/shm or /proc */
static void test_overlay_cross_fs(void **state)
{
	fixture *f = *state;
	struct stat a, b;

	if (stat("/dev/shm", &a) != 0 || stat(f->dir, &b) != 0 || a.st_dev == b.st_dev || access("/dev/shm", R_OK))
		skip();
	add(fresh(f), DP_MOUNT_OVERLAY, NULL, at(f, "lower"), at(f, "upper"), "/dev/shm", "/data");
	invalid(&f->plan, "same filesystem");
}

static void test_add_mount_copies(void **state)
{
	fixture *f = *state;
	char src[PATH_MAX], dst[] = "/dst";
	char low[PATH_MAX];
	char *lowers[] = { low, NULL };
	dp_mount m = { .kind = DP_MOUNT_RO_BIND, .src = src, .dst = dst };
	dp_error *err = NULL;
	dp_plan *p = fresh(f);

	snprintf(src, sizeof(src), "%s", at(f, "file"));
	assert_int_equal(dp_plan_add_mount(p, &m, &err), 0);
	snprintf(low, sizeof(low), "%s", at(f, "lower"));
	m = (dp_mount){ .kind = DP_MOUNT_TMP_OVERLAY, .lowers = lowers, .dst = dst };
	assert_int_equal(dp_plan_add_mount(p, &m, &err), 0);
	/* the caller's buffers change; the plan keeps its own copies */
	strcpy(src, "garbage");
	strcpy(low, "garbage");
	dst[1] = 'X';
	assert_int_equal(p->n_mounts, 2);
	assert_string_equal(p->mounts[0].src, at(f, "file"));
	assert_string_equal(p->mounts[0].dst, "/dst");
	assert_string_equal(p->mounts[1].lowers[0], at(f, "lower"));
	assert_null(p->mounts[1].lowers[1]);
	assert_null(p->mounts[1].upper);
	valid(p);
}

static void test_chdir(void **state)
{
	fixture *f = *state;
	dp_plan *p = fresh(f);

	p->chdir = strdup("/work/dir");
	valid(p);
	free(p->chdir);
	p->chdir = strdup("relative");
	invalid(p, "--chdir");
	free(p->chdir);
	p->chdir = strdup("/a/../b");
	invalid(p, "--chdir");
}

static void hostname_is(fixture *f, const char *name, bool ok)
{
	dp_plan *p = fresh(f);
	g_case = name;
	p->hostname = strdup(name);
	if (ok)
		valid(p);
	else
		invalid(p, "--hostname");
}

static void test_hostname(void **state)
{
	fixture *f = *state;
	char longest[64], too_long[65];

	memset(longest, 'a', 63);
	longest[63] = '\0';
	memset(too_long, 'a', 64);
	too_long[64] = '\0';
	hostname_is(f, "doppel", true);
	hostname_is(f, "sbx-42.example", true);
	hostname_is(f, "A1", true);
	hostname_is(f, longest, true);
	hostname_is(f, too_long, false);
	hostname_is(f, "", false);
	hostname_is(f, "bad name", false);
	hostname_is(f, "under_score", false);
	hostname_is(f, "semi;colon", false);
	hostname_is(f, "new\nline", false);
	hostname_is(f, "slash/x", false);
	hostname_is(f, "\xc3\xa9t\xc3\xa9", false);
}

/* RFC 1123 labels: no empty label, no '-' at either end of a label. Also what
 * keeps `--hostname -- CMD` (a forgotten value) from being taken as "--". */
static void test_hostname_labels(void **state)
{
	fixture *f = *state;
	hostname_is(f, "--", false);
	hostname_is(f, "-", false);
	hostname_is(f, "-leading", false);
	hostname_is(f, "trailing-", false);
	hostname_is(f, ".", false);
	hostname_is(f, "a..b", false);
	hostname_is(f, ".leading", false);
}

static void test_env(void **state)
{
	fixture *f = *state;
	dp_plan *p = fresh(f);
	char *good[] = { "K=V", "EMPTY=", "WITH=equals=inside" };
	char *bad1[] = { "K=V", "NOEQUALS" };
	char *bad2[] = { "=V" };

	p->env = good;
	p->n_env = 3;
	valid(p);
	p->env = bad1;
	p->n_env = 2;
	invalid(p, "NOEQUALS");
	p->env = bad2;
	p->n_env = 1;
	invalid(p, "--env");
	p->env = NULL; /* not ours to free */
	p->n_env = 0;
}

static void test_publish(void **state)
{
	fixture *f = *state;
	dp_plan *p = fresh(f);
	dp_publish two[] = { { 8080, 80 }, { 8443, 443 } };
	dp_publish dup[] = { { 8080, 80 }, { 8081, 81 }, { 8080, 82 } };
	dp_publish same_inside[] = { { 8080, 80 }, { 8081, 80 } };

	p->publish = two;
	p->n_publish = 2;
	valid(p);
	p->publish = same_inside;
	valid(p);
	p->publish = dup;
	p->n_publish = 3;
	invalid(p, "8080");
	p->publish = two;
	p->n_publish = 2;
	p->net = DP_NET_NONE;
	invalid(p, "--publish");
	p->net = DP_NET_LOOPBACK;
	p->publish = NULL;
	p->n_publish = 0;
	p->net = DP_NET_NONE;
	valid(p);
}

static int take_sockets(void *arg, int *fds, size_t n, dp_error **err)
{
	(void)arg;
	(void)fds;
	(void)n;
	(void)err;
	return 0;
}

static void test_listen(void **state)
{
	fixture *f = *state;
	dp_plan *p = fresh(f);
	dp_error *err = NULL;

	g_case = "listen";
	assert_int_equal(dp_plan_add_listen(p, 0x7f000002, 80, &err), 0);
	assert_int_equal(dp_plan_add_listen(p, 0x7f000002, 443, &err), 0);
	invalid(p, "nothing in the monitor takes the sockets");
	p->on_listen = take_sockets;
	valid(p);
	p->net = DP_NET_NONE;
	invalid(p, "--listen needs --net loopback");
	p->net = DP_NET_LOOPBACK;
	assert_int_equal(dp_plan_add_listen(p, 0x7f000002, 80, &err), 0);
	invalid(p, "127.0.0.2:80 given twice");
	p = fresh(f);
	p->on_listen = take_sockets;
	assert_int_equal(dp_plan_add_listen(p, 0x0a000001, 80, &err), 0);
	invalid(p, "10.0.0.1:80: expected a loopback address");
	p = fresh(f);
	p->on_listen = take_sockets;
	assert_int_equal(dp_plan_add_listen(p, 0x7f000001, 0, &err), 0);
	invalid(p, "expected a port");
	p = fresh(f);
	p->on_listen = take_sockets;
	for (uint32_t i = 0; i <= DP_PLAN_MAX_LISTEN; i++)
		assert_int_equal(dp_plan_add_listen(p, 0x7f000002 + i, 80, &err), 0);
	invalid(p, "at most");
}

static void test_hosts_and_ca(void **state)
{
	static const struct {
		const char *addr, *name;
		bool ok;
	} cases[] = {
		{ "127.0.0.2", "api.payments.example", true },
		{ "::1", "a.example", true },
		{ "127.0.0.2", "x", true },
		{ "127.0.0.2", "a b.example", false },
		{ "127.0.0.2", "a.example\n1.2.3.4 evil.example", false },
		{ "127.0.0.2", "-a.example", false },
		{ "127.0.0.2", "", false },
		{ "127.0.0.2\n1.2.3.4", "a.example", false },
		{ "127.0.0.256", "a.example", false },
		{ "localhost", "a.example", false },
	};
	fixture *f = *state;
	dp_error *err = NULL;
	dp_plan *p;
	char long_name[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = fresh(f);
		g_case = cases[i].name;
		assert_int_equal(dp_plan_add_host(p, cases[i].addr, cases[i].name, &err), 0);
		if (cases[i].ok)
			valid(p);
		else
			invalid(p, "--add-host");
	}
	p = fresh(f);
	memset(long_name, 'a', sizeof(long_name));
	for (size_t i = 60; i < sizeof(long_name); i += 61)
		long_name[i] = '.';
	long_name[253] = '\0';
	g_case = "253 characters";
	assert_int_equal(dp_plan_add_host(p, "127.0.0.2", long_name, &err), 0);
	valid(p);
	long_name[253] = 'a';
	long_name[254] = '\0';
	p = fresh(f);
	g_case = "254 characters";
	assert_int_equal(dp_plan_add_host(p, "127.0.0.2", long_name, &err), 0);
	invalid(p, "--add-host");

	g_case = "ca";
	p = fresh(f);
	p->ca_pem = strdup("-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n");
	valid(p);
	free(p->ca_pem);
	p->ca_pem = strdup("hello");
	invalid(p, "expected PEM certificates");
	free(p->ca_pem);
	p->ca_pem = strdup("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"
			   "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n");
	invalid(p, "private key");
}

static void test_disk(void **state)
{
	fixture *f = *state;

	fresh(f)->disk_bytes = 8 << 20;
	valid(&f->plan);
	add(&f->plan, DP_MOUNT_TMPFS, NULL, NULL, NULL, NULL, "/scratch");
	add(&f->plan, DP_MOUNT_TMP_OVERLAY, NULL, at(f, "lower"), NULL, NULL, "/data");
	add(&f->plan, DP_MOUNT_RO_BIND, at(f, "file"), NULL, NULL, NULL, "/conf");
	valid(&f->plan);
	add(&f->plan, DP_MOUNT_OVERLAY, NULL, at(f, "lower"), at(f, "upper"), at(f, "work"), "/persist");
	invalid(&f->plan, "--disk");
	add(fresh(f), DP_MOUNT_BIND, at(f, "upper"), NULL, NULL, NULL, "/rw");
	f->plan.disk_bytes = 1;
	invalid(&f->plan, "--disk");
	f->plan.disk_bytes = 0;
	valid(&f->plan);
}

/* validation creates nothing: not the destination, not upper/work contents */
static void test_validate_creates_nothing(void **state)
{
	fixture *f = *state;
	char dst[PATH_MAX];
	struct stat before, after;

	snprintf(dst, sizeof(dst), "%s", at(f, "dst/deeper"));
	assert_int_equal(stat(f->dir, &before), 0);
	add(fresh(f), DP_MOUNT_OVERLAY, NULL, at(f, "lower"), at(f, "upper"), at(f, "work"), dst);
	add(&f->plan, DP_MOUNT_RO_BIND, at(f, "file"), NULL, NULL, NULL, at(f, "dst2"));
	valid(&f->plan);
	add(&f->plan, DP_MOUNT_RO_BIND, at(f, "missing"), NULL, NULL, NULL, at(f, "dst3"));
	invalid(&f->plan, "missing");
	assert_int_equal(stat(f->dir, &after), 0);
	assert_int_equal(access(at(f, "dst"), F_OK), -1);
	assert_int_equal(access(at(f, "dst2"), F_OK), -1);
	assert_int_equal(access(at(f, "missing"), F_OK), -1);
	assert_true(before.st_mtim.tv_sec == after.st_mtim.tv_sec && before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
	{
		/* upper and work are still empty */
		struct stat u, w;
		assert_int_equal(stat(at(f, "upper"), &u), 0);
		assert_int_equal(stat(at(f, "work"), &w), 0);
		assert_int_equal(u.st_nlink, 2);
		assert_int_equal(w.st_nlink, 2);
	}
}

/* --map-user: only as root, and only with a range that neither starts at
 * host root nor runs past the last id */
static void test_map_ids(void **state)
{
	fixture *f = *state;
	dp_plan *p = fresh(f);

	p->map_ids = true;
	p->map_uid_base = 100000;
	p->map_gid_base = 100000;
	if (geteuid() != 0) {
		invalid(p, "needs doppel to run as root");
		return;
	}
	valid(p);
	g_case = "uid base 0";
	p->map_uid_base = 0;
	invalid(p, "cannot start a range");
	g_case = "gid base 0";
	p->map_uid_base = 100000;
	p->map_gid_base = 0;
	invalid(p, "cannot start a range");
	g_case = "range past the last id";
	p->map_gid_base = (gid_t)(UINT32_MAX - DP_MAP_IDS + 1);
	invalid(p, "cannot start a range");
	p->map_gid_base = (gid_t)(UINT32_MAX - DP_MAP_IDS);
	valid(p);
	g_case = "off";
	p->map_ids = false;
	p->map_uid_base = 0;
	valid(p);
}

/* shadow's subuid format: owner by name or number, first usable range wins */
static void test_subid_find(void **state)
{
	fixture *f = *state;
	const char *file = at(f, "subuid");
	FILE *fp = fopen(file, "we");
	dp_error *err = NULL;
	uint32_t first = 0;

	assert_non_null(fp);
	fputs("# comment\n\n"
	      "alice:100000:65536\n"
	      "bob:200000:1000\n"          /* too small: skipped */
	      "bob:300000:70000\n"
	      "1234:400000:65536\n"        /* by uid */
	      "carol:0:65536\n"            /* host root: never */
	      "erin:4294910000:65536\n"    /* runs past the last id */
	      "dave:12x:65536\n"           /* malformed */
	      "alicex:500000:65536\n",
	      fp);
	fclose(fp);
	assert_int_equal(dp_subid_find(file, "alice", 1000, &first, &err), 0);
	assert_int_equal(first, 100000);
	assert_int_equal(dp_subid_find(file, "bob", 1001, &first, &err), 0);
	assert_int_equal(first, 300000);
	assert_int_equal(dp_subid_find(file, "frank", 1234, &first, &err), 0);
	assert_int_equal(first, 400000);
	assert_int_equal(dp_subid_find(file, NULL, 1234, &first, &err), 0);
	assert_int_equal(dp_subid_find(file, "carol", 1002, &first, &err), 1);
	assert_int_equal(dp_subid_find(file, "erin", 1003, &first, &err), 1);
	assert_int_equal(dp_subid_find(file, "nobody", 65534, &first, &err), 1);
	assert_int_equal(dp_subid_find(file, "alic", 1004, &first, &err), 1);
	assert_null(err);
	assert_int_equal(dp_subid_find(file, "dave", 1005, &first, &err), -1);
	assert_non_null(err);
	if (!strstr(err->msg, ":9: expected OWNER:FIRST:COUNT"))
		fail_msg("malformed line not named: %s", err->msg);
	dp_error_free(&err);
	assert_int_equal(dp_subid_find(at(f, "no-such-file"), "alice", 1000, &first, &err), 1);
	assert_null(err);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_init),
		T(test_command),
		T(test_system),
		T(test_ro_bind),
		T(test_reserved_destinations),
		T(test_reserved_destinations_slashes),
		T(test_overlay),
		T(test_overlay_cross_fs),
		T(test_add_mount_copies),
		T(test_chdir),
		T(test_hostname),
		T(test_hostname_labels),
		T(test_env),
		T(test_publish),
		T(test_listen),
		T(test_hosts_and_ca),
		T(test_disk),
		T(test_validate_creates_nothing),
		T(test_map_ids),
		T(test_subid_find),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
