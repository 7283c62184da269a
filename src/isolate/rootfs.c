/* Building the sandbox's root: a fresh tmpfs holding read-only system dirs, a
 * minimal /etc, /dev, /proc, /tmp and the plan's mounts, then pivot_root into
 * it and drop the old root. Host paths are opened before anything is mounted
 * and mounted by fd (open_tree/move_mount), destinations are resolved inside
 * the new root (RESOLVE_IN_ROOT), so no symlink, '..' or racing rename can
 * point a mount at a host path the plan did not name. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "isolate/runtime.h"
#include "util/cleanup.h"
#include "util/path.h"

/* The staging mount point; it is the new root and disappears at pivot. Only
 * our private mount namespace sees it. */
#define STAGE "/tmp"

static const char *const system_dirs[] = { "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", NULL };

/* What a program needs from /etc to run; nothing that names hosts, users or
 * holds secrets (so ssl/certs, never ssl/private). passwd, group, hosts, hostname and resolv.conf are written. */
static const char *const etc_entries[] = {
	"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "nsswitch.conf", "alternatives", "localtime",
	"timezone", "ssl/certs", "ssl/openssl.cnf", "ca-certificates", "ca-certificates.conf", "services", "protocols",
	"os-release", "debian_version", "bash.bashrc", "profile", "profile.d", "inputrc", "terminfo",
	"shells", "mime.types", "magic", "login.defs", "environment", "locale.alias", "gai.conf",
	"host.conf", "python3", "python3.11", "perl", "mtab", NULL,
};

static const char *const proc_masked_files[] = { "kcore", "keys", "timer_list", "sched_debug",
						  "sysrq-trigger", "latency_stats", "timer_stats", NULL };
static const char *const proc_masked_dirs[] = { "acpi", "scsi", "asound", NULL };
static const char *const proc_readonly[] = { "sys", "irq", "bus", "fs", NULL };

typedef struct host_src {
	int src;     /* binds */
	int *lowers; /* overlays, -1 terminated */
	int upper, work;
} host_src;

/* mkdir -p for a mount target, with a message that says why a symlink on
 * the way is refused. */
static int mkdir_target(int rootfd, const char *dst, dp_error **err)
{
	if (dp_mkdirs_in_root_nosym(rootfd, dst, 0755) == 0)
		return 0;
	if (errno == ELOOP)
		return dp_fail(err, 0, "mount target %s goes through a symlink inside the sandbox; refused so a "
				       "link in the tree cannot redirect a mount",
			       dst);
	return dp_fail_errno(err, "create mount point %s", dst);
}

static int fd_path(char *buf, size_t n, int fd)
{
	return snprintf(buf, n, "/proc/self/fd/%d", fd);
}

/* Clones the tree at srcfd (recursively), applies attrs and attaches it on
 * top of 'dst' inside the new root. */
static int attach_clone(int srcfd, bool recursive, unsigned long long attrs, int rootfd, const char *dst,
			const char *what, dp_error **err)
{
	struct mount_attr attr = { .attr_set = attrs };
	cleanup_close int tree = open_tree(srcfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
						       (recursive ? AT_RECURSIVE : 0));
	cleanup_close int target = -1;

	if (tree < 0)
		return dp_fail_errno(err, "%s: clone mount", what);
	if (attrs && mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0)
		return dp_fail_errno(err, "%s: set mount flags", what);
	target = dp_open_in_root_nosym(rootfd, dst, O_PATH, 0);
	if (target < 0)
		return dp_fail_errno(err, "%s: open mount point %s", what, dst);
	if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return dp_fail_errno(err, "%s: mount on %s", what, dst);
	return 0;
}

static int mount_fs_at(int rootfd, const char *dst, const char *fstype, unsigned long flags, const char *data,
		       dp_error **err)
{
	cleanup_close int target = dp_open_in_root_nosym(rootfd, dst, O_PATH | O_DIRECTORY, 0);
	char p[64];

	if (target < 0)
		return dp_fail_errno(err, "open mount point %s", dst);
	fd_path(p, sizeof(p), target);
	if (mount(fstype, p, fstype, flags, data) < 0)
		return dp_fail_errno(err, "mount %s on %s", fstype, dst);
	return 0;
}

