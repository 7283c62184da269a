/* Snapshots: immutable, numbered captures of production's file tree.
 * `doppel sync` walks production read-only (never following a symlink, never
 * opening a special file), shares every file unchanged since the previous
 * snapshot by hard link and copies the rest, preserving modes, owners, times
 * and xattrs. The tree is built under tmp/ and becomes a snapshot only when
 * one transaction records it. */
#ifndef DOPPEL_SNAPSHOT_SNAPSHOT_H
#define DOPPEL_SNAPSHOT_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "spec/spec.h"
#include "store/store.h"
#include "util/error.h"

typedef struct dp_sync_opts {
	bool verify;   /* compare content hashes, not just stat data */
	bool progress; /* draw a progress line on stderr */
} dp_sync_opts;

typedef struct dp_sync_result {
	int64_t id;
	uint64_t files, dirs, symlinks, bytes;
	uint64_t copied, linked, copied_bytes;
	uint64_t skipped_special, changed_during_copy;
	uint64_t pruned;
	double seconds;
} dp_sync_result;

int dp_snapshot_sync(dp_store *st, const dp_spec *spec, const dp_sync_opts *opts, dp_sync_result *res,
		     dp_error **err);

/* The id of the newest snapshot, 0 when there is none. */
int64_t dp_snapshot_latest(dp_store *st);
/* "snapshots/<id>" relative to the store root, in buf. */
void dp_snapshot_dir(int64_t id, char *buf, size_t n);

/* Removes snapshots beyond spec->sync_keep that no sandbox uses. */
int dp_snapshot_prune(dp_store *st, const dp_spec *spec, uint64_t *pruned, dp_error **err);

/* Glob match for production.exclude (relative path; '*' stays within a path
 * component, '**' crosses them; a pattern without '/' matches any basename). */
bool dp_exclude_match(const char *pattern, const char *relpath);

#endif
