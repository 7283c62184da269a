/* Sandbox lifecycle: create, checkpoint, reset, destroy, and the mount plan a
 * run uses; see sandbox.h. Every change follows one rule: build the new
 * directories first, then commit the transaction that makes them live, then
 * drop what is no longer referenced. A crash anywhere leaves the store as it
 * was or as it is meant to be, plus garbage that `doppel check` removes. */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/diff.h"
#include "sandbox/endpoints.h"
#include "sandbox/pgsandbox.h"
#include "snapshot/drift.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

static char *xstrdup0(const unsigned char *s)
{
	char *r;
	if (s == NULL)
		return NULL;
	r = strdup((const char *)s);
	if (r == NULL)
		abort();
	return r;
}

void dp_sandbox_clear(dp_sandbox *sb)
{
	free(sb->name);
	free(sb->tier);
	free(sb->upper);
	free(sb->base);
	memset(sb, 0, sizeof(*sb));
}

int dp_sandbox_get(dp_store *st, const char *name, dp_sandbox *out, dp_error **err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (dp_store_prepare(st, "SELECT name, tier, owner, snapshot, created, upper, base, gen FROM sandboxes WHERE name = ?1",
			     &q, err) < 0)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(q);
		if (rc == SQLITE_DONE) {
			dp_usage(err, "no sandbox named '%s'; see 'doppel ls'", name);
			(*err)->errnum = ENOENT; /* the daemon answers 404 */
			return -1;
		}
		return dp_store_sql_error(st, "read sandbox", err);
	}
	out->name = xstrdup0(sqlite3_column_text(q, 0));
	out->tier = xstrdup0(sqlite3_column_text(q, 1));
	out->owner = (uid_t)sqlite3_column_int64(q, 2);
	out->snapshot = sqlite3_column_int64(q, 3);
	out->created = sqlite3_column_int64(q, 4);
	out->upper = xstrdup0(sqlite3_column_text(q, 5));
	out->base = xstrdup0(sqlite3_column_text(q, 6));
	out->gen = sqlite3_column_int64(q, 7);
	sqlite3_finalize(q);
	return 0;
}

static int64_t snapshot_exists(dp_store *st, int64_t id)
{
	sqlite3_stmt *q = NULL;
	int64_t r = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT id FROM snapshots WHERE id = ?1", -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, id);
		if (sqlite3_step(q) == SQLITE_ROW)
			r = id;
	}
	sqlite3_finalize(q);
	return r;
}

static bool sandbox_exists(dp_store *st, const char *name)
{
	sqlite3_stmt *q = NULL;
	bool r = false;
	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM sandboxes WHERE name = ?1", -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		r = sqlite3_step(q) == SQLITE_ROW;
	}
	sqlite3_finalize(q);
	return r;
}

static int lock_sandbox(dp_store *st, const char *name, dp_error **err)
{
	char lk[96];
	snprintf(lk, sizeof(lk), "sandbox-%s", name);
	return dp_store_lock(st, lk, false, err);
}

/* A process's start time (clock ticks since boot, /proc/PID/stat field 22),
 * 0 when it is gone: with the pid it names one process, never a successor
 * that reused the pid. */
static unsigned long long start_time(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long t = 0;
	const char *p;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
				&t) != 1)
		return 0;
	return t;
}

int dp_sandbox_lock_run(dp_store *st, const char *name, dp_error **err)
{
	char pid[64];
	int fd;

	if (!sandbox_exists(st, name))
		return dp_usage(err, "no sandbox named '%s'; see 'doppel ls'", name);
	fd = lock_sandbox(st, name, err);
	if (fd < 0)
		return -1;
	snprintf(pid, sizeof(pid), "%d %llu\n", (int)getpid(), start_time(getpid()));
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, strlen(pid), 0) < 0) {
		close(fd);
		return dp_fail_errno(err, "record runner of %s", name);
	}
	return fd;
}

/* Takes the sandbox's lock for a change; with force, stops a command running
 * in it first (its runner's pid is in the lock file). */
