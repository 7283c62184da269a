/* Copy-up of one file into a sandbox's upper layer; see copyup.h.
 *
 * Which layer shows a path is decided the way overlayfs decides it, top
 * down: the first layer with an entry at the path wins; a whiteout there (a
 * 0/0 character device), or a non-directory where a directory of the path
 * should be, hides the path in every layer below; a directory marked opaque
 * (user.overlay.opaque = "y": doppel mounts with userxattr) hides the layers
 * below it. Directories the upper layer lacks are made with the mode, owner
 * and times of the directory the sandbox sees. Copies are written under the
 * store's tmp/ (named -PID, so `doppel check` removes one a crash left) and
 * renamed into place: the sandbox never sees half a file. */
#include "sandbox/copyup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/path.h"

struct dp_layers {
	size_t n;
	int *fd;     /* O_PATH directories */
	char **name; /* relative to the store root, for messages */
};

enum seen {
	SEEN_NOTHING, /* no entry here; look further down */
	SEEN_ENTRY,   /* the file (or directory) is here */
	SEEN_HIDDEN,  /* a whiteout or a non-directory hides it here and below */
	SEEN_OPAQUE,  /* not here, and an opaque directory hides the layers below */
};

static void layers_free(struct dp_layers *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		if (l->fd[i] >= 0)
			close(l->fd[i]);
		free(l->name[i]);
	}
	free(l->fd);
	free(l->name);
	free(l);
}

/* The upper layer, then sb's lower layers top down, opened O_PATH. */
static struct dp_layers *layers_open(dp_store *st, const dp_sandbox *sb, dp_error **err)
{
	char **lowers = dp_sandbox_lowers(st, sb, err);
	struct dp_layers *l;
	size_t n = 1;

	if (lowers == NULL)
		return NULL;
	while (lowers[n - 1])
		n++;
	l = calloc(1, sizeof(*l));
	if (l == NULL || (l->fd = calloc(n, sizeof(int))) == NULL || (l->name = calloc(n, sizeof(char *))) == NULL)
		abort();
	if (asprintf(&l->name[0], "sandboxes/%s/%s", sb->name, sb->upper) < 0)
		abort();
	for (size_t i = 1; i < n; i++)
		l->name[i] = lowers[i - 1];
	free(lowers);
	l->n = n;
	for (size_t i = 0; i < n; i++)
		l->fd[i] = -1;
	for (size_t i = 0; i < n; i++) {
		l->fd[i] = openat(st->rootfd, l->name[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (l->fd[i] < 0) {
			dp_fail_errno(err, "open layer %s/%s", st->root, l->name[i]);
			layers_free(l);
			return NULL;
		}
	}
	return l;
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(int dirfd)
{
	char v[8] = "";

	return fgetxattr(dirfd, "user.overlay.opaque", v, sizeof(v) - 1) > 0 && v[0] == 'y';
}

/* What layer `l` of `ls` has at rel (a file, or a directory with want_dir);
 * st describes the entry when it is there. */
static int probe(const struct dp_layers *ls, size_t l, const char *rel, bool want_dir, struct stat *st,
		 dp_error **err)
{
	cleanup_close int cur = -1;
	bool opaque = false;
	const char *p = rel;

	for (;;) {
		const char *end = strchrnul(p, '/');
		char name[NAME_MAX + 1];
		int dfd = cur >= 0 ? cur : ls->fd[l];

		snprintf(name, sizeof(name), "%.*s", (int)(end - p), p);
		if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return dp_fail_errno(err, "%s/%.*s", ls->name[l], (int)(end - rel), rel);
			return opaque ? SEEN_OPAQUE : SEEN_NOTHING;
		}
		if (is_whiteout(st))
			return SEEN_HIDDEN;
		if (S_ISLNK(st->st_mode))
			return dp_usage(err, "%.*s is a symlink in layer %s; doppel does not follow symlinks", (int)(end - rel),
					rel, ls->name[l]);
		if (*end == '\0') {
			if (want_dir ? S_ISDIR(st->st_mode) : S_ISREG(st->st_mode))
				return SEEN_ENTRY;
			return dp_usage(err, "%s in layer %s is not a %s", rel, ls->name[l],
					want_dir ? "directory" : "regular file");
		}
		if (!S_ISDIR(st->st_mode))
			return SEEN_HIDDEN; /* a file where a directory of the path should be */
		{
			int next = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next < 0)
				return dp_fail_errno(err, "%s/%.*s", ls->name[l], (int)(end - rel), rel);
			if (cur >= 0)
				close(cur);
			cur = next;
		}
		opaque |= is_opaque(cur);
		p = end + 1;
	}
}

/* Has any layer from `from` down an entry at rel, whatever hides it? */
static bool any_below(const struct dp_layers *ls, size_t from, const char *rel, bool want_dir)
{
	for (size_t i = from; i < ls->n; i++) {
		struct stat st;
		dp_error *e = NULL;
		int r = probe(ls, i, rel, want_dir, &st, &e);
		dp_error_free(&e);
		if (r == SEEN_ENTRY)
			return true;
	}
	return false;
}

/* Which layer, from `from` down, shows rel: SEEN_ENTRY with *layer and st
 * set; SEEN_HIDDEN when a layer hides a copy below it (the sandbox deleted
 * it); SEEN_NOTHING when no layer has it; -1 on error. */
static int locate(const struct dp_layers *ls, size_t from, const char *rel, bool want_dir, struct stat *st,
		  size_t *layer, dp_error **err)
{
	for (size_t i = from; i < ls->n; i++) {
		int r = probe(ls, i, rel, want_dir, st, err);
		if (r < 0)
			return -1;
		if (r == SEEN_ENTRY) {
			*layer = i;
			return SEEN_ENTRY;
		}
		if (r != SEEN_NOTHING)
			return any_below(ls, i + 1, rel, want_dir) ? SEEN_HIDDEN : SEEN_NOTHING;
	}
	return SEEN_NOTHING;
}

/* ---- copying --------------------------------------------------------------- */

static unsigned counter; /* names in tmp/ */

static int copy_bytes(int in, int out)
{
	char buf[65536];
	bool plain = false;

	for (;;) {
		ssize_t n;
		if (!plain) {
			n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
			if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
				plain = true;
				continue;
			}
			if (n <= 0)
				return (int)n;
			continue;
		}
		n = read(in, buf, sizeof(buf));
		if (n <= 0)
			return (int)n;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));
			if (w < 0)
				return -1;
			done += w;
		}
	}
}

