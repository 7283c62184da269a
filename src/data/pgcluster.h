/* The sandbox PostgreSQL cluster (issue 7): doppel's own server for sandbox
 * databases, never production's. initdb'd into <store>/pg on first use,
 * started on demand by doppel (pg_ctl), listening on a Unix socket only
 * (<store>/pg/run/.s.PGSQL.PORT; no TCP), so a sandbox reaches it only when
 * its run binds that directory in. As root it runs as the system user
 * 'postgres' (PostgreSQL refuses to run as root); rootless as the user.
 * Each snapshot's masked copy of a production database is a template
 * database; each sandbox gets its own database, created from the template,
 * and its own login role that may connect to nothing else; reset drops and
 * recreates it from the template, a checkpoint makes a template of it.
 *
 * Who may connect (pg_hba.conf, written by doppel): over the socket only,
 * always with a SCRAM password; the superuser 'doppel' (doppel itself; its
 * password is <store>/pg/admin.pw, 0600, never in a sandbox) to anything,
 * every other role only to the database of its own name ('sameuser'). A
 * sandbox's role is named like its database, so it reaches that one and
 * nothing else, whatever it learns of other names. Peer authentication is
 * not used: a sandbox's processes have the caller's host uid (rootless) or
 * host uid 0 (root), so the kernel would vouch for them as for doppel.
 *
 * Ownership: the masked copy is written by the role 'doppel_data' (a
 * superuser role nobody logs in as; the clone's connection sets it), so a
 * sandbox's database can hand every object to the sandbox's role with one
 * REASSIGN OWNED (the bootstrap superuser's objects cannot be reassigned).
 *
 * Names: every object doppel makes is "doppel_..." and at most 63 bytes (a
 * longer name keeps its first 46 bytes and a hash of the rest), with a
 * comment saying whom it belongs to, which `doppel check` reads to judge one
 * no store record names. */
#ifndef DOPPEL_DATA_PGCLUSTER_H
#define DOPPEL_DATA_PGCLUSTER_H

#include <stdbool.h>
#include <stdint.h>


#include "util/dl-pq.h"
#include "util/error.h"

#define DP_PGC_PORT 5432
/* The role whose objects a sandbox's database hands to the sandbox's role. */
#define DP_PGC_DATA_ROLE "doppel_data"

typedef struct dp_pgc {
	char *dir;      /* <store>/pg */
	char *sockdir;  /* <store>/pg/run */
	unsigned port;  /* socket name's number */
	char *password; /* the superuser's */
	char *bindir;   /* the server's programs */
	int version;    /* server version, e.g. 150013 */
} dp_pgc;

/* initdb when needed, start when not running; waits until it accepts. */
int dp_pgc_open(const char *store_root, dp_pgc *out, dp_error **err);
int dp_pgc_stop(const char *store_root, dp_error **err);
void dp_pgc_clear(dp_pgc *c);
/* Has the store a cluster (initdb'd once)? Is it accepting connections? */
bool dp_pgc_exists(const char *store_root);
bool dp_pgc_running(const char *store_root);
/* A conninfo for the cluster's superuser on database dbname (malloc'd). */
char *dp_pgc_admin_conninfo(const dp_pgc *c, const char *dbname);
/* Same, writing as DP_PGC_DATA_ROLE: the destination of a clone. */
char *dp_pgc_data_conninfo(const dp_pgc *c, const char *dbname);

/* A superuser connection to dbname ("postgres" for cluster-wide work), with
 * notices kept off the terminal. */
PGconn *dp_pgc_connect(const dp_pgc *c, const char *dbname, dp_error **err);
/* Runs one statement (printf-style; quote identifiers with dp_pgc_ident);
 * an error names the statement's first words and the server's message. */
int dp_pgc_exec(PGconn *conn, dp_error **err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Runs a query with text parameters; NULL with *err unless it returned rows. */
PGresult *dp_pgc_query(PGconn *conn, const char *sql, int n, const char *const *params, dp_error **err);
/* "name" quoted as an SQL identifier (malloc'd). */
char *dp_pgc_ident(const char *name);

/* Database names doppel owns in the cluster, all prefixed "doppel_":
 * doppel_s<ID>_<db> (snapshot templates), doppel_b_<sandbox>_<db> (a
 * sandbox's database, and its role), doppel_c_<sandbox>_<label>_<db>
 * (checkpoints), doppel_t<pid>_<db> (a copy being built by process pid),
 * doppel_u<ID>_<tier>_<db>_<hash> (a snapshot's subset template for a
 * `data: subset` tier) and doppel_v<pid>_<tier>_<db>_<hash> (one being built). */
char *dp_pgc_snapshot_db(int64_t snap, const char *db);
char *dp_pgc_subset_db(int64_t snap, const char *tier, const char *db);
char *dp_pgc_subset_build_db(int pid, const char *tier, const char *db);
char *dp_pgc_sandbox_db(const char *sandbox, const char *db);
char *dp_pgc_checkpoint_db(const char *sandbox, const char *label, const char *db);
char *dp_pgc_build_db(int pid, const char *db);

/* Creates an empty database to clone into (UTF8, C collation, from
 * template0), commented as being built by this process. */
int dp_pgc_create_build_db(PGconn *conn, const char *name, dp_error **err);
/* DROP DATABASE IF EXISTS ... WITH (FORCE). */
int dp_pgc_drop_db(PGconn *conn, const char *name, dp_error **err);
/* The comment of a database, or NULL when it does not exist (*exists false). */
int dp_pgc_db_comment(PGconn *conn, const char *name, bool *exists, char **comment, dp_error **err);

#endif
