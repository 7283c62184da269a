/* The sandbox PostgreSQL cluster (issue 7): doppel's own server for sandbox
 * databases, never production's. initdb'd into <store>/pg on first use,
 * started on demand by doppel (pg_ctl), listening on a Unix socket only
 * (<store>/pg/run/.s.PGSQL.PORT; no TCP), so a sandbox reaches it only when
 * its run binds that directory in. As root it runs as the system user
 * 'postgres' (PostgreSQL refuses to run as root); rootless as the user.
 * Each snapshot's masked copy of a production database is a template
 * database; each sandbox gets its own database, created from the template,
 * and its own login role that may connect to nothing else; reset drops and
 * recreates it from the template, a checkpoint makes a template of it. */
#ifndef DOPPEL_DATA_PGCLUSTER_H
#define DOPPEL_DATA_PGCLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

typedef struct dp_pgc {
	char *dir;      /* <store>/pg */
	char *sockdir;  /* <store>/pg/run */
	unsigned port;  /* socket name's number */
} dp_pgc;

/* initdb when needed, start when not running; waits until it accepts. */
int dp_pgc_open(const char *store_root, dp_pgc *out, dp_error **err);
int dp_pgc_stop(const char *store_root, dp_error **err);
void dp_pgc_clear(dp_pgc *c);
/* A conninfo for the cluster's superuser on database dbname (malloc'd). */
char *dp_pgc_admin_conninfo(const dp_pgc *c, const char *dbname);

/* Database names doppel owns in the cluster, all prefixed "doppel_":
 * doppel_s<ID>_<db> (snapshot templates), doppel_b_<sandbox>_<db> (a
 * sandbox's database), doppel_c_<sandbox>_<label>_<db> (checkpoints). */
char *dp_pgc_snapshot_db(int64_t snap, const char *db);
char *dp_pgc_sandbox_db(const char *sandbox, const char *db);
char *dp_pgc_checkpoint_db(const char *sandbox, const char *label, const char *db);

#endif
