/* Mount-table attacks: new mounts (tmpfs, proc, a bind of /, a cgroup v1
 * hierarchy for the release_agent escape, CVE-2022-0492), the new mount API,
 * unmounting the masks over /proc, and pivot_root. seccomp refuses them
 * all with EPERM. */
#include <linux/mount.h>
#include <sys/mount.h>

#include "attack.h"

int main(void)
{
	attack_begin("mount");
	MUST(mkdir("/tmp/m", 0755));
	EXPECT_ERRNO(EPERM, mount("none", "/tmp/m", "tmpfs", 0, NULL));
	EXPECT_ERRNO(EPERM, mount("proc", "/tmp/m", "proc", 0, NULL));
	EXPECT_ERRNO(EPERM, mount("sysfs", "/tmp/m", "sysfs", 0, NULL));
	EXPECT_ERRNO(EPERM, mount("cgroup", "/tmp/m", "cgroup", 0, "rdma"));
	EXPECT_ERRNO(EPERM, mount("cgroup", "/tmp/m", "cgroup", 0, "memory"));
	EXPECT_ERRNO(EPERM, mount("cgroup2", "/tmp/m", "cgroup2", 0, NULL));
	EXPECT_ERRNO(EPERM, mount("/", "/tmp/m", NULL, MS_BIND | MS_REC, NULL));
	EXPECT_ERRNO(EPERM, mount(NULL, "/", NULL, MS_REC | MS_SHARED, NULL));
	EXPECT_ERRNO(EPERM, mount("/proc/self/fd/0", "/tmp/m", NULL, MS_MOVE, NULL));
	EXPECT_ERRNO(EPERM, umount2("/proc/kcore", MNT_DETACH));
	EXPECT_ERRNO(EPERM, umount2("/proc/sys", MNT_DETACH));
	EXPECT_ERRNO(EPERM, umount2("/dev", MNT_DETACH));
	EXPECT_ERRNO(EPERM, umount2("/usr", 0));
	EXPECT_ERRNO(EPERM, syscall(SYS_umount2, "/", MNT_DETACH));
	EXPECT_ERRNO(EPERM, syscall(SYS_pivot_root, "/tmp", "/tmp/m"));
	EXPECT_ERRNO(EPERM, syscall(SYS_pivot_root, ".", "."));
	EXPECT_ERRNO(EPERM, syscall(SYS_fsopen, "tmpfs", 0));
	EXPECT_ERRNO(EPERM, syscall(SYS_fspick, AT_FDCWD, "/", 0));
	EXPECT_ERRNO(EPERM, syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | AT_RECURSIVE));
	EXPECT_ERRNO(EPERM, syscall(SYS_move_mount, AT_FDCWD, "/proc", AT_FDCWD, "/tmp/m", 0));
	EXPECT_ERRNO(EPERM, syscall(SYS_mount_setattr, AT_FDCWD, "/proc/sys", 0,
				    &(struct mount_attr){ .attr_clr = MOUNT_ATTR_RDONLY }, sizeof(struct mount_attr)));
	attack_end();
}
