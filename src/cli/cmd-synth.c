/* `doppel synth NAME DB.TABLE --rows N [--seed S]`: fill a table of a
 * sandbox's copy of a production database with generated rows that keep
 * the table's types, NOT NULL, UNIQUE and foreign keys (src/data/synth.c
 * makes them). The database is edited in the sandbox's own upper layer,
 * copied up from the layer below first as overlayfs would do it
 * (src/sandbox/copyup.c), while the sandbox's run lock keeps every command
 * out of it; production, the snapshot and the checkpoints are only read.
 * Without --seed a random seed is used; the output names it, so the same
 * rows can be made again. Runs inside the ops frame (dp_ops_begin/end:
 * policy check and audit record) until its core moves under src/ops. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "data/synth.h"
#include "sandbox/copyup.h"
#include "sandbox/sandbox.h"
#include "util/cleanup.h"
#include "util/parse.h"

#define USAGE "a sandbox NAME, DB.TABLE and --rows N [--seed S]"

/* SQLite's files beside a database: copied up with it, hidden after. */
static const char *const sqlite_sides[] = { "-wal", "-journal", "-shm", NULL };

typedef struct synth_args {
	const char *name, *target, *table;
	const dp_db_spec *db;
	uint64_t rows, seed;
} synth_args;

static int parse_numbers(const char *rows_s, const char *seed_s, synth_args *a, dp_error **err)
{
	if (rows_s == NULL)
		return dp_usage(err, "synth: expected --rows N (1 to %d); usage: %s", DP_SYNTH_MAX_ROWS, USAGE);
	if (dp_parse_uint("--rows", rows_s, 1, DP_SYNTH_MAX_ROWS, &a->rows, err) < 0)
		return -1;
	if (seed_s)
		return dp_parse_uint("--seed", seed_s, 0, UINT64_MAX, &a->seed, err);
	if (getrandom(&a->seed, sizeof(a->seed), 0) != (ssize_t)sizeof(a->seed))
		return dp_fail_errno(err, "synth: pick a random seed");
	a->seed >>= 1; /* printable as a whole number --seed takes back */
	return 0;
}

static int no_database(const dp_spec *spec, const char *target, size_t len, dp_error **err)
{
	char list[512] = "";

	for (size_t i = 0; i < spec->n_dbs; i++)
		if (spec->dbs[i].sqlite && strlen(list) + strlen(spec->dbs[i].name) + 3 < sizeof(list)) {
			if (list[0])
				strcat(list, ", ");
			strcat(list, spec->dbs[i].name);
		}
	return dp_usage(err, "synth: no SQLite database named '%.*s' in production.databases of %s (it has: %s)",
			(int)len, target, spec->file, list[0] ? list : "none");
}

/* DB.TABLE: DB names an SQLite entry of production.databases. */
static int parse_target(const dp_spec *spec, synth_args *a, dp_error **err)
{
	const char *dot = strchr(a->target, '.');
	size_t len = dot ? (size_t)(dot - a->target) : 0;

	if (dot == NULL || len == 0 || dot[1] == '\0')
		return dp_usage(err, "synth: expected DB.TABLE (a database of production.databases and one of its "
				     "tables, such as main.customers), got '%s'",
				a->target);
	a->table = dot + 1;
	for (size_t i = 0; i < spec->n_dbs; i++) {
		const dp_db_spec *db = &spec->dbs[i];
		if (strlen(db->name) != len || strncmp(db->name, a->target, len) != 0)
			continue;
		if (db->sqlite == NULL)
			return dp_usage(err, "synth: database %s is not an SQLite database; synth fills SQLite databases",
					db->name);
		a->db = db;
		return 0;
	}
	return no_database(spec, a->target, len, err);
}

/* The run lock, with "busy" saying who may hold it. */
static int lock_sandbox(dp_store *st, const char *name, dp_error **err)
{
	dp_sandbox sb;
	dp_error *e = NULL;
	int fd = dp_sandbox_lock_run(st, name, err);

	if (fd >= 0 || (*err)->status != DP_EXIT_USAGE)
		return fd;
	if (dp_sandbox_get(st, name, &sb, &e) < 0) {
		dp_error_free(&e);
		return -1; /* there is no such sandbox: that error stands */
	}
	dp_sandbox_clear(&sb);
	dp_error_free(err);
	return dp_usage(err, "sandbox %s is busy: a command runs in it or another doppel command changes it; try "
			     "again when it is done",
			name);
}

