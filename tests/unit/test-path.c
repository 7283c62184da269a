/* Unit tests of src/util/path.h: the textual check of plan paths, opening
 * host paths without following any symlink, and resolving paths inside a root
 * so that '..' and absolute symlinks cannot leave it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/path.h"

/* --- dp_path_check ---------------------------------------------------------- */

static void check_ok(const char *p)
{
	dp_error *err = NULL;
	if (dp_path_check("--ro-bind", p, &err) != 0)
		fail_msg("'%s' refused: %s", p, err ? err->msg : "?");
	assert_null(err);
}

static void check_bad(const char *p, const char *needle)
{
	dp_error *err = NULL;
	if (dp_path_check("--ro-bind", p, &err) != -1)
		fail_msg("'%s' accepted", p ? p : "(null)");
	assert_non_null(err);
	assert_int_equal(err->status, DP_EXIT_USAGE);
	assert_non_null(strstr(err->msg, "--ro-bind"));
	if (needle && !strstr(err->msg, needle))
		fail_msg("message for '%s' lacks '%s': %s", p, needle, err->msg);
	dp_error_free(&err);
}

static void test_check_ok(void **state)
{
	(void)state;
	check_ok("/");
	check_ok("/a");
	check_ok("/a/b/c");
	check_ok("//a//b//");
	check_ok("/a/b/");
	check_ok("/a/..b");
	check_ok("/a/b..");
	check_ok("/a/.b");
	check_ok("/...");
	check_ok("/a/.../b");
	check_ok("/with space/and:colon");
}

static void test_check_bad(void **state)
{
	(void)state;
	check_bad("", "absolute");
	check_bad(NULL, "absolute");
	check_bad("a", "absolute");
	check_bad("a/b", "absolute");
	check_bad("./a", "absolute");
	check_bad("../a", "absolute");
	check_bad("~/a", "absolute");
	check_bad("/..", "..");
	check_bad("/a/..", "..");
	check_bad("/a/../b", "..");
	check_bad("/a/../../../etc", "..");
	check_bad("/a//..//b", "..");
	check_bad("/.", "'.'");
	check_bad("/a/.", "'.'");
	check_bad("/a/./b", "'.'");
	check_bad("/a/b/./", "'.'");
}

static void test_check_length(void **state)
{
	char *p = malloc(PATH_MAX + 2);
	(void)state;
	assert_non_null(p);
	/* PATH_MAX - 1 bytes is the longest accepted */
	memset(p, 'a', PATH_MAX + 1);
	p[0] = '/';
	for (int i = 100; i < PATH_MAX; i += 100)
		p[i] = '/';
	p[PATH_MAX - 1] = '\0';
	check_ok(p);
	p[PATH_MAX - 1] = 'a';
	p[PATH_MAX] = '\0';
	check_bad(p, "longer");
	free(p);
}

/* --- a scratch tree ---------------------------------------------------------------
 * D/file          "host file"
 * D/dir/inner     "inner"
 * D/flink   -> D/file (absolute)
 * D/dlink   -> dir    (relative)
 * D/root/etc/passwd  "inside"
 * D/root/abs   -> /etc/passwd
 * D/root/up    -> ../../../../../../etc/passwd
 * D/root/hostabs -> D/file (absolute host path, not inside the root)
 * D/root/loop  -> loop
 */
typedef struct tree {
	char dir[PATH_MAX];
	int rootfd;
} tree;

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static char *join(const tree *t, const char *rel)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", t->dir, rel) > 0);
	return p;
}

static int mk(const tree *t, const char *rel, const char *text, const char *link_to)
{
	char *p = join(t, rel);
	int r = 0;

	if (link_to)
		r = symlink(link_to, p);
	else if (text)
		put(p, text);
	else
		r = mkdir(p, 0755);
	free(p);
	return r;
}

