/* Filesystem helpers that never follow symlinks: removing a tree, summing
 * its size. Used on store objects, never on production. */
#ifndef DOPPEL_UTIL_FS_H
#define DOPPEL_UTIL_FS_H

#include <stdint.h>

/* rm -rf of dirfd/rel without following symlinks; 0 or -1 with errno. */
int dp_remove_tree_at(int dirfd, const char *rel);
/* Bytes allocated below dirfd/rel (st_blocks * 512), hard links counted once
 * per walk; -1 with errno on failure. */
int64_t dp_tree_usage_at(int dirfd, const char *rel);

#endif
