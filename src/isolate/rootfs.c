/* Building the sandbox's root: a fresh tmpfs holding read-only system dirs, a
 * minimal /etc (etc.c), /dev, /proc, /tmp and the plan's mounts, then pivot_root into
 * it and drop the old root. Host paths are opened before anything is mounted
 * and mounted by fd (open_tree/move_mount), destinations are resolved inside
 * the new root (RESOLVE_IN_ROOT), so no symlink, '..' or racing rename can
 * point a mount at a host path the plan did not name.
 *
 * A run with mapped ids (plan->map_ids) gets its host trees differently: its
 * init is not host root and cannot open them, so the monitor makes them as
 * idmapped mounts and sends them (the "host trees" part below); init
 * attaches them under a scratch directory and then builds the root from
 * them exactly as from host paths. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "isolate/etc.h"
#include "isolate/proto.h"
#include "isolate/runtime.h"
#include "util/cleanup.h"
#include "util/path.h"

/* The staging mount point; it is the new root and disappears at pivot. Only
 * our private mount namespace sees it. */
#define STAGE "/tmp"

static const char *const system_dirs[] = { "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", NULL };

static const char *const proc_masked_files[] = { "kcore", "keys", "timer_list", "sched_debug",
						  "sysrq-trigger", "latency_stats", "timer_stats", NULL };
static const char *const proc_masked_dirs[] = { "acpi", "scsi", "asound", NULL };
static const char *const proc_readonly[] = { "sys", "irq", "bus", "fs", NULL };

typedef struct host_src {
	int src;     /* binds */
	int *lowers; /* overlays, -1 terminated */
	int upper, work;
	int tree;    /* mapped overlays: the mount holding upper and work */
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

int dp_rootfs_copy_symlink(int src, int rootfd, const char *rel, dp_error **err)
{
	char target[4096];
	ssize_t n = readlinkat(src, "", target, sizeof(target) - 1);

	if (n < 0)
		return dp_fail_errno(err, "read symlink /%s", rel);
	target[n] = '\0';
	if (symlinkat(target, rootfd, rel) < 0 && errno != EEXIST)
		return dp_fail_errno(err, "create symlink /%s", rel);
	return 0;
}

/* Copies one top-level system entry into the new root at rel: symlinks as
 * symlinks, the rest as read-only binds. Missing entries are skipped. */
static int copy_system_entry(int base, const char *name, int rootfd, const char *rel, dp_error **err)
{
	cleanup_close int src = open_below(base, name);
	struct stat st;

	if (src < 0)
		return (errno == ENOENT) ? 0 : dp_fail_errno(err, "open system entry /%s", rel);
	if (fstat(src, &st) < 0)
		return dp_fail_errno(err, "stat /%s", rel);
	if (S_ISLNK(st.st_mode))
		return dp_rootfs_copy_symlink(src, rootfd, rel, err);
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(rootfd, rel, 0755) < 0 && errno != EEXIST)
			return dp_fail_errno(err, "create /%s", rel);
	} else if (S_ISREG(st.st_mode)) {
		if (make_file_in_root(rootfd, rel, err) < 0)
			return -1;
	} else {
		return 0;
	}
	return attach_clone(src, true, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, rootfd, rel,
			    rel, err);
}

