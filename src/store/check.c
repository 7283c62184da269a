/* Store verification and repair; see check.h. Only objects no transaction
 * references are ever removed, and only while holding the lock of what they
 * belong to, so check can run next to other doppel commands. */
#include "store/check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

static bool row_exists(dp_store *st, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *q = NULL;
	bool r = false;
	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC);
		if (b)
			sqlite3_bind_text(q, 2, b, -1, SQLITE_STATIC);
		r = sqlite3_step(q) == SQLITE_ROW;
	}
	sqlite3_finalize(q);
	return r;
}

/* A background removal (reset, destroy) may be deleting the same tree right
 * now; gone is gone, whoever removed it. */
static bool remove_garbage(dp_store *st, const char *rel)
{
	struct stat sb;
	for (int attempt = 0; attempt < 3; attempt++) {
		if (dp_remove_tree_at(st->rootfd, rel) == 0)
			return true;
		if (fstatat(st->rootfd, rel, &sb, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
			return true;
	}
	return false;
}

static void garbage(dp_store *st, bool repair, const char *rel, const char *why, dp_check_report *rep)
{
	if (repair && remove_garbage(st, rel)) {
		printf("repaired: removed %s (%s)\n", rel, why);
		rep->repaired++;
	} else {
		printf("problem: %s is %s%s\n", rel, why, repair ? " and could not be removed" : "");
		rep->problems++;
	}
}

/* Directory names in store/<dir>, or NULL-terminated empty list. */
static char **list_dir(dp_store *st, const char *dir)
{
	int fd = openat(st->rootfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	size_t n = 0, cap = 16;
	char **v = calloc(cap, sizeof(char *));

	if (v == NULL)
		abort();
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return v;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n + 1 >= cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(char *));
			if (v == NULL)
				abort();
		}
		v[n++] = strdup(de->d_name);
	}
	v[n] = NULL;
	closedir(d);
	return v;
}