static int setup_tree(void **state)
{
	tree *t = calloc(1, sizeof(*t));
	char tmpl[] = "/tmp/doppel-unit-path.XXXXXX";
	char *real, *hostfile, *rootdir;
	int r = 0;

	if (t == NULL || mkdtemp(tmpl) == NULL)
		return -1;
	real = realpath(tmpl, NULL); /* in case the temp dir's path has symlinks */
	if (real == NULL)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "%s", real);
	free(real);
	hostfile = join(t, "file");
	r |= mk(t, "file", "host file", NULL);
	r |= mk(t, "dir", NULL, NULL);
	r |= mk(t, "dir/inner", "inner", NULL);
	r |= mk(t, "flink", NULL, hostfile);
	r |= mk(t, "dlink", NULL, "dir");
	r |= mk(t, "root", NULL, NULL);
	r |= mk(t, "root/etc", NULL, NULL);
	r |= mk(t, "root/etc/passwd", "inside", NULL);
	r |= mk(t, "root/abs", NULL, "/etc/passwd");
	r |= mk(t, "root/up", NULL, "../../../../../../etc/passwd");
	r |= mk(t, "root/hostabs", NULL, hostfile);
	r |= mk(t, "root/loop", NULL, "loop");
	r |= mk(t, "root/etclink", NULL, "/etc");
	r |= mk(t, "root/esc", NULL, "/nonexistent-doppel-escape");
	free(hostfile);
	rootdir = join(t, "root");
	t->rootfd = open(rootdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(rootdir);
	if (r != 0 || t->rootfd < 0)
		return -1;
	*state = t;
	return 0;
}