/* Owner first: chown clears set-id bits, which the mode then restores. */
static int copy_attrs(int fd, const struct stat *st)
{
	struct timespec times[2] = { st->st_atim, st->st_mtim };

	if (geteuid() == 0 && fchown(fd, st->st_uid, st->st_gid) < 0)
		return -1;
	if (fchmod(fd, st->st_mode & 07777) < 0 || futimens(fd, times) < 0)
		return -1;
	return 0;
}

static int rename_noreplace(int fromfd, const char *from, int tofd, const char *to)
{
	int r = renameat2(fromfd, from, tofd, to, RENAME_NOREPLACE);

	if (r < 0 && errno == EINVAL) {
		struct stat st;
		if (fstatat(tofd, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			errno = EEXIST;
			return -1;
		}
		r = renameat(fromfd, from, tofd, to);
	}
	return r;
}

/* Copies layer l's rel to `name` in the upper directory cu->dirfd. */
static int copy_in(dp_copyup *cu, size_t l, const char *rel, const char *name, dp_error **err)
{
	const struct dp_layers *ls = cu->layers;
	cleanup_close int in = dp_open_in_root_nosym(ls->fd[l], rel, O_RDONLY | O_NOFOLLOW, 0);
	cleanup_close int out = -1;
	struct stat st;
	char tmp[64];
	int e;

	if (in < 0 || fstat(in, &st) < 0)
		return dp_fail_errno(err, "open %s/%s", ls->name[l], rel);
	if (!S_ISREG(st.st_mode))
		return dp_usage(err, "%s in layer %s is not a regular file", rel, ls->name[l]);
	snprintf(tmp, sizeof(tmp), "tmp/copyup%u-%d", counter++, (int)getpid());
	out = openat(cu->storefd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return dp_fail_errno(err, "create %s", tmp);
	if (copy_bytes(in, out) == 0 && copy_attrs(out, &st) == 0 && fsync(out) == 0 &&
	    rename_noreplace(cu->storefd, tmp, cu->dirfd, name) == 0)
		return 0;
	e = errno;
	unlinkat(cu->storefd, tmp, 0);
	return dp_fail(err, e, "copy %s/%s into the sandbox's upper layer", ls->name[l], rel);
}

/* ---- directories ------------------------------------------------------------ */

/* mkdir of rel's component `name` in parent, with the mode, owner and (set
 * later) times of the directory the sandbox sees there. */
static int make_dir(dp_copyup *cu, int parent, const char *name, const char *prefix, dp_error **err)
{
	struct stat st;
	size_t layer;
	cleanup_close int fd = -1;
	int r = locate(cu->layers, 1, prefix, true, &st, &layer, err);

	if (r < 0)
		return -1;
	if (r != SEEN_ENTRY)
		return dp_fail(err, 0, "%s: no layer of the sandbox has this directory", prefix);
	if (cu->n_made == DP_COPYUP_MAX_DEPTH)
		return dp_usage(err, "%s: more than %d directories deep", cu->rel, DP_COPYUP_MAX_DEPTH);
	if (mkdirat(parent, name, 0700) < 0)
		return dp_fail_errno(err, "create %s in the sandbox's upper layer", prefix);
	cu->made[cu->n_made] = strdup(prefix);
	if (cu->made[cu->n_made] == NULL)
		abort();
	cu->made_times[cu->n_made][0] = st.st_atim;
	cu->made_times[cu->n_made++][1] = st.st_mtim;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) < 0) || fchmod(fd, st.st_mode & 07777) < 0)
		return dp_fail_errno(err, "set up %s in the sandbox's upper layer", prefix);
	return 0;
}