/* The system dirs, then /etc (etc.c). */
static int setup_system(dp_child_ctx *ctx, int cachefd, int sysfd, int rootfd, dp_error **err)
{
	for (const char *const *d = system_dirs; *d; d++)
		if (copy_system_entry(sysfd, *d, rootfd, *d, err) < 0)
			return -1;
	return dp_etc_setup(ctx, cachefd, sysfd, rootfd, err);
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
		s->src = s->upper = s->work = s->tree = -1;
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

/* Detaches the mount at rootfd/name, and everything below it, and removes
 * the mount point. */
static int detach_scratch(int rootfd, const char *name, dp_error **err)
{
	char p[96];
	cleanup_close int fd = openat(rootfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return dp_fail_errno(err, "open scratch mount %s", name);
	fd_path(p, sizeof(p), fd);
	if (umount2(p, MNT_DETACH) < 0)
		return dp_fail_errno(err, "detach scratch mount %s", name);
	if (unlinkat(rootfd, name, AT_REMOVEDIR) < 0)
		return dp_fail_errno(err, "remove scratch mount point %s", name);
	return 0;
}

/* For etc.c (etc.h). */
int dp_rootfs_attach_clone(int srcfd, bool recursive, unsigned long long attrs, int rootfd, const char *dst,
			   const char *what, dp_error **err)
{
	return attach_clone(srcfd, recursive, attrs, rootfd, dst, what, err);
}

int dp_rootfs_make_file(int rootfd, const char *path, dp_error **err)
{
	return make_file_in_root(rootfd, path, err);
}

int dp_rootfs_write(int rootfd, const char *path, const char *text, dp_error **err)
{
	return write_in_root(rootfd, path, text, err);
}

int dp_rootfs_detach_scratch(int rootfd, const char *name, dp_error **err)
{
	return detach_scratch(rootfd, name, err);
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
		return detach_scratch(rootfd, SCRATCH, err);
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

/* ---- Host trees of a run with mapped ids ------------------------------ */

/* Which tree a DP_MSG_TREE carries. */
enum tree_role {
	TREE_SYS,         /* the system root (non-recursive) */
	TREE_SYS_DIR,     /* index: a top-level system dir (sys_top), recursive */
	TREE_SRC,         /* mount: a bind's source, recursive */
	TREE_LOWER,       /* mount, index: an overlay lower */
	TREE_UPPER_MOUNT, /* mount: the mount holding an overlay's upper and work */
	TREE_UPPER,       /* mount: the upper dir, on that mount */
	TREE_WORK,        /* mount: the work dir, on that mount */
};

typedef struct tree_msg {
	uint32_t role, mount, index;
} tree_msg;

/* system_dirs, and etc in the NULL slot */
#define N_SYS_TOP (sizeof(system_dirs) / sizeof(system_dirs[0]))

struct dp_host_trees {
	int sys;
	int sys_dirs[N_SYS_TOP];
	host_src *srcs; /* one per plan mount */
};

#define RO_ATTRS (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
/* Where init attaches the trees inside the new root while it builds it;
 * detached before pivot_root. */
#define HOSTS ".doppel-host"

/* The system dirs init reads from: system_dirs, and etc in the last slot. */
static const char *sys_top(size_t i)
{
	return system_dirs[i] ? system_dirs[i] : "etc";
}

static void fs_name(int fd, char *buf, size_t n)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} names[] = {
		{ EXT4_SUPER_MAGIC, "ext4" },   { XFS_SUPER_MAGIC, "xfs" },        { BTRFS_SUPER_MAGIC, "btrfs" },
		{ TMPFS_MAGIC, "tmpfs" },       { OVERLAYFS_SUPER_MAGIC, "overlay" }, { NFS_SUPER_MAGIC, "nfs" },
		{ FUSE_SUPER_MAGIC, "fuse" },   { SQUASHFS_MAGIC, "squashfs" },    { PROC_SUPER_MAGIC, "proc" },
		{ SYSFS_MAGIC, "sysfs" },       { CGROUP2_SUPER_MAGIC, "cgroup2" }, { RAMFS_MAGIC, "ramfs" },
	};
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0) {
		snprintf(buf, n, "unknown");
		return;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((unsigned long)sf.f_type == names[i].magic) {
			snprintf(buf, n, "%s", names[i].name);
			return;
		}
	snprintf(buf, n, "0x%lx", (unsigned long)sf.f_type);
}

/* A detached clone of the mount at fd (its subtree if recursive), with
 * attrs and the id mapping of the user namespace 'userns'. */
static int idmapped_clone(int userns, int fd, bool recursive, unsigned long long attrs, const char *what,
			  dp_error **err)
{
	struct mount_attr attr = { .attr_set = attrs | MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
	unsigned rec = recursive ? AT_RECURSIVE : 0;
	cleanup_close int tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | rec);
	char fs[32];

	if (tree < 0) {
		if (errno == ENOSYS)
			return dp_fail(err, 0, "--map-user: %s: this kernel has no open_tree(2); idmapped mounts "
					       "need Linux 5.12 or later", what);
		return dp_fail_errno(err, "--map-user: %s: clone the mount", what);
	}
	if (mount_setattr(tree, "", AT_EMPTY_PATH | rec, &attr, sizeof(attr)) == 0)
		return dp_steal_fd(&tree);
	switch (errno) {
	case EINVAL:
		fs_name(fd, fs, sizeof(fs));
		return dp_fail(err, 0, "--map-user: %s: the kernel refuses an idmapped mount of it (EINVAL): its %s "
				       "filesystem%s does not support idmapped mounts; keep the tree on one that does "
				       "(ext4, xfs, btrfs, tmpfs...) or run without --map-user",
			       what, fs, recursive ? ", or one mounted below it," : "");
	case ENOSYS:
		return dp_fail(err, 0, "--map-user: %s: this kernel has no mount_setattr(2); idmapped mounts need "
				       "Linux 5.12 or later", what);
	case EPERM:
		return dp_fail(err, EPERM, "--map-user: %s: the kernel refuses to make an idmapped mount "
					   "(it needs host root, and a mount never idmapped before)", what);
	default:
		return dp_fail_errno(err, "--map-user: %s: make an idmapped mount", what);
	}
}

static int send_tree(int sock, enum tree_role role, size_t mount, size_t index, int fd, const char *what,
		     dp_error **err)
{
	tree_msg msg = { .role = role, .mount = (uint32_t)mount, .index = (uint32_t)index };

	if (dp_proto_send(sock, DP_MSG_TREE, &msg, sizeof(msg), fd) < 0)
		return dp_fail_errno(err, "--map-user: hand %s to the sandbox", what);
	return 0;
}

static int send_clone(int sock, int userns, int fd, bool recursive, unsigned long long attrs, enum tree_role role,
		      size_t mount, size_t index, const char *what, dp_error **err)
{
	cleanup_close int tree = idmapped_clone(userns, fd, recursive, attrs, what, err);

	if (tree < 0)
		return -1;
	return send_tree(sock, role, mount, index, tree, what, err);
}

/* Length of the deepest directory holding both a and b ("/" counts 1). */
static size_t common_parent_len(const char *a, const char *b)
{
	size_t i = 0, last = 0;

	for (; a[i] && a[i] == b[i]; i++)
		if (a[i] == '/')
			last = i;
	if ((a[i] == '\0' && b[i] == '/') || (b[i] == '\0' && a[i] == '/'))
		last = i;
	return last ? last : 1;
}

/* Opens rel below the tree and checks it is the directory the plan named
 * (want), so a rename between the two opens cannot swap it. */
static int open_on_tree(int tree, const char *rel, int want, const char *what, const char *parent, dp_error **err)
{
	cleanup_close int fd = dp_open_in_root_nosym(tree, *rel ? rel : ".", O_PATH | O_DIRECTORY, 0);
	struct stat a, b;

	if (fd < 0 || fstat(fd, &a) < 0 || fstat(want, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return dp_fail(err, 0, "--map-user: overlay %s is not on the mount of %s (overlayfs needs upper "
				       "and work on one mount, and --map-user makes that mount from their common "
				       "parent)", what, parent);
	return dp_steal_fd(&fd);
}

/* Upper and work must be on one mount for overlayfs: one idmapped clone of
 * their common parent, and each opened on it. */
static int send_upper_work(int sock, int userns, const dp_mount *m, size_t i, dp_error **err)
{
	cleanup_close int up = dp_path_open_nofollow("overlay upper", m->upper, O_PATH | O_DIRECTORY, err);
	cleanup_close int wk = up < 0 ? -1 : dp_path_open_nofollow("overlay work", m->work, O_PATH | O_DIRECTORY, err);
	cleanup_free char *u = dp_path_collapse(m->upper);
	cleanup_free char *w = dp_path_collapse(m->work);
	cleanup_free char *parent = NULL;
	cleanup_close int pfd = -1;
	cleanup_close int tree = -1;
	cleanup_close int tu = -1;
	cleanup_close int tw = -1;
	size_t n;

	if (up < 0 || wk < 0)
		return -1;
	if (u == NULL || w == NULL)
		return dp_fail(err, ENOMEM, "overlay %s", m->dst);
	n = common_parent_len(u, w);
	parent = strndup(u, n);
	if (parent == NULL)
		return dp_fail(err, ENOMEM, "overlay %s", m->dst);
	pfd = dp_path_open_nofollow("overlay upper", parent, O_PATH | O_DIRECTORY, err);
	if (pfd < 0)
		return -1;
	tree = idmapped_clone(userns, pfd, false, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, parent, err);
	if (tree < 0)
		return -1;
	tu = open_on_tree(tree, u + n + (u[n] == '/'), up, m->upper, parent, err);
	tw = tu < 0 ? -1 : open_on_tree(tree, w + n + (w[n] == '/'), wk, m->work, parent, err);
	if (tu < 0 || tw < 0)
		return -1;
	if (send_tree(sock, TREE_UPPER_MOUNT, i, 0, tree, parent, err) < 0 ||
	    send_tree(sock, TREE_UPPER, i, 0, tu, m->upper, err) < 0 ||
	    send_tree(sock, TREE_WORK, i, 0, tw, m->work, err) < 0)
		return -1;
	return 0;
}

static int send_system(int sock, int userns, const dp_plan *plan, dp_error **err)
{
	bool host = plan->system == NULL || strcmp(plan->system, "host") == 0;
	const char *name = host ? "/" : plan->system;
	cleanup_close int root = host ? open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)
				      : dp_path_open_nofollow("--system", plan->system, O_PATH | O_DIRECTORY, err);
	char what[4096];

	if (root < 0)
		return err && *err ? -1 : dp_fail_errno(err, "open system root");
	/* the root alone: the system dirs come as their own recursive trees,
	 * and nothing else of the root is ever read */
	if (send_clone(sock, userns, root, false, RO_ATTRS, TREE_SYS, 0, 0, name, err) < 0)
		return -1;
	for (size_t i = 0; i < N_SYS_TOP; i++) {
		cleanup_close int fd = open_below(root, sys_top(i));
		struct stat st;
		snprintf(what, sizeof(what), "%s%s%s", name, host ? "" : "/", sys_top(i));
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0 || fstat(fd, &st) < 0)
			return dp_fail_errno(err, "open system entry %s", what);
		if (!S_ISDIR(st.st_mode)) /* a symlink, copied as one */
			continue;
		if (send_clone(sock, userns, fd, true, RO_ATTRS, TREE_SYS_DIR, 0, i, what, err) < 0)
			return -1;
	}
	return 0;
}

int dp_rootfs_send_trees(const dp_plan *plan, pid_t init, int sock, dp_error **err)
{
	char path[64];
	cleanup_close int userns = -1;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)init);
	userns = open(path, O_RDONLY | O_CLOEXEC);
	if (userns < 0)
		return dp_fail_errno(err, "--map-user: open the sandbox's user namespace %s", path);
	if (send_system(sock, userns, plan, err) < 0)
		return -1;
	for (size_t i = 0; i < plan->n_mounts; i++) {
		const dp_mount *m = &plan->mounts[i];
		switch (m->kind) {
		case DP_MOUNT_RO_BIND:
		case DP_MOUNT_BIND: {
			cleanup_close int fd = dp_path_open_nofollow("mount source", m->src, O_PATH, err);
			unsigned long long attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
						   (m->kind == DP_MOUNT_RO_BIND ? MOUNT_ATTR_RDONLY : 0);
			if (fd < 0 || send_clone(sock, userns, fd, true, attrs, TREE_SRC, i, 0, m->src, err) < 0)
				return -1;
			break;
		}
		case DP_MOUNT_OVERLAY:
		case DP_MOUNT_TMP_OVERLAY:
			for (size_t j = 0; m->lowers[j]; j++) {
				cleanup_close int fd =
					dp_path_open_nofollow("overlay lower", m->lowers[j], O_PATH | O_DIRECTORY, err);
				if (fd < 0 ||
				    send_clone(sock, userns, fd, false, RO_ATTRS, TREE_LOWER, i, j, m->lowers[j], err) < 0)
					return -1;
			}
			if (m->kind == DP_MOUNT_OVERLAY && send_upper_work(sock, userns, m, i, err) < 0)
				return -1;
			break;
		case DP_MOUNT_TMPFS:
			break;
		}
	}
	return 0;
}