static int open_db(const char *path, const char *rel, sqlite3 **db, dp_error **err)
{
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		dp_fail(err, 0, "%s: open: %s", rel, *db ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(*db, 10000);
	sqlite3_extended_result_codes(*db, 1);
	/* one big transaction: a cache that holds it saves rereading pages */
	sqlite3_exec(*db, "PRAGMA cache_size=-131072", NULL, NULL, NULL);
	return 0;
}

static int insert_rows(dp_cli *cli, const char *path, const synth_args *a, const dp_mask_key *key, dp_error **err)
{
	sqlite3 *db = NULL;
	dp_synth_opts o = { .spec = cli->spec, .db = a->db->name, .path = a->db->sqlite, .table = a->table,
			    .rows = a->rows, .seed = a->seed, .key = key };
	int r = open_db(path, a->db->sqlite, &db, err);

	if (r == 0)
		r = dp_synth(db, &o, err);
	if (db && sqlite3_close(db) != SQLITE_OK && r == 0)
		r = dp_fail(err, 0, "%s: close: %s", a->db->sqlite, sqlite3_errmsg(db));
	return r;
}

/* Copy up, insert, settle; on any failure the upper layer is put back. */
static int fill(dp_cli *cli, const dp_sandbox *sb, const synth_args *a, dp_error **err)
{
	dp_mask_key key;
	dp_copyup cu;
	int r;

	if (dp_store_mask_key(cli->store, key.k, err) < 0)
		return -1;
	r = dp_copyup_open(cli->store, sb, a->db->sqlite, sqlite_sides, &cu, err);
	if (r == 0)
		r = insert_rows(cli, cu.path, a, &key, err);
	if (r == 0)
		r = dp_copyup_settle(&cu, err);
	if (r < 0)
		dp_copyup_undo(&cu);
	dp_copyup_close(&cu);
	sodium_memzero(&key, sizeof(key));
	return r;
}

int cmd_synth(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *pos[2] = { NULL, NULL }, *rows_s = NULL, *seed_s = NULL;
	const dp_cli_opt opts[] = { { "--rows", NULL, &rows_s }, { "--seed", NULL, &seed_s }, { NULL, NULL, NULL } };
	synth_args a = { 0 };
	dp_sandbox sb = { 0 };
	cleanup_close int lock = -1;
	dp_ops_guard g;
	char seed[24];
	dp_cli cli;
	int r = -1;

	if (dp_cli_parse(argc, argv, opts, &config, pos, 2, 2, USAGE, err) < 0 ||
	    parse_numbers(rows_s, seed_s, &a, err) < 0 || dp_check_name("sandbox name", pos[0], err) < 0)
		return -1;
	a.name = pos[0];
	a.target = pos[1];
	if (dp_cli_open(config, &cli, err) < 0)
		return -1;
	snprintf(seed, sizeof(seed), "%" PRIu64, a.seed);
	if (dp_ops_begin(&cli.ops, &cli.actor, DP_ACT_SYNTH, a.name,
			 json_pack("{s:s, s:I, s:s}", "table", a.target, "rows", (json_int_t)a.rows, "seed", seed), &g,
			 err) < 0) {
		dp_cli_close(&cli);
		return -1;
	}
	if (parse_target(cli.spec, &a, err) < 0 || (lock = lock_sandbox(cli.store, a.name, err)) < 0 ||
	    dp_sandbox_get(cli.store, a.name, &sb, err) < 0)
		goto out;
	if (fill(&cli, &sb, &a, err) < 0) {
		dp_wrap(err, "sandbox %s", a.name);
		goto out;
	}
	printf("sandbox %s: added %" PRIu64 " row%s to %s (seed %" PRIu64 ")\n", a.name, a.rows, a.rows == 1 ? "" : "s",
	       a.target, a.seed);
	r = 0;
out:
	if (lock >= 0 && ftruncate(lock, 0) < 0 && r == 0)
		r = dp_fail_errno(err, "clear the run lock of %s", a.name);
	r = dp_ops_end(&g, r, err);
	dp_sandbox_clear(&sb);
	dp_cli_close(&cli);
	return r;
}
