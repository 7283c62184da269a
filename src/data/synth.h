/* Synthetic rows: `doppel synth` fills a table of a sandbox's copy of a
 * database with generated rows that keep the table's rules (column types,
 * NOT NULL, UNIQUE, foreign keys) and look like the rest of the masked data,
 * because the values come from the masking transformers themselves: a column
 * with a masking rule gets values in that rule's format, one whose name
 * looks personal gets the transformer pii-check would suggest, the rest get
 * values by declared type. Deterministic: the same seed, key and database
 * give the same rows. This file knows nothing of sandboxes or layers; the
 * caller hands it an open, writable database. */
#ifndef DOPPEL_DATA_SYNTH_H
#define DOPPEL_DATA_SYNTH_H

#include <sqlite3.h>
#include <stdint.h>

#include "data/transform.h"
#include "spec/spec.h"
#include "util/error.h"

#define DP_SYNTH_MAX_ROWS 10000000
#define DP_SYNTH_ATTEMPTS 64 /* tries per row before a UNIQUE or CHECK failure is final */

typedef struct dp_synth_opts {
	const dp_spec *spec;     /* masking rules (may be NULL) */
	const char *db;          /* the database's name in doppel.yaml */
	const char *path;        /* the file, for messages */
	const char *table;
	uint64_t rows;           /* 1 .. DP_SYNTH_MAX_ROWS */
	uint64_t seed;
	const dp_mask_key *key;  /* the transformers' key */
} dp_synth_opts;

/* Inserts o->rows generated rows into o->table of db in one transaction:
 * all of them, or (on any error) none. A missing or virtual table is a usage
 * error; a foreign key to an empty table, or a UNIQUE or CHECK constraint no
 * generated value satisfies within DP_SYNTH_ATTEMPTS tries, is an error that
 * names the column or the constraint. */
int dp_synth(sqlite3 *db, const dp_synth_opts *o, dp_error **err);

#endif