/* The times of dir, the deepest directory of the path the upper layer had:
 * the first new entry goes there, and undo puts its times back. */
static int remember_kept(dp_copyup *cu, const char *dir, dp_error **err)
{
	struct stat st;

	if (fstatat(cu->upperfd, dir, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return dp_fail_errno(err, "%s in the sandbox's upper layer", dir);
	free(cu->kept);
	cu->kept = strdup(dir);
	if (cu->kept == NULL)
		abort();
	cu->kept_times[0] = st.st_atim;
	cu->kept_times[1] = st.st_mtim;
	return 0;
}

/* The upper layer's directories on the way to rel, made where missing;
 * opens cu->dirfd on the last one. */
static int make_dirs(dp_copyup *cu, dp_error **err)
{
	const char *slash = strrchr(cu->rel, '/');
	char dir[PATH_MAX] = "."; /* holds the next component */
	size_t made = cu->n_made;

	if (remember_kept(cu, ".", err) < 0)
		return -1;
	for (const char *p = cu->rel; slash && p <= slash;) {
		const char *end = strchr(p, '/');
		char name[NAME_MAX + 1], prefix[PATH_MAX];
		struct stat st;
		cleanup_close int parent = dp_open_in_root_nosym(cu->upperfd, dir, O_PATH | O_DIRECTORY, 0);

		if (parent < 0)
			return dp_fail_errno(err, "open %s in the sandbox's upper layer", dir);
		snprintf(name, sizeof(name), "%.*s", (int)(end - p), p);
		snprintf(prefix, sizeof(prefix), "%.*s", (int)(end - cu->rel), cu->rel);
		if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return dp_fail_errno(err, "%s in the sandbox's upper layer", prefix);
			if (make_dir(cu, parent, name, prefix, err) < 0)
				return -1;
		} else if (!S_ISDIR(st.st_mode)) {
			return dp_usage(err, "%s in the sandbox's upper layer is not a directory", prefix);
		}
		if (cu->n_made == made && remember_kept(cu, prefix, err) < 0)
			return -1;
		snprintf(dir, sizeof(dir), "%s", prefix);
		p = end + 1;
	}
	cu->dirfd = dp_open_in_root_nosym(cu->upperfd, dir, O_PATH | O_DIRECTORY, 0);
	if (cu->dirfd < 0)
		return dp_fail_errno(err, "open %s in the sandbox's upper layer", dir);
	return 0;
}

/* The directories we made get their times last: making entries in them
 * moved their mtimes. Deepest first, since each one changes its parent. */
static int restore_dir_times(dp_copyup *cu, dp_error **err)
{
	for (size_t i = cu->n_made; i-- > 0;) {
		cleanup_close int fd = dp_open_in_root_nosym(cu->upperfd, cu->made[i], O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0 || futimens(fd, cu->made_times[i]) < 0)
			return dp_fail_errno(err, "set the times of %s in the sandbox's upper layer", cu->made[i]);
	}
	return 0;
}

/* ---- the interface ---------------------------------------------------------- */

static int check_rel(const char *rel, dp_error **err)
{
	const char *p = rel;

	if (rel[0] == '\0' || rel[0] == '/' || strlen(rel) >= PATH_MAX - 16)
		return dp_usage(err, "'%s': expected a relative path", rel);
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		if (n == 0 || n > NAME_MAX - 16 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return dp_usage(err, "'%s': expected a relative path without empty, '.' or '..' components", rel);
		p = *end ? end + 1 : end;
	}
	return 0;
}

static char *side_name(const char *base, const char *suffix)
{
	char *r = NULL;

	if (asprintf(&r, "%s%s", base, suffix) < 0)
		abort();
	return r;
}

/* Which side files the upper layer has before we touch it: undo leaves
 * those alone. A whiteout the sandbox left for one (its app deleted it) is
 * a character device outside the overlay, which SQLite cannot open: it is
 * moved aside to the store's tmp/ for the edit; undo moves it back, settle
 * drops it and hides what a lower layer would show instead. */
static int note_sides(dp_copyup *cu, dp_error **err)
{
	for (size_t k = 0; cu->sides && cu->sides[k]; k++) {
		cleanup_free char *name = side_name(cu->base, cu->sides[k]);
		struct stat st;

		if (fstatat(cu->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return dp_fail_errno(err, "%s/%s in the sandbox's upper layer", cu->rel, name);
			continue;
		}
		if (!is_whiteout(&st)) {
			cu->side_was_up[k] = true;
			continue;
		}
		snprintf(cu->stash[k], sizeof(cu->stash[k]), "tmp/whiteout%u-%d", counter++, (int)getpid());
		if (rename_noreplace(cu->dirfd, name, cu->storefd, cu->stash[k]) < 0)
			return dp_fail_errno(err, "move the whiteout %s/%s in the sandbox's upper layer aside", cu->rel,
					     name);
		cu->side_hidden[k] = true;
	}
	cu->sides_noted = true;
	return 0;
}

/* Copies up each side file a lower layer shows and the upper lacks. */
static int copy_sides(dp_copyup *cu, dp_error **err)
{
	for (size_t k = 0; cu->sides && cu->sides[k]; k++) {
		cleanup_free char *name = side_name(cu->base, cu->sides[k]);
		cleanup_free char *rel = side_name(cu->rel, cu->sides[k]);
		struct stat st;
		size_t layer;
		int r;

		if (cu->side_was_up[k] || cu->side_hidden[k])
			continue; /* a file there already, or the sandbox deleted it */
		r = locate(cu->layers, 0, rel, false, &st, &layer, err);
		if (r < 0 || (r == SEEN_ENTRY && copy_in(cu, layer, rel, name, err) < 0))
			return -1;
	}
	return 0;
}

static int locate_file(dp_copyup *cu, const dp_sandbox *sb, size_t *layer, dp_error **err)
{
	struct stat st;
	int r = locate(cu->layers, 0, cu->rel, false, &st, layer, err);

	if (r == SEEN_HIDDEN)
		return dp_usage(err, "%s was deleted in the sandbox (a whiteout or an opaque directory in its layers "
				     "hides the snapshot's copy); 'doppel reset %s' brings it back",
				cu->rel, sb->name);
	if (r == SEEN_NOTHING)
		return dp_usage(err, "no %s in the sandbox: its snapshot (%lld) does not have it", cu->rel,
				(long long)sb->snapshot);
	return r < 0 ? -1 : 0;
}

static int copy_up(dp_copyup *cu, const dp_sandbox *sb, dp_error **err)
{
	size_t layer = 0;

	if (locate_file(cu, sb, &layer, err) < 0 || make_dirs(cu, err) < 0 || note_sides(cu, err) < 0)
		return -1;
	if (layer > 0) {
		if (copy_in(cu, layer, cu->rel, cu->base, err) < 0)
			return -1;
		cu->copied = true;
	}
	return copy_sides(cu, err) < 0 || restore_dir_times(cu, err) < 0 ? -1 : 0;
}

int dp_copyup_open(dp_store *st, const dp_sandbox *sb, const char *rel, const char *const *sides, dp_copyup *cu,
		   dp_error **err)
{
	const char *slash = strrchr(rel, '/');
	size_t n_sides = 0;

	memset(cu, 0, sizeof(*cu));
	cu->upperfd = cu->dirfd = -1;
	cu->storefd = st->rootfd;
	cu->sides = sides;
	while (sides && sides[n_sides])
		n_sides++;
	if (n_sides > DP_COPYUP_MAX_SIDES)
		return dp_fail(err, 0, "copy-up: at most %d side files", DP_COPYUP_MAX_SIDES);
	if (check_rel(rel, err) < 0)
		return -1;
	cu->rel = strdup(rel);
	cu->base = strdup(slash ? slash + 1 : rel);
	if (cu->rel == NULL || cu->base == NULL)
		abort();
	cu->layers = layers_open(st, sb, err);
	if (cu->layers == NULL)
		return -1;
	cu->upperfd = cu->layers->fd[0];
	if (copy_up(cu, sb, err) < 0) {
		dp_copyup_undo(cu);
		return -1;
	}
	if (asprintf(&cu->path, "/proc/self/fd/%d/%s", cu->dirfd, cu->base) < 0)
		abort();
	return 0;
}

/* A whiteout hides the lower layers' `name`; where this user may not make
 * one (kernels before 5.8 without CAP_MKNOD), an empty file does: an empty
 * -wal, -journal or -shm is one SQLite ignores. */
static int hide(dp_copyup *cu, const char *name, dp_error **err)
{
	int fd;

	if (mknodat(cu->dirfd, name, S_IFCHR | 0, makedev(0, 0)) == 0)
		return 0;
	if (errno != EPERM && errno != EOPNOTSUPP)
		return dp_fail_errno(err, "hide %s/%s", cu->rel, name);
	fd = openat(cu->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return dp_fail_errno(err, "hide %s/%s", cu->rel, name);
	close(fd);
	return 0;
}

int dp_copyup_settle(dp_copyup *cu, dp_error **err)
{
	for (size_t k = 0; cu->sides && cu->sides[k]; k++) {
		cleanup_free char *name = side_name(cu->base, cu->sides[k]);
		cleanup_free char *rel = side_name(cu->rel, cu->sides[k]);
		struct stat st;
		size_t layer;
		int r;

		if (fstatat(cu->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (errno != ENOENT)
			return dp_fail_errno(err, "%s in the sandbox's upper layer", rel);
		r = locate(cu->layers, 0, rel, false, &st, &layer, err);
		if (r < 0 || (r == SEEN_ENTRY && hide(cu, name, err) < 0))
			return -1;
	}
	/* the whiteouts moved aside are replaced now */
	for (size_t k = 0; cu->sides && cu->sides[k]; k++)
		if (cu->side_hidden[k] && unlinkat(cu->storefd, cu->stash[k], 0) < 0)
			return dp_fail_errno(err, "remove %s", cu->stash[k]);
	memset(cu->side_hidden, 0, sizeof(cu->side_hidden));
	return 0;
}

void dp_copyup_undo(dp_copyup *cu)
{
	for (size_t k = 0; cu->sides_noted && cu->sides && cu->sides[k]; k++) {
		cleanup_free char *name = side_name(cu->base, cu->sides[k]);
		if (!cu->side_was_up[k])
			unlinkat(cu->dirfd, name, 0);
		if (cu->side_hidden[k])
			renameat(cu->storefd, cu->stash[k], cu->dirfd, name);
	}
	if (cu->copied)
		unlinkat(cu->dirfd, cu->base, 0);
	for (size_t i = cu->n_made; i-- > 0;)
		unlinkat(cu->upperfd, cu->made[i], AT_REMOVEDIR);
	if (cu->kept) {
		cleanup_close int fd = dp_open_in_root_nosym(cu->upperfd, cu->kept, O_RDONLY | O_DIRECTORY, 0);
		if (fd >= 0)
			futimens(fd, cu->kept_times);
	}
	cu->copied = cu->sides_noted = false;
	memset(cu->side_hidden, 0, sizeof(cu->side_hidden));
	cu->n_made = 0;
}

void dp_copyup_close(dp_copyup *cu)
{
	if (cu->dirfd >= 0)
		close(cu->dirfd);
	layers_free(cu->layers);
	for (size_t i = 0; i < DP_COPYUP_MAX_DEPTH; i++)
		free(cu->made[i]);
	free(cu->kept);
	free(cu->rel);
	free(cu->base);
	free(cu->path);
	memset(cu, 0, sizeof(*cu));
	cu->upperfd = cu->dirfd = -1;
}
