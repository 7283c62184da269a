/* PostgreSQL databases of production on their way into a snapshot (issue 7):
 * read with libpq in one REPEATABLE READ READ ONLY transaction whose snapshot
 * is exported, so the schema (pg_dump --snapshot) and every table's rows
 * (COPY ... TO STDOUT on parallel connections that import the same snapshot)
 * come from one instant while production keeps taking writes; masked row by
 * row in C with the same transformers and key as SQLite (data/transform.c),
 * streamed straight into the target database with COPY FROM STDIN, so no
 * unmasked copy ever touches a disk. Production is never written. */
#ifndef DOPPEL_DATA_POSTGRES_H
#define DOPPEL_DATA_POSTGRES_H

#include <stdint.h>

#include "data/sqlite.h" /* dp_pii_report, dp_clone_stats, dp_masked_value_fn */
#include "data/subset.h" /* dp_subset_stats */
#include "data/transform.h"
#include "spec/spec.h"
#include "util/error.h"

/* The conninfo to reach production's database db: the doppel.yaml conninfo
 * plus the password from password_file (relative to doppel.yaml's
 * directory) or password_env when given; never logged, never written to the
 * store. malloc'd: wipe it (sodium_memzero) and free it. */
int dp_pg_prod_conninfo(const dp_spec *spec, const dp_db_spec *db, char **out, dp_error **err);

/* Checks that every rule for db names an existing column (schema.table.column
 * or table.column for the public schema) and fits its type, then lists the
 * columns that look personal and have no rule, no allow entry and no masked
 * parent (names and sampled values, as data/pii.c judges them). */
int dp_pg_pii_check(const char *prod_conninfo, const dp_spec *spec, const dp_db_spec *db, dp_pii_report *rep,
		    dp_error **err);

/* Copies production's database into dst_conninfo's database (which exists and
 * is empty): schema pre-data, rows masked while streaming on `jobs` parallel
 * connections (0: 2), sequences' values, then post-data (indexes,
 * constraints, triggers). Large objects are skipped with a warning. */
int dp_pg_clone(const char *prod_conninfo, const char *dst_conninfo, const dp_spec *spec, const dp_db_spec *db,
		const dp_mask_key *key, unsigned jobs, dp_clone_stats *stats, dp_error **err);

/* Cuts tier's subset of db (subset.TIER rules, same semantics as
 * dp_sqlite_subset) in place: conninfo is a database of doppel's own
 * cluster, a fresh copy of the snapshot's full masked template, which
 * loses every row the subset does not keep. Never production. Fails, with
 * nothing promised about the database, when a rule names no table, a WHERE
 * does not run, or the result would break a validated foreign key. */
int dp_pg_subset(const char *conninfo, const dp_spec *spec, const dp_db_spec *db, const char *tier,
		 dp_subset_stats *st, dp_error **err);

/* Every distinct non-NULL production value of every masked column of db, as
 * text, for the leak scan (same contract as dp_sqlite_masked_values; copy_conninfo,
 * when given, is the snapshot's masked database whose fakes are left out). */
int dp_pg_masked_values(const char *prod_conninfo, const char *copy_conninfo, const dp_spec *spec,
			const dp_db_spec *db, dp_masked_value_fn fn, void *user, dp_error **err);

#endif
