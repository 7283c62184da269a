/* Unit tests of src/isolate/cgroup*.c: finding the hierarchies on hosts laid
 * out differently (parsed from sample files), and on this host creating a
 * run's cgroup, reading its limits back from the files the kernel keeps,
 * moving a process in, catching an OOM kill, and removing it all again. The
 * live tests skip when this process cannot create cgroups (rootless without
 * a delegated cgroup); the refusal test covers that case instead. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "isolate/cgroup-internal.h"
#include "util/cleanup.h"
#include "util/error.h"

/* --- detection from sample files ------------------------------------------- */

static void parse(dp_cg_host *h, const char *mountinfo, const char *self)
{
	FILE *mi = fmemopen((void *)mountinfo, strlen(mountinfo), "r");
	FILE *sc = fmemopen((void *)self, strlen(self), "r");
	assert_non_null(mi);
	assert_non_null(sc);
	dp_cg_host_parse(h, mi, sc);
	fclose(mi);
	fclose(sc);
}

static void assert_str(const char *got, const char *want)
{
	if (want == NULL && got == NULL)
		return;
	if (want == NULL || got == NULL || strcmp(got, want) != 0)
		fail_msg("got '%s', want '%s'", got ? got : "(null)", want ? want : "(null)");
}

/* This CI's layout: v1 controllers, cgroup2 with nothing useful, memory
 * below a per-job cgroup; plus a co-mounted cpu,cpuacct and an escaped
 * space, which other hybrid hosts have. */
static void test_parse_hybrid(void **state)
{
	static const char mountinfo[] =
		"26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
		"30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		"31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
		"33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
		"34 30 0:31 / /sys/fs/cgroup/mem\\040ory rw,relatime - cgroup cgroup rw,memory\n"
		"38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
		"39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
		"40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
	static const char self[] = "9:name=systemd:/\n"
				   "8:pids:/\n"
				   "4:memory:/process_api/c128\n"
				   "3:cpuset:/\n"
				   "2:cpu,cpuacct:/job\n"
				   "0::/\n";
	dp_cg_host h;
	(void)state;

	parse(&h, mountinfo, self);
	assert_str(h.v2_dir, "/sys/fs/cgroup/unified");
	assert_str(h.v1_dir[DP_CGROUP_MEMORY], "/sys/fs/cgroup/mem ory/process_api/c128");
	assert_str(h.v1_dir[DP_CGROUP_PIDS], "/sys/fs/cgroup/pids");
	assert_str(h.v1_dir[DP_CGROUP_CPU], "/sys/fs/cgroup/cpu,cpuacct/job");
	dp_cg_host_free(&h);
}

static void test_parse_v2_only(void **state)
{
	static const char mountinfo[] =
		"25 22 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
	static const char self[] = "0::/user.slice/user-1000.slice/session-2.scope\n";
	dp_cg_host h;
	(void)state;

	parse(&h, mountinfo, self);
	assert_str(h.v2_dir, "/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope");
	for (int c = 0; c < DP_CGROUP_NCTRL; c++)
		assert_null(h.v1_dir[c]);
	dp_cg_host_free(&h);
}

/* A container given part of a hierarchy: the mount's root is our path's
 * prefix, so only the rest is appended; a mount showing another subtree
 * cannot hold our cgroup. */
static void test_parse_mount_root(void **state)
{
	static const char mountinfo[] =
		"50 40 0:31 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n"
		"51 40 0:35 /docker/other /sys/fs/cgroup/pids ro,nosuid - cgroup cgroup rw,pids\n"
		"52 40 0:37 /docker/abc /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
	static const char self[] = "8:pids:/docker/abc\n"
				   "4:memory:/docker/abc/sub\n"
				   "0::/docker/abc\n";
	dp_cg_host h;
	(void)state;

	parse(&h, mountinfo, self);
	assert_str(h.v1_dir[DP_CGROUP_MEMORY], "/sys/fs/cgroup/memory/sub");
	assert_null(h.v1_dir[DP_CGROUP_PIDS]);
	assert_null(h.v1_dir[DP_CGROUP_CPU]);
	assert_str(h.v2_dir, "/sys/fs/cgroup/unified");
	dp_cg_host_free(&h);
}

