/* userfaultfd lets a process stall the kernel inside a copy from user
 * memory, the standard way to win kernel races. The syscall is refused and
 * /dev/userfaultfd is absent. */
#include <linux/userfaultfd.h>

#include "attack.h"

/* A /proc/sys knob that exists only on kernels built with the feature. */
static void knob(const char *path, int want)
{
	if (access(path, F_OK) < 0) {
		note("%s: not on this kernel", path);
		return;
	}
	EXPECT_ERRNO_AS(path, dac_or(path, want), open(path, O_WRONLY));
}

int main(void)
{
	attack_begin("userfaultfd");
	EXPECT_ERRNO_AS("userfaultfd(O_CLOEXEC)", EPERM, syscall(SYS_userfaultfd, O_CLOEXEC));
	EXPECT_ERRNO_AS("userfaultfd(UFFD_USER_MODE_ONLY)", EPERM, syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));
	EXPECT_ERRNO(ENOENT, open("/dev/userfaultfd", O_RDWR));
	knob("/proc/sys/vm/unprivileged_userfaultfd", EROFS);
	attack_end();
}
