/* The sandbox's /etc: what a program needs of the system's /etc (copies of
 * the small entries, read-only binds of the big ones) plus the sandbox's own
 * passwd, group, hosts, hostname and resolv.conf.
 *
 * Copying ~60 small entries costs ~2 ms of a start, so the copies are kept
 * in a per-user cache as a template, named by a fingerprint (BLAKE2b, via
 * libsodium) of the state (lstat) of every host path they were made from:
 * each copied, bound or missing entry and each directory walked. A run
 * re-stats those paths, and when the fingerprint still names the template,
 * mounts /etc as one read-only overlay: the per-run files over the
 * template, then binds the big entries on top, exactly as the copy would.
 * The per-run files are cached too, in the template, as a layer named by
 * the SHA-256 of their bytes (a scratch tmpfs when that fails). ctime changes on every write, chmod, chown and rename, so
 * a stale template is never used. The cache is used only when it and every
 * directory leading to it can be changed by no one but the caller and root;
 * anything else, and runs the template does not fit (mapped ids, a plan CA),
 * take the copy path, which stays the reference. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "isolate/etc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/path.h"

/* What a program needs from /etc to run; nothing that names hosts, users or
 * holds secrets (so ssl/certs, never ssl/private). passwd, group, hosts,
 * hostname and resolv.conf are written. */
static const char *const etc_entries[] = {
	"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "nsswitch.conf", "alternatives", "localtime",
	"timezone", "ssl/certs", "ssl/openssl.cnf", "ca-certificates", "ca-certificates.conf", "services", "protocols",
	"os-release", "debian_version", "bash.bashrc", "profile", "profile.d", "inputrc", "terminfo",
	"shells", "mime.types", "magic", "login.defs", "environment", "locale.alias", "gai.conf",
	"host.conf", "python3", "python3.11", "perl", "mtab", NULL,
};

/* Small /etc entries are copied instead of bound: a mount costs far more
 * than writing a few kilobytes, and each one also slows the namespace's
 * teardown. Large directories are still bound. */
#define ETC_COPY_MAX_ENTRIES 64
#define ETC_COPY_MAX_BYTES (256 * 1024)
/* st_size of a directory past which it cannot be small: 64 entries take at
 * most ~4K on ext4, ~1.3K on tmpfs, ~8K (long names) on btrfs */
#define ETC_LIST_MAX_DIR_SIZE (8 * 1024)

#define BIND_ATTRS (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)

/* ---- What a template depends on -------------------------------------- */

/* The state of a host path as the fingerprint takes it: fixed-width
 * fields, no padding, so the bytes are the state. */
typedef struct state_rec {
	uint64_t dev, ino, size;
	int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
	uint32_t mode, uid, gid, present;
} state_rec;
_Static_assert(sizeof(state_rec) == 72, "state_rec has no padding");

static void state_of(state_rec *r, bool present, const struct stat *st)
{
	memset(r, 0, sizeof(*r));
	if (!present)
		return;
	r->dev = st->st_dev;
	r->ino = st->st_ino;
	r->size = (uint64_t)st->st_size;
	r->mtime_s = st->st_mtim.tv_sec;
	r->mtime_ns = st->st_mtim.tv_nsec;
	r->ctime_s = st->st_ctim.tv_sec;
	r->ctime_ns = st->st_ctim.tv_nsec;
	r->mode = st->st_mode;
	r->uid = st->st_uid;
	r->gid = st->st_gid;
	r->present = 1;
}

/* A host path (relative to the system root) and its state when seen. */
typedef struct dep {
	char kind; /* 'S': its state only; 'B': also bound from the host over the template */
	state_rec st;
	char *path;
} dep;

typedef struct deps {
	dep *v;
	size_t n, cap;
} deps;

static void deps_truncate(deps *d, size_t n)
{
	while (d->n > n)
		free(d->v[--d->n].path);
}

static void deps_free(deps *d)
{
	deps_truncate(d, 0);
	free(d->v);
	d->v = NULL;
	d->cap = 0;
}

static int deps_push(deps *d, char kind, const char *path, const state_rec *st)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 128;
		dep *v = realloc(d->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n] = (dep){ .kind = kind, .st = *st, .path = strdup(path) };
	if (d->v[d->n].path == NULL)
		return -1;
	d->n++;
	return 0;
}

/* Looks host paths up below the system root, each parent directory opened
 * once and without following any symlink, so a path is only ever what it
 * names there (a symlinked parent makes the lookup fail: no template). */
typedef struct lookup {
	int sysfd;
	struct {
		char *path;
		int fd, err;
	} *dirs;
	size_t n, cap;
} lookup;

static void lookup_free(lookup *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->dirs[i].path);
		if (l->dirs[i].fd >= 0)
			close(l->dirs[i].fd);
	}
	free(l->dirs);
	l->dirs = NULL;
	l->n = l->cap = 0;
}

static int lookup_parent(lookup *l, const char *parent, size_t len)
{
	for (size_t i = l->n; i-- > 0;)
		if (strlen(l->dirs[i].path) == len && memcmp(l->dirs[i].path, parent, len) == 0) {
			errno = l->dirs[i].err;
			return l->dirs[i].fd;
		}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *v = realloc(l->dirs, cap * sizeof(*l->dirs));
		if (v == NULL)
			return -1;
		l->dirs = v;
		l->cap = cap;
	}
	char *p = strndup(parent, len);
	if (p == NULL)
		return -1;
	int fd = dp_open_in_root_nosym(l->sysfd, p, O_PATH | O_DIRECTORY, 0);
	l->dirs[l->n].path = p;
	l->dirs[l->n].fd = fd;
	l->dirs[l->n].err = fd < 0 ? errno : 0;
	l->n++;
	return fd;
}

/* The state of rel below the system root (lstat); a missing path or
 * parent is a state too. -1 when it cannot be looked at safely. */
