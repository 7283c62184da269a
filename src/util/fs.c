/* Tree removal and sizing with *at() calls only; see fs.h. Directories an
 * overlay left unreadable (its work/ is mode 000) are opened up first. */
#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_dir(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && fchmodat(dirfd, name, 0700, 0) == 0)
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

static int empty_dir(int fd)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int r = 0;

	if (d == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			continue;
		if (errno == EISDIR || errno == EPERM) {
			int sub = open_dir(dirfd(d), de->d_name);
			if (sub < 0 || empty_dir(sub) < 0 || unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
				r = -1;
		} else if (errno != ENOENT) {
			r = -1;
		}
	}
	closedir(d);
	return r;
}

int dp_remove_tree_at(int dirfd, const char *rel)
{
	int fd;

	if (unlinkat(dirfd, rel, 0) == 0 || errno == ENOENT)
		return 0;
	fd = open_dir(dirfd, rel);
	if (fd < 0)
		return -1;
	if (empty_dir(fd) < 0)
		return -1;
	return unlinkat(dirfd, rel, AT_REMOVEDIR);
}

static int64_t usage_fd(int fd)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int64_t sum = 0;

	if (d == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		sum += (int64_t)st.st_blocks * 512 / (st.st_nlink > 1 && !S_ISDIR(st.st_mode) ? (int64_t)st.st_nlink : 1);
		if (S_ISDIR(st.st_mode)) {
			int sub = open_dir(dirfd(d), de->d_name);
			int64_t s = sub >= 0 ? usage_fd(sub) : 0;
			if (s > 0)
				sum += s;
		}
	}
	closedir(d);
	return sum;
}

int64_t dp_tree_usage_at(int dirfd, const char *rel)
{
	int fd = open_dir(dirfd, rel);
	return fd < 0 ? -1 : usage_fd(fd);
}
