/* New namespaces from inside: a new user namespace would give back every
 * capability (and with it mount); each namespace flag is refused through
 * unshare and clone, and mount is retried after the attempt. A flagless
 * unshare and a plain fork work (controls). */
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "attack.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct { int flag; const char *name; } ns[] = {
	{ CLONE_NEWUSER, "CLONE_NEWUSER" },	{ CLONE_NEWNS, "CLONE_NEWNS" },
	{ CLONE_NEWPID, "CLONE_NEWPID" },	{ CLONE_NEWNET, "CLONE_NEWNET" },
	{ CLONE_NEWUTS, "CLONE_NEWUTS" },	{ CLONE_NEWIPC, "CLONE_NEWIPC" },
	{ CLONE_NEWCGROUP, "CLONE_NEWCGROUP" }, { CLONE_NEWTIME, "CLONE_NEWTIME" },
	{ CLONE_NEWUSER | CLONE_NEWNS, "CLONE_NEWUSER|CLONE_NEWNS" },
};

int main(void)
{
	char label[96];
	pid_t p;
	int st;

	attack_begin("unshare");
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		snprintf(label, sizeof(label), "unshare(%s)", ns[i].name);
		EXPECT_ERRNO_AS(label, EPERM, unshare(ns[i].flag));
		snprintf(label, sizeof(label), "clone(%s|SIGCHLD)", ns[i].name);
		errno = 0;
		p = (pid_t)syscall(SYS_clone, ns[i].flag | SIGCHLD, NULL, NULL, NULL, NULL);
		if (p == 0)
			_exit(42); /* the child of a clone that should not have happened */
		if (p > 0)
			waitpid(p, &st, 0);
		expect_errno_impl(label, p, errno, EPERM);
	}
	/* having tried, mounting is still refused */
	MUST(mkdir("/tmp/m", 0755));
	EXPECT_ERRNO_AS("mount tmpfs after the unshare tries", EPERM, mount("none", "/tmp/m", "tmpfs", 0, NULL));
	/* clone3 cannot be inspected by seccomp, so it is made to look missing */
	EXPECT_ERRNO_AS("clone3", ENOSYS, syscall(SYS_clone3, NULL, 0));
	/* controls: unsharing nothing namespaced and forking work */
	MUST(unshare(CLONE_FILES));
	p = fork();
	if (p == 0)
		_exit(7);
	MUST(p);
	MUST(waitpid(p, &st, 0));
	check(WIFEXITED(st) && WEXITSTATUS(st) == 7, "control: fork works");
	{
		char map[64];
		MUST(read_file("/proc/self/uid_map", map, sizeof(map)));
		note("uid_map is still: %s", map);
	}
	attack_end();
}