static int set_readonly(int rootfd, const char *dst, dp_error **err)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	cleanup_close int fd = dp_open_in_root_nosym(rootfd, dst, O_PATH | O_DIRECTORY, 0);

	if (fd < 0 || mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return dp_fail_errno(err, "make %s read-only", dst);
	return 0;
}

static int make_file_in_root(int rootfd, const char *path, dp_error **err)
{
	cleanup_free char *parent = strdup(path);
	char *slash;
	cleanup_close int fd = -1;

	if (parent == NULL)
		return dp_fail(err, ENOMEM, "mount point %s", path);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (mkdir_target(rootfd, parent, err) < 0)
			return -1;
	}
	fd = dp_open_in_root_nosym(rootfd, path, O_CREAT | O_WRONLY | O_NOFOLLOW, 0644);
	if (fd < 0 && errno != EISDIR)
		return dp_fail_errno(err, "create mount point %s", path);
	return 0;
}

static int write_in_root(int rootfd, const char *path, const char *text, dp_error **err)
{
	cleanup_close int fd = dp_open_in_root(rootfd, path, O_CREAT | O_WRONLY | O_TRUNC | O_NOFOLLOW, 0644);
	size_t n = strlen(text);

	if (fd < 0 || write(fd, text, n) != (ssize_t)n)
		return dp_fail_errno(err, "write %s", path);
	return 0;
}

/* Opens a host-side entry below 'base' (the host's / or a --system dir)
 * without letting it resolve outside base; the final symlink is not followed. */
static int open_below(int base, const char *rel)
{
	return dp_open_in_root(base, rel, O_PATH | O_NOFOLLOW, 0);
}

/* Small /etc entries are copied into the new root instead of bound: a
 * mount costs far more than writing a few kilobytes, and each one also
 * slows the namespace's teardown. Large directories are still bound. */
#define ETC_COPY_MAX_ENTRIES 64
#define ETC_COPY_MAX_BYTES (256 * 1024)

static int copy_tree(int src, int rootfd, const char *rel, dp_error **err);
static int copy_file_into(int src, int rootfd, const char *rel, const struct stat *st, dp_error **err);
static bool small_tree(int dir, size_t *entries, size_t *bytes);

/* Copies one entry of the system tree into the new root at rel: symlinks as
 * symlinks; below /etc small files and directories as copies; the rest as
 * read-only binds. Missing entries are skipped. 'base'/'name' is the source. */
static int copy_system_entry(int base, const char *name, int rootfd, const char *rel, dp_error **err)
{
	cleanup_close int src = open_below(base, name);
	struct stat st;
	bool in_etc = strncmp(rel, "etc/", 4) == 0;

	if (src < 0)
		return (errno == ENOENT) ? 0 : dp_fail_errno(err, "open system entry /%s", rel);
	if (fstat(src, &st) < 0)
		return dp_fail_errno(err, "stat /%s", rel);
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(src, "", target, sizeof(target) - 1);
		if (n < 0)
			return dp_fail_errno(err, "read symlink /%s", rel);
		target[n] = '\0';
		if (symlinkat(target, rootfd, rel) < 0 && errno != EEXIST)
			return dp_fail_errno(err, "create symlink /%s", rel);
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		size_t entries = 0, bytes = 0;
		if (mkdirat(rootfd, rel, 0755) < 0 && errno != EEXIST)
			return dp_fail_errno(err, "create /%s", rel);
		if (in_etc) {
			cleanup_close int dir = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dir >= 0 && small_tree(dir, &entries, &bytes))
				return copy_tree(dir, rootfd, rel, err);
		}
	} else if (S_ISREG(st.st_mode)) {
		if (in_etc && st.st_size <= ETC_COPY_MAX_BYTES)
			return copy_file_into(src, rootfd, rel, &st, err);
		if (make_file_in_root(rootfd, rel, err) < 0)
			return -1;
	} else {
		return 0;
	}
	return attach_clone(src, true, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, rootfd, rel,
			    rel, err);
}

