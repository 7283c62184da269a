/* Safe path handling. Plan and config paths are checked as text first (absolute,
 * no '.'/'..' components) and then opened without following any symlink, so
 * nothing outside what the user named can be reached by a crafted path. */
#ifndef DOPPEL_UTIL_PATH_H
#define DOPPEL_UTIL_PATH_H

#include "util/error.h"

/* Textual check: absolute, shorter than PATH_MAX, no '.' or '..' component. */
int dp_path_check(const char *what, const char *path, dp_error **err);
/* Opens an existing absolute path O_PATH, refusing symlinks in any component
 * (RESOLVE_NO_SYMLINKS). Returns the fd or -1. */
int dp_path_open_nofollow(const char *what, const char *path, int flags, dp_error **err);
/* Opens 'path' below dirfd as if dirfd were '/', so '..' and absolute symlinks
 * cannot leave it (RESOLVE_IN_ROOT). Returns the fd or -1 with errno set. */
int dp_open_in_root(int rootfd, const char *path, int flags, int mode);
/* Same, but refusing any symlink on the way (ELOOP): for mount targets,
 * which must not be redirected by links found inside the tree
 * (CVE-2019-16884 class). */
int dp_open_in_root_nosym(int rootfd, const char *path, int flags, int mode);
/* mkdir -p of 'path' below rootfd, resolving inside the root; with nosym,
 * a symlink on the way is refused with ELOOP. */
int dp_mkdirs_in_root(int rootfd, const char *path, int mode);
int dp_mkdirs_in_root_nosym(int rootfd, const char *path, int mode);

/* "//a/b/" -> "/a/b": repeated slashes collapsed, a trailing one dropped
 * (malloc'd; NULL when out of memory). Spelling only: no lookup. */
char *dp_path_collapse(const char *s);

#endif