static int teardown_tree(void **state)
{
	tree *t = *state;
	char *cmd = NULL;

	close(t->rootfd);
	if (asprintf(&cmd, "rm -rf '%s'", t->dir) > 0 && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", t->dir);
	free(cmd);
	free(t);
	return 0;
}

static char *read_fd(int fd)
{
	static char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

/* --- dp_path_open_nofollow ------------------------------------------------------------ */

static void nofollow_bad(const tree *t, const char *rel, const char *needle)
{
	dp_error *err = NULL;
	char *p = rel[0] == '/' || rel[0] == '\0' ? strdup(rel) : join(t, rel);
	int fd = dp_path_open_nofollow("--ro-bind", p, O_PATH, &err);

	if (fd >= 0)
		fail_msg("'%s' opened", p);
	assert_int_equal(fd, -1);
	assert_non_null(err);
	assert_int_equal(err->status, DP_EXIT_USAGE);
	assert_non_null(strstr(err->msg, "--ro-bind"));
	if (needle && !strstr(err->msg, needle))
		fail_msg("message for '%s' lacks '%s': %s", p, needle, err->msg);
	dp_error_free(&err);
	free(p);
}

static void test_nofollow_opens(void **state)
{
	tree *t = *state;
	dp_error *err = NULL;
	char *p = join(t, "dir/inner");
	int fd = dp_path_open_nofollow("--ro-bind", p, O_RDONLY, &err);

	assert_true(fd >= 0);
	assert_null(err);
	assert_string_equal(read_fd(fd), "inner");
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	free(p);
	p = join(t, "dir");
	fd = dp_path_open_nofollow("--ro-bind", p, O_PATH | O_DIRECTORY, &err);
	assert_true(fd >= 0);
	close(fd);
	free(p);
}

static void test_nofollow_refuses_symlinks(void **state)
{
	tree *t = *state;
	nofollow_bad(t, "flink", "symlink");        /* final component */
	nofollow_bad(t, "dlink", "symlink");        /* final component, a dir */
	nofollow_bad(t, "dlink/inner", "symlink");  /* in the middle */
	nofollow_bad(t, "root/loop", "symlink");
	nofollow_bad(t, "/proc/self/cwd", "symlink"); /* /proc/self itself is a symlink */
}

static void test_nofollow_refuses_bad_paths(void **state)
{
	tree *t = *state;
	nofollow_bad(t, "missing", "does not exist");
	nofollow_bad(t, "file/below", "does not exist");
	nofollow_bad(t, "", "absolute");
	nofollow_bad(t, "dir/../file", "..");
	nofollow_bad(t, "dir/./inner", "'.'");
	{
		dp_error *err = NULL;
		assert_int_equal(dp_path_open_nofollow("--system", "relative/path", O_PATH, &err), -1);
		assert_non_null(err);
		assert_int_equal(err->status, DP_EXIT_USAGE);
		assert_non_null(strstr(err->msg, "--system"));
		dp_error_free(&err);
	}
}

/* --- dp_open_in_root ---------------------------------------------------------------------- */

static void in_root_reads(const tree *t, const char *path, const char *want)
{
	int fd = dp_open_in_root(t->rootfd, path, O_RDONLY, 0);
	if (fd < 0)
		fail_msg("'%s' not opened in the root: %s", path, strerror(errno));
	assert_string_equal(read_fd(fd), want);
	close(fd);
}

static void test_in_root_stays_inside(void **state)
{
	tree *t = *state;
	in_root_reads(t, "etc/passwd", "inside");
	in_root_reads(t, "/etc/passwd", "inside");
	in_root_reads(t, "///etc/passwd", "inside");
	in_root_reads(t, "abs", "inside");                 /* absolute symlink: the root's /etc/passwd */
	in_root_reads(t, "up", "inside");                  /* '..' symlink stops at the root */
	in_root_reads(t, "../../../../etc/passwd", "inside");
	in_root_reads(t, "/../../etc/../etc/passwd", "inside");
	in_root_reads(t, "etclink/passwd", "inside");
	in_root_reads(t, "etc/../etc/../abs", "inside");
}

static void test_in_root_no_escape(void **state)
{
	tree *t = *state;
	int fd;

	/* an absolute symlink naming a host path resolves inside the root, where it does not exist */
	errno = 0;
	fd = dp_open_in_root(t->rootfd, "hostabs", O_RDONLY, 0);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, ENOENT);
	fd = dp_open_in_root(t->rootfd, "esc", O_RDONLY, 0);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, ENOENT);
	fd = dp_open_in_root(t->rootfd, "loop", O_RDONLY, 0);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, ELOOP);
	/* the root itself */
	fd = dp_open_in_root(t->rootfd, "", O_PATH | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	{
		struct stat a, b;
		assert_int_equal(fstat(fd, &a), 0);
		assert_int_equal(fstat(t->rootfd, &b), 0);
		assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	}
	close(fd);
	fd = dp_open_in_root(t->rootfd, "/..", O_PATH | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	{
		struct stat a, b;
		assert_int_equal(fstat(fd, &a), 0);
		assert_int_equal(fstat(t->rootfd, &b), 0);
		assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	}
	close(fd);
	/* magic links (/proc/self/exe) are refused */
	{
		int slash = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		assert_true(slash >= 0);
		errno = 0;
		fd = dp_open_in_root(slash, "/proc/self/exe", O_PATH, 0);
		assert_int_equal(fd, -1);
		assert_int_equal(errno, ELOOP);
		close(slash);
	}
}

static void test_in_root_create(void **state)
{
	tree *t = *state;
	struct stat st;
	char *host;
	mode_t old = umask(0);
	int fd = dp_open_in_root(t->rootfd, "/etc/new", O_CREAT | O_WRONLY | O_EXCL, 0640);

	umask(old);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	close(fd);
	host = join(t, "root/etc/new");
	assert_int_equal(access(host, F_OK), 0);
	free(host);
	/* creating through an escaping symlink stays inside (and fails here) */
	fd = dp_open_in_root(t->rootfd, "esc", O_CREAT | O_WRONLY, 0644);
	if (fd >= 0) {
		close(fd);
		assert_int_equal(access("/nonexistent-doppel-escape", F_OK), -1);
	}
	assert_int_equal(access("/nonexistent-doppel-escape", F_OK), -1);
}

/* --- dp_mkdirs_in_root -------------------------------------------------------------------- */

static void test_mkdirs_in_root(void **state)
{
	tree *t = *state;
	struct stat st;
	char *p;

	assert_int_equal(dp_mkdirs_in_root(t->rootfd, "/a/b/c", 0755), 0);
	p = join(t, "root/a/b/c");
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	free(p);
	/* again: existing levels are fine */
	assert_int_equal(dp_mkdirs_in_root(t->rootfd, "a/b/c/", 0755), 0);
	assert_int_equal(dp_mkdirs_in_root(t->rootfd, "/", 0755), 0);
	/* through an absolute symlink: resolved inside the root */
	assert_int_equal(dp_mkdirs_in_root(t->rootfd, "/etclink/sub", 0755), 0);
	p = join(t, "root/etc/sub");
	assert_int_equal(stat(p, &st), 0);
	free(p);
	/* a symlink naming a host directory cannot make the host directory */
	assert_int_equal(dp_mkdirs_in_root(t->rootfd, "/esc/x", 0755), -1);
	assert_int_equal(access("/nonexistent-doppel-escape", F_OK), -1);
	/* '..' cannot climb out */
	assert_int_equal(dp_mkdirs_in_root(t->rootfd, "/../../../outside-doppel", 0755), 0);
	p = join(t, "root/outside-doppel");
	assert_int_equal(stat(p, &st), 0);
	free(p);
	p = join(t, "outside-doppel");
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	/* a file on the way */
	assert_int_equal(dp_mkdirs_in_root(t->rootfd, "/etc/passwd/x", 0755), -1);
}

/* --- the _nosym variants: for mount targets, no symlink at all ---------------- */

static void test_in_root_nosym(void **state)
{
	tree *t = *state;
	int fd;

	fd = dp_open_in_root_nosym(t->rootfd, "/etc/passwd", O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_string_equal(read_fd(fd), "inside");
	close(fd);
	/* '..' is still kept inside the root */
	fd = dp_open_in_root_nosym(t->rootfd, "/../../etc/passwd", O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_string_equal(read_fd(fd), "inside");
	close(fd);
	/* any symlink, final or on the way, absolute or relative: ELOOP */
	static const char *const via_link[] = { "abs", "up", "hostabs", "loop", "etclink", "etclink/passwd", "esc",
						NULL };
	for (const char *const *p = via_link; *p; p++) {
		errno = 0;
		fd = dp_open_in_root_nosym(t->rootfd, *p, O_PATH, 0);
		if (fd >= 0)
			fail_msg("'%s' opened through a symlink", *p);
		if (errno != ELOOP)
			fail_msg("'%s': errno %d (%s), expected ELOOP", *p, errno, strerror(errno));
	}
	/* creating through a link is refused too, and nothing appears */
	fd = dp_open_in_root_nosym(t->rootfd, "etclink/created", O_CREAT | O_WRONLY, 0644);
	assert_int_equal(fd, -1);
	{
		char *p = join(t, "root/etc/created");
		assert_int_equal(access(p, F_OK), -1);
		free(p);
	}
}

static void test_mkdirs_in_root_nosym(void **state)
{
	tree *t = *state;
	struct stat st;
	char *p;

	assert_int_equal(dp_mkdirs_in_root_nosym(t->rootfd, "/m/n/o", 0755), 0);
	p = join(t, "root/m/n/o");
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	free(p);
	assert_int_equal(dp_mkdirs_in_root_nosym(t->rootfd, "/m/n/o", 0755), 0); /* exists: fine */
	/* a link on the way */
	errno = 0;
	assert_int_equal(dp_mkdirs_in_root_nosym(t->rootfd, "/etclink/sub", 0755), -1);
	assert_int_equal(errno, ELOOP);
	p = join(t, "root/etc/sub");
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	/* the last component a link (to a directory inside the root): refused */
	errno = 0;
	assert_int_equal(dp_mkdirs_in_root_nosym(t->rootfd, "/etclink", 0755), -1);
	assert_int_equal(errno, ELOOP);
	errno = 0;
	assert_int_equal(dp_mkdirs_in_root_nosym(t->rootfd, "/esc/x", 0755), -1);
	assert_int_equal(access("/nonexistent-doppel-escape", F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_ok),
		cmocka_unit_test(test_check_bad),
		cmocka_unit_test(test_check_length),
		cmocka_unit_test_setup_teardown(test_nofollow_opens, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_nofollow_refuses_symlinks, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_nofollow_refuses_bad_paths, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_in_root_stays_inside, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_in_root_no_escape, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_in_root_create, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_mkdirs_in_root, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_in_root_nosym, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_mkdirs_in_root_nosym, setup_tree, teardown_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