static int copy_file_into(int src, int rootfd, const char *rel, const struct stat *st, dp_error **err)
{
	cleanup_close int in = -1;
	cleanup_close int out = -1;
	char buf[65536], p[64];
	ssize_t n;

	/* an O_PATH fd cannot be read; reopen that very file through /proc */
	fd_path(p, sizeof(p), src);
	in = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (in < 0)
		return dp_fail_errno(err, "read /%s", rel);
	out = openat(rootfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, st->st_mode & 0777);
	if (out < 0)
		return dp_fail_errno(err, "create /%s", rel);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return dp_fail_errno(err, "write /%s", rel);
	if (n < 0)
		return dp_fail_errno(err, "read /%s", rel);
	return 0;
}

/* Counts entries and bytes below a directory, stopping past the budget. */
static bool small_tree(int dir, size_t *entries, size_t *bytes)
{
	cleanup_close int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	bool ok = d != NULL;

	if (d)
		fd = -1;
	while (ok && (de = readdir(d)) != NULL) {
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (++*entries > ETC_COPY_MAX_ENTRIES || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			ok = false;
			break;
		}
		*bytes += (size_t)st.st_size;
		if (*bytes > ETC_COPY_MAX_BYTES)
			ok = false;
		else if (S_ISDIR(st.st_mode)) {
			cleanup_close int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			ok = sub >= 0 && small_tree(sub, entries, bytes);
		} else if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
			ok = false;
		}
	}
	if (d)
		closedir(d);
	return ok;
}

static int copy_tree(int src, int rootfd, const char *rel, dp_error **err)
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
		r = copy_system_entry(dirfd(d), de->d_name, rootfd, sub, err);
	}
	closedir(d);
	return r;
}

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

/* The largest system bundle we copy (Debian's is about 200K). */
#define CA_BUNDLE_MAX (8u << 20)

/* /etc/ssl/certs with the plan's certificates trusted: the system's entries
 * (hash links, PEM files) as copy_system_entry makes them, except the bundle,
 * written here as the system's bundle followed by the plan's PEM. Most TLS
 * stacks read that file by default; the rest are pointed at it by the
 * environment the front end sets. */
