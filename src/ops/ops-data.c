/* The service layer's actions on a sandbox's data: the leak scan (is any
 * value of a masked production column inside the sandbox?) and synth
 * (generated rows in the sandbox's copy of a database). Each runs in the
 * ops frame (ops.c: policy check, audit record) and returns its result as
 * JSON, which `doppel scan|synth` print locally and doppeld sends back.
 *
 * scan: every value of every masked column is read from production
 * (read-only) and searched for in every byte of every layer of the sandbox:
 * its snapshot, its checkpoints and its writable layer, databases and all
 * other files alike. Text is matched case-insensitively; phone and card
 * numbers by their digits, whatever the separators. A leak is reported by
 * file, offset and column, never by the value itself (which would leak it
 * into a log or an API answer). A PostgreSQL database's files are the
 * sandbox's database's directory in the store's cluster, read after a
 * CHECKPOINT. Values shorter than min_length (default 5) and numbers of
 * fewer than 7 digits are not searched: they turn up by chance in any
 * binary file.
 *
 * synth: the database is edited in the sandbox's own upper layer, copied up
 * from the layer below first as overlayfs would do it (sandbox/copyup.c),
 * while the sandbox's run lock keeps every command out of it; production,
 * the snapshot and the checkpoints are only read. */
#include "ops/ops.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <sodium.h>

#include "data/matcher.h"
#include "data/postgres.h"
#include "data/scan.h"
#include "data/sqlite.h"
#include "data/synth.h"
#include "sandbox/copyup.h"
#include "sandbox/pgsandbox.h"
#include "sandbox/sandbox.h"
#include "util/cleanup.h"
#include "util/path.h"

/* --- scan ----------------------------------------------------------------- */

typedef struct patterns {
	dp_matcher *m;
	char **columns; /* id -> "db.table.column" */
	size_t n_columns;
	const char *db;
	uint64_t min_len, added, short_skipped;
	dp_error *err;
} patterns;

typedef struct leaks {
	patterns *p;
	const char *layer;
	const char *root; /* production.root: paths are shown as the sandbox sees them */
	json_t *json;
} leaks;

static uint32_t column_id(patterns *p, const dp_mask_rule *r)
{
	char *ref = NULL;

	if (asprintf(&ref, "%s.%s.%s", p->db, r->table, r->column) < 0)
		abort();
	for (size_t i = 0; i < p->n_columns; i++)
		if (strcmp(p->columns[i], ref) == 0) {
			free(ref);
			return (uint32_t)i;
		}
	p->columns = realloc(p->columns, (p->n_columns + 1) * sizeof(char *));
	if (p->columns == NULL)
		abort();
	p->columns[p->n_columns] = ref;
	return (uint32_t)p->n_columns++;
}

static int add_value(void *user, const dp_mask_rule *r, const char *text, size_t n)
{
	patterns *p = user;
	uint32_t id = column_id(p, r);
	size_t digits = 0, letters = 0;
	bool searched = false;

	for (size_t i = 0; i < n; i++) {
		digits += isdigit((unsigned char)text[i]) != 0;
		letters += isalpha((unsigned char)text[i]) != 0;
	}
	if ((r->kind == DP_MASK_PHONE || r->kind == DP_MASK_CARD || r->kind == DP_MASK_IBAN) && digits >= 7) {
		if (dp_matcher_add(p->m, text, n, DP_MATCH_DIGITS, id, &p->err) < 0)
			return -1;
		searched = true;
	}
	/* a short number (a postal code, an amount) turns up by chance in any
	 * binary file; below 7 digits it proves nothing */
	if (n >= p->min_len && (letters > 0 || digits >= 7)) {
		if (dp_matcher_add(p->m, text, n, DP_MATCH_TEXT, id, &p->err) < 0)
			return -1;
		searched = true;
	}
	if (searched)
		p->added++;
	else
		p->short_skipped++;
	return 0;
}

/* "file" is the path as a person finds it (in production's view of the
 * sandbox, or in the store's cluster): the CLI's text line shows it. */