static dp_host_trees *trees_new(const dp_plan *plan)
{
	dp_host_trees *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->sys = -1;
	for (size_t i = 0; i < N_SYS_TOP; i++)
		t->sys_dirs[i] = -1;
	t->srcs = calloc(plan->n_mounts + 1, sizeof(*t->srcs));
	if (t->srcs == NULL) {
		free(t);
		return NULL;
	}
	for (size_t i = 0; i < plan->n_mounts; i++) {
		const dp_mount *m = &plan->mounts[i];
		host_src *s = &t->srcs[i];
		s->src = s->upper = s->work = s->tree = -1;
		if (m->kind == DP_MOUNT_OVERLAY || m->kind == DP_MOUNT_TMP_OVERLAY) {
			size_t k = 0;
			while (m->lowers[k])
				k++;
			s->lowers = malloc((k + 1) * sizeof(int));
			if (s->lowers == NULL) {
				for (size_t j = 0; j < i; j++)
					free(t->srcs[j].lowers);
				free(t->srcs);
				free(t);
				return NULL;
			}
			for (size_t j = 0; j <= k; j++)
				s->lowers[j] = -1;
		}
	}
	return t;
}

static size_t n_lowers(const dp_mount *m)
{
	size_t k = 0;
	while (m->lowers && m->lowers[k])
		k++;
	return k;
}

