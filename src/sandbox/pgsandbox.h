/* A sandbox's PostgreSQL databases (issue 7): one database per `postgres:`
 * database of its snapshot, in the store's sandbox cluster
 * (data/pgcluster.h), named doppel_b_<sandbox>_<db> and owned by a login
 * role of the same name whose password is the sandbox's (sandboxes.pg_password).
 *
 * Crash safety: the store says what a sandbox's databases should hold (its
 * snapshot, base checkpoint and generation); each database's comment says
 * what it holds ("doppel sandbox NAME gen N", written last). Whoever holds
 * the sandbox's lock settles the difference (dp_pgsb_settle): a database
 * whose comment is not the sandbox's generation is dropped and made again
 * from the base checkpoint's database or the snapshot's template (for a
 * `data: subset` tier, the snapshot's subset template of that tier when it
 * has one: dp_store_tier_dbs). So reset
 * commits the store first and then settles; a crash in between is settled
 * by the next run, reset or check. Checkpoint databases are built before
 * the checkpoint's record is committed; what no record names is garbage
 * that dp_pgsb_check drops. */
#ifndef DOPPEL_SANDBOX_PGSANDBOX_H
#define DOPPEL_SANDBOX_PGSANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isolate/plan.h"
#include "sandbox/sandbox.h"
#include "spec/spec.h"
#include "store/check.h"
#include "store/store.h"
#include "util/error.h"

/* Where a run finds the server when production's conninfo names no socket
 * directory. */
#define DP_PGSB_DEFAULT_SOCKDIR "/run/postgresql"

/* A new sandbox role password (hex, malloc'd). */
char *dp_pgsb_new_password(void);

/* Makes sb's databases match the store (see above). Nothing to do, and no
 * cluster started, when its snapshot has no PostgreSQL database. password
 * NULL: sb's own. The caller holds the sandbox's lock. */
int dp_pgsb_settle(dp_store *st, const dp_sandbox *sb, const char *password, dp_error **err);
/* Copies sb's databases into checkpoint label's (before the checkpoint's
 * record is committed). */
int dp_pgsb_checkpoint(dp_store *st, const dp_sandbox *sb, const char *label, dp_error **err);
/* After a checkpoint's commit: sb's databases hold generation gen as they are. */
int dp_pgsb_restamp(dp_store *st, const dp_sandbox *sb, int64_t gen, dp_error **err);

/* Names of what belongs to sandbox name on snapshot snap: its databases
 * (and roles) unless only_checkpoints, and its checkpoints' databases.
 * NULL-terminated; free with dp_pgsb_names_free. */
char **dp_pgsb_names(dp_store *st, const char *name, int64_t snap, bool only_checkpoints, dp_error **err);
void dp_pgsb_names_free(char **names);
/* Drops those databases and roles (after the commit that unreferenced
 * them); failures are warnings: `doppel check` drops what is left. */
void dp_pgsb_drop(dp_store *st, char **names);

/* Drops snapshot snap's template databases (pruning, after its commit). */
void dp_pgsb_drop_templates(dp_store *st, char **pgnames);

/* Adds to a run's plan: the cluster's socket directory at production's
 * socket path (or DP_PGSB_DEFAULT_SOCKDIR), and PGHOST, PGPORT, PGDATABASE,
 * PGUSER, PGPASSWORD, DATABASE_URL (first database) and DATABASE_URL_<NAME>
 * (each). Settles the databases first. */
int dp_pgsb_plan(dp_store *st, const dp_spec *spec, const dp_sandbox *sb, dp_plan *plan, dp_error **err);

/* For the leak scan: after a CHECKPOINT (so what the sandbox wrote is in
 * the files, not only in the WAL), the directory of each of sb's databases
 * in the cluster's data directory (<store>/pg/data/base/<oid>), relative to
 * the store's root, with the doppel.yaml name it belongs to. Nothing, and no
 * cluster started, when its snapshot has no PostgreSQL database. */
typedef struct dp_pgsb_dir {
	char *db;  /* production.databases name */
	char *rel; /* "pg/data/base/16384" */
} dp_pgsb_dir;
int dp_pgsb_dirs(dp_store *st, const dp_sandbox *sb, dp_pgsb_dir **out, size_t *n, dp_error **err);
void dp_pgsb_dirs_free(dp_pgsb_dir *v, size_t n);

/* `doppel check`: drops doppel_* databases and roles no record names (and
 * no live process is building), under the locks of what they belong to;
 * with repair, settles each idle sandbox; reports missing templates. */
int dp_pgsb_check(dp_store *st, bool repair, dp_check_report *rep, dp_error **err);

#endif
