/* The store: where snapshots, sandboxes and their metadata live. One SQLite
 * database (WAL) holds every fact; directories hold bytes. A directory only
 * becomes part of the store when a committed transaction names it, so a crash
 * leaves at worst unreferenced directories, which `doppel check` removes.
 *
 * Layout under the store root:
 *   doppel.db                      metadata
 *   snapshots/<id>/                an immutable capture of production
 *   subsets/<id>/<tier>/           its databases' subsets for partial-copy tiers
 *   sandboxes/<name>/<layer>/      writable upper layers and checkpoints
 *   locks/<name>                   per-sandbox flock files
 *   tmp/                           objects being built (never referenced)
 *   mask.key                       the masking key (never in a snapshot)
 *   ca/                            the sandbox CA (src/endpoints/ca.c; key never in a sandbox)
 *   sandboxes/<name>/endpoints/    its API stand-ins' saved state (src/sandbox/endpoints.h)
 *   audit.log                      the hash-chained action log (src/ops/audit.h)
 *   access.yaml                    optional: who may do what (src/ops/policy.h)
 *   pg/                            the sandbox PostgreSQL cluster (src/data/pgcluster.h);
 *                                  its databases are named by snapshot_databases and
 *                                  derived from sandbox and checkpoint names */
#ifndef DOPPEL_STORE_STORE_H
#define DOPPEL_STORE_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

#define DP_STORE_SCHEMA_VERSION 5

typedef struct dp_store {
	char *root;
	int rootfd;
	sqlite3 *db;
	char **trash; /* dp_store_defer_remove's trees, relative to root */
	size_t n_trash;
	char **marks; /* dp_store_flush_mark's marks, for the detached flush */
	size_t n_marks;
} dp_store;

/* $DOPPEL_HOME, else ~/.local/share/doppel for a user, /var/lib/doppel for root. */
int dp_store_default_root(char **out, dp_error **err);
/* Opens (creating and migrating if needed) the store at root. */
int dp_store_open(const char *root, dp_store **out, dp_error **err);
void dp_store_close(dp_store *st);

/* Transactions: BEGIN IMMEDIATE, so writers queue instead of failing late. */
int dp_store_begin(dp_store *st, dp_error **err);
int dp_store_commit(dp_store *st, dp_error **err);
void dp_store_rollback(dp_store *st);
/* Runs SQL without results; for schema work and simple updates. */
int dp_store_exec(dp_store *st, const char *sql, dp_error **err);
/* A prepared statement or -1 with an error naming the SQL's purpose. */
int dp_store_prepare(dp_store *st, const char *sql, sqlite3_stmt **out, dp_error **err);
int dp_store_sql_error(dp_store *st, const char *what, dp_error **err);

/* A snapshot's PostgreSQL databases (table snapshot_databases): each
 * production.databases name with its full template in the sandbox cluster,
 * ordered by name. Free with dp_store_snapdbs_free. */
typedef struct dp_snapdb {
	char *name;   /* production.databases name */
	char *pgname; /* its template */
} dp_snapdb;
int dp_store_snapshot_dbs(dp_store *st, int64_t snap, dp_snapdb **out, size_t *n, dp_error **err);
/* The same for a sandbox of tier: a database the snapshot has a subset of
 * for that tier (tier column of snapshot_databases) names the subset's
 * template instead. */
int dp_store_tier_dbs(dp_store *st, int64_t snap, const char *tier, dp_snapdb **out, size_t *n, dp_error **err);
void dp_store_snapdbs_free(dp_snapdb *v, size_t n);

/* An exclusive, non-blocking lock on a named object; returns the fd holding
 * it or -1 with a "busy" usage error naming what holds it. */
int dp_store_lock(dp_store *st, const char *name, bool shared, dp_error **err);

/* Trees no record names any more (a reset's old layer, a destroyed
 * sandbox moved to tmp/) are removed in the background, and only once the
 * transaction that dropped them is on disk: a power loss must not bring
 * back a record naming a half-removed tree. dp_store_defer_remove queues
 * one (call it after the commit). dp_store_remove_deferred starts one
 * detached process that removes the queue; durable says the caller has
 * just synced every commit (the audit head's synchronous=FULL commit),
 * else it syncs the WAL first. The service layer calls it once the action
 * is recorded, dp_store_close for anything left. A crash before that
 * leaves the trees to `doppel check`. */
void dp_store_defer_remove(dp_store *st, const char *rel);
void dp_store_remove_deferred(dp_store *st, bool durable);
/* The detached remover: the store's directory is fd 3, argv[2..] the trees
 * relative to it, after any --flush=MARK (flush.c). main() of doppel and
 * doppeld call it when argv[1] is DP_STORE_REMOVER_ARG; it returns the exit
 * status. */
#define DP_STORE_REMOVER_ARG "--internal-remove-trees"
int dp_store_remover_main(int argc, char **argv);

/* Trees written without an fsync per file (snapshots, checkpoint layers;
 * flush.c). dp_store_flush_mark makes the mark to store in the record's
 * `unflushed` column and queues it: the detached process started by
 * dp_store_remove_deferred syncs the store's file system, then clears it
 * (dp_store_flush_marks). dp_store_mark_lost says a mark was made on an
 * earlier boot, i.e. the machine went down before the tree was on disk. */
#define DP_STORE_MARK_MAX 64
int dp_store_flush_mark(dp_store *st, char mark[DP_STORE_MARK_MAX], dp_error **err);
bool dp_store_mark_lost(const char *mark);
int dp_store_flush_marks(int storefd, char **marks, size_t n);

/* The project's masking key, created on first use. */
int dp_store_mask_key(dp_store *st, unsigned char key[32], dp_error **err);
/* Names of sandboxes, checkpoints: [a-z0-9][a-z0-9-]{0,62}. */
int dp_check_name(const char *what, const char *name, dp_error **err);

#endif
