/* Path checks and symlink-safe opens built on openat2(2); see path.h. */
#include "util/path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"

/* Without openat2 (kernels before 5.6, valgrind), "no symlinks anywhere"
 * is kept by walking the path one component at a time with O_NOFOLLOW.
 * Only that mode has a fallback; '..' is refused (EXDEV), as it may not
 * climb out of the root either way. */
static long walk_nofollow(int dirfd, const char *path, const struct open_how *how)
{
	int cur = dirfd, flags = (int)how->flags;
	const char *p = path;

	if (*p == '/') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			return openat(AT_FDCWD, "/", flags | O_NOFOLLOW, (mode_t)how->mode);
		cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cur < 0)
			return -1;
	}
	for (;;) {
		const char *end = strchrnul(p, '/'), *next = end;
		char name[NAME_MAX + 1];
		size_t n = (size_t)(end - p);
		int fd;

		while (*next == '/')
			next++;
		if (n > NAME_MAX) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (strcmp(name, "..") == 0) {
			errno = EXDEV;
			goto fail;
		}
		if (*next == '\0') {
			fd = openat(cur, name, flags | O_NOFOLLOW, (mode_t)how->mode);
			if (cur != dirfd && cur != AT_FDCWD)
				close(cur);
			return fd;
		}
		fd = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			/* a symlink where a directory is expected: what openat2 says */
			struct stat sb;
			if (errno == ENOTDIR && fstatat(cur, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode))
				errno = ELOOP;
			goto fail;
		}
		if (cur != dirfd && cur != AT_FDCWD)
			close(cur);
		cur = fd;
		p = next;
	}
fail:
	if (cur != dirfd && cur != AT_FDCWD) {
		int e = errno;
		close(cur);
		errno = e;
	}
	return -1;
}

static long sys_openat2(int dirfd, const char *path, struct open_how *how)
{
	long fd = syscall(SYS_openat2, dirfd, path, how, sizeof(*how));

	if (fd < 0 && errno == ENOSYS && (how->resolve & RESOLVE_NO_SYMLINKS))
		return walk_nofollow(dirfd, path, how);
	return fd;
}

int dp_path_check(const char *what, const char *path, dp_error **err)
{
	const char *p;

	if (path == NULL || path[0] != '/')
		return dp_usage(err, "%s: expected an absolute path, got '%s'", what, path ? path : "");
	if (strlen(path) >= PATH_MAX)
		return dp_usage(err, "%s: path is longer than %d bytes", what, PATH_MAX - 1);
	for (p = path; *p != '\0';) {
		const char *end;
		size_t n;

		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return dp_usage(err, "%s: '%s' contains a '%.*s' component; give the path without it", what,
					path, (int)n, p);
		p = end;
	}
	return 0;
}

int dp_path_open_nofollow(const char *what, const char *path, int flags, dp_error **err)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	long fd;

	if (dp_path_check(what, path, err) < 0)
		return -1;
	fd = sys_openat2(AT_FDCWD, path, &how);
	if (fd < 0) {
		if (errno == ELOOP) {
			cleanup_free char *real = realpath(path, NULL);
			return dp_usage(err, "%s: '%s' goes through a symlink; give the resolved path%s%s", what,
					path, real ? " " : "", real ? real : "");
		}
		if (errno == ENOTDIR && (flags & O_DIRECTORY)) {
			struct stat sb;
			if (lstat(path, &sb) == 0 && !S_ISDIR(sb.st_mode))
				return dp_usage(err, "%s: '%s' is not a directory", what, path);
		}
		if (errno == ENOENT || errno == ENOTDIR)
			return dp_usage(err, "%s: '%s' does not exist", what, path);
		return dp_fail_errno(err, "%s: open '%s'", what, path);
	}
	return (int)fd;
}

static int open_in_root(int rootfd, const char *path, int flags, int mode, uint64_t extra)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.mode = (flags & O_CREAT) ? (uint64_t)mode : 0,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra };
	while (*path == '/')
		path++;
	if (*path == '\0')
		path = ".";
	return (int)sys_openat2(rootfd, path, &how);
}

int dp_open_in_root(int rootfd, const char *path, int flags, int mode)
{
	return open_in_root(rootfd, path, flags, mode, 0);
}

int dp_open_in_root_nosym(int rootfd, const char *path, int flags, int mode)
{
	return open_in_root(rootfd, path, flags, mode, RESOLVE_NO_SYMLINKS);
}

static int mkdirs_in_root(int rootfd, const char *path, int mode, uint64_t extra)
{
	const char *p = path;

	for (;;) {
		cleanup_free char *parent = NULL;
		cleanup_free char *name = NULL;
		cleanup_close int dirfd = -1;
		const char *end;

		while (*p == '/')
			p++;
		if (*p == '\0')
			return 0;
		end = strchrnul(p, '/');
		/* each level is opened inside the root, so an existing symlink
		 * on the way resolves there too */
		parent = strndup(path, (size_t)(p - path));
		name = strndup(p, (size_t)(end - p));
		if (parent == NULL || name == NULL)
			return -1;
		dirfd = open_in_root(rootfd, parent, O_PATH | O_DIRECTORY, 0, extra);
		if (dirfd < 0)
			return -1;
		if (mkdirat(dirfd, name, (mode_t)mode) < 0 && errno != EEXIST)
			return -1;
		p = end;
	}
}

int dp_mkdirs_in_root(int rootfd, const char *path, int mode)
{
	return mkdirs_in_root(rootfd, path, mode, 0);
}

int dp_mkdirs_in_root_nosym(int rootfd, const char *path, int mode)
{
	int r = mkdirs_in_root(rootfd, path, mode, RESOLVE_NO_SYMLINKS);
	if (r == 0) {
		/* the last component may itself be a symlink that mkdirat left alone */
		int fd = open_in_root(rootfd, path, O_PATH | O_DIRECTORY, 0, RESOLVE_NO_SYMLINKS);
		if (fd < 0)
			return -1;
		close(fd);
	}
	return r;
}

char *dp_path_collapse(const char *s)
{
	char *r = strdup(s), *w = r;

	if (r == NULL)
		return NULL;
	for (const char *p = s; *p; p++)
		if (!(*p == '/' && w > r && w[-1] == '/'))
			*w++ = *p;
	*w = '\0';
	if (w - r > 1 && w[-1] == '/')
		w[-1] = '\0';
	return r;
}
