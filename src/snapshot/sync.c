/* `doppel sync`: capture production into a new snapshot; see snapshot.h.
 * Production is opened only O_RDONLY|O_NOFOLLOW below a root fd, entry by
 * entry with *at() calls, so a symlink or a rename race cannot lead the walk
 * out of the tree, and a device or fifo is never opened. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/fs.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/pgsandbox.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/path.h"
#include "util/fs.h"
#include "util/progress.h"

#define COPY_RETRIES 3

typedef struct walk {
	dp_store *st;
	const dp_spec *spec;
	const dp_sync_opts *opts;
	dp_sync_result *res;
	int64_t prev;          /* previous snapshot id or 0 */
	int prevfd;            /* its tree, or -1 */
	sqlite3_stmt *lookup;  /* previous manifest row by path */
	sqlite3_stmt *insert;  /* new manifest row */
	dp_progress *prog;
	bool rootless;
	bool noclone;    /* the store's file system cannot reflink */
	mode_t umask;    /* what O_CREAT strips from a new file's mode */
	uid_t new_uid;   /* owner and group a new file gets without fchown */
	gid_t new_gid;
} walk;

static int64_t ns_of(struct timespec ts)
{
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

bool dp_exclude_match(const char *pattern, const char *rel)
{
	const char *base;

	if (strchr(pattern, '/') == NULL) {
		base = strrchr(rel, '/');
		return fnmatch(pattern, base ? base + 1 : rel, 0) == 0;
	}
	/* a pattern ending in slash-star-star matches the dir and all below it */
	{
		size_t n = strlen(pattern);
		if (n >= 3 && strcmp(pattern + n - 3, "/**") == 0) {
			char head[4096];
			if (n - 3 >= sizeof(head))
				return false;
			memcpy(head, pattern, n - 3);
			head[n - 3] = '\0';
			if (fnmatch(head, rel, FNM_PATHNAME) == 0)
				return true;
			size_t rl = strlen(rel);
			for (size_t i = 0; i < rl; i++)
				if (rel[i] == '/') {
					char pre[4096];
					if (i >= sizeof(pre))
						return false;
					memcpy(pre, rel, i);
					pre[i] = '\0';
					if (fnmatch(head, pre, FNM_PATHNAME) == 0)
						return true;
				}
			return false;
		}
	}
	/* "**" inside a pattern: let '*' cross '/' */
	if (strstr(pattern, "**"))
		return fnmatch(pattern, rel, 0) == 0;
	return fnmatch(pattern, rel, FNM_PATHNAME) == 0;
}

static bool excluded(walk *w, const char *rel)
{
	for (size_t i = 0; i < w->spec->n_exclude; i++)
		if (dp_exclude_match(w->spec->exclude[i], rel))
			return true;
	/* databases arrive through src/data/, masked; their journals and WAL
	 * hold unmasked pages and never arrive at all */
	return dp_spec_db_file(w->spec, rel);
}

static int hash_fd(int fd, unsigned char out[32])
{
	crypto_hash_sha256_state st;
	unsigned char buf[1 << 16];
	ssize_t n;
	off_t off = 0;

	if (sodium_init() < 0 || crypto_hash_sha256_init(&st) != 0)
		return -1;
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
		off += n;
	}
	if (n < 0)
		return -1;
	return crypto_hash_sha256_final(&st, out);
}

static void copy_xattrs(int from, int to)
{
	char names[8192], val[65536];
	ssize_t n = flistxattr(from, names, sizeof(names));

	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
		ssize_t v = fgetxattr(from, names + i, val, sizeof(val));
		if (v >= 0)
			fsetxattr(to, names + i, val, (size_t)v, 0); /* best effort: trusted.* needs root */
	}
}

/* size bytes from in to out: copy_file_range in the kernel, or read and
 * write where it cannot (production and the store on different file
 * systems, or one that does not support it). Stops early at EOF (a file that
 * shrank while copying; the caller notices). */
