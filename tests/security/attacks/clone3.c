/* clone3 keeps its flags in memory seccomp cannot read, so it is refused
 * with ENOSYS (libc then falls back to clone, whose flags are checked):
 * with namespace flags, with none, and with CLONE_INTO_CGROUP. A plain
 * clone and a thread still work (controls). */
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "attack.h"

static void *thread(void *arg)
{
	return arg;
}

int main(void)
{
	struct clone_args a;
	pthread_t t;
	void *ret = NULL;
	pid_t p;
	int st;

	attack_begin("clone3");
	memset(&a, 0, sizeof(a));
	a.flags = CLONE_NEWUSER | CLONE_NEWNS;
	a.exit_signal = SIGCHLD;
	p = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
	if (p == 0)
		_exit(42);
	expect_errno_impl("clone3(CLONE_NEWUSER|CLONE_NEWNS)", p, errno, ENOSYS);
	memset(&a, 0, sizeof(a));
	a.exit_signal = SIGCHLD;
	p = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
	if (p == 0)
		_exit(42);
	expect_errno_impl("clone3() without flags", p, errno, ENOSYS);
	memset(&a, 0, sizeof(a));
	a.flags = CLONE_INTO_CGROUP;
	a.cgroup = 0;
	a.exit_signal = SIGCHLD;
	p = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
	if (p == 0)
		_exit(42);
	expect_errno_impl("clone3(CLONE_INTO_CGROUP)", p, errno, ENOSYS);
	/* controls: fork (clone) and a thread (glibc tries clone3, falls back) */
	p = fork();
	if (p == 0)
		_exit(7);
	MUST(p);
	MUST(waitpid(p, &st, 0));
	check(WIFEXITED(st) && WEXITSTATUS(st) == 7, "control: fork works");
	check(pthread_create(&t, NULL, thread, (void *)"x") == 0 && pthread_join(t, &ret) == 0 && ret != NULL,
	      "control: pthread_create works (clone fallback)");
	attack_end();
}
