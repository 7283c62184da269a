/* Loading the sandbox's seccomp program, compiled at build time by
 * tools/gen-seccomp.c (see there for what it does); see seccomp.h. One
 * program, one seccomp(2) call: the terminal-request guard and the ENOSYS
 * answer for syscalls newer than the policy are a prefix of the policy. */
#include "isolate/seccomp.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp-bpf.h"

_Static_assert(DP_SECCOMP_BPF_LEN <= BPF_MAXINSNS, "a seccomp program longer than the kernel takes");

static int load(const struct sock_filter *insns, size_t n, const char *what, dp_error **err)
{
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = (struct sock_filter *)insns };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0)
		return 0;
	if (errno == ENOSYS && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0)
		return 0;
	return dp_fail_errno(err, "load seccomp filter (%s)", what);
}

int dp_seccomp_load(dp_error **err)
{
	return load(dp_seccomp_bpf, DP_SECCOMP_BPF_LEN, "policy", err);
}