static int lookup_state(lookup *l, const char *rel, state_rec *r)
{
	const char *slash = strrchr(rel, '/');
	int dir = slash ? lookup_parent(l, rel, (size_t)(slash - rel)) : l->sysfd;
	struct stat st;

	state_of(r, false, NULL);
	if (dir < 0)
		return (errno == ENOENT || errno == ENOTDIR) ? 0 : -1;
	if (fstatat(dir, slash ? slash + 1 : rel, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		state_of(r, true, &st);
		return 0;
	}
	return (errno == ENOENT || errno == ENOTDIR) ? 0 : -1;
}

/* ---- The manifest and the fingerprint --------------------------------- */

/* A template's manifest: this header, then per path its kind, the path
 * (NUL-terminated) and its state_rec. The template's name is the BLAKE2b
 * fingerprint of the manifest's bytes; a run re-reads the states and
 * compares them byte for byte, which checks exactly what recomputing the
 * fingerprint would, without libsodium's start-up on the run's path
 * (sodium_init alone costs ~0.2 ms in a fresh init). */
#define FP_HEX (crypto_generichash_BYTES * 2 + 1)
#define MANIFEST_MAX (1 << 20)

/* Everything the copies depend on besides the host paths: this code's
 * list and budgets, the system root, and the umask the copies get. */
static int manifest_header(char *buf, size_t n, const struct stat *sys, mode_t um)
{
	size_t len = (size_t)snprintf(buf, n, "doppel-etc-manifest 2 %d %d %d umask %o root %llu:%llu entries",
				      ETC_COPY_MAX_ENTRIES, ETC_COPY_MAX_BYTES, ETC_LIST_MAX_DIR_SIZE, (unsigned)um,
				      (unsigned long long)sys->st_dev, (unsigned long long)sys->st_ino);

	for (const char *const *e = etc_entries; *e && len < n; e++)
		len += (size_t)snprintf(buf + len, n - len, " %s", *e);
	return len < n ? (int)len + 1 : -1; /* with its NUL */
}

/* ---- Copying the entries ---------------------------------------------- */

/* Where copies go (the new root, or a template being built) and, when
 * building a template, what it depends on: then big entries are recorded
 * as binds (and get mount points) instead of being mounted now. */
typedef struct walk {
	int rootfd;
	int sysfd;
	deps *deps;
	lookup *look;
} walk;

/* Records rel's state before it is read. Returns its index, or -1. */
static ssize_t note(walk *w, const char *rel, dp_error **err)
{
	state_rec st;

	if (w->deps == NULL)
		return 0;
	if (lookup_state(w->look, rel, &st) < 0)
		return dp_fail_errno(err, "/etc template: look at system /%s", rel);
	if (deps_push(w->deps, 'S', rel, &st) < 0)
		return dp_fail(err, ENOMEM, "/etc template");
	return (ssize_t)w->deps->n - 1;
}

static int copy_entry(walk *w, int base, const char *name, const char *rel, dp_error **err);

static int copy_file_into(int src, int rootfd, const char *rel, const struct stat *st, dp_error **err)
{
	cleanup_close int in = -1;
	cleanup_close int out = -1;
	char p[64];
	ssize_t n;

	/* an O_PATH fd cannot be read; reopen that very file through /proc */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", src);
	in = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (in < 0)
		return dp_fail_errno(err, "read /%s", rel);
	out = openat(rootfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, st->st_mode & 0777);
	if (out < 0)
		return dp_fail_errno(err, "create /%s", rel);
	/* in the kernel: a user buffer would cost the init a page fault per
	 * page of stack it first touches */
	while ((n = sendfile(out, in, NULL, 1 << 20)) > 0)
		;
	if (n < 0)
		return dp_fail_errno(err, "copy /%s", rel);
	return 0;
}

/* Counts entries and bytes below a directory, stopping past the budget.
 * Building a template, the entries it looked at are recorded: the
 * decision to bind depends on them. */
static bool small_tree(walk *w, int dir, const char *rel, size_t *entries, size_t *bytes, dp_error **err)
{
	cleanup_close int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	bool ok = d != NULL;

	if (d)
		fd = -1;
	/* names first: a big directory (Debian's /etc/alternatives has hundreds)
	 * is bound at the cost of one getdents, not a stat per entry */
	if (ok) {
		size_t names = 0;
		while ((de = readdir(d)) != NULL)
			names += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
		ok = *entries + names <= ETC_COPY_MAX_ENTRIES;
		rewinddir(d);
	}
	while (ok && (de = readdir(d)) != NULL) {
		struct stat st;
		char sub[512];
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", rel, de->d_name);
		if (w->deps && note(w, sub, err) < 0) {
			ok = false;
			break;
		}
		if (++*entries > ETC_COPY_MAX_ENTRIES || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			ok = false;
			break;
		}
		*bytes += (size_t)st.st_size;
		if (*bytes > ETC_COPY_MAX_BYTES)
			ok = false;
		else if (S_ISDIR(st.st_mode)) {
			cleanup_close int s = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			ok = s >= 0 && small_tree(w, s, sub, entries, bytes, err);
		} else if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
			ok = false;
		}
	}
	if (d)
		closedir(d);
	return ok;
}

static int copy_tree(walk *w, int src, const char *rel, dp_error **err)
{
	cleanup_close int fd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int r = 0;

	if (d == NULL)
		return dp_fail_errno(err, "read /%s", rel);
	fd = -1;
	while (r == 0 && (de = readdir(d)) != NULL) {
		char sub[512];
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", rel, de->d_name);
		r = copy_entry(w, dirfd(d), de->d_name, sub, err);
	}
	closedir(d);
	return r;
}

/* One /etc entry of the system tree (base/name) at rel: symlinks as
 * symlinks, small files and directories as copies, the rest as read-only
 * binds. Missing entries are skipped. */