static int copy_bytes(int in, int out, off_t size, off_t *done)
{
	bool plain = false;

	while (*done < size) {
		ssize_t n;
		if (!plain) {
			n = copy_file_range(in, NULL, out, NULL, (size_t)(size - *done), 0);
			if (n < 0 && (errno == EXDEV || errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS) &&
			    *done == 0) {
				plain = true;
				continue;
			}
		} else {
			char buf[1 << 16];
			ssize_t w = 0;
			n = pread(in, buf, sizeof(buf), *done);
			for (ssize_t k = 0; n > 0 && k < n; k += w) {
				w = pwrite(out, buf + k, (size_t)(n - k), *done + k);
				if (w < 0)
					return -1;
			}
		}
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*done += n;
	}
	return 0;
}

/* Copies one regular file; reflink when the filesystem can. Returns 0,
 * 1 when the source kept changing, -1 on error. */
static int copy_file(walk *w, int dirfd, const char *name, const struct stat *lst, int destdir, const char *rel,
		     unsigned char *hash, bool *hashed, dp_error **err)
{
	for (int attempt = 0; attempt < COPY_RETRIES; attempt++) {
		cleanup_close int in = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		cleanup_close int out = -1;
		struct stat before, after;
		off_t done = 0;

		if (in < 0)
			return dp_fail_errno(err, "read production %s", rel);
		if (fstat(in, &before) < 0)
			return dp_fail_errno(err, "stat production %s", rel);
		if (!S_ISREG(before.st_mode) || before.st_ino != lst->st_ino)
			return dp_fail(err, 0, "production %s changed type while syncing", rel);
		/* created with its final permission bits where the umask allows
		 * (no fchmod then); the tree is in a 0700 directory until commit */
		out = openat(destdir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, lst->st_mode & 0777);
		if (out < 0 && errno == EEXIST && attempt > 0 && unlinkat(destdir, name, 0) == 0)
			out = openat(destdir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
				     lst->st_mode & 0777);
		if (out < 0)
			return dp_fail_errno(err, "write snapshot %s", rel);
		bool cloned = false;
		if (!w->noclone) {
			cloned = ioctl(out, FICLONE, in) == 0;
			/* the store's file system cannot reflink (not EXDEV: a
			 * production subtree may sit on another file system) */
			if (!cloned && (errno == EOPNOTSUPP || errno == ENOTTY || errno == EINVAL || errno == ENOSYS))
				w->noclone = true;
		}
		if (!cloned && copy_bytes(in, out, before.st_size, &done) < 0)
			return dp_fail_errno(err, "copy %s", rel);
		if (w->opts->verify) {
			if (hash_fd(in, hash) < 0)
				return dp_fail_errno(err, "hash %s", rel);
			*hashed = true;
		}
		if (fstat(in, &after) < 0)
			return dp_fail_errno(err, "stat production %s", rel);
		bool stable = after.st_size == before.st_size && ns_of(after.st_mtim) == ns_of(before.st_mtim) &&
			      ns_of(after.st_ctim) == ns_of(before.st_ctim);
		if (stable || attempt == COPY_RETRIES - 1) {
			/* rootless, ownership stays the caller's; the manifest keeps the original */
			if (!w->rootless && (lst->st_uid != w->new_uid || lst->st_gid != w->new_gid) &&
			    fchown(out, lst->st_uid, lst->st_gid) < 0)
				dp_debug("chown %s: %s", rel, strerror(errno));
			/* set-id bits always take this (open never sets them), after
			 * fchown, which would clear them */
			if ((lst->st_mode & 07777) != (lst->st_mode & 0777 & ~w->umask) &&
			    fchmod(out, lst->st_mode & 07777) < 0)
				return dp_fail_errno(err, "chmod snapshot %s", rel);
			copy_xattrs(in, out);
			{
				struct timespec ts[2] = { lst->st_atim, lst->st_mtim };
				futimens(out, ts);
			}
			w->res->copied++;
			w->res->copied_bytes += (uint64_t)after.st_size;
			if (stable)
				return 0;
		}
	}
	/* the last attempt's bytes stay; they still get production's metadata */
	{
		cleanup_close int out = openat(destdir, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		struct timespec ts[2] = { lst->st_atim, lst->st_mtim };
		if (out < 0 || fchmod(out, lst->st_mode & 07777) < 0 || futimens(out, ts) < 0)
			return dp_fail_errno(err, "set metadata of snapshot %s", rel);
		if (!w->rootless && fchown(out, lst->st_uid, lst->st_gid) < 0)
			dp_debug("chown %s: %s", rel, strerror(errno));
	}
	w->res->copied++;
	w->res->changed_during_copy++;
	dp_warn("production %s kept changing while it was copied; the snapshot holds its last state", rel);
	return 1;
}

/* Same file as in the previous snapshot? Then share its inode. */
static int try_link(walk *w, const struct stat *st, const char *rel, int destdir, const char *name,
		    unsigned char *hash, bool *hashed, int dirfd)
{
	int r = 0;

	if (w->prevfd < 0)
		return 0;
	sqlite3_reset(w->lookup);
	sqlite3_bind_int64(w->lookup, 1, w->prev);
	sqlite3_bind_text(w->lookup, 2, rel, -1, SQLITE_STATIC);
	if (sqlite3_step(w->lookup) != SQLITE_ROW)
		return 0;
	if (sqlite3_column_int(w->lookup, 0) != 'f' || sqlite3_column_int64(w->lookup, 1) != (int64_t)st->st_size ||
	    sqlite3_column_int64(w->lookup, 2) != ns_of(st->st_mtim) ||
	    sqlite3_column_int64(w->lookup, 3) != ns_of(st->st_ctim) ||
	    sqlite3_column_int64(w->lookup, 4) != (int64_t)st->st_ino ||
	    sqlite3_column_int64(w->lookup, 5) != (int64_t)st->st_dev)
		return 0;
	if (w->opts->verify) {
		cleanup_close int in = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		const void *old = sqlite3_column_blob(w->lookup, 6);
		if (in < 0 || hash_fd(in, hash) < 0)
			return 0;
		*hashed = true;
		if (old == NULL || sqlite3_column_bytes(w->lookup, 6) != 32) {
			/* that snapshot was taken without --verify: hash its copy */
			unsigned char prevhash[32];
			cleanup_close int pf = openat(w->prevfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (pf < 0 || hash_fd(pf, prevhash) < 0 || memcmp(prevhash, hash, 32) != 0)
				return 0;
		} else if (memcmp(old, hash, 32) != 0) {
			return 0;
		}
	}
	if (linkat(w->prevfd, rel, destdir, name, 0) == 0) {
		w->res->linked++;
		r = 1;
	}
	return r;
}

static int record(walk *w, const char *rel, int type, const struct stat *st, const unsigned char *hash, dp_error **err)
{
	sqlite3_stmt *q = w->insert;

	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, rel, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 2, type);
	sqlite3_bind_int(q, 3, (int)(st->st_mode & 07777));
	sqlite3_bind_int64(q, 4, st->st_uid);
	sqlite3_bind_int64(q, 5, st->st_gid);
	sqlite3_bind_int64(q, 6, st->st_size);
	sqlite3_bind_int64(q, 7, ns_of(st->st_mtim));
	sqlite3_bind_int64(q, 8, ns_of(st->st_ctim));
	sqlite3_bind_int64(q, 9, (int64_t)st->st_ino);
	sqlite3_bind_int64(q, 10, (int64_t)st->st_dev);
	if (hash)
		sqlite3_bind_blob(q, 11, hash, 32, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(q, 11);
	if (sqlite3_step(q) != SQLITE_DONE)
		return dp_store_sql_error(w->st, "record snapshot file", err);
	return 0;
}

static void finish_meta(walk *w, int destdir, const char *name, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	if (!w->rootless && fchownat(destdir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		dp_debug("chown %s: %s", name, strerror(errno));
	if (!S_ISLNK(st->st_mode))
		fchmodat(destdir, name, st->st_mode & 07777, 0);
	utimensat(destdir, name, ts, AT_SYMLINK_NOFOLLOW);
}

static int walk_dir(walk *w, int srcfd, int destfd, const char *relbase, dp_error **err)
{
	cleanup_close int dupfd = dup(srcfd);
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (dupfd < 0)
		return dp_fail_errno(err, "read production dir %s", relbase[0] ? relbase : "/");
	d = fdopendir(dupfd);
	if (d == NULL)
		return dp_fail_errno(err, "read production dir %s", relbase[0] ? relbase : "/");
	dupfd = -1;
	while (r == 0 && (errno = 0, de = readdir(d)) != NULL) {
		char rel[4096];
		struct stat st;
		unsigned char hash[32];
		bool hashed = false;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(rel, sizeof(rel), "%s%s%s", relbase, relbase[0] ? "/" : "", de->d_name) >= sizeof(rel)) {
			r = dp_fail(err, ENAMETOOLONG, "production path below %s", relbase);
			break;
		}
		if (excluded(w, rel))
			continue;
		if (fstatat(srcfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue; /* removed while we walk: not part of this capture */
			r = dp_fail_errno(err, "stat production %s", rel);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			cleanup_close int sub = openat(srcfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			cleanup_close int dsub = -1;
			if (sub < 0) {
				r = dp_fail_errno(err, "open production dir %s", rel);
				break;
			}
			if (mkdirat(destfd, de->d_name, 0700) < 0 && errno != EEXIST) {
				r = dp_fail_errno(err, "create snapshot dir %s", rel);
				break;
			}
			dsub = openat(destfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (dsub < 0) {
				r = dp_fail_errno(err, "open snapshot dir %s", rel);
				break;
			}
			r = walk_dir(w, sub, dsub, rel, err);
			if (r == 0) {
				copy_xattrs(sub, dsub);
				finish_meta(w, destfd, de->d_name, &st);
				w->res->dirs++;
				r = record(w, rel, 'd', &st, NULL, err);
			}
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlinkat(srcfd, de->d_name, target, sizeof(target) - 1);
			if (n < 0) {
				r = dp_fail_errno(err, "read production symlink %s", rel);
				break;
			}
			target[n] = '\0';
			/* copied as a symlink: inside a sandbox it resolves inside the sandbox */
			if (symlinkat(target, destfd, de->d_name) < 0) {
				r = dp_fail_errno(err, "create snapshot symlink %s", rel);
				break;
			}
			finish_meta(w, destfd, de->d_name, &st);
			w->res->symlinks++;
			r = record(w, rel, 'l', &st, NULL, err);
		} else if (S_ISREG(st.st_mode)) {
			int c = try_link(w, &st, rel, destfd, de->d_name, hash, &hashed, srcfd);
			if (c == 0) {
				c = copy_file(w, srcfd, de->d_name, &st, destfd, rel, hash, &hashed, err);
				if (c < 0) {
					r = -1;
					break;
				}
				if (c == 1) {
					if (fstatat(srcfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
						continue;
					/* the copy matches no single state of the file: a
					 * ctime no file has makes the next sync copy it again */
					st.st_ctim.tv_sec = 0;
					st.st_ctim.tv_nsec = 0;
				}
			}
			w->res->files++;
			w->res->bytes += (uint64_t)st.st_size;
			r = record(w, rel, 'f', &st, hashed ? hash : NULL, err);
			if (w->prog)
				dp_progress_update(w->prog, w->res->files, w->res->bytes);
		} else {
			/* sockets, fifos, devices: never opened */
			w->res->skipped_special++;
			dp_warn("production %s is a special file (%s); skipped", rel,
				S_ISFIFO(st.st_mode) ? "fifo" : S_ISSOCK(st.st_mode) ? "socket" : "device");
		}
	}
	if (r == 0 && errno != 0 && de == NULL)
		r = dp_fail_errno(err, "read production dir %s", relbase[0] ? relbase : "/");
	closedir(d);
	return r;
}

void dp_snapshot_dir(int64_t id, char *buf, size_t n)
{
	snprintf(buf, n, "snapshots/%lld", (long long)id);
}

void dp_snapshot_subsets_dir(int64_t id, char *buf, size_t n)
{
	snprintf(buf, n, "subsets/%lld", (long long)id);
}

bool dp_snapshot_lost(dp_store *st, int64_t id)
{
	sqlite3_stmt *q = NULL;
	bool lost = false;

	if (sqlite3_prepare_v2(st->db, "SELECT unflushed FROM snapshots WHERE id = ?1", -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, id);
		if (sqlite3_step(q) == SQLITE_ROW)
			lost = dp_store_mark_lost((const char *)sqlite3_column_text(q, 0));
	}
	sqlite3_finalize(q);
	return lost;
}

int dp_snapshot_trust(dp_store *st, int64_t id, dp_error **err)
{
	if (!dp_snapshot_lost(st, id))
		return 0;
	return dp_fail(err, 0,
		       "snapshot %lld was still being written to disk when the machine restarted, so some of its files "
		       "may be incomplete; run 'doppel sync' for a new snapshot (see 'doppel check')",
		       (long long)id);
}

int64_t dp_snapshot_latest(dp_store *st)
{
	sqlite3_stmt *q = NULL;
	int64_t id = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT max(id) FROM snapshots", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		id = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return id;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int dp_snapshot_sync(dp_store *st, const dp_spec *spec, const dp_sync_opts *opts, dp_sync_result *res,
		     dp_error **err)
{
	walk w = { .st = st, .spec = spec, .opts = opts, .res = res, .prevfd = -1, .rootless = geteuid() != 0 };
	cleanup_close int prodfd = -1;
	cleanup_close int tmpfd = -1;
	cleanup_close int lockfd = -1;
	cleanup_close int subfd = -1;
	char tmprel[64], final[64], prevrel[64], subtmp[64] = "", subfinal[64];
	char mark[DP_STORE_MARK_MAX];
	sqlite3_stmt *ins = NULL;
	double t0 = now_s();
	int64_t id;
	int r = -1;
	bool pg_pending = false; /* build databases to drop if we fail */

	memset(res, 0, sizeof(*res));
	lockfd = dp_store_lock(st, "sync", false, err);
	if (lockfd < 0)
		return -1;
	prodfd = dp_path_open_nofollow("production.root", spec->root, O_RDONLY | O_DIRECTORY, err);
	if (prodfd < 0)
		return dp_wrap(err, "%s", spec->file);
	{
		size_t findings;
		if (dp_snapshot_check_databases(spec, prodfd, &findings, err) < 0)
			return -1;
	}

	w.prev = dp_snapshot_latest(st);
	id = w.prev + 1;
	if (w.prev > 0 && dp_snapshot_lost(st, w.prev)) {
		dp_warn("snapshot %lld may have lost files in a restart before it reached the disk; copying everything",
			(long long)w.prev);
	} else if (w.prev > 0) {
		dp_snapshot_dir(w.prev, prevrel, sizeof(prevrel));
		w.prevfd = openat(st->rootfd, prevrel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (w.prevfd < 0)
			dp_warn("previous snapshot %lld is missing its files; copying everything (run 'doppel check')",
				(long long)w.prev);
	}
	snprintf(tmprel, sizeof(tmprel), "tmp/snapshot-%lld-%d", (long long)id, (int)getpid());
	dp_snapshot_dir(id, final, sizeof(final));
	dp_snapshot_subsets_dir(id, subfinal, sizeof(subfinal));
	/* no record names it and we hold the sync lock: a sync killed between
	 * moving its tree into place and committing left it */
	dp_remove_tree_at(st->rootfd, final);
	dp_remove_tree_at(st->rootfd, subfinal);
	if (mkdirat(st->rootfd, tmprel, 0700) < 0) {
		dp_fail_errno(err, "create %s/%s", st->root, tmprel);
		goto out;
	}
	tmpfd = openat(st->rootfd, tmprel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tmpfd < 0) {
		dp_fail_errno(err, "open %s/%s", st->root, tmprel);
		goto out;
	}
	{
		/* what a new file gets without fchmod and fchown (copy_file) */
		struct stat ts;
		if (fstat(tmpfd, &ts) < 0) {
			dp_fail_errno(err, "stat %s/%s", st->root, tmprel);
			goto out;
		}
		w.umask = umask(077);
		umask(w.umask);
		w.new_uid = geteuid();
		w.new_gid = (ts.st_mode & S_ISGID) ? ts.st_gid : getegid();
	}
	/* the manifest goes to a TEMP table first: the store stays free for
	 * create, reset and the rest for as long as the walk takes */
	if (dp_store_exec(st,
			  "CREATE TEMP TABLE IF NOT EXISTS new_files (path TEXT PRIMARY KEY, type INTEGER, mode INTEGER,"
			  " uid INTEGER, gid INTEGER, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, ino INTEGER,"
			  " dev INTEGER, sha256 BLOB); DELETE FROM temp.new_files",
			  err) < 0)
		goto out;
	if (dp_store_exec(st, "BEGIN", err) < 0) /* reads the old manifest, writes only TEMP */
		goto out;
	if (dp_store_prepare(st,
			     "SELECT type, size, mtime_ns, ctime_ns, ino, dev, sha256 FROM snapshot_files "
			     "WHERE snapshot = ?1 AND path = ?2",
			     &w.lookup, err) < 0 ||
	    dp_store_prepare(st,
			     "INSERT INTO temp.new_files (path, type, mode, uid, gid, size, mtime_ns, ctime_ns,"
			     " ino, dev, sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
			     &w.insert, err) < 0)
		goto out_tx;
	if (opts->progress)
		w.prog = dp_progress_new("sync", 0, 0);
	if (walk_dir(&w, prodfd, tmpfd, "", err) < 0)
		goto out_tx;
	{
		struct stat rst;
		if (fstat(prodfd, &rst) == 0)
			finish_meta(&w, st->rootfd, tmprel, &rst);
	}
	if (dp_snapshot_copy_databases(st, spec, prodfd, tmpfd, res, err) < 0)
		goto out_tx;
	pg_pending = true;
	if (dp_snapshot_copy_pg(st, spec, id, res, err) < 0)
		goto out_tx;
	if (spec->n_subsets) {
		snprintf(subtmp, sizeof(subtmp), "tmp/subsets-%lld-%d", (long long)id, (int)getpid());
		if (mkdirat(st->rootfd, subtmp, 0700) < 0 ||
		    (subfd = openat(st->rootfd, subtmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			dp_fail_errno(err, "create %s/%s", st->root, subtmp);
			goto out_tx;
		}
		if (dp_snapshot_subset_databases(spec, tmpfd, subfd, res, err) < 0)
			goto out_tx;
		if (res->subsets == 0) { /* rules only for full tiers: nothing to keep */
			dp_remove_tree_at(st->rootfd, subtmp);
			subtmp[0] = '\0';
		}
	}
	/* no statement may keep a read transaction open past here */
	sqlite3_finalize(w.lookup);
	sqlite3_finalize(w.insert);
	w.lookup = w.insert = NULL;
	if (dp_store_commit(st, err) < 0)
		goto out_tx;
	if (dp_store_begin(st, err) < 0)
		goto out;
	/* the tree is in the page cache only: a mark until the background
	 * syncfs confirms it (store/flush.c) */
	if (dp_store_flush_mark(st, mark, err) < 0 ||
	    dp_store_prepare(st,
			     "INSERT INTO snapshots (id, created, root, files, bytes, copied, linked, unflushed) "
			     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			     &ins, err) < 0)
		goto out_tx;
	sqlite3_bind_int64(ins, 1, id);
	sqlite3_bind_int64(ins, 2, (int64_t)time(NULL));
	sqlite3_bind_text(ins, 3, spec->root, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 4, (int64_t)res->files);
	sqlite3_bind_int64(ins, 5, (int64_t)res->bytes);
	sqlite3_bind_int64(ins, 6, (int64_t)res->copied);
	sqlite3_bind_int64(ins, 7, (int64_t)res->linked);
	sqlite3_bind_text(ins, 8, mark, -1, SQLITE_STATIC);
	if (sqlite3_step(ins) != SQLITE_DONE) {
		dp_store_sql_error(st, "record snapshot", err);
		goto out_tx;
	}
	sqlite3_finalize(ins);
	ins = NULL;
	if (dp_store_prepare(st,
			     "INSERT INTO snapshot_files (snapshot, path, type, mode, uid, gid, size, mtime_ns, ctime_ns,"
			     " ino, dev, sha256) SELECT ?1, path, type, mode, uid, gid, size, mtime_ns, ctime_ns, ino, dev,"
			     " sha256 FROM temp.new_files",
			     &ins, err) < 0)
		goto out_tx;
	sqlite3_bind_int64(ins, 1, id);
	if (sqlite3_step(ins) != SQLITE_DONE) {
		dp_store_sql_error(st, "record snapshot files", err);
		goto out_tx;
	}
	/* the tree gets its final name first: a crash now leaves an unrecorded
	 * directory, which `doppel check` (or the next sync) removes; never a
	 * record without files */
	if (renameat(st->rootfd, tmprel, st->rootfd, final) < 0) {
		dp_fail_errno(err, "move snapshot into place");
		goto out_tx;
	}
	if (subtmp[0] && (mkdirat(st->rootfd, "subsets", 0700) < 0 && errno != EEXIST)) {
		dp_fail_errno(err, "create %s/subsets", st->root);
		renameat(st->rootfd, final, st->rootfd, tmprel);
		goto out_tx;
	}
	if (subtmp[0] && renameat(st->rootfd, subtmp, st->rootfd, subfinal) < 0) {
		dp_fail_errno(err, "move subsets into place");
		renameat(st->rootfd, final, st->rootfd, tmprel);
		goto out_tx;
	}
	if (dp_snapshot_commit_pg(st, spec, id, err) < 0) {
		renameat(st->rootfd, final, st->rootfd, tmprel);
		if (subtmp[0])
			renameat(st->rootfd, subfinal, st->rootfd, subtmp);
		goto out_tx;
	}
	if (dp_store_commit(st, err) < 0) {
		renameat(st->rootfd, final, st->rootfd, tmprel);
		if (subtmp[0])
			renameat(st->rootfd, subfinal, st->rootfd, subtmp);
		goto out_tx;
	}
	subtmp[0] = '\0';
	pg_pending = false;
	dp_store_exec(st, "DELETE FROM temp.new_files", NULL);
	tmprel[0] = '\0';
	res->id = id;
	r = 0;
	if (spec->sync_keep && dp_snapshot_prune(st, spec, &res->pruned, err) < 0)
		r = -1;
	goto out;
out_tx:
	dp_store_rollback(st);
out:
	if (w.prog)
		dp_progress_done(w.prog);
	sqlite3_finalize(ins);
	sqlite3_finalize(w.lookup);
	sqlite3_finalize(w.insert);
	if (w.prevfd >= 0)
		close(w.prevfd);
	if (tmprel[0])
		dp_remove_tree_at(st->rootfd, tmprel);
	if (subtmp[0])
		dp_remove_tree_at(st->rootfd, subtmp);
	if (pg_pending)
		dp_snapshot_abort_pg(st, spec, id);
	res->seconds = now_s() - t0;
	return r;
}

/* A snapshot's template databases (NULL-terminated; never NULL). */
static char **snapshot_pgnames(dp_store *st, int64_t id)
{
	sqlite3_stmt *q = NULL;
	size_t n = 0;
	char **v = calloc(1, sizeof(char *));

	if (v == NULL)
		abort();
	if (sqlite3_prepare_v2(st->db, "SELECT pgname FROM snapshot_databases WHERE snapshot = ?1", -1, &q, NULL) != SQLITE_OK)
		return v;
	sqlite3_bind_int64(q, 1, id);
	while (sqlite3_step(q) == SQLITE_ROW) {
		char **g = realloc(v, (n + 2) * sizeof(char *));
		if (g == NULL)
			abort();
		v = g;
		v[n++] = strdup((const char *)sqlite3_column_text(q, 0));
		v[n] = NULL;
	}
	sqlite3_finalize(q);
	return v;
}

int dp_snapshot_prune(dp_store *st, const dp_spec *spec, uint64_t *pruned, dp_error **err)
{
	sqlite3_stmt *q = NULL;
	int64_t victims[256];
	size_t n = 0;

	*pruned = 0;
	/* older than the newest `keep`, and no sandbox stands on them */
	if (dp_store_prepare(st,
			     "SELECT id FROM snapshots WHERE id NOT IN (SELECT id FROM snapshots ORDER BY id DESC LIMIT ?1)"
			     " AND id NOT IN (SELECT snapshot FROM sandboxes) ORDER BY id LIMIT 256",
			     &q, err) < 0)
		return -1;
	sqlite3_bind_int64(q, 1, spec->sync_keep);
	while (sqlite3_step(q) == SQLITE_ROW && n < 256)
		victims[n++] = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	for (size_t i = 0; i < n; i++) {
		char rel[64], trash[96];
		sqlite3_stmt *del = NULL;
		char **pgnames = snapshot_pgnames(st, victims[i]);
		dp_snapshot_dir(victims[i], rel, sizeof(rel));
		snprintf(trash, sizeof(trash), "tmp/pruned-%lld-%d", (long long)victims[i], (int)getpid());
		if (dp_store_begin(st, err) < 0)
			return -1;
		if (dp_store_prepare(st, "DELETE FROM snapshots WHERE id = ?1 AND id NOT IN (SELECT snapshot FROM sandboxes)",
				     &del, err) < 0) {
			dp_store_rollback(st);
			dp_pgsb_names_free(pgnames);
			return -1;
		}
		sqlite3_bind_int64(del, 1, victims[i]);
		if (sqlite3_step(del) != SQLITE_DONE) {
			sqlite3_finalize(del);
			dp_store_rollback(st);
			dp_pgsb_names_free(pgnames);
			return dp_store_sql_error(st, "prune snapshot", err);
		}
		sqlite3_finalize(del);
		if (sqlite3_changes(st->db) == 0) { /* a sandbox took it meanwhile */
			dp_store_rollback(st);
			dp_pgsb_names_free(pgnames);
			continue;
		}
		if (dp_store_commit(st, err) < 0) {
			dp_store_rollback(st);
			dp_pgsb_names_free(pgnames);
			return -1;
		}
		/* its template databases are unrecorded now, like its files */
		dp_pgsb_drop_templates(st, pgnames);
		dp_pgsb_names_free(pgnames);
		/* unrecorded now; its files go (a crash here leaves what check removes) */
		if (renameat(st->rootfd, rel, st->rootfd, trash) == 0)
			dp_remove_tree_at(st->rootfd, trash);
		dp_snapshot_subsets_dir(victims[i], rel, sizeof(rel));
		snprintf(trash, sizeof(trash), "tmp/pruned-subsets-%lld-%d", (long long)victims[i], (int)getpid());
		if (renameat(st->rootfd, rel, st->rootfd, trash) == 0)
			dp_remove_tree_at(st->rootfd, trash);
		(*pruned)++;
	}
	return 0;
}
