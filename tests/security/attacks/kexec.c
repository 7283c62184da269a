/* Replacing or stopping the host kernel: kexec_load, kexec_file_load and
 * reboot (with a wrong magic, so even a mistake could not reboot a host;
 * the permission check comes first). */
#include <linux/kexec.h>
#include <linux/reboot.h>

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

	attack_begin("kexec");
	fd = (int)MUST(open("/t/attack-kexec", O_RDONLY));
	EXPECT_ERRNO(EPERM, syscall(SYS_kexec_load, 0, 0, NULL, KEXEC_ARCH_DEFAULT));
	EXPECT_ERRNO(EPERM, syscall(SYS_kexec_file_load, fd, fd, 1, "", KEXEC_FILE_NO_INITRAMFS));
	EXPECT_ERRNO(EPERM, syscall(SYS_reboot, 0x12345678, 0x1234, LINUX_REBOOT_CMD_POWER_OFF, NULL));
	knob("/proc/sys/kernel/kexec_load_disabled", EROFS);
	close(fd);
	attack_end();
}