static int copy_entry(walk *w, int base, const char *name, const char *rel, dp_error **err)
{
	ssize_t at = note(w, rel, err);
	cleanup_close int src = at < 0 ? -1 : dp_open_in_root(base, name, O_PATH | O_NOFOLLOW, 0);
	struct stat st;

	if (at < 0)
		return -1;
	if (src < 0)
		return (errno == ENOENT) ? 0 : dp_fail_errno(err, "open system entry /%s", rel);
	if (fstat(src, &st) < 0)
		return dp_fail_errno(err, "stat /%s", rel);
	if (S_ISLNK(st.st_mode))
		return dp_rootfs_copy_symlink(src, w->rootfd, rel, err);
	if (S_ISDIR(st.st_mode)) {
		size_t entries = 0, bytes = 0;
		if (mkdirat(w->rootfd, rel, 0755) < 0 && errno != EEXIST)
			return dp_fail_errno(err, "create /%s", rel);
		/* a directory this big is bound without reading it: ext4 lists a
		 * hashed directory by sorting all of it (Debian's alternatives and
		 * ssl/certs are 20K with ~300-500 names); others report less */
		if (st.st_size <= ETC_LIST_MAX_DIR_SIZE) {
			cleanup_close int dir = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			size_t mark = w->deps ? w->deps->n : 0;
			if (dir >= 0 && small_tree(w, dir, rel, &entries, &bytes, err)) {
				/* copied: copy_tree records each entry itself */
				if (w->deps)
					deps_truncate(w->deps, mark);
				return copy_tree(w, dir, rel, err);
			}
			if (err && *err)
				return -1;
		}
	} else if (S_ISREG(st.st_mode)) {
		if (st.st_size <= ETC_COPY_MAX_BYTES)
			return copy_file_into(src, w->rootfd, rel, &st, err);
		if (dp_rootfs_make_file(w->rootfd, rel, err) < 0)
			return -1;
	} else {
		return 0;
	}
	if (w->deps) { /* a mount point now, the bind when the template is used */
		w->deps->v[at].kind = 'B';
		return 0;
	}
	return dp_rootfs_attach_clone(src, true, BIND_ATTRS, w->rootfd, rel, rel, err);
}

/* ---- The per-run files ------------------------------------------------ */

/* The system's own names, then the plan's (validated: no newlines, no
 * spaces), so a plan's name can also take over one of the system's. */
static char *hosts_text(const dp_plan *plan, const char *hostname)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	fprintf(f, "127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost\n", hostname);
	for (size_t i = 0; i < plan->n_hosts; i++)
		fprintf(f, "%s\t%s\n", plan->hosts[i].addr, plan->hosts[i].name);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* Identities and names are the sandbox's own, not the host's: made in
 * memory, so a run can name its per-run layer without a syscall. */
#define OWN_N 5
static const char *const own_names[OWN_N] = { "passwd", "group", "hosts", "hostname", "resolv.conf" };

typedef struct own_files {
	char passwd[512], group[512], hostname[64];
	char *hosts;
	const char *text[OWN_N];
} own_files;