static int on_leak(void *user, const char *path, uint64_t offset, uint32_t id)
{
	leaks *l = user;
	const char *col = id < l->p->n_columns ? l->p->columns[id] : "?";
	cleanup_free char *file = NULL;

	/* dp_scan_tree takes any other answer for "stop here", silently */
	if (asprintf(&file, "%s/%s", l->root, path) < 0)
		abort();
	json_array_append_new(l->json, json_pack("{ss ss ss sI ss}", "layer", l->layer, "path", path, "column", col,
						 "offset", (json_int_t)offset, "file", file));
	return 0;
}

/* The snapshot's masked copy of db, to tell fakes from leaks. */
static int open_copy(dp_store *st, const dp_sandbox *sb, const dp_db_spec *db, int *snapfd, dp_sqlite_src *copy)
{
	char rel[64];
	dp_error *e = NULL;

	dp_snapshot_dir(sb->snapshot, rel, sizeof(rel));
	*snapfd = openat(st->rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*snapfd < 0 || dp_sqlite_src_open(*snapfd, rel, db->sqlite, copy, &e) < 0) {
		dp_error_free(&e);
		return -1;
	}
	return 0;
}

/* A value callback's own error, when it set one, is the one that counts. */
static int values_failed(patterns *p, dp_error **err)
{
	if (p->err) {
		dp_error_free(err);
		*err = p->err;
		p->err = NULL;
	}
	return -1;
}

/* Every masked value of every production database into p->m. */
static int scan_patterns(dp_ops *o, const dp_sandbox *sb, int prodfd, patterns *p, dp_error **err)
{
	for (size_t i = 0; i < o->spec->n_dbs; i++) {
		const dp_db_spec *db = &o->spec->dbs[i];
		dp_sqlite_src src, copy;
		int snapfd = -1, cr;
		bool have_copy;

		if (db->postgres) {
			/* no fakes to leave out: the snapshot's template takes no
			 * connections, and the sandbox's own database is what is
			 * being judged */
			char *ci = NULL;
			p->db = db->name;
			cr = dp_pg_prod_conninfo(o->spec, db, &ci, err);
			if (cr == 0)
				cr = dp_pg_masked_values(ci, NULL, o->spec, db, add_value, p, err);
			if (ci) {
				sodium_memzero(ci, strlen(ci));
				free(ci);
			}
			if (cr < 0)
				return values_failed(p, err);
			continue;
		}
		if (dp_sqlite_src_open(prodfd, o->spec->root, db->sqlite, &src, err) < 0) {
			dp_sqlite_src_close(&src);
			return -1;
		}
		have_copy = open_copy(o->store, sb, db, &snapfd, &copy) == 0;
		p->db = db->name;
		cr = dp_sqlite_masked_values(&src, have_copy ? &copy : NULL, o->spec, db, add_value, p, err);
		dp_sqlite_src_close(&src);
		if (have_copy)
			dp_sqlite_src_close(&copy);
		if (snapfd >= 0)
			close(snapfd);
		if (cr < 0)
			return values_failed(p, err);
	}
	return dp_matcher_build(p->m, err);
}