static int setup_ca_bundle(const char *pem, int sysfd, int rootfd, dp_error **err)
{
	static const char dir[] = "etc/ssl/certs", bundle[] = "etc/ssl/certs/ca-certificates.crt";
	cleanup_close int src = open_below(sysfd, dir);
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
			r = copy_system_entry(dirfd(ds), de->d_name, rootfd, rel, err);
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

static int setup_system(const dp_child_ctx *ctx, int sysfd, int rootfd, dp_error **err)
{
	char buf[256];
	const char *user = getenv("USER");

	for (const char *const *d = system_dirs; *d; d++)
		if (copy_system_entry(sysfd, *d, rootfd, *d, err) < 0)
			return -1;
	if (mkdirat(rootfd, "etc", 0755) < 0)
		return dp_fail_errno(err, "create /etc");
	for (const char *const *e = etc_entries; *e; e++) {
		const char *slash = strchr(*e, '/');
		snprintf(buf, sizeof(buf), "etc/%s", *e);
		if (slash) { /* etc/ssl/certs: the parent only as a directory, never its private/ */
			char parent[64];
			snprintf(parent, sizeof(parent), "etc/%.*s", (int)(slash - *e), *e);
			if (mkdirat(rootfd, parent, 0755) < 0 && errno != EEXIST)
				return dp_fail_errno(err, "create /%s", parent);
		}
		if (ctx->plan->ca_pem && strcmp(*e, "ssl/certs") == 0) {
			if (setup_ca_bundle(ctx->plan->ca_pem, sysfd, rootfd, err) < 0)
				return -1;
		} else if (copy_system_entry(sysfd, buf, rootfd, buf, err) < 0) {
			return -1;
		}
	}
	/* identities and names are the sandbox's own, not the host's */
	{
		char passwd[512], group[512];
		cleanup_free char *hosts = NULL;
		const char *host = ctx->plan->hostname ? ctx->plan->hostname : "doppel";
		if (user == NULL || strchr(user, ':') || strchr(user, '\n') || strlen(user) > 32)
			user = "user";
		snprintf(passwd, sizeof(passwd),
			 "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
		snprintf(group, sizeof(group), "root:x:0:\nnogroup:x:65534:\n");
		if (ctx->inner_uid != 0) {
			size_t n = strlen(passwd);
			snprintf(passwd + n, sizeof(passwd) - n, "%s:x:%u:%u::/root:/bin/sh\n", user, ctx->inner_uid,
				 ctx->inner_gid);
			n = strlen(group);
			snprintf(group + n, sizeof(group) - n, "%s:x:%u:\n", user, ctx->inner_gid);
		}
		hosts = hosts_text(ctx->plan, host);
		if (hosts == NULL)
			return dp_fail(err, ENOMEM, "write /etc/hosts");
		snprintf(buf, sizeof(buf), "%s\n", host);
		if (write_in_root(rootfd, "etc/passwd", passwd, err) < 0 ||
		    write_in_root(rootfd, "etc/group", group, err) < 0 ||
		    write_in_root(rootfd, "etc/hosts", hosts, err) < 0 ||
		    write_in_root(rootfd, "etc/hostname", buf, err) < 0 ||
		    write_in_root(rootfd, "etc/resolv.conf", "# no DNS in a doppel sandbox\n", err) < 0)
			return -1;
	}
	return 0;
}

static int setup_dev(const dp_child_ctx *ctx, int rootfd, dp_error **err)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty", NULL };
	static const char *const links[][2] = { { "fd", "/proc/self/fd" },     { "stdin", "/proc/self/fd/0" },
						{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
						{ "ptmx", "pts/ptmx" },          { NULL, NULL } };
	cleanup_close int hostdev = -1;
	char rel[64], opts[128];

	if (mkdirat(rootfd, "dev", 0755) < 0)
		return dp_fail_errno(err, "create /dev");
	if (mount_fs_at(rootfd, "dev", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=0755,size=64k", err) < 0)
		return -1;
	hostdev = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (hostdev < 0)
		return dp_fail_errno(err, "open host /dev");
	for (const char *const *n = nodes; *n; n++) {
		cleanup_close int src = openat(hostdev, *n, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (src < 0 || fstat(src, &st) < 0 || !S_ISCHR(st.st_mode))
			return dp_fail_errno(err, "open host /dev/%s", *n);
		snprintf(rel, sizeof(rel), "dev/%s", *n);
		if (make_file_in_root(rootfd, rel, err) < 0 ||
		    attach_clone(src, false, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, rootfd, rel,
				 rel, err) < 0)
			return -1;
	}
	for (size_t i = 0; links[i][0]; i++) {
		snprintf(rel, sizeof(rel), "dev/%s", links[i][0]);
		if (symlinkat(links[i][1], rootfd, rel) < 0)
			return dp_fail_errno(err, "create /%s", rel);
	}
	if (mkdirat(rootfd, "dev/pts", 0755) < 0 || mkdirat(rootfd, "dev/shm", 01777) < 0)
		return dp_fail_errno(err, "create /dev/pts, /dev/shm");
	/* gid 5 (tty) exists only where the namespace maps it */
	snprintf(opts, sizeof(opts), "newinstance,ptmxmode=0666,mode=0620%s", ctx->rootless ? "" : ",gid=5");
	if (mount_fs_at(rootfd, "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, opts, err) < 0)
		return -1;
	if (ctx->plan->disk_bytes)
		snprintf(opts, sizeof(opts), "mode=1777,size=%llu", (unsigned long long)ctx->plan->disk_bytes);
	else
		snprintf(opts, sizeof(opts), "mode=1777");
	if (mount_fs_at(rootfd, "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts, err) < 0)
		return -1;
	return set_readonly(rootfd, "dev", err);
}

static int setup_proc(int rootfd, dp_error **err)
{
	cleanup_close int devnull = open("/dev/null", O_PATH | O_CLOEXEC);
	char rel[64];

	if (devnull < 0)
		return dp_fail_errno(err, "open /dev/null");
	if (mkdirat(rootfd, "proc", 0555) < 0)
		return dp_fail_errno(err, "create /proc");
	if (mount_fs_at(rootfd, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) < 0)
		return -1;
	/* host-global knobs and kernel memory stay out of reach (as runc's
	 * masked and read-only paths) */
	for (const char *const *f = proc_masked_files; *f; f++) {
		cleanup_close int probe = -1;
		snprintf(rel, sizeof(rel), "proc/%s", *f);
		probe = dp_open_in_root(rootfd, rel, O_PATH | O_NOFOLLOW, 0);
		if (probe < 0)
			continue;
		if (attach_clone(devnull, false, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, rootfd,
				 rel, rel, err) < 0)
			return -1;
	}
	for (const char *const *d = proc_masked_dirs; *d; d++) {
		cleanup_close int probe = -1;
		snprintf(rel, sizeof(rel), "proc/%s", *d);
		probe = dp_open_in_root(rootfd, rel, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
		if (probe < 0)
			continue;
		if (mount_fs_at(rootfd, rel, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0", err) < 0)
			return -1;
	}
	for (const char *const *d = proc_readonly; *d; d++) {
		cleanup_close int src = -1;
		snprintf(rel, sizeof(rel), "proc/%s", *d);
		src = dp_open_in_root(rootfd, rel, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
		if (src < 0)
			continue;
		if (attach_clone(src, true, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
				 rootfd, rel, rel, err) < 0)
			return -1;
	}
	return 0;
}

static int scratch_tmpfs(const char *dst, int rootfd, mode_t mode, uint64_t size, dp_error **err)
{
	char opts[96];

	if (mkdir_target(rootfd, dst, err) < 0)
		return -1;
	if (size)
		snprintf(opts, sizeof(opts), "mode=%o,size=%llu", mode, (unsigned long long)size);
	else
		snprintf(opts, sizeof(opts), "mode=%o", mode);
	return mount_fs_at(rootfd, dst, "tmpfs", MS_NOSUID | MS_NODEV, opts, err);
}

static int open_host_sources(const dp_plan *plan, host_src *srcs, dp_error **err)
{
	for (size_t i = 0; i < plan->n_mounts; i++) {
		const dp_mount *m = &plan->mounts[i];
		host_src *s = &srcs[i];
		s->src = s->upper = s->work = -1;
		if (m->kind == DP_MOUNT_RO_BIND || m->kind == DP_MOUNT_BIND) {
			s->src = dp_path_open_nofollow("mount source", m->src, O_PATH, err);
			if (s->src < 0)
				return -1;
		} else if (m->kind == DP_MOUNT_OVERLAY || m->kind == DP_MOUNT_TMP_OVERLAY) {
			size_t k = 0;
			while (m->lowers[k])
				k++;
			s->lowers = calloc(k + 1, sizeof(int));
			if (s->lowers == NULL)
				return dp_fail(err, ENOMEM, "overlay");
			for (size_t j = 0; j < k; j++) {
				s->lowers[j] = dp_path_open_nofollow("overlay lower", m->lowers[j], O_PATH | O_DIRECTORY, err);
				if (s->lowers[j] < 0)
					return -1;
			}
			s->lowers[k] = -1;
			if (m->kind == DP_MOUNT_OVERLAY) {
				s->upper = dp_path_open_nofollow("overlay upper", m->upper, O_PATH | O_DIRECTORY, err);
				s->work = dp_path_open_nofollow("overlay work", m->work, O_PATH | O_DIRECTORY, err);
				if (s->upper < 0 || s->work < 0)
					return -1;
			}
		}
	}
	return 0;
}

/* A throwaway upper layer: a tmpfs (size-capped by --disk) attached at a
 * scratch directory of the new root just long enough for the overlay to take
 * its private clone of it, then detached; nothing in the sandbox can name it. */
#define SCRATCH ".doppel-upper"

static int tmp_upper(uint64_t size, int rootfd, int *upper, int *work, dp_error **err)
{
	cleanup_close int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	cleanup_close int mnt = -1;
	char sz[32];

	if (fs < 0)
		return dp_fail_errno(err, "create tmpfs for --tmp-overlay");
	if (size) {
		snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
		if (fsconfig(fs, FSCONFIG_SET_STRING, "size", sz, 0) < 0)
			return dp_fail_errno(err, "size tmpfs");
	}
	if (fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return dp_fail_errno(err, "configure tmpfs");
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (mnt < 0)
		return dp_fail_errno(err, "mount tmpfs");
	if (mkdirat(mnt, "upper", 0755) < 0 || mkdirat(mnt, "work", 0755) < 0)
		return dp_fail_errno(err, "create overlay upper");
	/* overlayfs clones its upper mount, which must be attached in our namespace */
	if (mkdirat(rootfd, SCRATCH, 0700) < 0 ||
	    move_mount(mnt, "", rootfd, SCRATCH, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return dp_fail_errno(err, "attach overlay upper");
	*upper = openat(rootfd, SCRATCH "/upper", O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	*work = openat(rootfd, SCRATCH "/work", O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (*upper < 0 || *work < 0)
		return dp_fail_errno(err, "open overlay upper");
	return 0;
}

static int detach_scratch(int rootfd, dp_error **err)
{
	char p[96];
	cleanup_close int fd = openat(rootfd, SCRATCH, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return dp_fail_errno(err, "open overlay scratch");
	fd_path(p, sizeof(p), fd);
	if (umount2(p, MNT_DETACH) < 0)
		return dp_fail_errno(err, "detach overlay scratch");
	if (unlinkat(rootfd, SCRATCH, AT_REMOVEDIR) < 0)
		return dp_fail_errno(err, "remove overlay scratch");
	return 0;
}

static int mount_overlay(const dp_plan *plan, const dp_mount *m, host_src *s, int rootfd, dp_error **err)
{
	char opts[4096], p[64];
	size_t n = 0;
	cleanup_close int target = -1;

	if (m->kind == DP_MOUNT_TMP_OVERLAY && tmp_upper(plan->disk_bytes, rootfd, &s->upper, &s->work, err) < 0)
		return -1;
	n += (size_t)snprintf(opts + n, sizeof(opts) - n, "lowerdir=");
	for (size_t j = 0; s->lowers[j] >= 0 && n < sizeof(opts); j++)
		n += (size_t)snprintf(opts + n, sizeof(opts) - n, "%s/proc/self/fd/%d", j ? ":" : "", s->lowers[j]);
	if (n < sizeof(opts))
		n += (size_t)snprintf(opts + n, sizeof(opts) - n,
				      ",upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d,userxattr", s->upper,
				      s->work);
	if (n >= sizeof(opts))
		return dp_usage(err, "--overlay %s: too many lower directories", m->dst);
	if (mkdir_target(rootfd, m->dst, err) < 0)
		return -1;
	target = dp_open_in_root_nosym(rootfd, m->dst, O_PATH | O_DIRECTORY, 0);
	if (target < 0)
		return dp_fail_errno(err, "open mount point %s", m->dst);
	fd_path(p, sizeof(p), target);
	if (mount("overlay", p, "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
		return dp_fail_errno(err, "mount overlay on %s", m->dst);
	if (m->kind == DP_MOUNT_TMP_OVERLAY) {
		close(s->upper);
		close(s->work);
		s->upper = s->work = -1;
		return detach_scratch(rootfd, err);
	}
	return 0;
}

static int mount_plan_entry(const dp_plan *plan, const dp_mount *m, host_src *s, int rootfd, dp_error **err)
{
	struct stat st;

	switch (m->kind) {
	case DP_MOUNT_RO_BIND:
	case DP_MOUNT_BIND:
		if (fstat(s->src, &st) < 0)
			return dp_fail_errno(err, "stat %s", m->src);
		if (S_ISDIR(st.st_mode)) {
			if (mkdir_target(rootfd, m->dst, err) < 0)
				return -1;
		} else if (make_file_in_root(rootfd, m->dst, err) < 0) {
			return -1;
		}
		return attach_clone(s->src, true,
				    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					    (m->kind == DP_MOUNT_RO_BIND ? MOUNT_ATTR_RDONLY : 0),
				    rootfd, m->dst, m->src, err);
	case DP_MOUNT_TMPFS:
		return scratch_tmpfs(m->dst, rootfd, 0755, plan->disk_bytes, err);
	case DP_MOUNT_OVERLAY:
	case DP_MOUNT_TMP_OVERLAY:
		return mount_overlay(plan, m, s, rootfd, err);
	}
	return dp_usage(err, "unknown mount kind");
}

int dp_rootfs_setup(const dp_child_ctx *ctx, dp_error **err)
{
	const dp_plan *plan = ctx->plan;
	host_src *srcs = calloc(plan->n_mounts + 1, sizeof(*srcs));
	cleanup_close int sysfd = -1;
	cleanup_close int rootfd = -1;
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };

	if (srcs == NULL)
		return dp_fail(err, ENOMEM, "mount plan");
	/* every host path is pinned before the first mount can hide or move it */
	if (open_host_sources(plan, srcs, err) < 0)
		return -1;
	if (plan->system == NULL || strcmp(plan->system, "host") == 0)
		sysfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	else
		sysfd = dp_path_open_nofollow("--system", plan->system, O_PATH | O_DIRECTORY, err);
	if (sysfd < 0)
		return err && *err ? -1 : dp_fail_errno(err, "open system root");

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return dp_fail_errno(err, "make mounts private");
	if (mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m") < 0)
		return dp_fail_errno(err, "mount the new root");
	rootfd = open(STAGE, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return dp_fail_errno(err, "open the new root");

	if (setup_system(ctx, sysfd, rootfd, err) < 0 || setup_dev(ctx, rootfd, err) < 0 ||
	    setup_proc(rootfd, err) < 0)
		return -1;
	if (scratch_tmpfs("tmp", rootfd, 01777, plan->disk_bytes, err) < 0 ||
	    scratch_tmpfs("run", rootfd, 0755, plan->disk_bytes ? plan->disk_bytes : 64ull << 20, err) < 0 ||
	    scratch_tmpfs("root", rootfd, 0700, plan->disk_bytes, err) < 0)
		return -1;
	for (size_t i = 0; i < plan->n_mounts; i++)
		if (mount_plan_entry(plan, &plan->mounts[i], &srcs[i], rootfd, err) < 0)
			return -1;
	for (size_t i = 0; i < plan->n_mounts; i++) {
		if (srcs[i].src >= 0)
			close(srcs[i].src);
		if (srcs[i].upper >= 0)
			close(srcs[i].upper);
		if (srcs[i].work >= 0)
			close(srcs[i].work);
		for (int *l = srcs[i].lowers; l && *l >= 0; l++)
			close(*l);
		free(srcs[i].lowers);
	}
	free(srcs);

	/* pivot_root(".", ".") stacks the old root under the new one; detaching
	 * it leaves no host path reachable */
	if (fchdir(rootfd) < 0)
		return dp_fail_errno(err, "enter the new root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return dp_fail_errno(err, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return dp_fail_errno(err, "detach the old root");
	if (chdir("/") < 0)
		return dp_fail_errno(err, "chdir /");
	if (mount_setattr(AT_FDCWD, "/", 0, &ro, sizeof(ro)) < 0)
		return dp_fail_errno(err, "make the root read-only");
	return 0;
}
