/* SQLite databases of production on their way into a snapshot: a consistent
 * read-only copy, masked row by row as it is written, so no original value of
 * a masked column ever reaches the copy's file (not even a free page), and the
 * strict-mode check that refuses a column that looks personal but has no
 * rule. The masking itself is src/data/transform.c, shared with PostgreSQL. */
#ifndef DOPPEL_DATA_SQLITE_H
#define DOPPEL_DATA_SQLITE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "data/transform.h"
#include "spec/spec.h"
#include "util/error.h"

/* A production database, opened read-only through its pinned directory (so
 * no symlink on the way can lead elsewhere); -wal and -shm beside it are
 * found by SQLite as usual. */
typedef struct dp_sqlite_src {
	int dirfd;
	char *uri;  /* file:/proc/self/fd/N/NAME?mode=ro */
	char *path; /* ROOT/REL, for messages */
	struct stat st;
	bool wal;       /* in WAL mode (the header says so) */
	bool immutable; /* a WAL database nobody had open: read without side files */
} dp_sqlite_src;

int dp_sqlite_src_open(int prodfd, const char *root, const char *rel, dp_sqlite_src *src, dp_error **err);
void dp_sqlite_src_close(dp_sqlite_src *src);
/* For an immutable read: did a writer touch the database since the open?
 * Then what was read may mix two states; read again. */
bool dp_sqlite_src_changed(const dp_sqlite_src *src);

typedef struct dp_pii_finding {
	char *table, *column;
	char *suggest; /* a transformer name */
	char *why;
} dp_pii_finding;

typedef struct dp_pii_report {
	dp_pii_finding *items;
	size_t n;
} dp_pii_report;

void dp_pii_report_free(dp_pii_report *rep);
/* Two lines per finding: the column, why, and the rule to add. */
char *dp_pii_report_text(const char *db, const dp_pii_report *rep);

/* Checks that every rule for db names an existing column and fits it, then
 * lists the columns that look personal and have no rule, no allow entry and
 * no masked parent. Returns -1 only for errors (bad rules, unreadable db). */
int dp_sqlite_pii_check(const dp_sqlite_src *src, const dp_spec *spec, const dp_db_spec *db, dp_pii_report *rep,
			dp_error **err);

typedef struct dp_clone_stats {
	uint64_t tables, rows, masked_columns;
} dp_clone_stats;

/* Writes a masked copy of src to dst_path (which must not exist), all of it
 * read in one read transaction, so it is one consistent state of production
 * even while production is being written. */
int dp_sqlite_clone(const dp_sqlite_src *src, const char *dst_path, const dp_spec *spec, const dp_db_spec *db,
		    const dp_mask_key *key, dp_clone_stats *stats, dp_error **err);

/* Calls fn with every distinct non-NULL value (as text) of every masked
 * column of db in production, and the rule that masks it; for the leak scan.
 * With copy (the snapshot's masked database), values that are also fakes in
 * the copy's same column are left out. fn returns nonzero to stop. */
typedef int (*dp_masked_value_fn)(void *user, const dp_mask_rule *rule, const char *text, size_t n);
int dp_sqlite_masked_values(const dp_sqlite_src *src, const dp_sqlite_src *copy, const dp_spec *spec,
			    const dp_db_spec *db, dp_masked_value_fn fn, void *user, dp_error **err);

#endif
