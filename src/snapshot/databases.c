/* The databases of production in a snapshot: checked before a sync reads a
 * single file (strict masking stops it early, with nothing written), and
 * copied, masked, once the file walk is done: SQLite databases into the
 * snapshot's tree at their production paths, PostgreSQL databases into
 * template databases of the store's sandbox cluster (data/pgcluster.h),
 * built as doppel_t<pid>_<db> and renamed doppel_s<id>_<db> in the
 * snapshot's commit, so a crash leaves only databases no record names
 * (`doppel check` drops them). Subsets for `data: subset` tiers: SQLite's
 * into the subsets/ layer, PostgreSQL's as templates of their own, cut from
 * a copy of the full template (doppel_v<pid>_..., renamed doppel_u<id>_...
 * and recorded with their tier in the same commit). The work itself lives
 * in src/data/. */
#include "snapshot/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "data/pgcluster.h"
#include "data/postgres.h"
#include "data/sqlite.h"
#include "data/subset.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/path.h"

/* seconds since an arbitrary start, for the DOPPEL_DEBUG timings */
static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int dp_snapshot_check_databases(const dp_spec *spec, int prodfd, size_t *findings, dp_error **err)
{
	char *all = NULL;
	size_t n = 0;

	*findings = 0;
	for (size_t i = 0; i < spec->n_dbs; i++) {
		const dp_db_spec *db = &spec->dbs[i];
		dp_sqlite_src src;
		dp_pii_report rep;
		int r;

		if (db->postgres) {
			char *ci = NULL;
			double t0 = mono();
			memset(&rep, 0, sizeof(rep));
			r = dp_pg_prod_conninfo(spec, db, &ci, err);
			if (r == 0 && dp_pg_pii_check(ci, spec, db, &rep, err) < 0)
				r = dp_wrap(err, "database %s", db->name);
			dp_debug("database %s: strict PII check in %.2f s", db->name, mono() - t0);
			if (ci) {
				sodium_memzero(ci, strlen(ci));
				free(ci);
			}
			if (r < 0) {
				free(all);
				return -1;
			}
			goto found;
		}
		if (dp_sqlite_src_open(prodfd, spec->root, db->sqlite, &src, err) < 0) {
			dp_sqlite_src_close(&src);
			free(all);
			return dp_wrap(err, "%s: production.databases: %s", spec->file, db->name);
		}
		r = dp_sqlite_pii_check(&src, spec, db, &rep, err);
		dp_sqlite_src_close(&src);
		if (r < 0) {
			free(all);
			return -1;
		}
found:
		if (rep.n) {
			char *text = dp_pii_report_text(db->name, &rep);
			char *joined = NULL;
			if (asprintf(&joined, "%s%s", all ? all : "", text) < 0)
				abort();
			free(all);
			free(text);
			all = joined;
			n += rep.n;
		}
		dp_pii_report_free(&rep);
	}
	*findings = n;
	if (n && spec->mask_strict) {
		dp_usage(err,
			 "%s: masking.strict: %zu column%s look%s personal but %s no masking rule; nothing was synced:\n%s"
			 "add each to masking.rules (or, if it holds no personal data, to masking.allow)",
			 spec->file, n, n == 1 ? "" : "s", n == 1 ? "s" : "", n == 1 ? "has" : "have", all);
		free(all);
		return -1;
	}
	if (n)
		dp_warn("%s: masking.strict is off and %zu column%s that look personal %s copied unmasked:\n%s", spec->file,
			n, n == 1 ? "" : "s", n == 1 ? "is" : "are", all);
	free(all);
	return 0;
}

static void wipe_key(dp_mask_key *k)
{
	sodium_memzero(k, sizeof(*k));
}

