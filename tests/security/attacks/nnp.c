/* no_new_privs and the seccomp filters cannot be taken back: clearing
 * no_new_privs is invalid, and a filter stacked on top (seccomp is allowed,
 * as in Docker's profile) can only narrow: an allow-all program added by
 * the sandbox does not lift a single refusal. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>

#include "attack.h"

static int filters(void)
{
	char st[4096];
	const char *p;
	MUST(read_file("/proc/self/status", st, sizeof(st)));
	p = strstr(st, "\nSeccomp_filters:\t");
	return p ? atoi(p + 18) : -1;
}

int main(void)
{
	char st[4096];
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = 1, .filter = &allow };
	int before;

	attack_begin("nnp");
	check(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs is set");
	EXPECT_ERRNO_AS("prctl(PR_SET_NO_NEW_PRIVS, 0)", EINVAL, prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0));
	EXPECT_ERRNO_AS("prctl(PR_SET_SECCOMP, SECCOMP_MODE_DISABLED)", EINVAL, prctl(PR_SET_SECCOMP, 0, 0, 0, 0));
	MUST(read_file("/proc/self/status", st, sizeof(st)));
	check(strstr(st, "\nNoNewPrivs:\t1\n") != NULL, "/proc/self/status: NoNewPrivs 1");
	check(strstr(st, "\nSeccomp:\t2\n") != NULL, "/proc/self/status: Seccomp 2 (filter)");
	before = filters();
	check(before >= 1, "doppel's filters are installed (Seccomp_filters %d)", before);
	/* stack an allow-all program */
	MUST(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog));
	check(filters() == before + 1, "the allow-all program was stacked (%d filters)", filters());
	MUST(mkdir("/tmp/m", 0755));
	EXPECT_ERRNO_AS("mount after stacking allow-all", EPERM, mount("none", "/tmp/m", "tmpfs", 0, NULL));
	EXPECT_ERRNO_AS("unshare(CLONE_NEWUSER) after stacking allow-all", EPERM, unshare(0x10000000));
	EXPECT_ERRNO_AS("keyctl after stacking allow-all", EPERM, syscall(SYS_keyctl, 0, -3, 0));
	attack_end();
}
