/* Loading the sandbox's seccomp programs, compiled at build time by
 * tools/gen-seccomp.c with libseccomp; see seccomp.h. Two programs: the
 * allowlist, and the terminal-injection guard (a filter of its own because
 * libseccomp cannot mix an unconditional allow of ioctl with argument-matched
 * denials in one filter). The kernel applies the stricter answer of both. */
#include "isolate/seccomp.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp-bpf.h"

static int load(const struct sock_filter *insns, size_t n, dp_error **err)
{
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = (struct sock_filter *)insns };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0)
		return 0;
	if (errno == ENOSYS && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0)
		return 0;
	return dp_fail_errno(err, "load the seccomp filter");
}

int dp_seccomp_load(dp_error **err)
{
	if (load(dp_seccomp_tty_bpf, DP_SECCOMP_TTY_BPF_LEN, err) < 0)
		return -1;
	return load(dp_seccomp_bpf, DP_SECCOMP_BPF_LEN, err);
}
