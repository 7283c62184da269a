/* File descriptors leaked from the caller (CVE-2024-21626 class): the test
 * opens production files and directories as fds 7, 8, 9 in the shell that
 * starts doppel. None may exist in the command: not as numbers, not as
 * /proc/self/fd links, not as a way to change directory, not in init (which
 * closes them as well, and whose fd table is not dumpable); the cwd is the
 * sandbox's.
 * usage: attack-fds FD... */
#include <dirent.h>
#include <limits.h>

#include "attack.h"

int main(int argc, char **argv)
{
	char path[PATH_MAX], label[PATH_MAX + 64], cwd[PATH_MAX], buf[16];
	DIR *d;
	struct dirent *e;
	int extra = 0;

	attack_begin("fds");
	if (argc < 2) {
		printf("usage: attack-fds FD...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		int fd = atoi(argv[i]);
		snprintf(label, sizeof(label), "fcntl(%d, F_GETFD)", fd);
		EXPECT_ERRNO_AS(label, EBADF, fcntl(fd, F_GETFD));
		snprintf(label, sizeof(label), "read(%d)", fd);
		EXPECT_ERRNO_AS(label, EBADF, read(fd, buf, sizeof(buf)));
		snprintf(label, sizeof(label), "write(%d)", fd);
		EXPECT_ERRNO_AS(label, EBADF, write(fd, "x", 1));
		snprintf(label, sizeof(label), "fchdir(%d)", fd);
		EXPECT_ERRNO_AS(label, EBADF, fchdir(fd));
		snprintf(label, sizeof(label), "openat(%d, \"data/customers.txt\")", fd);
		EXPECT_ERRNO_AS(label, EBADF, openat(fd, "data/customers.txt", O_RDONLY));
		snprintf(label, sizeof(label), "openat(%d, \"..\")", fd);
		EXPECT_ERRNO_AS(label, EBADF, openat(fd, "..", O_RDONLY));
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		EXPECT_ERRNO_AS(path, ENOENT, open(path, O_RDONLY));
		snprintf(label, sizeof(label), "chdir(%s)", path);
		EXPECT_ERRNO_AS(label, ENOENT, chdir(path));
		snprintf(path, sizeof(path), "/proc/self/fd/%d/..", fd);
		EXPECT_ERRNO_AS(path, ENOENT, open(path, O_RDONLY));
		/* init closed them too (ENOENT); where /proc/1/fd cannot even be
		 * searched (rootless: init's owner is unmapped) EACCES */
		snprintf(path, sizeof(path), "/proc/1/fd/%d", fd);
		EXPECT_ERRNO_AS(path, rootless() ? EACCES : ENOENT, open(path, O_RDONLY));
		snprintf(label, sizeof(label), "chdir(%s)", path);
		EXPECT_ERRNO_AS(label, rootless() ? EACCES : ENOENT, chdir(path));
	}
	d = opendir("/proc/self/fd");
	if (d == NULL) {
		printf("SETUP: opendir /proc/self/fd: %s\n", strerror(errno));
		return 3;
	}
	while ((e = readdir(d)) != NULL) {
		int fd;
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		fd = atoi(e->d_name);
		if (fd > 2 && fd != dirfd(d)) {
			ssize_t n;
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			n = readlink(path, cwd, sizeof(cwd) - 1);
			cwd[n > 0 ? n : 0] = '\0';
			printf("note: fd %d is open: %s\n", fd, cwd);
			extra++;
		}
	}
	closedir(d);
	check(extra == 0, "no fd beyond 0, 1, 2 is open in the command");
	check(getcwd(cwd, sizeof(cwd)) != NULL && strcmp(cwd, "/") == 0, "the cwd is the sandbox's / (getcwd: %s)",
	      getcwd(cwd, sizeof(cwd)) ? cwd : strerror(errno));
	attack_end();
}
