/* ep_confine() under the real kernel: each case forks a child that confines
 * itself to a read-only and a read-write temporary directory, tries one
 * thing and exits 0 when the outcome is the expected one (or with the line
 * of the check that failed); the parent asserts exit 0. Landlock cases skip
 * when the kernel has no Landlock; the seccomp ones run regardless. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "endpoints/confine.h"

static char base[] = "/tmp/doppel-confine.XXXXXX";
static char ro[64], rw[64];

#define CHECK(cond)                  \
	do {                         \
		if (!(cond))         \
			_exit(__LINE__ % 250 + 1); \
	} while (0)

static void confine(void)
{
	const char *dirs[] = { ro };
	ep_confine_conf c = { .read_dirs = dirs, .n_read_dirs = 1, .write_dir = rw };
	ep_confine_info info;
	dp_error *err = NULL;

	if (ep_confine(&c, &info, &err) < 0) {
		fprintf(stderr, "ep_confine: %s\n", err->msg);
		_exit(250);
	}
}

/* Runs fn in a confined child; its exit status must be 0. */
static void in_child(void (*fn)(void))
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		confine();
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("child: %s %d (exit: line %% 250 + 1 of the failed check)",
			 WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

static void need_landlock(void)
{
	if (ep_landlock_abi() <= 0)
		skip();
}

static void files_body(void)
{
	char p[128];
	int fd;

	CHECK(open("/etc/passwd", O_RDONLY) < 0 && errno == EACCES);
	CHECK(open("/proc/self/environ", O_RDONLY) < 0 && errno == EACCES);
	CHECK(open("/tmp", O_RDONLY | O_DIRECTORY) < 0 && errno == EACCES);
	snprintf(p, sizeof(p), "%s/in", ro);
	fd = open(p, O_RDONLY);
	CHECK(fd >= 0);
	close(fd);
	CHECK(open(p, O_WRONLY) < 0 && errno == EACCES);
	snprintf(p, sizeof(p), "%s/new", ro);
	CHECK(open(p, O_WRONLY | O_CREAT, 0600) < 0 && errno == EACCES);
	snprintf(p, sizeof(p), "%s/state.tmp", rw);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, "{}", 2) == 2);
	close(fd);
	{
		char q[128];
		snprintf(q, sizeof(q), "%s/state.json", rw);
		CHECK(rename(p, q) == 0);
	}
	snprintf(p, sizeof(p), "%s/escape", base);
	CHECK(open(p, O_WRONLY | O_CREAT, 0600) < 0 && errno == EACCES);
}

static void test_files(void **state)
{
	(void)state;
	need_landlock();
	in_child(files_body);
}

static void exec_body(void)
{
	char *argv[] = { "/bin/false", NULL };

	/* should it run, it exits 1 and the case fails */
	CHECK(execve("/bin/false", argv, NULL) < 0 && errno == EPERM);
}

static void test_exec(void **state)
{
	(void)state;
	in_child(exec_body);
}

static void kernel_body(void)
{
	CHECK(socket(AF_UNIX, SOCK_STREAM, 0) < 0 && errno == EPERM);
	CHECK(socket(AF_INET, SOCK_STREAM, 0) < 0 && errno == EPERM);
	CHECK(socket(AF_NETLINK, SOCK_RAW, 0) < 0 && errno == EPERM);
	CHECK(unshare(CLONE_NEWUSER) < 0 && errno == EPERM);
	CHECK(kill(getppid(), 0) < 0 && errno == EPERM);
	CHECK(kill(getpid(), 0) == 0);
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
	CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
	CHECK(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0 && errno == EPERM);
	CHECK(chroot("/") < 0 && errno == EPERM);
}

static void test_kernel(void **state)
{
	(void)state;
	in_child(kernel_body);
}

static void *thread_fn(void *arg)
{
	return arg;
}

/* what the server needs: threads (clone3 falls back to clone), pipes */
static void threads_body(void)
{
	pthread_t t;
	void *ret = NULL;
	int p[2];

	CHECK(pthread_create(&t, NULL, thread_fn, (void *)1) == 0);
	CHECK(pthread_join(t, &ret) == 0 && ret == (void *)1);
	CHECK(pipe(p) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, p) == 0);
}

static void test_threads(void **state)
{
	(void)state;
	in_child(threads_body);
}

static int setup(void **state)
{
	char p[128];
	int fd;

	(void)state;
	if (mkdtemp(base) == NULL)
		return -1;
	snprintf(ro, sizeof(ro), "%s/ro", base);
	snprintf(rw, sizeof(rw), "%s/rw", base);
	snprintf(p, sizeof(p), "%s/in", ro);
	if (mkdir(ro, 0755) < 0 || mkdir(rw, 0755) < 0 || (fd = open(p, O_WRONLY | O_CREAT, 0644)) < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_kernel),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