static int lock_for_change(dp_store *st, const char *name, bool force, dp_error **err)
{
	char lk[96], buf[64];
	int fd;
	dp_error *busy = NULL;

	if (!sandbox_exists(st, name))
		return dp_usage(err, "no sandbox named '%s'; see 'doppel ls'", name);
	fd = lock_sandbox(st, name, &busy);
	if (fd >= 0)
		return fd;
	if (!force) {
		dp_error_free(&busy);
		return dp_usage(err, "sandbox %s is busy: a command runs in it or another doppel command changes it; "
				"wait, or use --force to stop it", name);
	}
	dp_error_free(&busy);
	snprintf(lk, sizeof(lk), "locks/sandbox-%s", name);
	fd = openat(st->rootfd, lk, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return dp_fail_errno(err, "open lock of %s", name);
	memset(buf, 0, sizeof(buf));
	if (pread(fd, buf, sizeof(buf) - 1, 0) > 0) {
		unsigned long long started = 0;
		int p = 0;
		pid_t pid;
		/* only the runner that wrote this, still alive: a finished run's
		 * pid may belong to anything by now */
		if (sscanf(buf, "%d %llu", &p, &started) != 2 || started == 0 || start_time((pid_t)p) != started)
			p = 0;
		pid = (pid_t)p;
		if (pid > 1) {
			kill(pid, SIGTERM);
			for (int i = 0; i < 50 && flock(fd, LOCK_EX | LOCK_NB) < 0; i++) {
				struct timespec ts = { 0, 100000000 };
				nanosleep(&ts, NULL);
				if (i == 30)
					kill(pid, SIGKILL);
			}
		}
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return dp_fail(err, 0, "sandbox %s: could not stop what runs in it", name);
	}
	return fd;
}

/* Makes layer dirs u<gen> and w<gen> in sandboxes/<name>. overlayfs shows a
 * merged directory with its upper directory's mode, owner and times, so the
 * new upper's root takes those of the layer below it ('below', relative to
 * the store root): production's root keeps its attributes in the sandbox. */
static int make_layer(dp_store *st, const char *dir, int64_t gen, const char *below, dp_error **err)
{
	char u[160], w[160];
	struct stat bs;
	snprintf(u, sizeof(u), "%s/u%lld", dir, (long long)gen);
	snprintf(w, sizeof(w), "%s/w%lld", dir, (long long)gen);
	dp_remove_tree_at(st->rootfd, u); /* leftovers of a crashed attempt are unreferenced */
	dp_remove_tree_at(st->rootfd, w);
	if (mkdirat(st->rootfd, u, 0755) < 0 || mkdirat(st->rootfd, w, 0700) < 0)
		return dp_fail_errno(err, "create layer %s/%s", st->root, u);
	if (below && fstatat(st->rootfd, below, &bs, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(bs.st_mode)) {
		struct timespec ts[2] = { bs.st_atim, bs.st_mtim };
		if (geteuid() == 0 && fchownat(st->rootfd, u, bs.st_uid, bs.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			dp_debug("chown %s: %s", u, strerror(errno));
		if (fchmodat(st->rootfd, u, bs.st_mode & 07777, 0) < 0 || utimensat(st->rootfd, u, ts, AT_SYMLINK_NOFOLLOW) < 0)
			return dp_fail_errno(err, "set attributes of layer %s/%s", st->root, u);
	}
	return 0;
}

/* The layer a new upper of sb sits on: checkpoint 'base''s layer, else the
 * snapshot's tree; relative to the store root, in buf. */
static void layer_below(dp_store *st, const dp_sandbox *sb, const char *base, char *buf, size_t n)
{
	sqlite3_stmt *q = NULL;
	dp_snapshot_dir(sb->snapshot, buf, n);
	if (base == NULL ||
	    sqlite3_prepare_v2(st->db, "SELECT layer FROM checkpoints WHERE sandbox = ?1 AND label = ?2", -1, &q, NULL) !=
		    SQLITE_OK)
		return;
	sqlite3_bind_text(q, 1, sb->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, base, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		snprintf(buf, n, "sandboxes/%s/%s", sb->name, (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
}

/* Reset refuses a base a restart may have cut short (store/flush.c): the
 * checkpoint chain from 'base' down, then the snapshot. */
static int trust_base(dp_store *st, const dp_sandbox *sb, const char *base, dp_error **err)
{
	cleanup_free char *label = base ? strdup(base) : NULL;

	for (int depth = 0; label && depth < 400; depth++) {
		sqlite3_stmt *q = NULL;
		char *parent = NULL;
		bool lost = false;
		if (dp_store_prepare(st, "SELECT parent, unflushed FROM checkpoints WHERE sandbox = ?1 AND label = ?2",
				     &q, err) < 0)
			return -1;
		sqlite3_bind_text(q, 1, sb->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, label, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW) {
			parent = xstrdup0(sqlite3_column_text(q, 0));
			lost = dp_store_mark_lost((const char *)sqlite3_column_text(q, 1));
		}
		sqlite3_finalize(q);
		if (lost) {
			free(parent);
			return dp_fail(err, 0,
				       "checkpoint %s of sandbox %s was still being written to disk when the machine "
				       "restarted, so some of its files may be incomplete; reset to an older checkpoint "
				       "or to the snapshot (see 'doppel check')",
				       label, sb->name);
		}
		free(label);
		label = parent;
	}
	return dp_snapshot_trust(st, sb->snapshot, err);
}

static int create_once(dp_store *st, const dp_spec *spec, const char *name, const char *tier, int64_t from, uid_t owner,
		       bool *pruned, dp_error **err)
{
	cleanup_close int lock = -1;
	char tmp[160], final[160], snapdir[64];
	sqlite3_stmt *ins = NULL;
	cleanup_free char *pgpw = dp_pgsb_new_password();
	char **pgnames = NULL;
	int r = -1;

	if (dp_check_name("sandbox name", name, err) < 0)
		return -1;
	if (dp_spec_tier(spec, tier) == NULL)
		return dp_usage(err, "--tier %s: no such tier in %s", tier, spec->file);
	if (from == 0)
		from = dp_snapshot_latest(st);
	if (from == 0)
		return dp_usage(err, "no snapshot yet; run 'doppel sync' first");
	if (!snapshot_exists(st, from))
		return dp_usage(err, "--from %lld: no such snapshot; see 'doppel snapshots'", (long long)from),
		       (*err)->errnum = ENOENT, -1; /* the daemon answers 404 */
	if (dp_snapshot_trust(st, from, err) < 0)
		return -1;
	lock = lock_sandbox(st, name, err);
	if (lock < 0)
		return -1;
	if (sandbox_exists(st, name))
		return dp_usage(err, "sandbox '%s' exists already", name);
	snprintf(tmp, sizeof(tmp), "tmp/sandbox-%s-%d", name, (int)getpid());
	snprintf(final, sizeof(final), "sandboxes/%s", name);
	dp_remove_tree_at(st->rootfd, tmp);
	dp_remove_tree_at(st->rootfd, final); /* unrecorded, so garbage */
	if (mkdirat(st->rootfd, tmp, 0755) < 0)
		return dp_fail_errno(err, "create %s/%s", st->root, tmp);
	dp_snapshot_dir(from, snapdir, sizeof(snapdir));
	if (make_layer(st, tmp, 1, snapdir, err) < 0)
		goto out;
	/* its PostgreSQL databases, before the record: unrecorded until then */
	{
		dp_sandbox pending = { .name = (char *)name, .tier = (char *)tier, .snapshot = from, .gen = 1 };
		pgnames = dp_pgsb_names(st, name, from, false, err);
		if (pgnames == NULL)
			goto out;
		dp_pgsb_drop(st, pgnames); /* a crashed destroy's, under this name */
		if (dp_pgsb_settle(st, &pending, pgpw, err) < 0)
			goto out;
	}
	if (dp_store_begin(st, err) < 0)
		goto out;
	/* again inside the transaction: a sync may have pruned it meanwhile */
	if (!snapshot_exists(st, from)) {
		*pruned = true;
		dp_usage(err, "snapshot %lld was just pruned by a sync; try again", (long long)from);
		goto out_tx;
	}
	if (dp_store_prepare(st,
			     "INSERT INTO sandboxes (name, tier, owner, snapshot, created, upper, base, gen, pg_password)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, 'u1', NULL, 1, ?6)",
			     &ins, err) < 0)
		goto out_tx;
	sqlite3_bind_text(ins, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 2, tier, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 3, (int64_t)owner);
	sqlite3_bind_int64(ins, 4, from);
	sqlite3_bind_int64(ins, 5, (int64_t)time(NULL));
	sqlite3_bind_text(ins, 6, pgpw, -1, SQLITE_STATIC);
	if (sqlite3_step(ins) != SQLITE_DONE) {
		dp_store_sql_error(st, "record sandbox", err);
		goto out_tx;
	}
	if (renameat(st->rootfd, tmp, st->rootfd, final) < 0) {
		dp_fail_errno(err, "move sandbox into place");
		goto out_tx;
	}
	if (dp_store_commit(st, err) < 0) {
		renameat(st->rootfd, final, st->rootfd, tmp);
		goto out_tx;
	}
	r = 0;
	goto out;
out_tx:
	dp_store_rollback(st);
out:
	sqlite3_finalize(ins);
	if (r < 0) {
		dp_remove_tree_at(st->rootfd, tmp);
		dp_pgsb_drop(st, pgnames);
	}
	dp_pgsb_names_free(pgnames);
	return r;
}

int dp_sandbox_create(dp_store *st, const dp_spec *spec, const char *name, const char *tier, int64_t from,
		      uid_t owner, dp_error **err)
{
	/* "the newest snapshot" moves while a sync prunes: when the one picked
	 * was pruned before the commit, pick the newest again */
	for (int attempt = 0;; attempt++) {
		bool pruned = false;
		int r = create_once(st, spec, name, tier, from, owner, &pruned, err);
		if (r == 0 || !pruned || from != 0 || attempt == 4)
			return r;
		dp_error_free(err);
	}
}

static void free_names(char ***names)
{
	dp_pgsb_names_free(*names);
}

int dp_sandbox_destroy(dp_store *st, const char *name, bool force, dp_error **err)
{
	cleanup_close int lock = -1;
	sqlite3_stmt *del = NULL;
	char final[160], trash[160];
	__attribute__((cleanup(free_names))) char **pgnames = NULL;

	if (dp_check_name("sandbox name", name, err) < 0)
		return -1;
	lock = lock_for_change(st, name, force, err);
	if (lock < 0)
		return -1;
	if (!sandbox_exists(st, name))
		return dp_usage(err, "no sandbox named '%s'; see 'doppel ls'", name);
	{
		dp_sandbox sb;
		if (dp_sandbox_get(st, name, &sb, err) < 0)
			return -1;
		pgnames = dp_pgsb_names(st, name, sb.snapshot, false, err);
		dp_sandbox_clear(&sb);
		if (pgnames == NULL)
			return -1;
	}
	if (dp_store_begin(st, err) < 0)
		return -1;
	if (dp_store_prepare(st, "DELETE FROM sandboxes WHERE name = ?1", &del, err) < 0) {
		dp_store_rollback(st);
		return -1;
	}
	sqlite3_bind_text(del, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(del) != SQLITE_DONE) {
		sqlite3_finalize(del);
		dp_store_rollback(st);
		return dp_store_sql_error(st, "delete sandbox", err);
	}
	sqlite3_finalize(del);
	if (dp_store_commit(st, err) < 0) {
		dp_store_rollback(st);
		return -1;
	}
	dp_pgsb_drop(st, pgnames);
	snprintf(final, sizeof(final), "sandboxes/%s", name);
	snprintf(trash, sizeof(trash), "tmp/destroyed-%s-%d", name, (int)getpid());
	if (renameat(st->rootfd, final, st->rootfd, trash) == 0)
		dp_store_defer_remove(st, trash);
	return 0;
}

static bool checkpoint_exists(dp_store *st, const char *name, const char *label)
{
	sqlite3_stmt *q = NULL;
	bool r = false;
	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM checkpoints WHERE sandbox = ?1 AND label = ?2", -1, &q, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, label, -1, SQLITE_STATIC);
		r = sqlite3_step(q) == SQLITE_ROW;
	}
	sqlite3_finalize(q);
	return r;
}

static int run_sql(dp_store *st, const char *sql, const char *a, const char *b, const char *c, int64_t n,
		   dp_error **err)
{
	sqlite3_stmt *q = NULL;
	int rc;
	if (dp_store_prepare(st, sql, &q, err) < 0)
		return -1;
	if (a)
		sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(q, 2, b, -1, SQLITE_STATIC);
	if (c)
		sqlite3_bind_text(q, 3, c, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 3);
	sqlite3_bind_int64(q, 4, n);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return dp_store_sql_error(st, "update sandbox", err);
	return 0;
}

/* Swap in a fresh upper layer u<gen+1> on top of 'base'; with 'freeze_as',
 * the old upper becomes that checkpoint instead of garbage. */
static int swap_upper(dp_store *st, const char *name, const char *base, const char *freeze_as, bool force,
		      dp_error **err)
{
	cleanup_close int lock = lock_for_change(st, name, force, err);
	dp_sandbox sb;
	char dir[128], upper[32], old_u[192], old_w[192], below[256];

	if (lock < 0)
		return -1;
	if (dp_sandbox_get(st, name, &sb, err) < 0)
		return -1;
	if (base && !checkpoint_exists(st, name, base)) {
		dp_sandbox_clear(&sb);
		return dp_usage(err, "sandbox %s has no checkpoint '%s'", name, base), (*err)->errnum = ENOENT, -1;
	}
	if (freeze_as && checkpoint_exists(st, name, freeze_as)) {
		dp_sandbox_clear(&sb);
		return dp_usage(err, "sandbox %s already has a checkpoint '%s'", name, freeze_as);
	}
	if (!freeze_as && trust_base(st, &sb, base, err) < 0) {
		dp_sandbox_clear(&sb);
		return -1;
	}
	snprintf(dir, sizeof(dir), "sandboxes/%s", name);
	snprintf(upper, sizeof(upper), "u%lld", (long long)(sb.gen + 1));
	if (freeze_as)
		snprintf(below, sizeof(below), "%s/%s", dir, sb.upper);
	else
		layer_below(st, &sb, base, below, sizeof(below));
	if (make_layer(st, dir, sb.gen + 1, below, err) < 0)
		goto fail;
	/* a checkpoint's databases are copies made before its record */
	if (freeze_as && dp_pgsb_checkpoint(st, &sb, freeze_as, err) < 0)
		goto fail;
	if (dp_store_begin(st, err) < 0)
		goto fail;
	if (freeze_as) {
		sqlite3_stmt *q = NULL;
		int rc;
		char mark[DP_STORE_MARK_MAX];
		/* the frozen layer is in the page cache only (store/flush.c) */
		if (dp_store_flush_mark(st, mark, err) < 0 ||
		    dp_store_prepare(st,
				     "INSERT INTO checkpoints (sandbox, label, layer, parent, created, unflushed)"
				     " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				     &q, err) < 0)
			goto fail_tx;
		sqlite3_bind_text(q, 6, mark, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, freeze_as, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, sb.upper, -1, SQLITE_STATIC);
		if (sb.base)
			sqlite3_bind_text(q, 4, sb.base, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(q, 4);
		sqlite3_bind_int64(q, 5, (int64_t)time(NULL));
		rc = sqlite3_step(q);
		sqlite3_finalize(q);
		if (rc != SQLITE_DONE) {
			dp_store_sql_error(st, "record checkpoint", err);
			goto fail_tx;
		}
		base = freeze_as; /* the new upper sits on the checkpoint just made */
	}
	if (run_sql(st, "UPDATE sandboxes SET upper = ?2, base = ?3, gen = ?4 WHERE name = ?1", name, upper, base,
		    sb.gen + 1, err) < 0)
		goto fail_tx;
	if (dp_store_commit(st, err) < 0)
		goto fail_tx;
	/* the old work dir is garbage now; the old upper unless frozen */
	snprintf(old_w, sizeof(old_w), "%s/w%lld", dir, (long long)sb.gen);
	snprintf(old_u, sizeof(old_u), "%s/%s", dir, sb.upper);
	dp_store_defer_remove(st, old_w);
	if (freeze_as == NULL)
		dp_store_defer_remove(st, old_u);
	/* a reset also forgets what the stand-ins saw and their scenario states;
	 * the layers are already reset, so a failure here is only reported */
	if (freeze_as == NULL) {
		dp_error *e = NULL;
		if (dp_sandbox_endpoints_clear(st, name, &e) < 0) {
			dp_warn("%s", e->msg);
			dp_error_free(&e);
		}
	}
	/* the databases follow the committed state: a checkpoint's live ones
	 * hold the new generation as they are; a reset's are made again (a
	 * crash or failure here is settled by the next run, reset or check) */
	{
		dp_error *e = NULL;
		dp_sandbox now;
		if (freeze_as) {
			if (dp_pgsb_restamp(st, &sb, sb.gen + 1, &e) < 0) {
				dp_warn("%s", e->msg);
				dp_error_free(&e);
			}
		} else if (dp_sandbox_get(st, name, &now, err) < 0 || dp_pgsb_settle(st, &now, NULL, err) < 0) {
			dp_sandbox_clear(&now);
			dp_sandbox_clear(&sb);
			return dp_wrap(err, "sandbox %s was reset but its PostgreSQL databases were not remade; run "
				       "'doppel reset %s' again", name, name);
		} else {
			dp_sandbox_clear(&now);
		}
	}
	dp_sandbox_clear(&sb);
	return 0;
fail_tx:
	dp_store_rollback(st);
fail:
	dp_sandbox_clear(&sb);
	return -1;
}

int dp_sandbox_checkpoint(dp_store *st, const char *name, const char *label, dp_error **err)
{
	dp_sandbox sb;
	int r;

	if (dp_check_name("sandbox name", name, err) < 0 || dp_check_name("checkpoint label", label, err) < 0)
		return -1;
	if (dp_sandbox_get(st, name, &sb, err) < 0)
		return -1;
	dp_sandbox_clear(&sb);
	r = swap_upper(st, name, NULL, label, false, err);
	return r;
}

int dp_sandbox_reset(dp_store *st, const char *name, const char *label, bool force, dp_error **err)
{
	if (dp_check_name("sandbox name", name, err) < 0 || (label && dp_check_name("checkpoint label", label, err) < 0))
		return -1;
	return swap_upper(st, name, label, NULL, force, err);
}

char **dp_sandbox_lowers(dp_store *st, const dp_sandbox *sb, dp_error **err)
{
	size_t n = 0, cap = 8;
	char **v = calloc(cap, sizeof(char *));
	char *label = sb->base ? strdup(sb->base) : NULL;
	char snap[64];

	if (v == NULL)
		abort();
	while (label) {
		sqlite3_stmt *q = NULL;
		char *next = NULL;
		if (dp_store_prepare(st, "SELECT layer, parent FROM checkpoints WHERE sandbox = ?1 AND label = ?2", &q,
				     err) < 0)
			goto fail;
		sqlite3_bind_text(q, 1, sb->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, label, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_ROW) {
			sqlite3_finalize(q);
			dp_fail(err, 0, "sandbox %s: checkpoint %s is missing from the store; run 'doppel check'", sb->name,
				label);
			goto fail;
		}
		if (n + 3 >= cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(char *));
			if (v == NULL)
				abort();
		}
		if (asprintf(&v[n++], "sandboxes/%s/%s", sb->name, (const char *)sqlite3_column_text(q, 0)) < 0)
			abort();
		next = xstrdup0(sqlite3_column_text(q, 1));
		sqlite3_finalize(q);
		free(label);
		label = next;
		if (n > 400) {
			dp_fail(err, 0, "sandbox %s: checkpoint chain too deep", sb->name);
			goto fail;
		}
	}
	/* a subset tier sees its databases' subsets above the snapshot */
	{
		char sub[192];
		struct stat ss;
		dp_snapshot_subsets_dir(sb->snapshot, snap, sizeof(snap));
		snprintf(sub, sizeof(sub), "%s/%s", snap, sb->tier);
		if (fstatat(st->rootfd, sub, &ss, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(ss.st_mode))
			v[n++] = xstrdup0((const unsigned char *)sub);
	}
	dp_snapshot_dir(sb->snapshot, snap, sizeof(snap));
	v[n++] = strdup(snap);
	v[n] = NULL;
	return v;
fail:
	free(label);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return NULL;
}

static uint64_t tighter(uint64_t tier, uint64_t cli)
{
	if (cli == 0)
		return tier;
	if (tier == 0)
		return cli;
	return cli < tier ? cli : tier;
}

int dp_sandbox_plan(dp_store *st, const dp_spec *spec, const dp_sandbox *sb, const dp_plan *cli, dp_plan *plan,
		    dp_error **err)
{
	const dp_tier *t = dp_spec_tier(spec, sb->tier);
	char **lowers = NULL;
	dp_mount m = { .kind = DP_MOUNT_OVERLAY };
	char upper[512], work[512];
	int r = -1;

	if (t == NULL)
		return dp_usage(err, "sandbox %s uses tier '%s', which %s no longer defines", sb->name, sb->tier,
				spec->file);
	lowers = dp_sandbox_lowers(st, sb, err);
	if (lowers == NULL)
		return -1;
	for (char **l = lowers; *l; l++) {
		char *abs = NULL;
		if (asprintf(&abs, "%s/%s", st->root, *l) < 0)
			abort();
		free(*l);
		*l = abs;
	}
	snprintf(upper, sizeof(upper), "%s/sandboxes/%s/%s", st->root, sb->name, sb->upper);
	snprintf(work, sizeof(work), "%s/sandboxes/%s/w%lld", st->root, sb->name, (long long)sb->gen);
	m.lowers = lowers;
	m.upper = upper;
	m.work = work;
	m.dst = spec->root;
	if (dp_plan_add_mount(plan, &m, err) < 0)
		goto out;
	plan->mem_bytes = tighter(t->mem_bytes, cli->mem_bytes);
	plan->pids = tighter(t->pids, cli->pids);
	plan->millicpus = (uint32_t)tighter(t->millicpus, cli->millicpus);
	plan->net = (t->network == DP_TIER_NET_NONE || cli->net == DP_NET_NONE) ? DP_NET_NONE : DP_NET_LOOPBACK;
	plan->hostname = strdup(sb->name);
	plan->chdir = strdup(cli->chdir ? cli->chdir : spec->root);
	for (size_t i = 0; i < spec->n_secrets + cli->n_env; i++) {
		char *kv = NULL;
		char **grown = realloc(plan->env, (plan->n_env + 1) * sizeof(char *));
		if (grown == NULL)
			abort();
		plan->env = grown;
		if (i < spec->n_secrets) {
			if (asprintf(&kv, "%s=%s", spec->secrets[i].name, spec->secrets[i].value) < 0)
				abort();
		} else {
			kv = strdup(cli->env[i - spec->n_secrets]);
		}
		plan->env[plan->n_env++] = kv;
	}
	r = 0;
out:
	for (char **l = lowers; *l; l++)
		free(*l);
	free(lowers);
	return r;
}

/* The sandbox's databases as its committed record says (after a rebase). */
static int settle_named(dp_store *st, const char *name, dp_error **err)
{
	dp_sandbox now;
	int r;
	if (dp_sandbox_get(st, name, &now, err) < 0)
		return -1;
	r = dp_pgsb_settle(st, &now, NULL, err);
	dp_sandbox_clear(&now);
	return r;
}

int dp_sandbox_rebase(dp_store *st, const char *name, bool keep_changes, bool force, char ***conflicts,
		      size_t *n_conflicts, int64_t *from, int64_t *to, dp_error **err)
{
	cleanup_close int lock = -1;
	dp_sandbox sb;
	int64_t newest;
	char dir[128], upper[32];
	__attribute__((cleanup(free_names))) char **pgold = NULL;
	int r = -1;

	*conflicts = NULL;
	*n_conflicts = 0;
	if (dp_check_name("sandbox name", name, err) < 0)
		return -1;
	lock = lock_for_change(st, name, force, err);
	if (lock < 0)
		return -1;
	if (dp_sandbox_get(st, name, &sb, err) < 0)
		return -1;
	newest = dp_snapshot_latest(st);
	*from = sb.snapshot;
	*to = newest;
	if (newest == sb.snapshot) {
		dp_sandbox_clear(&sb);
		return 0;
	}
	if (dp_snapshot_trust(st, newest, err) < 0) {
		dp_sandbox_clear(&sb);
		return -1;
	}
	if (keep_changes) {
		dp_diff_entry *mine = NULL;
		dp_drift_entry *theirs = NULL;
		size_t nm = 0, nt = 0, k = 0;
		if (dp_sandbox_diff(st, &sb, &mine, &nm, err) < 0)
			goto out;
		if (dp_drift_snapshots(st, sb.snapshot, newest, &theirs, &nt, err) < 0) {
			dp_diff_free(mine, nm);
			goto out;
		}
		/* both lists are sorted by path */
		*conflicts = calloc(nm + 1, sizeof(char *));
		for (size_t i = 0, j = 0; *conflicts && i < nm && j < nt;) {
			int c = strcmp(mine[i].path, theirs[j].path);
			if (c == 0) {
				(*conflicts)[k++] = strdup(mine[i].path);
				i++;
				j++;
			} else if (c < 0) {
				i++;
			} else {
				j++;
			}
		}
		*n_conflicts = k;
		dp_diff_free(mine, nm);
		dp_drift_free(theirs, nt);
		if (dp_store_begin(st, err) < 0 ||
		    run_sql(st, "UPDATE sandboxes SET snapshot = ?4 WHERE name = ?1 AND ?2 IS ?2", name, NULL, NULL,
			    newest, err) < 0 ||
		    dp_store_commit(st, err) < 0) {
			dp_store_rollback(st);
			goto out;
		}
		/* its databases stay; a database new in this snapshot is made */
		r = settle_named(st, name, err);
		goto out;
	}
	snprintf(dir, sizeof(dir), "sandboxes/%s", name);
	snprintf(upper, sizeof(upper), "u%lld", (long long)(sb.gen + 1));
	{
		/* the old layers: upper, work, every checkpoint's; garbage after commit */
		char *gone[66];
		size_t ng = 0;
		sqlite3_stmt *q = NULL;
		if (asprintf(&gone[ng++], "%s/%s", dir, sb.upper) < 0 ||
		    asprintf(&gone[ng++], "%s/w%lld", dir, (long long)sb.gen) < 0)
			abort();
		if (dp_store_prepare(st, "SELECT layer FROM checkpoints WHERE sandbox = ?1 LIMIT 64", &q, err) < 0)
			goto out_gone;
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		while (sqlite3_step(q) == SQLITE_ROW && ng < 66)
			if (asprintf(&gone[ng++], "%s/%s", dir, (const char *)sqlite3_column_text(q, 0)) < 0)
				abort();
		sqlite3_finalize(q);
		char snapdir[64];
		pgold = dp_pgsb_names(st, name, sb.snapshot, true, err);
		if (pgold == NULL)
			goto out_gone;
		dp_snapshot_dir(newest, snapdir, sizeof(snapdir));
		if (make_layer(st, dir, sb.gen + 1, snapdir, err) < 0 || dp_store_begin(st, err) < 0)
			goto out_gone;
		if (run_sql(st, "DELETE FROM checkpoints WHERE sandbox = ?1 AND ?2 IS ?2 AND ?3 IS ?3 AND ?4 = ?4", name,
			    NULL, NULL, 0, err) < 0 ||
		    run_sql(st, "UPDATE sandboxes SET upper = ?2, base = ?3, gen = ?4 + 1, snapshot = (SELECT max(id) FROM snapshots)"
				" WHERE name = ?1",
			    name, upper, NULL, sb.gen, err) < 0 ||
		    dp_store_commit(st, err) < 0) {
			dp_store_rollback(st);
			goto out_gone;
		}
		for (size_t g = 0; g < ng; g++)
			dp_store_defer_remove(st, gone[g]);
		/* the old checkpoints' databases go; its own are made from the new snapshot */
		dp_pgsb_drop(st, pgold);
		r = settle_named(st, name, err);
out_gone:
		for (size_t g = 0; g < ng; g++)
			free(gone[g]);
	}
out:
	dp_sandbox_clear(&sb);
	return r;
}
