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
	uint64_t databases, db_rows, db_masked_columns, subsets;
	double seconds;
} dp_sync_result;

int dp_snapshot_sync(dp_store *st, const dp_spec *spec, const dp_sync_opts *opts, dp_sync_result *res,
		     dp_error **err);

/* Databases (databases.c). Checks every database's masking rules against
 * its schema and counts the columns that look personal but have no rule;
 * with masking.strict that is an error listing them (nothing is written). */
int dp_snapshot_check_databases(const dp_spec *spec, int prodfd, size_t *findings, dp_error **err);
/* Writes each database, masked, into the snapshot tree treefd. */
int dp_snapshot_copy_databases(dp_store *st, const dp_spec *spec, int prodfd, int treefd, dp_sync_result *res,
			       dp_error **err);

/* PostgreSQL databases (databases.c): each copied, masked, into a build
 * database of the sandbox cluster made a template; at the commit, recorded
 * in snapshot_databases and renamed to its final name (inside the
 * snapshot's store transaction); after a failed sync, dropped. */
int dp_snapshot_copy_pg(dp_store *st, const dp_spec *spec, int64_t id, dp_sync_result *res, dp_error **err);
int dp_snapshot_commit_pg(dp_store *st, const dp_spec *spec, int64_t id, dp_error **err);
void dp_snapshot_abort_pg(dp_store *st, const dp_spec *spec, int64_t id);
/* Writes the subset of each database for each tier that has `data: subset`
 * and subset rules for it, from the masked copies in treefd, into
 * subsetsfd/<tier>/<path>. */
int dp_snapshot_subset_databases(const dp_spec *spec, int treefd, int subsetsfd, dp_sync_result *res,
				 dp_error **err);
/* "subsets/<id>": per-tier subsets of a snapshot's databases, a layer that
 * sandboxes of those tiers see above the snapshot's tree. */
void dp_snapshot_subsets_dir(int64_t id, char *buf, size_t n);

/* The id of the newest snapshot, 0 when there is none. */
int64_t dp_snapshot_latest(dp_store *st);
/* A snapshot recorded on an earlier boot and never confirmed on disk
 * (store/flush.c): its files may be incomplete. dp_snapshot_trust is the
 * error to refuse it as a base with. */
bool dp_snapshot_lost(dp_store *st, int64_t id);
int dp_snapshot_trust(dp_store *st, int64_t id, dp_error **err);
/* "snapshots/<id>" relative to the store root, in buf. */
void dp_snapshot_dir(int64_t id, char *buf, size_t n);

/* Removes snapshots beyond spec->sync_keep that no sandbox uses. */
int dp_snapshot_prune(dp_store *st, const dp_spec *spec, uint64_t *pruned, dp_error **err);

/* Glob match for production.exclude (relative path; '*' stays within a path
 * component, '**' crosses them; a pattern without '/' matches any basename). */
bool dp_exclude_match(const char *pattern, const char *relpath);

#endif
