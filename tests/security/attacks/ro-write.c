/* Writes through read-only binds of production (a directory and a single
 * file) every way the VFS offers, tries to make them writable again, and
 * to reopen a read-only fd for writing through /proc/self/fd.
 * usage: attack-ro-write DIR FILE   (DIR holds data/customers.txt) */
#include <limits.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/xattr.h>
#include <utime.h>

#include "attack.h"

static void attack_file(const char *f)
{
	char p[PATH_MAX];
	int fd;

	EXPECT_ERRNO_AS("open O_WRONLY", EROFS, open(f, O_WRONLY));
	EXPECT_ERRNO_AS("open O_RDWR", EROFS, open(f, O_RDWR));
	EXPECT_ERRNO_AS("open O_WRONLY|O_TRUNC", EROFS, open(f, O_WRONLY | O_TRUNC));
	EXPECT_ERRNO_AS("open O_WRONLY|O_APPEND", EROFS, open(f, O_WRONLY | O_APPEND));
	EXPECT_ERRNO_AS("truncate", EROFS, truncate(f, 0));
	EXPECT_ERRNO_AS("chmod", EROFS, chmod(f, 0666));
	EXPECT_ERRNO_AS("chown", EROFS, chown(f, 0, 0));
	EXPECT_ERRNO_AS("utime", EROFS, utime(f, NULL));
	EXPECT_ERRNO_AS("setxattr user.x", EROFS, setxattr(f, "user.x", "1", 1, 0));
	/* a read-only fd reopened for writing through its magic link */
	fd = (int)MUST(open(f, O_RDONLY));
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	EXPECT_ERRNO_AS("reopen O_RDONLY fd via /proc/self/fd O_WRONLY", EROFS, open(p, O_WRONLY));
	EXPECT_ERRNO_AS("write to an O_RDONLY fd", EBADF, write(fd, "x", 1));
	EXPECT_ERRNO_AS("ftruncate an O_RDONLY fd", EINVAL, ftruncate(fd, 0));
	EXPECT_ERRNO_AS("fchmod", EROFS, fchmod(fd, 0666));
	close(fd);
	fd = (int)MUST(open(f, O_PATH));
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	EXPECT_ERRNO_AS("reopen O_PATH fd via /proc/self/fd O_RDWR", EROFS, open(p, O_RDWR));
	close(fd);
}

int main(int argc, char **argv)
{
	char f[PATH_MAX], n[PATH_MAX], buf[256];
	struct mount_attr rw = { .attr_clr = MOUNT_ATTR_RDONLY };

	attack_begin("ro-write");
	if (argc != 3) {
		printf("usage: attack-ro-write DIR FILE\n");
		return 2;
	}
	snprintf(f, sizeof(f), "%s/data/customers.txt", argv[1]);
	/* control: the bind is there and readable */
	MUST(read_file(f, buf, sizeof(buf)));
	check(strstr(buf, "alice") != NULL, "%s is readable (the bind is in place)", f);

	printf("-- %s\n", f);
	attack_file(f);
	printf("-- %s (a single-file bind)\n", argv[2]);
	attack_file(argv[2]);

	printf("-- the directory\n");
	snprintf(n, sizeof(n), "%s/data/new", argv[1]);
	EXPECT_ERRNO_AS("creat data/new", EROFS, open(n, O_WRONLY | O_CREAT, 0644));
	EXPECT_ERRNO_AS("mkdir data/new", EROFS, mkdir(n, 0755));
	EXPECT_ERRNO_AS("mknod fifo data/new", EROFS, mknod(n, S_IFIFO | 0644, 0));
	EXPECT_ERRNO_AS("symlink data/new", EROFS, symlink("/etc/passwd", n));
	EXPECT_ERRNO_AS("link data/new", EROFS, link(f, n));
	EXPECT_ERRNO_AS("unlink customers.txt", EROFS, unlink(f));
	EXPECT_ERRNO_AS("rename customers.txt", EROFS, rename(f, n));
	snprintf(n, sizeof(n), "%s/data", argv[1]);
	EXPECT_ERRNO_AS("rmdir data", EROFS, rmdir(n));
	EXPECT_ERRNO_AS("O_TMPFILE in data", EROFS, open(n, O_TMPFILE | O_WRONLY, 0644));

	printf("-- making it writable again\n");
	EXPECT_ERRNO_AS("mount(MS_REMOUNT|MS_BIND) without MS_RDONLY", EPERM,
			mount(NULL, argv[1], NULL, MS_REMOUNT | MS_BIND, NULL));
	EXPECT_ERRNO_AS("mount(MS_REMOUNT) rw", EPERM, mount(NULL, argv[1], NULL, MS_REMOUNT, NULL));
	EXPECT_ERRNO_AS("mount_setattr clearing MOUNT_ATTR_RDONLY", EPERM,
			syscall(SYS_mount_setattr, AT_FDCWD, argv[1], 0, &rw, sizeof(rw)));
	EXPECT_ERRNO_AS("umount2 the bind (to see what is below)", EPERM, umount2(argv[1], MNT_DETACH));
	attack_end();
}
