/* Kernel modules: loading from memory or a file, removing one, and
 * pointing the kernel's module loader (and hotplug helper) at our own
 * program. */
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
	int fd;

	attack_begin("kmod");
	fd = (int)MUST(open("/t/attack-kmod", O_RDONLY));
	EXPECT_ERRNO(EPERM, syscall(SYS_init_module, "\177ELF", 4, ""));
	EXPECT_ERRNO(EPERM, syscall(SYS_finit_module, fd, "", 0));
	EXPECT_ERRNO(EPERM, syscall(SYS_delete_module, "ext4", O_NONBLOCK));
	EXPECT_ERRNO(EPERM, syscall(SYS_delete_module, "overlay", O_NONBLOCK | O_TRUNC));
	knob("/proc/sys/kernel/modprobe", EROFS);
	knob("/proc/sys/kernel/modules_disabled", EROFS);
	EXPECT_ERRNO(ENOENT, open("/sys/kernel/uevent_helper", O_WRONLY));
	EXPECT_ERRNO(ENOENT, open("/sys/module", O_RDONLY));
	close(fd);
	attack_end();
}
