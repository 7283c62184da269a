/* Subsets of a database for partial-copy tiers (subset.TIER in doppel.yaml):
 * the rows a WHERE selects, the rows referencing them, and every row those
 * reference, so referential integrity holds. See subset.c for the rules. */
#ifndef DOPPEL_DATA_SUBSET_H
#define DOPPEL_DATA_SUBSET_H

#include <stdbool.h>
#include <stdint.h>

#include "spec/spec.h"
#include "util/error.h"

typedef struct dp_subset_stats {
	uint64_t tables, rows, rows_before;
} dp_subset_stats;

/* copy_uri: the full (masked) copy, as an SQLite URI opened read-only;
 * wal: the copy is in WAL mode (so is the subset); dst_path must not exist. Fails if the result would break a foreign key. */
int dp_sqlite_subset(const char *copy_uri, const char *copy_path, bool wal, const char *dst_path, const dp_spec *spec,
		     const dp_db_spec *db, const char *tier, dp_subset_stats *st, dp_error **err);

#endif
