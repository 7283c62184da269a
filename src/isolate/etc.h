/* Between rootfs.c and etc.c only: etc.c builds the sandbox's /etc, with the
 * mount helpers rootfs.c already has for the rest of the root. */
#ifndef DOPPEL_ISOLATE_ETC_H
#define DOPPEL_ISOLATE_ETC_H

#include <stdbool.h>

#include "isolate/runtime.h"

/* etc.c: opens the caller's /etc template cache, or -1 when there is none
 * to use (unsafe, or a run that copies). Called before anything is mounted:
 * the new root is staged on /tmp, which would hide a cache below it. */
int dp_etc_open_cache(const dp_child_ctx *ctx);
/* etc.c: the new root's /etc from the system root 'sysfd': a template of
 * the host's entries from the cache as one read-only overlay when it can,
 * else copies made for this run. With a template, ctx->etc_lock holds its
 * shared lock. */
int dp_etc_setup(dp_child_ctx *ctx, int cachefd, int sysfd, int rootfd, dp_error **err);

/* rootfs.c: clones the tree at srcfd, applies attrs, attaches it at dst
 * (resolved inside rootfd, no symlinks). */
int dp_rootfs_attach_clone(int srcfd, bool recursive, unsigned long long attrs, int rootfd, const char *dst,
			   const char *what, dp_error **err);
/* rootfs.c: an empty file at path (and its parent dirs) as a mount point. */
int dp_rootfs_make_file(int rootfd, const char *path, dp_error **err);
/* rootfs.c: writes text to a new file at path below rootfd (mode 0644). */
int dp_rootfs_write(int rootfd, const char *path, const char *text, dp_error **err);
/* rootfs.c: the symlink at src (an O_PATH fd) again at rel below rootfd;
 * an existing entry there is kept. */
int dp_rootfs_copy_symlink(int src, int rootfd, const char *rel, dp_error **err);
/* rootfs.c: detaches the mount at rootfd/name and removes the mount point. */
int dp_rootfs_detach_scratch(int rootfd, const char *name, dp_error **err);

#endif
