/* /dev is the sandbox's own small, read-only tmpfs: nothing can be created,
 * replaced or removed there, host devices are absent, and /dev/pts is a new
 * devpts instance without the host's terminals. The few device nodes it
 * holds are the host's own inodes (bind mounts): their owner, mode and times
 * must not be changeable from inside (the tries set the values they already
 * have, so a failure of the sandbox changes only the host's ctime, which
 * the test script compares). EROFS where the bind is read-only, EPERM where
 * the owner is not mapped into the namespace (rootless). */
#include <dirent.h>
#include <sys/sysmacros.h>

#include "attack.h"

int main(void)
{
	DIR *d;
	struct dirent *e;
	int others = 0, fd, rl = rootless();

	attack_begin("dev-write");
	/* control: the sandbox's devices work */
	fd = (int)MUST(open("/dev/null", O_WRONLY));
	check(write(fd, "x", 1) == 1, "/dev/null is writable (control)");
	close(fd);

	{
		static const char *const devs[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random",
						    "/dev/urandom", "/dev/tty", NULL };
		for (const char *const *n = devs; *n; n++) {
			struct stat st;
			char label[96];
			struct timespec times[2];
			MUST(stat(*n, &st));
			times[0] = st.st_atim;
			times[1] = st.st_mtim;
			/* rootless: the owner (host root) is unmapped, EPERM would do */
			snprintf(label, sizeof(label), "chmod %s %o (unchanged mode)", *n, st.st_mode & 07777);
			EXPECT_ERRNO_EITHER(label, EROFS, rl ? EPERM : EROFS, chmod(*n, st.st_mode & 07777));
			snprintf(label, sizeof(label), "chown %s 0:0", *n);
			EXPECT_ERRNO_EITHER(label, EROFS, rl ? EPERM : EROFS, chown(*n, 0, 0));
			snprintf(label, sizeof(label), "utimensat %s (its own times)", *n);
			EXPECT_ERRNO_EITHER(label, EROFS, rl ? EPERM : EROFS, utimensat(AT_FDCWD, *n, times, 0));
		}
	}
	EXPECT_ERRNO(EROFS, open("/dev/evil", O_WRONLY | O_CREAT, 0644));
	EXPECT_ERRNO(EROFS, mknod("/dev/sda", S_IFBLK | 0600, makedev(8, 0)));
	EXPECT_ERRNO(EROFS, mknod("/dev/mem", S_IFCHR | 0600, makedev(1, 1)));
	EXPECT_ERRNO(EROFS, mkdir("/dev/evil", 0755));
	EXPECT_ERRNO(EROFS, symlink("/proc/1/root", "/dev/evil"));
	EXPECT_ERRNO(EROFS, unlink("/dev/null"));
	EXPECT_ERRNO(EROFS, rename("/dev/zero", "/dev/evil"));
	EXPECT_ERRNO(EROFS, unlink("/dev/ptmx"));
	/* host devices are not there */
	EXPECT_ERRNO(ENOENT, open("/dev/mem", O_RDONLY));
	EXPECT_ERRNO(ENOENT, open("/dev/kmem", O_RDONLY));
	EXPECT_ERRNO(ENOENT, open("/dev/port", O_RDONLY));
	EXPECT_ERRNO(ENOENT, open("/dev/kmsg", O_RDONLY));
	EXPECT_ERRNO(ENOENT, open("/dev/sda", O_RDONLY));
	EXPECT_ERRNO(ENOENT, open("/dev/vda", O_RDONLY));
	EXPECT_ERRNO(ENOENT, open("/dev/console", O_RDWR));
	EXPECT_ERRNO(ENOENT, open("/dev/tty0", O_RDWR));
	EXPECT_ERRNO(ENOENT, open("/dev/fuse", O_RDWR));
	EXPECT_ERRNO(ENOENT, open("/dev/net/tun", O_RDWR));
	EXPECT_ERRNO(ENOENT, open("/dev/userfaultfd", O_RDWR));
	/* /dev/pts: a new instance holding nothing of the host's */
	d = opendir("/dev/pts");
	if (d == NULL) {
		printf("SETUP: opendir /dev/pts: %s\n", strerror(errno));
		return 3;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "ptmx")) {
			printf("note: /dev/pts/%s\n", e->d_name);
			others++;
		}
	closedir(d);
	check(others == 0, "/dev/pts holds no terminal (no host pty is visible)");
	attack_end();
}