int dp_rootfs_take_tree(dp_child_ctx *ctx, const void *payload, size_t len, int fd, dp_error **err)
{
	const dp_plan *plan = ctx->plan;
	const dp_mount *m = NULL;
	host_src *s = NULL;
	int *slot = NULL;
	tree_msg msg;

	if (ctx->trees == NULL && (ctx->trees = trees_new(plan)) == NULL) {
		if (fd >= 0)
			close(fd);
		return dp_fail(err, ENOMEM, "host trees");
	}
	if (len == sizeof(msg) && fd >= 0) {
		memcpy(&msg, payload, sizeof(msg));
		if (msg.mount < plan->n_mounts) {
			m = &plan->mounts[msg.mount];
			s = &ctx->trees->srcs[msg.mount];
		}
		bool bind = m && (m->kind == DP_MOUNT_BIND || m->kind == DP_MOUNT_RO_BIND);
		bool overlay = m && (m->kind == DP_MOUNT_OVERLAY || m->kind == DP_MOUNT_TMP_OVERLAY);
		switch (msg.role) {
		case TREE_SYS: slot = &ctx->trees->sys; break;
		case TREE_SYS_DIR: slot = msg.index < N_SYS_TOP ? &ctx->trees->sys_dirs[msg.index] : NULL; break;
		case TREE_SRC: slot = bind ? &s->src : NULL; break;
		case TREE_LOWER: slot = overlay && msg.index < n_lowers(m) ? &s->lowers[msg.index] : NULL; break;
		case TREE_UPPER_MOUNT: slot = overlay ? &s->tree : NULL; break;
		case TREE_UPPER: slot = overlay ? &s->upper : NULL; break;
		case TREE_WORK: slot = overlay ? &s->work : NULL; break;
		default: break;
		}
	}
	if (slot == NULL || *slot >= 0) {
		if (fd >= 0)
			close(fd);
		return dp_fail(err, 0, "sandbox setup: the monitor sent a host tree init cannot place");
	}
	*slot = fd;
	return 0;
}