/* One tree of the store (rel) through the matcher. */
static int scan_rel(dp_store *st, const char *rel, patterns *p, leaks *l, dp_scan_stats *stats, dp_error **err)
{
	cleanup_close int fd = openat(st->rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return dp_fail_errno(err, "%s/%s", st->root, rel);
	l->layer = rel;
	return dp_scan_tree(fd, p->m, on_leak, l, stats, err);
}

/* The sandbox's PostgreSQL databases (their files in the store's cluster),
 * then its writable layer and each lower one, top to bottom. */
static int scan_layers(dp_ops *o, const dp_sandbox *sb, patterns *p, leaks *l, dp_scan_stats *stats, dp_error **err)
{
	dp_pgsb_dir *pgdirs = NULL;
	size_t n_pgdirs = 0;
	char **lowers;
	char upper[600];
	int r = -1;

	lowers = dp_sandbox_lowers(o->store, sb, err);
	if (lowers == NULL)
		return -1;
	if (dp_pgsb_dirs(o->store, sb, &pgdirs, &n_pgdirs, err) < 0)
		goto out;
	for (size_t i = 0; i < n_pgdirs; i++) {
		char pgroot[PATH_MAX];
		snprintf(pgroot, sizeof(pgroot), "%s/%s", o->store->root, pgdirs[i].rel);
		l->root = pgroot;
		if (scan_rel(o->store, pgdirs[i].rel, p, l, stats, err) < 0)
			goto out;
	}
	l->root = o->spec->root;
	snprintf(upper, sizeof(upper), "sandboxes/%s/%s", sb->name, sb->upper);
	if (scan_rel(o->store, upper, p, l, stats, err) < 0)
		goto out;
	for (char **x = lowers; *x; x++)
		if (scan_rel(o->store, *x, p, l, stats, err) < 0)
			goto out;
	r = 0;
out:
	l->layer = NULL;
	for (char **x = lowers; *x; x++)
		free(*x);
	free(lowers);
	dp_pgsb_dirs_free(pgdirs, n_pgdirs);
	return r;
}

static int scan_core(dp_ops *o, const char *name, uint64_t min_len, json_t **out, dp_error **err)
{
	cleanup_close int prodfd = -1;
	patterns p = { .min_len = min_len };
	leaks l = { .p = &p };
	dp_scan_stats stats = { 0 };
	dp_sandbox sb = { 0 };
	int r = -1;

	if (dp_sandbox_get(o->store, name, &sb, err) < 0)
		return -1;
	prodfd = dp_path_open_nofollow("production.root", o->spec->root, O_RDONLY | O_DIRECTORY, err);
	if (prodfd < 0)
		goto out;
	p.m = dp_matcher_new();
	l.json = json_array();
	if (p.m == NULL || l.json == NULL) {
		dp_fail(err, ENOMEM, "scan");
		goto out;
	}
	if (scan_patterns(o, &sb, prodfd, &p, err) < 0 || scan_layers(o, &sb, &p, &l, &stats, err) < 0)
		goto out;
	{
		json_t *cols = json_array();
		for (size_t i = 0; i < p.n_columns; i++)
			json_array_append_new(cols, json_string(p.columns[i]));
		*out = json_pack("{ss so so sI sI sI sI sI}", "sandbox", name, "columns", cols, "leaks", l.json,
				 "values", (json_int_t)p.added, "values_too_short", (json_int_t)p.short_skipped, "files",
				 (json_int_t)stats.files, "bytes", (json_int_t)stats.bytes, "unreadable",
				 (json_int_t)stats.unreadable);
		l.json = NULL;
	}
	r = *out ? 0 : dp_fail(err, ENOMEM, "scan");
out:
	json_decref(l.json);
	for (size_t i = 0; i < p.n_columns; i++)
		free(p.columns[i]);
	free(p.columns);
	dp_error_free(&p.err);
	dp_matcher_free(p.m);
	dp_sandbox_clear(&sb);
	return r;
}

int dp_ops_scan(dp_ops *o, const dp_actor *a, const char *name, uint64_t min_length, json_t **out, dp_error **err)
{
	dp_ops_guard g;

	*out = NULL;
	if (min_length == 0)
		min_length = DP_OPS_SCAN_MIN_LENGTH;
	if (min_length > DP_OPS_SCAN_MIN_LENGTH_MAX)
		return dp_usage(err, "min_length: expected 1 to %d, got %" PRIu64, DP_OPS_SCAN_MIN_LENGTH_MAX,
				min_length);
	/* the policy's word and the audit record around the whole scan */
	if (dp_ops_begin(o, a, DP_ACT_SCAN, name, json_pack("{s:I}", "min_length", (json_int_t)min_length), &g, err) <
	    0)
		return -1;
	return dp_ops_end(&g, scan_core(o, name, min_length, out, err), err);
}

/* --- synth ---------------------------------------------------------------- */

/* SQLite's files beside a database: copied up with it, hidden after. */
static const char *const sqlite_sides[] = { "-wal", "-journal", "-shm", NULL };

typedef struct synth_args {
	const char *name, *target, *table;
	const dp_db_spec *db;
	uint64_t rows, seed;
} synth_args;

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
	dp_usage(err, "sandbox %s is busy: a command runs in it or another doppel command changes it; try again when "
		      "it is done",
		 name);
	(*err)->errnum = EBUSY;
	return -1;
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

static int insert_rows(const dp_spec *spec, const char *path, const synth_args *a, const dp_mask_key *key,
		       dp_error **err)
{
	sqlite3 *db = NULL;
	dp_synth_opts o = { .spec = spec, .db = a->db->name, .path = a->db->sqlite, .table = a->table,
			    .rows = a->rows, .seed = a->seed, .key = key };
	int r = open_db(path, a->db->sqlite, &db, err);

	if (r == 0)
		r = dp_synth(db, &o, err);
	if (db && sqlite3_close(db) != SQLITE_OK && r == 0)
		r = dp_fail(err, 0, "%s: close: %s", a->db->sqlite, sqlite3_errmsg(db));
	return r;
}

/* Copy up, insert, settle; on any failure the upper layer is put back. */
static int fill(dp_ops *o, const dp_sandbox *sb, const synth_args *a, dp_error **err)
{
	dp_mask_key key;
	dp_copyup cu;
	int r;

	if (dp_store_mask_key(o->store, key.k, err) < 0)
		return -1;
	r = dp_copyup_open(o->store, sb, a->db->sqlite, sqlite_sides, &cu, err);
	if (r == 0)
		r = insert_rows(o->spec, cu.path, a, &key, err);
	if (r == 0)
		r = dp_copyup_settle(&cu, err);
	if (r < 0)
		dp_copyup_undo(&cu);
	dp_copyup_close(&cu);
	sodium_memzero(&key, sizeof(key));
	return r;
}

static int synth_core(dp_ops *o, synth_args *a, dp_error **err)
{
	cleanup_close int lock = -1;
	dp_sandbox sb = { 0 };
	int r = -1;

	if (parse_target(o->spec, a, err) < 0 || (lock = lock_sandbox(o->store, a->name, err)) < 0 ||
	    dp_sandbox_get(o->store, a->name, &sb, err) < 0)
		goto out;
	if (fill(o, &sb, a, err) < 0) {
		dp_wrap(err, "sandbox %s", a->name);
		goto out;
	}
	r = 0;
out:
	if (lock >= 0 && ftruncate(lock, 0) < 0 && r == 0)
		r = dp_fail_errno(err, "clear the run lock of %s", a->name);
	dp_sandbox_clear(&sb);
	return r;
}

int dp_ops_synth(dp_ops *o, const dp_actor *a, const char *name, const char *table, uint64_t rows,
		 const uint64_t *seed, json_t **out, dp_error **err)
{
	synth_args sa = { .name = name, .target = table, .rows = rows };
	dp_ops_guard g;
	char seed_s[24];

	*out = NULL;
	if (rows < 1 || rows > DP_SYNTH_MAX_ROWS)
		return dp_usage(err, "synth: rows: expected 1 to %d, got %" PRIu64, DP_SYNTH_MAX_ROWS, rows);
	if (seed) {
		sa.seed = *seed;
	} else {
		if (getrandom(&sa.seed, sizeof(sa.seed), 0) != (ssize_t)sizeof(sa.seed))
			return dp_fail_errno(err, "synth: pick a random seed");
		sa.seed >>= 1; /* printable as a whole number --seed takes back */
	}
	snprintf(seed_s, sizeof(seed_s), "%" PRIu64, sa.seed);
	if (dp_ops_begin(o, a, DP_ACT_SYNTH, name,
			 json_pack("{s:s, s:I, s:s}", "table", table, "rows", (json_int_t)rows, "seed", seed_s), &g,
			 err) < 0)
		return -1;
	if (dp_ops_end(&g, synth_core(o, &sa, err), err) < 0)
		return -1;
	*out = json_pack("{s:s, s:s, s:I, s:I}", "sandbox", name, "table", table, "rows", (json_int_t)rows, "seed",
			 (json_int_t)sa.seed);
	if (*out == NULL)
		return dp_fail(err, ENOMEM, "synth");
	return 0;
}