static void free_list(char **v)
{
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static void check_snapshots(dp_store *st, bool repair, dp_check_report *rep)
{
	char **dirs = list_dir(st, "snapshots");
	sqlite3_stmt *q = NULL;

	for (char **d = dirs; *d; d++) {
		char rel[300];
		snprintf(rel, sizeof(rel), "snapshots/%s", *d);
		if (!row_exists(st, "SELECT 1 FROM snapshots WHERE CAST(id AS TEXT) = ?1", *d, NULL))
			garbage(st, repair, rel, "a snapshot no record names (an interrupted sync or prune)", rep);
	}
	free_list(dirs);
	dirs = list_dir(st, "subsets");
	for (char **d = dirs; *d; d++) {
		char rel[300];
		snprintf(rel, sizeof(rel), "subsets/%s", *d);
		if (!row_exists(st, "SELECT 1 FROM snapshots WHERE CAST(id AS TEXT) = ?1", *d, NULL))
			garbage(st, repair, rel, "subsets of a snapshot no record names (an interrupted sync or prune)", rep);
	}
	free_list(dirs);
	if (sqlite3_prepare_v2(st->db, "SELECT id, unflushed FROM snapshots", -1, &q, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(q) == SQLITE_ROW) {
		char rel[64];
		struct stat sb;
		snprintf(rel, sizeof(rel), "snapshots/%lld", (long long)sqlite3_column_int64(q, 0));
		if (fstatat(st->rootfd, rel, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(sb.st_mode)) {
			printf("problem: snapshot %lld is recorded but %s is missing\n", (long long)sqlite3_column_int64(q, 0),
			       rel);
			rep->problems++;
		} else if (dp_store_mark_lost((const char *)sqlite3_column_text(q, 1))) {
			/* not repaired: sandboxes may sit on it, and 'doppel sync' makes its replacement */
			printf("problem: snapshot %lld was still being written to disk when the machine restarted; "
			       "its files may be incomplete (run 'doppel sync', then 'doppel rebase' its sandboxes)\n",
			       (long long)sqlite3_column_int64(q, 0));
			rep->problems++;
		}
	}
	sqlite3_finalize(q);
	if (sqlite3_prepare_v2(st->db, "SELECT sandbox, label, unflushed FROM checkpoints", -1, &q, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(q) == SQLITE_ROW)
		if (dp_store_mark_lost((const char *)sqlite3_column_text(q, 2))) {
			printf("problem: checkpoint %s of sandbox %s was still being written to disk when the machine "
			       "restarted; its files may be incomplete\n",
			       (const char *)sqlite3_column_text(q, 1), (const char *)sqlite3_column_text(q, 0));
			rep->problems++;
		}
	sqlite3_finalize(q);
}

static void check_sandbox_layers(dp_store *st, const char *name, bool repair, dp_check_report *rep)
{
	char dir[128], **layers;
	sqlite3_stmt *q = NULL;
	int64_t gen = 0;
	const char *upper = NULL;
	char upperbuf[64] = "";
	char lockname[96];
	int lock;
	dp_error *busy = NULL;

	snprintf(lockname, sizeof(lockname), "sandbox-%s", name);
	lock = dp_store_lock(st, lockname, false, &busy);
	if (lock < 0) {
		dp_error_free(&busy);
		rep->busy_skipped = true;
		printf("skipped: sandbox %s is busy\n", name);
		return;
	}
	if (sqlite3_prepare_v2(st->db, "SELECT upper, gen FROM sandboxes WHERE name = ?1", -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW) {
			snprintf(upperbuf, sizeof(upperbuf), "%s", (const char *)sqlite3_column_text(q, 0));
			upper = upperbuf;
			gen = sqlite3_column_int64(q, 1);
		}
	}
	sqlite3_finalize(q);
	snprintf(dir, sizeof(dir), "sandboxes/%s", name);
	layers = list_dir(st, dir);
	for (char **l = layers; *l; l++) {
		char rel[300], work[32];
		snprintf(work, sizeof(work), "w%lld", (long long)gen);
		snprintf(rel, sizeof(rel), "%s/%s", dir, *l);
		if ((upper && strcmp(*l, upper) == 0) || strcmp(*l, work) == 0)
			continue;
		/* the API stand-ins' saved state and a running server's socket */
		if (strcmp(*l, "endpoints") == 0 || strcmp(*l, "endpoints.sock") == 0)
			continue;
		if (row_exists(st, "SELECT 1 FROM checkpoints WHERE sandbox = ?1 AND layer = ?2", name, *l))
			continue;
		garbage(st, repair, rel, "a layer nothing references (a reset or checkpoint left it)", rep);
	}
	free_list(layers);
	if (upper) {
		char rel[300];
		struct stat sb;
		snprintf(rel, sizeof(rel), "%s/%s", dir, upper);
		if (fstatat(st->rootfd, rel, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			printf("problem: sandbox %s: its writable layer %s is missing\n", name, rel);
			rep->problems++;
		}
		snprintf(rel, sizeof(rel), "%s/w%lld", dir, (long long)gen);
		if (fstatat(st->rootfd, rel, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			if (repair && mkdirat(st->rootfd, rel, 0700) == 0) {
				printf("repaired: recreated %s\n", rel);
				rep->repaired++;
			} else {
				printf("problem: sandbox %s: %s is missing\n", name, rel);
				rep->problems++;
			}
		}
	}
	close(lock);
}

static void check_sandboxes(dp_store *st, bool repair, dp_check_report *rep)
{
	char **dirs = list_dir(st, "sandboxes");
	sqlite3_stmt *q = NULL;

	for (char **d = dirs; *d; d++) {
		char rel[300], lockname[96];
		int lock;
		dp_error *busy = NULL;
		snprintf(rel, sizeof(rel), "sandboxes/%s", *d);
		if (row_exists(st, "SELECT 1 FROM sandboxes WHERE name = ?1", *d, NULL)) {
			check_sandbox_layers(st, *d, repair, rep);
			continue;
		}
		/* a create holds this lock from before it moves the tree into
		 * place until its record is committed: decide under the lock */
		snprintf(lockname, sizeof(lockname), "sandbox-%s", *d);
		lock = dp_store_lock(st, lockname, false, &busy);
		if (lock < 0) {
			dp_error_free(&busy);
			rep->busy_skipped = true;
			printf("skipped: sandbox %s is busy\n", *d);
			continue;
		}
		if (row_exists(st, "SELECT 1 FROM sandboxes WHERE name = ?1", *d, NULL)) {
			close(lock);
			check_sandbox_layers(st, *d, repair, rep);
			continue;
		}
		garbage(st, repair, rel, "a sandbox no record names (an interrupted create or destroy)", rep);
		close(lock);
	}
	free_list(dirs);
	if (sqlite3_prepare_v2(st->db, "SELECT name FROM sandboxes", -1, &q, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(q) == SQLITE_ROW) {
		char rel[300];
		struct stat sb;
		snprintf(rel, sizeof(rel), "sandboxes/%s", (const char *)sqlite3_column_text(q, 0));
		if (fstatat(st->rootfd, rel, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			printf("problem: sandbox %s is recorded but %s is missing\n", (const char *)sqlite3_column_text(q, 0), rel);
			rep->problems++;
		}
	}
	sqlite3_finalize(q);
}

/* tmp/ entries end in -PID; those of live processes are work in progress. */
static void check_tmp(dp_store *st, bool repair, dp_check_report *rep)
{
	char **names = list_dir(st, "tmp");
	for (char **n = names; *n; n++) {
		const char *dash = strrchr(*n, '-');
		char rel[300];
		long pid = dash ? strtol(dash + 1, NULL, 10) : 0;
		if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
			continue;
		snprintf(rel, sizeof(rel), "tmp/%s", *n);
		garbage(st, repair, rel, "left by an interrupted operation", rep);
	}
	free_list(names);
}

int dp_store_check(dp_store *st, bool repair, dp_check_report *rep, dp_error **err)
{
	cleanup_close int synclock = -1;
	sqlite3_stmt *q = NULL;

	memset(rep, 0, sizeof(*rep));
	synclock = dp_store_lock(st, "sync", false, err);
	if (synclock < 0)
		return dp_wrap(err, "check");
	if (dp_store_prepare(st, "PRAGMA integrity_check", &q, err) < 0)
		return -1;
	if (sqlite3_step(q) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(q, 0), "ok") != 0) {
		printf("problem: metadata database: %s\n", sqlite3_column_text(q, 0) ? (const char *)sqlite3_column_text(q, 0) : "unreadable");
		rep->problems++;
	}
	sqlite3_finalize(q);
	if (dp_store_prepare(st, "PRAGMA foreign_key_check", &q, err) < 0)
		return -1;
	while (sqlite3_step(q) == SQLITE_ROW) {
		printf("problem: metadata: a %s row points at a missing %s\n", sqlite3_column_text(q, 0),
		       sqlite3_column_text(q, 2));
		rep->problems++;
	}
	sqlite3_finalize(q);
	check_tmp(st, repair, rep);
	check_snapshots(st, repair, rep);
	check_sandboxes(st, repair, rep);
	return 0;
}