/* Attaches the tree 'fd' at HOSTS/name (a directory or, for a file, an
 * empty file) so it belongs to init's mount namespace: overlayfs and
 * open_tree take only mounts of the caller's namespace. */
static int attach_host(int hosts, const char *name, int fd, dp_error **err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return dp_fail_errno(err, "stat host tree %s", name);
	if (S_ISDIR(st.st_mode) ? mkdirat(hosts, name, 0700) < 0 : mknodat(hosts, name, S_IFREG | 0600, 0) < 0)
		return dp_fail_errno(err, "create mount point for host tree %s", name);
	if (move_mount(fd, "", hosts, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return dp_fail_errno(err, "attach host tree %s", name);
	return 0;
}

/* Attaches every tree; *sysfd becomes the system root (with its dirs
 * stacked on it as on the host). */
static int attach_trees(const dp_child_ctx *ctx, int rootfd, int *sysfd, dp_error **err)
{
	const dp_plan *plan = ctx->plan;
	dp_host_trees *t = ctx->trees;
	cleanup_close int hosts = -1;
	char name[64];

	if (t == NULL || t->sys < 0)
		return dp_fail(err, 0, "sandbox setup: the monitor sent no system tree");
	for (size_t i = 0; i < plan->n_mounts; i++) {
		const dp_mount *m = &plan->mounts[i];
		const host_src *s = &t->srcs[i];
		bool missing = (m->kind == DP_MOUNT_BIND || m->kind == DP_MOUNT_RO_BIND) ? s->src < 0
			       : m->kind == DP_MOUNT_OVERLAY ? s->tree < 0 || s->upper < 0 || s->work < 0
							     : false;
		for (size_t j = 0; s->lowers && j < n_lowers(m); j++)
			missing = missing || s->lowers[j] < 0;
		if (missing)
			return dp_fail(err, 0, "sandbox setup: the monitor sent no host tree for %s", m->dst);
	}
	if (mkdirat(rootfd, HOSTS, 0700) < 0 ||
	    mount_fs_at(rootfd, HOSTS, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=64k", err) < 0)
		return err && *err ? -1 : dp_fail_errno(err, "create %s", HOSTS);
	hosts = openat(rootfd, HOSTS, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (hosts < 0)
		return dp_fail_errno(err, "open %s", HOSTS);
	if (attach_host(hosts, "sys", t->sys, err) < 0)
		return -1;
	for (size_t i = 0; i < N_SYS_TOP; i++) {
		cleanup_close int target = -1;
		if (t->sys_dirs[i] < 0)
			continue;
		target = dp_open_in_root_nosym(t->sys, sys_top(i), O_PATH | O_DIRECTORY, 0);
		if (target < 0)
			return dp_fail_errno(err, "open system dir /%s", sys_top(i));
		if (move_mount(t->sys_dirs[i], "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			return dp_fail_errno(err, "attach system dir /%s", sys_top(i));
		close(t->sys_dirs[i]);
		t->sys_dirs[i] = -1;
	}
	*sysfd = dp_steal_fd(&t->sys);
	for (size_t i = 0; i < plan->n_mounts; i++) {
		host_src *s = &t->srcs[i];
		if (s->src >= 0) {
			snprintf(name, sizeof(name), "m%zu", i);
			if (attach_host(hosts, name, s->src, err) < 0)
				return -1;
		}
		for (size_t j = 0; s->lowers && s->lowers[j] >= 0; j++) {
			snprintf(name, sizeof(name), "m%zul%zu", i, j);
			if (attach_host(hosts, name, s->lowers[j], err) < 0)
				return -1;
		}
		if (s->tree >= 0) {
			snprintf(name, sizeof(name), "m%zuw", i);
			if (attach_host(hosts, name, s->tree, err) < 0)
				return -1;
		}
	}
	return 0;
}

static void close_srcs(host_src *srcs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (srcs[i].src >= 0)
			close(srcs[i].src);
		if (srcs[i].upper >= 0)
			close(srcs[i].upper);
		if (srcs[i].work >= 0)
			close(srcs[i].work);
		if (srcs[i].tree >= 0)
			close(srcs[i].tree);
		for (int *l = srcs[i].lowers; l && *l >= 0; l++)
			close(*l);
		free(srcs[i].lowers);
	}
	free(srcs);
}

int dp_rootfs_setup(dp_child_ctx *ctx, dp_error **err)
{
	const dp_plan *plan = ctx->plan;
	host_src *srcs = NULL;
	cleanup_close int sysfd = -1;
	cleanup_close int rootfd = -1;
	cleanup_close int cachefd = -1;
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };

	ctx->etc_lock = -1;
	if (ctx->mapped) {
		/* the monitor opened and pinned them */
		if (ctx->trees == NULL)
			return dp_fail(err, 0, "sandbox setup: the monitor sent no host trees");
		srcs = ctx->trees->srcs;
	} else {
		srcs = calloc(plan->n_mounts + 1, sizeof(*srcs));
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
	}

	cachefd = dp_etc_open_cache(ctx);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return dp_fail_errno(err, "make mounts private");
	if (mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m") < 0)
		return dp_fail_errno(err, "mount the new root");
	rootfd = open(STAGE, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return dp_fail_errno(err, "open the new root");
	if (ctx->mapped && attach_trees(ctx, rootfd, &sysfd, err) < 0)
		return -1;

	if (setup_system(ctx, cachefd, sysfd, rootfd, err) < 0 || setup_dev(ctx, rootfd, err) < 0 ||
	    setup_proc(rootfd, err) < 0)
		return -1;
	if (scratch_tmpfs("tmp", rootfd, 01777, plan->disk_bytes, err) < 0 ||
	    scratch_tmpfs("run", rootfd, 0755, plan->disk_bytes ? plan->disk_bytes : 64ull << 20, err) < 0 ||
	    scratch_tmpfs("root", rootfd, 0700, plan->disk_bytes, err) < 0)
		return -1;
	for (size_t i = 0; i < plan->n_mounts; i++)
		if (mount_plan_entry(plan, &plan->mounts[i], &srcs[i], rootfd, err) < 0)
			return -1;
	close_srcs(srcs, plan->n_mounts);
	if (ctx->mapped) {
		ctx->trees->srcs = NULL;
		close(sysfd);
		sysfd = -1;
		if (detach_scratch(rootfd, HOSTS, err) < 0)
			return -1;
	}

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