int dp_snapshot_copy_databases(dp_store *st, const dp_spec *spec, int prodfd, int treefd, dp_sync_result *res,
			       dp_error **err)
{
	__attribute__((cleanup(wipe_key))) dp_mask_key key;

	if (spec->n_dbs == 0)
		return 0;
	if (dp_store_mask_key(st, key.k, err) < 0)
		return -1;
	for (size_t i = 0; i < spec->n_dbs; i++) {
		const dp_db_spec *db = &spec->dbs[i];
		const char *slash = db->sqlite ? strrchr(db->sqlite, '/') : NULL, *base = slash ? slash + 1 : db->sqlite;
		cleanup_close int dirfd = -1;
		char dst[PATH_MAX];
		dp_sqlite_src src;
		dp_clone_stats cs;
		struct timespec times[2];
		int r;

		if (db->postgres)
			continue; /* dp_snapshot_copy_pg */
		if (slash) {
			cleanup_free char *dir = strndup(db->sqlite, (size_t)(slash - db->sqlite));
			if (dir == NULL)
				return dp_fail(err, ENOMEM, "%s", db->sqlite);
			if (dp_mkdirs_in_root_nosym(treefd, dir, 0755) < 0)
				return dp_fail_errno(err, "snapshot: create %s", dir);
			dirfd = dp_open_in_root_nosym(treefd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		} else {
			dirfd = fcntl(treefd, F_DUPFD_CLOEXEC, 3);
		}
		if (dirfd < 0)
			return dp_fail_errno(err, "snapshot: open the directory of %s", db->sqlite);
		snprintf(dst, sizeof(dst), "/proc/self/fd/%d/%s", dirfd, base);
		/* the walk left no file here (databases are excluded from it) */
		if (unlinkat(dirfd, base, 0) < 0 && errno != ENOENT)
			return dp_fail_errno(err, "snapshot: %s", db->sqlite);
		for (int attempt = 0;; attempt++) {
			if (dp_sqlite_src_open(prodfd, spec->root, db->sqlite, &src, err) < 0) {
				dp_sqlite_src_close(&src);
				return -1;
			}
			r = dp_sqlite_clone(&src, dst, spec, db, &key, &cs, err);
			/* a writer came during an immutable read: once more; it
			 * keeps -wal now, so the next read takes part in locking */
			if (r < 0 || !dp_sqlite_src_changed(&src) || attempt == 3)
				break;
			dp_sqlite_src_close(&src);
			if (unlinkat(dirfd, base, 0) < 0)
				return dp_fail_errno(err, "snapshot: %s", db->sqlite);
		}
		if (r == 0 && dp_sqlite_src_changed(&src)) {
			dp_sqlite_src_close(&src);
			return dp_fail(err, EAGAIN, "database %s: production kept changing while it was read; try again",
				       db->name);
		}
		if (r == 0) {
			/* the copy looks like production's file: mode, owner, times */
			cleanup_close int fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			times[0] = src.st.st_atim;
			times[1] = src.st.st_mtim;
			if (fd < 0 || fchmod(fd, src.st.st_mode & 07777) < 0 || futimens(fd, times) < 0)
				r = dp_fail_errno(err, "snapshot: %s", db->sqlite);
			else if (geteuid() == 0 && fchown(fd, src.st.st_uid, src.st.st_gid) < 0)
				r = dp_fail_errno(err, "snapshot: chown %s", db->sqlite);
		}
		dp_sqlite_src_close(&src);
		if (r < 0)
			return dp_wrap(err, "database %s", db->name);
		res->databases++;
		res->db_rows += cs.rows;
		res->db_masked_columns += cs.masked_columns;
	}
	return 0;
}

/* Does this tier get a subset of db? Only tiers with `data: subset` and at
 * least one subset rule for the database; the rest see the full copy. */
static bool tier_subsets(const dp_spec *spec, const dp_tier *t, const dp_db_spec *db)
{
	if (t->data != DP_TIER_DATA_SUBSET)
		return false;
	for (size_t k = 0; k < spec->n_subsets; k++)
		if (strcmp(spec->subsets[k].tier, t->name) == 0 && strcmp(spec->subsets[k].db, db->name) == 0)
			return true;
	return false;
}

int dp_snapshot_subset_databases(const dp_spec *spec, int treefd, int subsetsfd, dp_sync_result *res, dp_error **err)
{
	for (size_t ti = 0; ti < spec->n_tiers; ti++) {
		const dp_tier *t = &spec->tiers[ti];
		for (size_t i = 0; i < spec->n_dbs; i++) {
			const dp_db_spec *db = &spec->dbs[i];
			const char *slash = db->sqlite ? strrchr(db->sqlite, '/') : NULL, *base = slash ? slash + 1 : db->sqlite;
			cleanup_close int dirfd = -1;
			char rel[PATH_MAX], dst[PATH_MAX];
			dp_sqlite_src copy;
			dp_subset_stats ss;
			int r;

			if (db->sqlite == NULL || !tier_subsets(spec, t, db))
				continue;
			/* <tier>/<the database's directory> */
			snprintf(rel, sizeof(rel), "%s%s%.*s", t->name, slash ? "/" : "",
				 slash ? (int)(slash - db->sqlite) : 0, db->sqlite);
			if (dp_mkdirs_in_root_nosym(subsetsfd, rel, 0755) < 0)
				return dp_fail_errno(err, "snapshot: create subset directory %s", rel);
			dirfd = dp_open_in_root_nosym(subsetsfd, rel, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
			if (dirfd < 0)
				return dp_fail_errno(err, "snapshot: open subset directory %s", rel);
			snprintf(dst, sizeof(dst), "/proc/self/fd/%d/%s", dirfd, base);
			if (dp_sqlite_src_open(treefd, "snapshot", db->sqlite, &copy, err) < 0) {
				dp_sqlite_src_close(&copy);
				return -1;
			}
			r = dp_sqlite_subset(copy.uri, copy.path, copy.wal, dst, spec, db, t->name, &ss, err);
			if (r == 0) {
				/* the same mode, owner and times as the full copy */
				cleanup_close int fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
				struct timespec times[2] = { copy.st.st_atim, copy.st.st_mtim };
				if (fd < 0 || fchmod(fd, copy.st.st_mode & 07777) < 0 || futimens(fd, times) < 0 ||
				    (geteuid() == 0 && fchown(fd, copy.st.st_uid, copy.st.st_gid) < 0))
					r = dp_fail_errno(err, "snapshot: subset %s", rel);
			}
			dp_sqlite_src_close(&copy);
			if (r < 0)
				return dp_wrap(err, "database %s, tier %s", db->name, t->name);
			res->subsets++;
		}
	}
	return 0;
}

static bool has_pg(const dp_spec *spec)
{
	for (size_t i = 0; i < spec->n_dbs; i++)
		if (spec->dbs[i].postgres)
			return true;
	return false;
}

/* Tier's subset of db: a copy of from (the full masked template just
 * built), cut down inside the sandbox cluster and made a template. */
static int pg_subset(PGconn *conn, const dp_pgc *c, const dp_spec *spec, const dp_db_spec *db, const char *tier,
		     const char *from, int64_t id, dp_sync_result *res, dp_error **err)
{
	cleanup_free char *sub = dp_pgc_subset_build_db((int)getpid(), tier, db->name);
	cleanup_free char *final = dp_pgc_subset_db(id, tier, db->name);
	cleanup_free char *sid = dp_pgc_ident(sub);
	cleanup_free char *fid = dp_pgc_ident(from);
	char *ci;
	dp_subset_stats ss;
	int r;

	/* as for the full copy: no record names them and we hold the sync lock */
	if (dp_pgc_drop_db(conn, final, err) < 0 || dp_pgc_drop_db(conn, sub, err) < 0)
		return -1;
	if (dp_pgc_exec(conn, err, "CREATE DATABASE %s TEMPLATE %s%s", sid, fid,
			c->version >= 150000 ? " STRATEGY FILE_COPY" : "") < 0 ||
	    dp_pgc_exec(conn, err, "COMMENT ON DATABASE %s IS 'doppel build %d'", sid, (int)getpid()) < 0 ||
	    dp_pgc_exec(conn, err, "REVOKE CONNECT, TEMPORARY ON DATABASE %s FROM PUBLIC", sid) < 0)
		return dp_wrap(err, "database %s, tier %s", db->name, tier);
	ci = dp_pgc_admin_conninfo(c, sub);
	r = dp_pg_subset(ci, spec, db, tier, &ss, err);
	sodium_memzero(ci, strlen(ci));
	free(ci);
	if (r < 0)
		return dp_wrap(err, "database %s, tier %s", db->name, tier);
	if (dp_pgc_exec(conn, err, "ALTER DATABASE %s IS_TEMPLATE true ALLOW_CONNECTIONS false", sid) < 0)
		return -1;
	dp_debug("database %s, tier %s: subset keeps %llu of %llu rows in %llu cut tables", db->name, tier,
		 (unsigned long long)ss.rows, (unsigned long long)ss.rows_before, (unsigned long long)ss.tables);
	res->subsets++;
	return 0;
}

int dp_snapshot_copy_pg(dp_store *st, const dp_spec *spec, int64_t id, dp_sync_result *res, dp_error **err)
{
	__attribute__((cleanup(wipe_key))) dp_mask_key key;
	dp_pgc c;
	PGconn *conn = NULL;
	int r = -1;

	if (!has_pg(spec))
		return 0;
	if (dp_store_mask_key(st, key.k, err) < 0 || dp_pgc_open(st->root, &c, err) < 0)
		return -1;
	conn = dp_pgc_connect(&c, "postgres", err);
	if (conn == NULL)
		goto out;
	for (size_t i = 0; i < spec->n_dbs; i++) {
		const dp_db_spec *db = &spec->dbs[i];
		cleanup_free char *build = NULL;
		cleanup_free char *final = NULL;
		cleanup_free char *id_build = NULL;
		cleanup_free char *dst = NULL;
		char *prod = NULL;
		dp_clone_stats cs;
		double t0 = mono();
		int cr;

		if (db->postgres == NULL)
			continue;
		build = dp_pgc_build_db((int)getpid(), db->name);
		final = dp_pgc_snapshot_db(id, db->name);
		id_build = dp_pgc_ident(build);
		/* no record names snapshot id yet and we hold the sync lock: a
		 * sync killed between renaming and committing left it */
		if (dp_pgc_drop_db(conn, final, err) < 0 || dp_pgc_create_build_db(conn, build, err) < 0)
			goto out;
		if (dp_pg_prod_conninfo(spec, db, &prod, err) < 0)
			goto out;
		memset(&cs, 0, sizeof(cs));
		dp_debug("database %s: build database made in %.2f s", db->name, mono() - t0);
		t0 = mono();
		dst = dp_pgc_data_conninfo(&c, build);
		cr = dp_pg_clone(prod, dst, spec, db, &key, 0, &cs, err);
		sodium_memzero(prod, strlen(prod));
		free(prod);
		sodium_memzero(dst, strlen(dst));
		if (cr < 0) {
			dp_wrap(err, "database %s", db->name);
			goto out;
		}
		/* sandboxes are made from it; nobody connects to it */
		t0 = mono();
		if (dp_pgc_exec(conn, err, "ALTER DATABASE %s IS_TEMPLATE true ALLOW_CONNECTIONS false", id_build) < 0)
			goto out;
		dp_debug("database %s: made a template in %.2f s", db->name, mono() - t0);
		for (size_t ti = 0; ti < spec->n_tiers; ti++)
			if (tier_subsets(spec, &spec->tiers[ti], db) &&
			    pg_subset(conn, &c, spec, db, spec->tiers[ti].name, build, id, res, err) < 0)
				goto out;
		res->databases++;
		res->db_rows += cs.rows;
		res->db_masked_columns += cs.masked_columns;
	}
	r = 0;
out:
	sym_PQfinish(conn);
	dp_pgc_clear(&c);
	return r;
}

/* One template into snapshot_databases (tier "" for the full copy), and
 * renamed from its build name to final. */
static int record_pg(dp_store *st, PGconn *conn, sqlite3_stmt *ins, int64_t id, const char *tier, const char *db,
		     const char *build, const char *final, dp_error **err)
{
	cleanup_free char *bid = dp_pgc_ident(build);
	cleanup_free char *fid = dp_pgc_ident(final);

	sqlite3_reset(ins);
	sqlite3_bind_int64(ins, 1, id);
	sqlite3_bind_text(ins, 2, tier, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 3, db, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 4, final, -1, SQLITE_STATIC);
	if (sqlite3_step(ins) != SQLITE_DONE)
		return dp_store_sql_error(st, "record snapshot database", err);
	/* renamed before the commit, like the tree: a crash leaves a
	 * database no record names, never a record without one */
	if (dp_pgc_exec(conn, err, "ALTER DATABASE %s RENAME TO %s", bid, fid) < 0)
		return -1;
	if (tier[0])
		return dp_pgc_exec(conn, err, "COMMENT ON DATABASE %s IS 'doppel snapshot %lld tier %s'", fid,
				   (long long)id, tier);
	return dp_pgc_exec(conn, err, "COMMENT ON DATABASE %s IS 'doppel snapshot %lld'", fid, (long long)id);
}

int dp_snapshot_commit_pg(dp_store *st, const dp_spec *spec, int64_t id, dp_error **err)
{
	dp_pgc c;
	PGconn *conn = NULL;
	sqlite3_stmt *ins = NULL;
	int r = -1;

	if (!has_pg(spec))
		return 0;
	if (dp_pgc_open(st->root, &c, err) < 0)
		return -1;
	conn = dp_pgc_connect(&c, "postgres", err);
	if (conn == NULL ||
	    dp_store_prepare(st, "INSERT INTO snapshot_databases (snapshot, tier, name, pgname) VALUES (?1, ?2, ?3, ?4)",
			     &ins, err) < 0)
		goto out;
	for (size_t i = 0; i < spec->n_dbs; i++) {
		const dp_db_spec *db = &spec->dbs[i];
		cleanup_free char *build = NULL;
		cleanup_free char *final = NULL;

		if (db->postgres == NULL)
			continue;
		build = dp_pgc_build_db((int)getpid(), db->name);
		final = dp_pgc_snapshot_db(id, db->name);
		if (record_pg(st, conn, ins, id, "", db->name, build, final, err) < 0)
			goto out;
		for (size_t ti = 0; ti < spec->n_tiers; ti++) {
			const char *tier = spec->tiers[ti].name;
			cleanup_free char *sub = NULL;
			cleanup_free char *subfinal = NULL;
			if (!tier_subsets(spec, &spec->tiers[ti], db))
				continue;
			sub = dp_pgc_subset_build_db((int)getpid(), tier, db->name);
			subfinal = dp_pgc_subset_db(id, tier, db->name);
			if (record_pg(st, conn, ins, id, tier, db->name, sub, subfinal, err) < 0)
				goto out;
		}
	}
	r = 0;
out:
	sqlite3_finalize(ins);
	sym_PQfinish(conn);
	dp_pgc_clear(&c);
	return r;
}

void dp_snapshot_abort_pg(dp_store *st, const dp_spec *spec, int64_t id)
{
	char **names = NULL;
	size_t n = 0;
	dp_pgc c;
	dp_error *e = NULL;
	PGconn *conn;

	if (!has_pg(spec) || !dp_pgc_exists(st->root))
		return;
	if (dp_pgc_open(st->root, &c, &e) < 0) {
		dp_warn("%s; 'doppel check' drops what this sync left", e->msg);
		dp_error_free(&e);
		return;
	}
	conn = dp_pgc_connect(&c, "postgres", &e);
	for (size_t i = 0; conn && i < spec->n_dbs; i++) {
		if (spec->dbs[i].postgres == NULL)
			continue;
		names = realloc(names, (n + 2 + 2 * spec->n_tiers) * sizeof(char *));
		if (names == NULL)
			abort();
		names[n++] = dp_pgc_build_db((int)getpid(), spec->dbs[i].name);
		names[n++] = dp_pgc_snapshot_db(id, spec->dbs[i].name);
		for (size_t ti = 0; ti < spec->n_tiers; ti++) {
			if (!tier_subsets(spec, &spec->tiers[ti], &spec->dbs[i]))
				continue;
			names[n++] = dp_pgc_subset_build_db((int)getpid(), spec->tiers[ti].name, spec->dbs[i].name);
			names[n++] = dp_pgc_subset_db(id, spec->tiers[ti].name, spec->dbs[i].name);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (dp_pgc_drop_db(conn, names[i], &e) < 0) {
			dp_warn("%s; 'doppel check' drops it later", e->msg);
			dp_error_free(&e);
		}
	if (conn == NULL) {
		dp_warn("%s; 'doppel check' drops what this sync left", e->msg);
		dp_error_free(&e);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	sym_PQfinish(conn);
	dp_pgc_clear(&c);
}