static void test_has_word(void **state)
{
	(void)state;
	assert_true(dp_cg_has_word("rw,cpu,cpuacct", "cpu"));
	assert_true(dp_cg_has_word("cpuset cpu io memory\n", "memory"));
	assert_false(dp_cg_has_word("rw,cpuset,cpuacct", "cpu"));
	assert_false(dp_cg_has_word("", "pids"));
}

/* --- this host -------------------------------------------------------------- */

static const dp_limits some = { .mem_bytes = 64ull << 20, .pids = 32, .millicpus = 500 };

/* Live tests need every controller usable by us. */
static bool host_usable(void)
{
	dp_cgroup_probe p;
	dp_cgroup_probe_host(&p);
	return p.memory && p.pids && p.cpu;
}

static char *read_trim(const char *dir, const char *file)
{
	char *s = dp_cg_read(dir, file);
	if (s == NULL)
		fail_msg("read %s/%s: %s", dir, file, strerror(errno));
	s[strcspn(s, "\n")] = '\0';
	return s;
}

static void assert_file(const char *dir, const char *file, const char *want)
{
	cleanup_free char *got = read_trim(dir, file);
	if (strcmp(got, want) != 0)
		fail_msg("%s/%s holds '%s', want '%s'", dir, file, got, want);
}

static bool in_procs(const char *dir, pid_t pid)
{
	cleanup_free char *procs = dp_cg_read(dir, "cgroup.procs");
	char *save = NULL;
	if (procs == NULL)
		return false;
	for (char *t = strtok_r(procs, "\n", &save); t != NULL; t = strtok_r(NULL, "\n", &save)) {
		if (atoi(t) == pid)
			return true;
	}
	return false;
}

static bool gone(const char *path)
{
	struct stat st;
	return stat(path, &st) < 0 && errno == ENOENT;
}

