/* `doppel diff`: what a sandbox changed, read from its own layers (never the
 * merged view): overlay whiteouts (0/0 character devices) are deletions, an
 * entry also present in the snapshot is a modification, anything else was
 * added. Upper layers hide lower ones, so the first layer (top down) that
 * mentions a path decides; a temporary table keeps that first answer. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "sandbox/diff.h"
#include "util/cleanup.h"

typedef struct diffwalk {
	dp_store *st;
	int snapfd;
	sqlite3_stmt *ins;
} diffwalk;

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) == 0 && minor(st->st_rdev) == 0;
}

static bool in_snapshot(diffwalk *w, const char *rel)
{
	struct stat st;
	return fstatat(w->snapfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* overlayfs copies a file up when it is merely opened for writing (SQLite
 * does); such a copy is no change. Same type, mode, owner and bytes = same. */
static bool same_as_snapshot(diffwalk *w, int dirfd, const char *name, const char *rel, const struct stat *st)
{
	struct stat ss;
	char a[65536], b[65536];
	int fa, fb;
	bool same = true;

	if (fstatat(w->snapfd, rel, &ss, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(ss.st_mode) || !S_ISREG(st->st_mode) ||
	    ss.st_size != st->st_size || ss.st_mode != st->st_mode || ss.st_uid != st->st_uid || ss.st_gid != st->st_gid)
		return false;
	fa = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	fb = openat(w->snapfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fa < 0 || fb < 0)
		same = false;
	while (same) {
		ssize_t na = read(fa, a, sizeof(a)), nb = read(fb, b, sizeof(b));
		if (na != nb || na < 0 || memcmp(a, b, (size_t)na) != 0)
			same = false;
		if (na <= 0)
			break;
	}
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return same;
}

static void add(diffwalk *w, const char *rel, char kind)
{
	char k[2] = { kind, 0 };
	sqlite3_reset(w->ins);
	sqlite3_bind_text(w->ins, 1, rel, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(w->ins, 2, k, 1, SQLITE_TRANSIENT);
	sqlite3_step(w->ins);
}

static int walk_layer(diffwalk *w, int dirfd, const char *base, dp_error **err)
{
	DIR *d;
	struct dirent *de;
	int fd = dup(dirfd);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return dp_fail_errno(err, "read layer %s", base);
	}
	while ((de = readdir(d)) != NULL) {
		char rel[4096];
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(rel, sizeof(rel), "%s%s%s", base, base[0] ? "/" : "", de->d_name);
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (is_whiteout(&st)) {
			add(w, rel, 'D');
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			cleanup_close int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			char opaque[4] = "";
			bool existed = in_snapshot(w, rel);
			if (!existed)
				add(w, rel, 'A');
			if (sub >= 0 && fgetxattr(sub, "user.overlay.opaque", opaque, sizeof(opaque) - 1) > 0 &&
			    opaque[0] == 'y' && existed)
				add(w, rel, 'R'); /* replaced wholesale: what was below is gone */
			if (sub >= 0 && walk_layer(w, sub, rel, err) < 0) {
				closedir(d);
				return -1;
			}
			continue;
		}
		if (!in_snapshot(w, rel))
			add(w, rel, 'A');
		else if (!same_as_snapshot(w, dirfd, de->d_name, rel, &st))
			add(w, rel, 'M');
		else
			add(w, rel, '='); /* decided (hides lower layers) but not shown */
	}
	closedir(d);
	return 0;
}

int dp_sandbox_diff(dp_store *st, const dp_sandbox *sb, dp_diff_entry **out, size_t *n, dp_error **err)
{
	char **lowers = dp_sandbox_lowers(st, sb, err);
	diffwalk w = { .st = st, .snapfd = -1 };
	sqlite3_stmt *q = NULL;
	char rel[256];
	size_t cap = 64, count = 0;
	dp_diff_entry *v = NULL;
	int r = -1;

	*out = NULL;
	*n = 0;
	if (lowers == NULL)
		return -1;
	if (dp_store_exec(st, "CREATE TEMP TABLE IF NOT EXISTS diff (path TEXT PRIMARY KEY, kind TEXT); DELETE FROM diff",
			  err) < 0 ||
	    dp_store_prepare(st, "INSERT OR IGNORE INTO diff (path, kind) VALUES (?1, ?2)", &w.ins, err) < 0)
		goto out;
	{
		size_t k = 0;
		while (lowers[k + 1])
			k++;
		w.snapfd = openat(st->rootfd, lowers[k], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (w.snapfd < 0) {
			dp_fail_errno(err, "open snapshot %lld", (long long)sb->snapshot);
			goto out;
		}
		/* upper first, then the checkpoint layers; the snapshot is the reference */
		snprintf(rel, sizeof(rel), "sandboxes/%s/%s", sb->name, sb->upper);
		for (size_t i = 0; i <= k; i++) {
			const char *layer = i == 0 ? rel : lowers[i - 1];
			cleanup_close int fd = openat(st->rootfd, layer, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				dp_fail_errno(err, "open layer %s", layer);
				goto out;
			}
			if (walk_layer(&w, fd, "", err) < 0)
				goto out;
		}
	}
	/* a deletion of something that never existed below is no change */
	if (dp_store_prepare(st, "SELECT path, kind FROM diff ORDER BY path", &q, err) < 0)
		goto out;
	v = calloc(cap, sizeof(*v));
	while (v && sqlite3_step(q) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(q, 0);
		char kind = ((const char *)sqlite3_column_text(q, 1))[0];
		if (kind == '=' || (kind == 'D' && !in_snapshot(&w, p)))
			continue;
		if (count == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
			if (v == NULL)
				break;
		}
		v[count].path = strdup(p);
		v[count].kind = kind;
		count++;
	}
	if (v == NULL) {
		dp_fail(err, ENOMEM, "diff");
		goto out;
	}
	*out = v;
	*n = count;
	r = 0;
out:
	sqlite3_finalize(q);
	sqlite3_finalize(w.ins);
	if (w.snapfd >= 0)
		close(w.snapfd);
	for (char **l = lowers; *l; l++)
		free(*l);
	free(lowers);
	return r;
}

void dp_diff_free(dp_diff_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}
