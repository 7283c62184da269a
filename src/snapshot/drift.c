/* Drift computation; see drift.h. The production walk uses the same rules as
 * sync (O_NOFOLLOW, excludes, special files ignored) but only stats; the
 * comparison itself is SQL over a temporary table of what the walk saw. */
#include "snapshot/drift.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/path.h"

typedef struct dwalk {
	const dp_spec *spec;
	sqlite3_stmt *ins;
} dwalk;

static int64_t ns_of(struct timespec ts)
{
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static bool excluded(const dp_spec *spec, const char *rel)
{
	for (size_t i = 0; i < spec->n_exclude; i++)
		if (dp_exclude_match(spec->exclude[i], rel))
			return true;
	return dp_spec_db_file(spec, rel);
}

static void walk(dwalk *w, int dirfd, const char *base)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char rel[4096];
		struct stat st;
		int type;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(rel, sizeof(rel), "%s%s%s", base, base[0] ? "/" : "", de->d_name);
		if (excluded(w->spec, rel) || fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		type = S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : S_ISREG(st.st_mode) ? 'f' : 0;
		if (type == 0)
			continue;
		sqlite3_reset(w->ins);
		sqlite3_bind_text(w->ins, 1, rel, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(w->ins, 2, type);
		sqlite3_bind_int64(w->ins, 3, st.st_size);
		sqlite3_bind_int64(w->ins, 4, ns_of(st.st_mtim));
		sqlite3_bind_int(w->ins, 5, (int)(st.st_mode & 07777));
		sqlite3_step(w->ins);
		if (type == 'd') {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				walk(w, sub, rel);
				close(sub);
			}
		}
	}
	closedir(d);
}

static int make_now_table(dp_store *st, dp_error **err)
{
	return dp_store_exec(st,
			     "CREATE TEMP TABLE IF NOT EXISTS now_files (path TEXT PRIMARY KEY, type INTEGER,"
			     " size INTEGER, mtime_ns INTEGER, mode INTEGER); DELETE FROM now_files",
			     err);
}

/* Collects (path, kind) rows of a query into an array. */
static int collect(dp_store *st, sqlite3_stmt *q, dp_drift_entry **out, size_t *n, dp_error **err)
{
	size_t cap = 32, count = 0;
	dp_drift_entry *v = calloc(cap, sizeof(*v));

	while (v && sqlite3_step(q) == SQLITE_ROW) {
		if (count == cap) {
			dp_drift_entry *g = realloc(v, (cap *= 2) * sizeof(*v));
			if (g == NULL)
				break;
			v = g;
		}
		v[count].path = strdup((const char *)sqlite3_column_text(q, 0));
		v[count].kind = (char)sqlite3_column_int(q, 1);
		count++;
	}
	if (v == NULL)
		return dp_fail(err, ENOMEM, "drift");
	(void)st;
	*out = v;
	*n = count;
	return 0;
}

/* now_files (what is there now) against snapshot ?1 */
static const char compare_sql[] =
	"SELECT path, kind FROM ("
	" SELECT n.path AS path, 65 AS kind FROM now_files n WHERE NOT EXISTS"
	"  (SELECT 1 FROM snapshot_files o WHERE o.snapshot = ?1 AND o.path = n.path)"
	" UNION ALL SELECT o.path, 68 FROM snapshot_files o WHERE o.snapshot = ?1 AND NOT EXISTS"
	"  (SELECT 1 FROM now_files n WHERE n.path = o.path)"
	" UNION ALL SELECT n.path, 77 FROM now_files n JOIN snapshot_files o ON o.snapshot = ?1 AND o.path = n.path"
	"  WHERE o.type != n.type OR (n.type != 100 AND (o.size != n.size OR o.mtime_ns != n.mtime_ns))"
	"     OR o.mode != n.mode"
	") ORDER BY path";

int dp_drift_production(dp_store *st, const dp_spec *spec, int64_t snapshot, dp_drift_entry **out, size_t *n,
			dp_error **err)
{
	cleanup_close int prod = dp_path_open_nofollow("production.root", spec->root, O_RDONLY | O_DIRECTORY, err);
	dwalk w = { .spec = spec };
	sqlite3_stmt *q = NULL;
	int r = -1;

	if (prod < 0)
		return -1;
	if (make_now_table(st, err) < 0 ||
	    dp_store_prepare(st, "INSERT OR REPLACE INTO now_files VALUES (?1, ?2, ?3, ?4, ?5)", &w.ins, err) < 0)
		return -1;
	if (dp_store_exec(st, "BEGIN", err) < 0)
		goto out;
	walk(&w, prod, "");
	if (dp_store_exec(st, "COMMIT", err) < 0)
		goto out;
	if (dp_store_prepare(st, compare_sql, &q, err) < 0)
		goto out;
	sqlite3_bind_int64(q, 1, snapshot);
	r = collect(st, q, out, n, err);
out:
	dp_store_rollback(st);
	sqlite3_finalize(q);
	sqlite3_finalize(w.ins);
	return r;
}

int dp_drift_snapshots(dp_store *st, int64_t from, int64_t to, dp_drift_entry **out, size_t *n, dp_error **err)
{
	sqlite3_stmt *fill = NULL, *q = NULL;
	int r = -1;

	if (make_now_table(st, err) < 0 ||
	    dp_store_prepare(st,
			     "INSERT INTO now_files SELECT path, type, size, mtime_ns, mode FROM snapshot_files"
			     " WHERE snapshot = ?1",
			     &fill, err) < 0)
		return -1;
	sqlite3_bind_int64(fill, 1, to);
	if (sqlite3_step(fill) != SQLITE_DONE) {
		dp_store_sql_error(st, "read snapshot manifest", err);
		goto out;
	}
	if (dp_store_prepare(st, compare_sql, &q, err) == 0) {
		sqlite3_bind_int64(q, 1, from);
		r = collect(st, q, out, n, err);
	}
out:
	sqlite3_finalize(fill);
	sqlite3_finalize(q);
	return r;
}

void dp_drift_free(dp_drift_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}