static void sleeper_main(int ready_fd)
{
	char c = 'r';
	if (write(ready_fd, &c, 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

static void test_limits_applied(void **state)
{
	char dirs[DP_CGROUP_NCTRL][512];
	dp_cgroup *cg = NULL;
	dp_error *err = NULL;
	int ready[2], status;
	pid_t child;
	char c;
	(void)state;

	if (!host_usable())
		skip();
	if (dp_cgroup_create(&some, &cg, &err) < 0)
		fail_msg("create: %s", err->msg);
	assert_non_null(cg);

	for (int ctrl = 0; ctrl < DP_CGROUP_NCTRL; ctrl++) {
		enum dp_cgroup_version v = DP_CGROUP_NONE;
		const char *d = dp_cgroup_dir(cg, ctrl, &v);
		assert_non_null(d);
		assert_non_null(strstr(d, "/doppel-"));
		snprintf(dirs[ctrl], sizeof(dirs[ctrl]), "%s", d);
		if (ctrl == DP_CGROUP_MEMORY && v == DP_CGROUP_V1) {
			assert_file(d, "memory.limit_in_bytes", "67108864");
			if (dp_cg_exists(d, "memory.memsw.limit_in_bytes"))
				assert_file(d, "memory.memsw.limit_in_bytes", "67108864");
		} else if (ctrl == DP_CGROUP_MEMORY) {
			assert_file(d, "memory.max", "67108864");
			if (dp_cg_exists(d, "memory.swap.max"))
				assert_file(d, "memory.swap.max", "0");
		} else if (ctrl == DP_CGROUP_PIDS) {
			assert_file(d, "pids.max", "32");
		} else if (v == DP_CGROUP_V1) {
			assert_file(d, "cpu.cfs_period_us", "100000");
			assert_file(d, "cpu.cfs_quota_us", "50000");
		} else {
			assert_file(d, "cpu.max", "50000 100000");
		}
	}

	assert_int_equal(pipe(ready), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(ready[0]);
		sleeper_main(ready[1]);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	if (dp_cgroup_add(cg, child, &err) < 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		fail_msg("add: %s", err->msg);
	}
	for (int ctrl = 0; ctrl < DP_CGROUP_NCTRL; ctrl++) {
		if (!in_procs(dirs[ctrl], child))
			fail_msg("pid %d not in %s/cgroup.procs", (int)child, dirs[ctrl]);
	}
	assert_false(dp_cgroup_oom_killed(cg));

	dp_cgroup_destroy(cg);
	for (int ctrl = 0; ctrl < DP_CGROUP_NCTRL; ctrl++) {
		if (!gone(dirs[ctrl]))
			fail_msg("%s still exists after destroy", dirs[ctrl]);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* A memory hog in a small cgroup is killed by the kernel, and the cgroup
 * says so (the run then reports exit 137 as an OOM kill). */
static void test_oom_recorded(void **state)
{
	dp_limits small = { .mem_bytes = 32ull << 20 };
	dp_cgroup *cg = NULL;
	dp_error *err = NULL;
	int go[2], status;
	pid_t child;
	(void)state;

	if (!host_usable())
		skip();
	if (dp_cgroup_create(&small, &cg, &err) < 0)
		fail_msg("create: %s", err->msg);
	assert_int_equal(pipe(go), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(3);
		for (size_t total = 0; total < (512u << 20); total += 1u << 20) {
			char *p = malloc(1u << 20);
			if (p == NULL)
				_exit(4);
			memset(p, 0x5a, 1u << 20);
		}
		_exit(5);   /* not limited */
	}
	close(go[0]);
	if (dp_cgroup_add(cg, child, &err) < 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		fail_msg("add: %s", err->msg);
	}
	assert_int_equal(write(go[1], "g", 1), 1);
	close(go[1]);
	assert_int_equal(waitpid(child, &status, 0), child);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("memory hog not OOM-killed: status 0x%x", status);
	assert_true(dp_cgroup_oom_killed(cg));
	dp_cgroup_destroy(cg);
}

static void test_zero_limits_create_nothing(void **state)
{
	dp_limits none = { 0 };
	dp_cgroup *cg = NULL;
	dp_error *err = NULL;
	(void)state;

	assert_int_equal(dp_cgroup_create(&none, &cg, &err), 0);
	assert_null(err);
	assert_non_null(cg);
	assert_int_equal(dp_cgroup_ndirs(cg), 0);
	for (int ctrl = 0; ctrl < DP_CGROUP_NCTRL; ctrl++)
		assert_null(dp_cgroup_dir(cg, ctrl, NULL));
	assert_int_equal(dp_cgroup_add(cg, getpid(), &err), 0);
	assert_false(dp_cgroup_oom_killed(cg));
	dp_cgroup_destroy(cg);
}

static void assert_refusal(const char *msg, const char *uid)
{
	if (strstr(msg, "memory limit") == NULL || strstr(msg, "doppel doctor") == NULL ||
	    (uid != NULL && strstr(msg, uid) == NULL))
		fail_msg("refusal lacks the limit, the reason or the pointer to doctor: %s", msg);
}

/* Root can write anywhere, so the refusal is shown by a child that drops to
 * nobody; a user without a delegated cgroup sees it directly. */
static void test_refused_limit_names_doctor(void **state)
{
	dp_limits mem = { .mem_bytes = 64ull << 20 };
	dp_cgroup *cg = NULL;
	dp_error *err = NULL;
	char msg[1024];
	ssize_t n;
	int out[2], status;
	pid_t child;
	(void)state;

	if (geteuid() != 0) {
		if (host_usable())
			skip();   /* delegated to us: nothing to refuse */
		assert_int_equal(dp_cgroup_create(&mem, &cg, &err), -1);
		assert_null(cg);
		assert_refusal(err->msg, NULL);
		dp_error_free(&err);
		return;
	}
	assert_int_equal(pipe(out), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int r;
		close(out[0]);
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(3);
		r = dp_cgroup_create(&mem, &cg, &err);
		if (r == 0) {
			dp_cgroup_destroy(cg);
			_exit(4);
		}
		if (write(out[1], err->msg, strlen(err->msg)) < 0)
			_exit(5);
		_exit(cg == NULL ? 0 : 6);
	}
	close(out[1]);
	n = read(out[0], msg, sizeof(msg) - 1);
	close(out[0]);
	assert_int_equal(waitpid(child, &status, 0), child);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child as nobody: status 0x%x (4: limit accepted)", status);
	assert_true(n > 0);
	msg[n] = '\0';
	print_message("refusal: %s\n", msg);
	assert_refusal(msg, "uid 65534");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_hybrid),
		cmocka_unit_test(test_parse_v2_only),
		cmocka_unit_test(test_parse_mount_root),
		cmocka_unit_test(test_has_word),
		cmocka_unit_test(test_zero_limits_create_nothing),
		cmocka_unit_test(test_limits_applied),
		cmocka_unit_test(test_oom_recorded),
		cmocka_unit_test(test_refused_limit_names_doctor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
