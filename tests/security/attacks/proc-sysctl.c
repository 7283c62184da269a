/* Host-global kernel knobs under /proc/sys: core_pattern (a pipe there runs
 * a program as host root on the next crash), the module loader, sysrq,
 * hotplug, and the panic settings. /proc/sys is read-only inside (EROFS);
 * rootless, the permission check refuses first (EACCES: the kernel's knobs
 * belong to the unmapped host root, the network namespace's to holders of
 * CAP_NET_ADMIN). The sysfs equivalents are not mounted at all. */
#include "attack.h"

int main(void)
{
	static const char *const knobs[] = {
		"/proc/sys/kernel/core_pattern",     "/proc/sys/kernel/modprobe",  "/proc/sys/kernel/sysrq",
		"/proc/sys/kernel/hotplug",	     "/proc/sys/kernel/panic",	   "/proc/sys/kernel/hostname",
		"/proc/sys/vm/drop_caches",	     "/proc/sys/vm/panic_on_oom",  "/proc/sys/fs/suid_dumpable",
		"/proc/sys/fs/binfmt_misc/register", "/proc/sys/net/ipv4/ip_forward",
		"/proc/sys/kernel/unprivileged_userns_clone", NULL,
	};
	char buf[256];

	attack_begin("proc-sysctl");
	MUST(read_file("/proc/sys/kernel/core_pattern", buf, sizeof(buf)));
	note("core_pattern reads: %.*s", (int)strcspn(buf, "\n"), buf);
	for (const char *const *k = knobs; *k; k++) {
		if (access(*k, F_OK) < 0) {
			note("%s does not exist on this kernel", *k);
			continue;
		}
		EXPECT_ERRNO_AS(*k, rootless() ? EACCES : EROFS, open(*k, O_WRONLY));
	}
	EXPECT_ERRNO(ENOENT, open("/sys/kernel/uevent_helper", O_WRONLY));
	EXPECT_ERRNO(ENOENT, open("/sys/fs/cgroup", O_RDONLY));
	EXPECT_ERRNO(ENOENT, open("/sys/kernel/security", O_RDONLY));
	EXPECT_ERRNO(ENOENT, open("/sys/firmware", O_RDONLY));
	attack_end();
}