static int own_files_make(const dp_child_ctx *ctx, own_files *o)
{
	const char *host = ctx->plan->hostname ? ctx->plan->hostname : "doppel";
	const char *user = getenv("USER");

	if (user == NULL || strchr(user, ':') || strchr(user, '\n') || strlen(user) > 32)
		user = "user";
	snprintf(o->passwd, sizeof(o->passwd),
		 "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
	snprintf(o->group, sizeof(o->group), "root:x:0:\nnogroup:x:65534:\n");
	if (ctx->inner_uid != 0) {
		size_t n = strlen(o->passwd);
		snprintf(o->passwd + n, sizeof(o->passwd) - n, "%s:x:%u:%u::/root:/bin/sh\n", user, ctx->inner_uid,
			 ctx->inner_gid);
		n = strlen(o->group);
		snprintf(o->group + n, sizeof(o->group) - n, "%s:x:%u:\n", user, ctx->inner_gid);
	}
	snprintf(o->hostname, sizeof(o->hostname), "%s\n", host);
	o->hosts = hosts_text(ctx->plan, host);
	o->text[0] = o->passwd;
	o->text[1] = o->group;
	o->text[2] = o->hosts;
	o->text[3] = o->hostname;
	o->text[4] = "# no DNS in a doppel sandbox\n";
	return o->hosts ? 0 : -1;
}

/* Writes them below dirfd, each path prefixed with 'prefix'. */
static int write_own_files(const own_files *o, int dirfd, const char *prefix, dp_error **err)
{
	char path[64];

	for (size_t i = 0; i < OWN_N; i++) {
		snprintf(path, sizeof(path), "%s%s", prefix, own_names[i]);
		if (dp_rootfs_write(dirfd, path, o->text[i], err) < 0)
			return -1;
	}
	return 0;
}

/* The largest system bundle we copy (Debian's is about 200K). */
#define CA_BUNDLE_MAX (8u << 20)

/* /etc/ssl/certs with the plan's certificates trusted: the system's entries
 * (hash links, PEM files) as copy_entry makes them, except the bundle,
 * written here as the system's bundle followed by the plan's PEM. Most TLS
 * stacks read that file by default; the rest are pointed at it by the
 * environment the front end sets. */
static int setup_ca_bundle(walk *w, const char *pem, dp_error **err)
{
	static const char dir[] = "etc/ssl/certs", bundle[] = "etc/ssl/certs/ca-certificates.crt";
	int sysfd = w->sysfd, rootfd = w->rootfd;
	cleanup_close int src = dp_open_in_root(sysfd, dir, O_PATH | O_NOFOLLOW, 0);
	cleanup_close int in = -1;
	cleanup_close int out = -1;
	cleanup_free char *host = NULL;
	size_t host_len = 0, pem_len = strlen(pem);

	if (mkdirat(rootfd, dir, 0755) < 0)
		return dp_fail_errno(err, "create /%s", dir);
	if (src >= 0) {
		cleanup_close int d = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *ds = d >= 0 ? fdopendir(d) : NULL;
		struct dirent *de;
		int r = 0;
		if (ds)
			d = -1;
		while (ds && r == 0 && (de = readdir(ds)) != NULL) {
			char rel[512];
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
			    strcmp(de->d_name, "ca-certificates.crt") == 0)
				continue;
			snprintf(rel, sizeof(rel), "%s/%s", dir, de->d_name);
			r = copy_entry(w, dirfd(ds), de->d_name, rel, err);
		}
		if (ds)
			closedir(ds);
		if (r < 0)
			return -1;
	} else if (errno != ENOENT) {
		return dp_fail_errno(err, "open system /%s", dir);
	}
	/* the system's bundle may be a link into /usr/share: follow it, inside
	 * the system root only */
	in = dp_open_in_root(sysfd, bundle, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
	if (in >= 0) {
		struct stat st;
		ssize_t n;
		if (fstat(in, &st) < 0)
			return dp_fail_errno(err, "stat system /%s", bundle);
		if (!S_ISREG(st.st_mode) || st.st_size > CA_BUNDLE_MAX)
			return dp_fail(err, 0, "system /%s: not a regular file of at most %u bytes", bundle, CA_BUNDLE_MAX);
		host = malloc((size_t)st.st_size + 1);
		if (host == NULL)
			return dp_fail(err, ENOMEM, "read system /%s", bundle);
		while (host_len < (size_t)st.st_size &&
		       (n = read(in, host + host_len, (size_t)st.st_size - host_len)) != 0) {
			if (n < 0)
				return dp_fail_errno(err, "read system /%s", bundle);
			host_len += (size_t)n;
		}
	} else if (errno != ENOENT) {
		return dp_fail_errno(err, "open system /%s", bundle);
	}
	out = openat(rootfd, bundle, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (out < 0)
		return dp_fail_errno(err, "create /%s", bundle);
	if ((host_len && write(out, host, host_len) != (ssize_t)host_len) ||
	    (host_len && host[host_len - 1] != '\n' && write(out, "\n", 1) != 1) ||
	    write(out, pem, pem_len) != (ssize_t)pem_len)
		return dp_fail_errno(err, "write /%s", bundle);
	return 0;
}

/* Every entry of etc_entries into w->rootfd/etc. */
static int copy_entries(walk *w, const char *ca_pem, dp_error **err)
{
	char buf[256];

	if (note(w, "etc", err) < 0)
		return -1;
	if (mkdirat(w->rootfd, "etc", 0755) < 0 && errno != EEXIST)
		return dp_fail_errno(err, "create /etc");
	for (const char *const *e = etc_entries; *e; e++) {
		const char *slash = strchr(*e, '/');
		snprintf(buf, sizeof(buf), "etc/%s", *e);
		if (slash) { /* etc/ssl/certs: the parent only as a directory, never its private/ */
			char parent[64];
			snprintf(parent, sizeof(parent), "etc/%.*s", (int)(slash - *e), *e);
			if (mkdirat(w->rootfd, parent, 0755) == 0) {
				if (note(w, parent, err) < 0)
					return -1;
			} else if (errno != EEXIST) {
				return dp_fail_errno(err, "create /%s", parent);
			}
		}
		if (ca_pem && strcmp(*e, "ssl/certs") == 0) {
			if (setup_ca_bundle(w, ca_pem, err) < 0)
				return -1;
		} else if (copy_entry(w, w->sysfd, buf, buf, err) < 0) {
			return -1;
		}
	}
	return 0;
}

/* ---- The cache -------------------------------------------------------- */

/* A template in use: its directory, its etc/, its binds, and its manifest
 * open with a shared lock (flock) that keeps collectors away while a
 * sandbox uses it. init keeps that fd for the sandbox's lifetime: a
 * regular file, so even leaked it opens nothing else of the host. */
typedef struct tmpl {
	int dir, etc, lock;
	deps deps;
} tmpl;

static void tmpl_clear(tmpl *t)
{
	if (t->dir >= 0)
		close(t->dir);
	if (t->etc >= 0)
		close(t->etc);
	if (t->lock >= 0)
		close(t->lock);
	t->dir = t->etc = t->lock = -1;
	deps_free(&t->deps);
}


/* Only the caller may have made or changed it. */
static bool owned(const struct stat *st)
{
	return st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* A directory on the way to the cache: the caller's or root's, and writable
 * by no one else unless sticky (/tmp), where no one else can rename or
 * remove what is ours. Rootless, root is not mapped and shows as the owner
 * of "/" (the overflow uid, which any unmapped owner shows as: the cache
 * dir itself must be the caller's). */
static bool safe_parent(const struct stat *st, uid_t root)
{
	if (!S_ISDIR(st->st_mode))
		return false;
	if (st->st_uid != geteuid() && st->st_uid != 0 && st->st_uid != root)
		return false;
	return !(st->st_mode & (S_IWGRP | S_IWOTH)) || (st->st_mode & S_ISVTX);
}

/* Opens the cache directory, creating its last components (mode 0700), one
 * component at a time without following symlinks, each checked. -1 when
 * there is none or it is not safe. */
int dp_etc_open_cache(const dp_child_ctx *ctx)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	const char *base, *rest = "/doppel/etc";
	char path[4096];
	size_t keep = SIZE_MAX; /* path[0..keep) must exist already; the rest is made when missing */
	cleanup_close int cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	uid_t root;
	char *p, *save = NULL;

	/* mapped runs read the host through the monitor's trees, and a plan CA
	 * changes ssl/certs: both copy */
	if (ctx->mapped || ctx->plan->ca_pem)
		return -1;
	if (!ctx->rootless) {
		base = "/var/cache";
	} else if (xdg && xdg[0] == '/') {
		base = xdg;
		keep = (size_t)(strrchr(xdg, '/') - xdg); /* XDG: made when missing */
	} else if (home && home[0] == '/') {
		base = home;
		rest = "/.cache/doppel/etc";
	} else {
		return -1;
	}
	if (keep == SIZE_MAX)
		keep = strlen(base);
	if ((size_t)snprintf(path, sizeof(path), "%s%s", base, rest) >= sizeof(path))
		return -1;
	if (cur < 0 || fstat(cur, &st) < 0)
		return -1;
	root = st.st_uid;
	if (!safe_parent(&st, root))
		return -1;
	for (p = strtok_r(path, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		bool mine = (size_t)(p - path) >= keep; /* ours to create */
		int next;
		if (strcmp(p, ".") == 0)
			continue;
		if (strcmp(p, "..") == 0)
			return -1;
		next = openat(cur, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && mine && (mkdirat(cur, p, 0700) == 0 || errno == EEXIST))
			next = openat(cur, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(cur);
		cur = next;
		if (cur < 0 || fstat(cur, &st) < 0)
			return -1;
		if (save == NULL || *save == '\0' ? !(S_ISDIR(st.st_mode) && owned(&st)) : !safe_parent(&st, root))
			return -1;
	}
	return dp_steal_fd(&cur);
}

static bool is_fp_name(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n == FP_HEX - 1 && s[n] == '\0';
}

static void random_name(char *buf, size_t n, const char *prefix)
{
	unsigned char r[8];
	char hex[sizeof(r) * 2 + 1];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	snprintf(buf, n, "%s%s", prefix, hex);
}

/* Whether the template of the manifest 'fd' still fits: the header is this
 * run's, and every path it lists is in the state it recorded. Keeps the
 * binds in *binds.
 *
 * Each path is lstat'ed relative to the system root in one call, not below
 * parent directories opened without following symlinks as a build does
 * (~10 opens and closes less per run): this only decides between reusing
 * the template and rebuilding it. The manifest lists every directory before
 * what is below it, so a directory turned into a symlink no longer matches;
 * and a path reached through one in a race matches only if it is the very
 * inode recorded (dev, ino, ctime), unchanged, i.e. what the template holds
 * a copy of. A wrong "fits" can thus never show the sandbox anything but
 * the copies the template was safely built with; the binds are opened
 * again, safely, when mounted. */
static bool manifest_fits(int fd, const char *head, size_t head_len, int sysfd, deps *binds)
{
	cleanup_free char *buf = NULL;
	struct stat st;
	size_t len = 0, off = head_len;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !owned(&st) || st.st_size > MANIFEST_MAX)
		return false;
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		return false;
	while (len < (size_t)st.st_size && (n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	if (len != (size_t)st.st_size || len < head_len || memcmp(buf, head, head_len) != 0)
		return false;
	buf[len] = '\0';
	while (off < len) {
		const char kind = buf[off];
		const char *path = buf + off + 1;
		size_t pl = strnlen(path, len - off - 1);
		state_rec was, now;
		struct stat cur;
		/* "etc" or "etc/...", no '.' or '..' component (lookups stay in
		 * the system root anyway) */
		if ((kind != 'S' && kind != 'B') || off + 1 + pl + 1 + sizeof(was) > len || strncmp(path, "etc", 3) != 0 ||
		    (path[3] != '\0' && path[3] != '/') || strstr(path, "/./") || strstr(path, "/../") ||
		    strstr(path, "//") || (pl >= 3 && strcmp(path + pl - 3, "/..") == 0) ||
		    (pl >= 2 && strcmp(path + pl - 2, "/.") == 0))
			return false;
		memcpy(&was, path + pl + 1, sizeof(was));
		if (fstatat(sysfd, path, &cur, AT_SYMLINK_NOFOLLOW) == 0)
			state_of(&now, true, &cur);
		else if (errno == ENOENT || errno == ENOTDIR)
			state_of(&now, false, NULL);
		else
			return false;
		if (memcmp(&was, &now, sizeof(now)) != 0)
			return false;
		if (kind == 'B' && deps_push(binds, 'B', path, &now) < 0)
			return false;
		off += 1 + pl + 1 + sizeof(was);
	}
	return true;
}

/* The template the pointer names, if it still fits. 0 and t filled, or -1. */
static int use_current(int cachefd, int sysfd, const char *head, size_t head_len, const char *ptr, tmpl *t)
{
	char name[FP_HEX + 1];
	struct stat st, again;
	ssize_t n = readlinkat(cachefd, ptr, name, sizeof(name));
	int r = -1;

	if (n != FP_HEX - 1)
		return -1;
	name[n] = '\0';
	if (!is_fp_name(name))
		return -1;
	t->dir = openat(cachefd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (t->dir < 0 || fstat(t->dir, &st) < 0 || !owned(&st))
		goto out;
	/* a collector holds it exclusively; after our lock it must still be the
	 * one of that name (collectors rename before they remove) */
	t->lock = openat(t->dir, "manifest", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (t->lock < 0 || flock(t->lock, LOCK_SH | LOCK_NB) < 0 ||
	    fstatat(cachefd, name, &again, AT_SYMLINK_NOFOLLOW) < 0 || again.st_dev != st.st_dev ||
	    again.st_ino != st.st_ino)
		goto out;
	if (!manifest_fits(t->lock, head, head_len, sysfd, &t->deps))
		goto out;
	/* inside the caller's own directory: no one else can have put it there */
	t->etc = openat(t->dir, "etc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (t->etc < 0)
		goto out;
	r = 0;
out:
	if (r < 0)
		tmpl_clear(t);
	return r;
}

/* ---- The per-run layer's locks ---------------------------------------- */

/* A template holds the per-run layers made over it (passwd, group, hosts,
 * hostname, resolv.conf), each a directory named by what it holds. A build
 * holds its directory share-locked, a sandbox its hostname: a regular file,
 * kept by init for the sandbox's lifetime, that even leaked opens nothing of
 * the host (and, taken while the template's manifest is still locked, keeps
 * the template too). */
#define RUN_LOCK "hostname"

static bool is_run_name(const char *s)
{
	return strncmp(s, "run-", 4) == 0 || strncmp(s, "tmp-run-", 8) == 0 || strncmp(s, "dead-run-", 9) == 0 ||
	       strncmp(s, "bad-run-", 8) == 0;
}

/* Takes a per-run layer's locks exclusively into d and l (-1 when there is
 * no lock file). False when a build or a sandbox holds it. */
static bool run_lock_ex(int parent, const char *s, int *d, int *l)
{
	*l = -1;
	*d = openat(parent, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*d < 0) /* not a directory (something planted, moved aside): no one uses it */
		return errno == ENOTDIR || errno == ELOOP;
	if (flock(*d, LOCK_EX | LOCK_NB) < 0)
		return false;
	*l = openat(*d, RUN_LOCK, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (*l < 0)
		return errno == ENOENT;
	return flock(*l, LOCK_EX | LOCK_NB) == 0;
}

typedef struct fdlist {
	int *v;
	size_t n;
} fdlist;

static void fdlist_close(fdlist *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i] >= 0)
			close(f->v[i]);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

/* Whether no sandbox uses a per-run layer of the template 'tdir': takes
 * each one's locks into *held, to be kept until the template is gone. */
static bool runs_unused(int tdir, fdlist *held)
{
	cleanup_close int fd = openat(tdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	bool ok = d != NULL;

	if (d)
		fd = -1;
	while (ok && (de = readdir(d)) != NULL) {
		int *v;
		if (!is_run_name(de->d_name))
			continue;
		v = realloc(held->v, (held->n + 2) * sizeof(*v));
		if (v == NULL) {
			ok = false;
			break;
		}
		held->v = v;
		ok = run_lock_ex(dirfd(d), de->d_name, &v[held->n], &v[held->n + 1]);
		held->n += 2;
	}
	if (d)
		closedir(d);
	return ok;
}

/* Removes the templates no run holds and no pointer names, and leftovers of
 * builds that ended early. Best effort. */
static void collect(int cachefd, const char *keep)
{
	cleanup_close int fd = openat(cachefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	char (*named)[FP_HEX] = NULL;
	size_t n_named = 0;
	struct timespec now;

	if (d == NULL)
		return;
	fd = -1;
	clock_gettime(CLOCK_REALTIME, &now);
	while ((de = readdir(d)) != NULL) {
		char target[FP_HEX + 1];
		ssize_t n;
		if (strncmp(de->d_name, "current-", 8) != 0 ||
		    (n = readlinkat(dirfd(d), de->d_name, target, sizeof(target))) != FP_HEX - 1)
			continue;
		void *v = realloc(named, (n_named + 1) * sizeof(*named));
		if (v == NULL)
			goto out;
		named = v;
		memcpy(named[n_named], target, FP_HEX - 1);
		named[n_named++][FP_HEX - 1] = '\0';
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		const char *s = de->d_name;
		char dead[64];
		struct stat st;
		bool skip = strcmp(s, keep) == 0;
		for (size_t i = 0; i < n_named && !skip; i++)
			skip = strcmp(named[i], s) == 0;
		if (skip)
			continue;
		if (strncmp(s, "link-", 5) == 0) { /* a pointer being swung, or left by a crash */
			if (fstatat(dirfd(d), s, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
			    st.st_mtim.tv_sec + 60 < now.tv_sec)
				unlinkat(dirfd(d), s, 0);
			continue;
		}
		if (!is_fp_name(s) && strncmp(s, "tmp-", 4) != 0 && strncmp(s, "dead-", 5) != 0 &&
		    strncmp(s, "bad-", 4) != 0)
			continue;
		/* a build holds its directory, a sandbox its manifest */
		cleanup_close int t = openat(dirfd(d), s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		cleanup_close int m = t < 0 ? -1 : openat(t, "manifest", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		fdlist runs = { 0 };
		if (t < 0 || flock(t, LOCK_EX | LOCK_NB) < 0 || (m < 0 && errno != ENOENT) ||
		    (m >= 0 && flock(m, LOCK_EX | LOCK_NB) < 0) || !runs_unused(t, &runs)) {
			fdlist_close(&runs);
			continue;
		}
		/* renamed first, so a run that opened it by name sees it gone */
		random_name(dead, sizeof(dead), "dead-");
		if (renameat(dirfd(d), s, dirfd(d), dead) == 0)
			(void)dp_remove_tree_at(dirfd(d), dead);
		fdlist_close(&runs);
	}
out:
	free(named);
	closedir(d);
}

/* Makes 'name' (a template in the cache) what the pointer names. */
static void point_at(int cachefd, const char *ptr, const char *name)
{
	char link[64];

	random_name(link, sizeof(link), "link-");
	if (symlinkat(name, cachefd, link) < 0)
		return;
	if (renameat(cachefd, link, cachefd, ptr) < 0)
		unlinkat(cachefd, link, 0);
}

/* Gives the finished directory at tmp (below dirfd) its name. A name
 * already there is a concurrent run's same content (the caller's own
 * directory; of mode 'mode' unless 0), or something planted, which is moved
 * aside for collection. True when 'name' is then the caller's. */
static bool publish_as(int dirfd, const char *tmp, const char *name, mode_t mode, const char *aside)
{
	for (int tries = 0; tries < 2; tries++) {
		char bad[64];
		struct stat st;
		if (renameat2(dirfd, tmp, dirfd, name, RENAME_NOREPLACE) == 0)
			return true;
		if (errno != EEXIST && errno != ENOTEMPTY)
			return false;
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) && owned(&st) &&
		    (mode == 0 || (st.st_mode & 07777) == mode))
			return true; /* ours stays unnamed, collected later */
		random_name(bad, sizeof(bad), aside);
		if (renameat(dirfd, name, dirfd, bad) < 0)
			return false;
	}
	return false;
}

/* Gives the finished template at tmp its name, and points at it. */
static void publish(int cachefd, const char *tmp, const char *name, const char *ptr)
{
	if (publish_as(cachefd, tmp, name, 0, "bad-"))
		point_at(cachefd, ptr, name);
}

/* ---- The per-run layer ------------------------------------------------ */

/* At most this many per-run layers are kept per template; past it, a build
 * collects the unused ones. Each is a few hundred bytes; a new one costs a
 * build and a syncfs. */
#define RUN_KEEP 16
#define RUN_NAME (4 + crypto_hash_sha256_BYTES * 2 + 1)

/* The layer's name: "run-" and the SHA-256 of every byte it holds, file
 * names and modes included, so inputs that differ (ids, user name,
 * hostname, host entries, umask) never share one, even when a plan's names
 * are chosen to collide. SHA-256, not BLAKE2b: in a fresh init the first
 * call costs the page faults of its code, ~30 us for libsodium's SHA-256
 * against ~70 us for its BLAKE2b. Neither needs sodium_init, which only
 * picks faster implementations (~0.2 ms). */
static void run_name(const own_files *o, mode_t um, char name[RUN_NAME])
{
	crypto_hash_sha256_state st;
	unsigned char sum[crypto_hash_sha256_BYTES];
	char head[96];
	int n = snprintf(head, sizeof(head), "doppel-etc-run 1 dir %o", 0755 & ~um);

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)head, (size_t)n + 1);
	for (size_t i = 0; i < OWN_N; i++) {
		size_t len = strlen(o->text[i]);
		n = snprintf(head, sizeof(head), "%s %o %zu", own_names[i], 0644 & ~um, len);
		crypto_hash_sha256_update(&st, (const unsigned char *)head, (size_t)n + 1);
		crypto_hash_sha256_update(&st, (const unsigned char *)o->text[i], len);
	}
	crypto_hash_sha256_final(&st, sum);
	memcpy(name, "run-", 4);
	sodium_bin2hex(name + 4, RUN_NAME - 4, sum, sizeof(sum));
}

/* The per-run layer 'name' of the template 'tdir', if there is a usable
 * one: the caller's, of the mode /etc gets, and, once share-locked, still
 * the one of that name (collectors rename before they remove). Its files
 * are inside the caller's own directories: no one else can have put them
 * there. 0 with *dir and *lock set, or -1. */
static int run_open(int tdir, const char *name, mode_t um, int *dir, int *lock)
{
	cleanup_close int d = openat(tdir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_close int l = -1;
	struct stat st, again;

	if (d < 0)
		return -1;
	l = openat(d, RUN_LOCK, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (l < 0 || flock(l, LOCK_SH | LOCK_NB) < 0 || fstat(d, &st) < 0 || !owned(&st) ||
	    (st.st_mode & 07777) != (0755 & ~um) || fstatat(tdir, name, &again, AT_SYMLINK_NOFOLLOW) < 0 ||
	    again.st_dev != st.st_dev || again.st_ino != st.st_ino)
		return -1;
	*dir = dp_steal_fd(&d);
	*lock = dp_steal_fd(&l);
	return 0;
}

/* Past RUN_KEEP per-run layers in the template 'tdir', removes those no
 * build or sandbox holds. Best effort. */
static void collect_runs(int tdir)
{
	cleanup_close int fd = openat(tdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return;
	fd = -1;
	while ((de = readdir(d)) != NULL)
		n += is_run_name(de->d_name);
	rewinddir(d);
	while (n > RUN_KEEP && (de = readdir(d)) != NULL) {
		char dead[64];
		int a, b;
		if (!is_run_name(de->d_name))
			continue;
		if (run_lock_ex(dirfd(d), de->d_name, &a, &b)) {
			random_name(dead, sizeof(dead), "dead-run-");
			if (renameat(dirfd(d), de->d_name, dirfd(d), dead) == 0 && dp_remove_tree_at(dirfd(d), dead) == 0)
				n--;
		}
		if (b >= 0)
			close(b);
		if (a >= 0)
			close(a);
	}
	closedir(d);
}

/* Builds the per-run layer 'name' in the template 'tdir' and names it. A
 * concurrent run's same layer leaves ours unnamed, used by this run only
 * and collected later. 0 with *dir and *lock set, or -1 (nothing left). */
static int run_build(int tdir, const char *name, const own_files *o, mode_t um, int *dir, int *lock)
{
	char tmp[64];
	cleanup_close int d = -1;
	cleanup_close int l = -1;

	if (sodium_init() < 0) /* for random_name */
		return -1;
	random_name(tmp, sizeof(tmp), "tmp-run-");
	if (mkdirat(tdir, tmp, 0755) < 0) /* 0755 & ~umask, as the tmpfs layer's */
		return -1;
	/* shared from the start: no collector can take it while we build */
	d = openat(tdir, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0 || flock(d, LOCK_SH | LOCK_NB) < 0)
		goto fail;
	for (size_t i = 0; i < OWN_N; i++) {
		cleanup_close int f = openat(d, own_names[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		size_t len = strlen(o->text[i]);
		if (f < 0 || write(f, o->text[i], len) != (ssize_t)len)
			goto fail;
	}
	l = openat(d, RUN_LOCK, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	/* durable before named: a named layer is trusted as it is */
	if (l < 0 || flock(l, LOCK_SH | LOCK_NB) < 0 || syncfs(d) < 0)
		goto fail;
	(void)publish_as(tdir, tmp, name, 0755 & ~um, "bad-run-");
	collect_runs(tdir);
	*dir = dp_steal_fd(&d);
	*lock = dp_steal_fd(&l);
	return 0;
fail:
	(void)dp_remove_tree_at(tdir, tmp);
	return -1;
}

/* Builds a template from the system root into the cache, fills t with it,
 * names it and points at it when the host did not change meanwhile (else
 * this run still uses it, unnamed, and a later build collects it). 0, or
 * -1 (nothing left behind). */
static int build(int cachefd, int sysfd, const char *head, size_t head_len, const char *ptr, tmpl *t)
{
	char tmp[64], name[FP_HEX];
	lookup look = { .sysfd = sysfd };
	walk w = { .sysfd = sysfd, .deps = &t->deps, .look = &look };
	dp_error *err = NULL;
	struct timespec start;
	FILE *man = NULL;
	char *text = NULL;
	size_t len = 0;
	bool publishable = true;
	int r = -1;

	if (sodium_init() < 0)
		return -1;
	clock_gettime(CLOCK_REALTIME_COARSE, &start);
	random_name(tmp, sizeof(tmp), "tmp-");
	if (mkdirat(cachefd, tmp, 0700) < 0)
		return -1;
	/* shared from the start: no collector can take it while we build */
	t->dir = openat(cachefd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (t->dir < 0 || flock(t->dir, LOCK_SH | LOCK_NB) < 0)
		goto out;
	w.rootfd = t->dir;
	if (copy_entries(&w, NULL, &err) < 0)
		goto out;
	man = open_memstream(&text, &len);
	if (man == NULL)
		goto out;
	fwrite(head, 1, head_len, man);
	for (size_t i = 0; i < t->deps.n; i++) {
		const dep *dp = &t->deps.v[i];
		state_rec now;
		fprintf(man, "%c%s%c", dp->kind, dp->path, '\0');
		fwrite(&dp->st, 1, sizeof(dp->st), man);
		/* named only if nothing changed while it was copied, and nothing
		 * within a second before: a later change in the same clock tick
		 * could leave the same ctime */
		if (lookup_state(&look, dp->path, &now) < 0 || memcmp(&now, &dp->st, sizeof(now)) != 0 ||
		    (dp->st.present && (dp->st.ctime_s >= start.tv_sec - 1 || dp->st.mtime_s >= start.tv_sec - 1)))
			publishable = false;
	}
	if (fclose(man) != 0) {
		man = NULL;
		goto out;
	}
	man = NULL;
	{
		cleanup_close int fd = openat(t->dir, "manifest", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, text, len) != (ssize_t)len)
			goto out;
		/* the lock init keeps: read-only */
		t->lock = openat(t->dir, "manifest", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (t->lock < 0 || flock(t->lock, LOCK_SH | LOCK_NB) < 0)
			goto out;
	}
	t->etc = openat(t->dir, "etc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (t->etc < 0)
		goto out;
	r = 0;
	/* durable before named: a named template is trusted as it is */
	if (publishable && syncfs(t->dir) == 0) {
		unsigned char sum[crypto_generichash_BYTES];
		crypto_generichash(sum, sizeof(sum), (const unsigned char *)text, len, NULL, 0);
		sodium_bin2hex(name, sizeof(name), sum, sizeof(sum));
		publish(cachefd, tmp, name, ptr);
	}
	collect(cachefd, tmp);
out:
	if (man)
		fclose(man);
	free(text);
	lookup_free(&look);
	dp_error_free(&err);
	if (r < 0) {
		tmpl_clear(t);
		(void)dp_remove_tree_at(cachefd, tmp);
	}
	return r;
}

/* /etc as a read-only overlay: the per-run files over the template, then
 * the binds. The per-run files come from a cached per-run layer when there
 * is one (or one can be made), else from a scratch tmpfs. 1 when overlayfs
 * refuses (nothing mounted). */
#define ETC_SCRATCH ".doppel-etc"

static int mount_overlay_etc(int top, int lower, const char *target)
{
	char opts[128];

	snprintf(opts, sizeof(opts), "lowerdir=/proc/self/fd/%d:/proc/self/fd/%d,userxattr", top, lower);
	return mount("overlay", target, "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV, opts);
}

/* The per-run files on a scratch tmpfs as the overlay's top layer. */
static int mount_with_tmpfs(const own_files *o, int rootfd, int target, mode_t um, tmpl *t, dp_error **err)
{
	cleanup_close int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	cleanup_close int mnt = -1;
	cleanup_close int top = -1;
	char mode[16], p[64];
	int e;

	if (fs < 0)
		return dp_fail_errno(err, "create tmpfs for /etc");
	snprintf(mode, sizeof(mode), "%o", 0755 & ~um);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "mode", mode, 0) < 0 || fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return dp_fail_errno(err, "configure tmpfs for /etc");
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (mnt < 0)
		return dp_fail_errno(err, "mount tmpfs for /etc");
	if (write_own_files(o, mnt, "", err) < 0)
		return -1;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", target);
	/* Linux 6.15 on takes a detached mount as a layer; before, overlayfs
	 * takes layers only from mounts of our namespace: attach the tmpfs at
	 * a scratch directory, and detach it once the overlay holds it (an
	 * unmount costs an RCU grace period, ~0.2 ms here) */
	if (mount_overlay_etc(mnt, t->etc, p) == 0)
		return 0;
	if (mkdirat(rootfd, ETC_SCRATCH, 0700) < 0 ||
	    move_mount(mnt, "", rootfd, ETC_SCRATCH, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return dp_fail_errno(err, "attach tmpfs for /etc");
	top = openat(rootfd, ETC_SCRATCH, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (top < 0)
		return dp_fail_errno(err, "open tmpfs for /etc");
	e = mount_overlay_etc(top, t->etc, p) < 0 ? errno : 0;
	if (dp_rootfs_detach_scratch(rootfd, ETC_SCRATCH, err) < 0)
		return -1;
	if (e == EINVAL || e == EPERM || e == ENODEV || e == EOPNOTSUPP)
		return 1;
	if (e) {
		errno = e;
		return dp_fail_errno(err, "mount /etc overlay");
	}
	return 0;
}

static int mount_template(dp_child_ctx *ctx, int sysfd, int rootfd, mode_t um, tmpl *t, dp_error **err)
{
	own_files o = { .hosts = NULL };
	cleanup_close int target = -1;
	cleanup_close int run = -1;
	cleanup_close int run_lock = -1;
	char name[RUN_NAME], p[64];
	int r = -1;

	if (own_files_make(ctx, &o) < 0) {
		dp_fail(err, ENOMEM, "/etc/hosts");
		goto out;
	}
	if (mkdirat(rootfd, "etc", 0755) < 0 ||
	    (target = openat(rootfd, "etc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		dp_fail_errno(err, "create /etc");
		goto out;
	}
	snprintf(p, sizeof(p), "/proc/self/fd/%d", target);
	/* the run's own files from the cache: no tmpfs, no writes. While the
	 * layer's lock is taken, the manifest's still is: there is no moment a
	 * collector could take the template */
	run_name(&o, um, name);
	if (run_open(t->dir, name, um, &run, &run_lock) == 0 || run_build(t->dir, name, &o, um, &run, &run_lock) == 0) {
		if (mount_overlay_etc(run, t->etc, p) == 0) {
			r = 0;
		} else {
			close(run_lock);
			run_lock = -1;
		}
	}
	if (r < 0 && (r = mount_with_tmpfs(&o, rootfd, target, um, t, err)) != 0)
		goto out;
	for (size_t i = 0; i < t->deps.n; i++) {
		const char *rel = t->deps.v[i].path;
		cleanup_close int src = -1;
		if (t->deps.v[i].kind != 'B')
			continue;
		src = dp_open_in_root(sysfd, rel, O_PATH | O_NOFOLLOW, 0);
		if (src < 0) {
			if (errno == ENOENT) /* removed since: nothing to bind */
				continue;
			r = dp_fail_errno(err, "open system entry /%s", rel);
			goto out;
		}
		if ((r = dp_rootfs_attach_clone(src, true, BIND_ATTRS, rootfd, rel, rel, err)) < 0)
			goto out;
	}
	ctx->etc_lock = run_lock >= 0 ? dp_steal_fd(&run_lock) : dp_steal_fd(&t->lock);
out:
	free(o.hosts);
	return r;
}

/* 0: /etc is the template's; 1: use the copy path; -1: failed. */
static int etc_from_template(dp_child_ctx *ctx, int cachefd, int sysfd, int rootfd, dp_error **err)
{
	tmpl t = { .dir = -1, .etc = -1, .lock = -1 };
	struct stat sys;
	char ptr[96], head[1024];
	mode_t um = umask(0);
	int head_len, r = 1;

	umask(um);
	if (fstat(sysfd, &sys) < 0 || (head_len = manifest_header(head, sizeof(head), &sys, um)) < 0)
		return 1;
	snprintf(ptr, sizeof(ptr), "current-%llu-%llu", (unsigned long long)sys.st_dev, (unsigned long long)sys.st_ino);
	if (use_current(cachefd, sysfd, head, (size_t)head_len, ptr, &t) == 0 ||
	    build(cachefd, sysfd, head, (size_t)head_len, ptr, &t) == 0)
		r = mount_template(ctx, sysfd, rootfd, um, &t, err);
	tmpl_clear(&t);
	return r;
}

int dp_etc_setup(dp_child_ctx *ctx, int cachefd, int sysfd, int rootfd, dp_error **err)
{
	walk w = { .rootfd = rootfd, .sysfd = sysfd };

	if (cachefd >= 0) {
		int r = etc_from_template(ctx, cachefd, sysfd, rootfd, err);
		if (r <= 0)
			return r;
	}
	own_files o = { .hosts = NULL };
	int r;

	if (copy_entries(&w, ctx->plan->ca_pem, err) < 0)
		return -1;
	if (own_files_make(ctx, &o) < 0)
		r = dp_fail(err, ENOMEM, "/etc/hosts");
	else
		r = write_own_files(&o, rootfd, "etc/", err);
	free(o.hosts);
	return r;
}
