/* `doppel doctor [--json]`: can this host run sandboxes, and if not, what to
 * change. Every check does the real thing (unshare, write id maps, mount an
 * overlay, load a seccomp filter) in a throwaway child rather than guessing
 * from sysctls, because distributions, container runtimes and LSMs block
 * these in ways no single file reveals; the sysctls and container markers
 * are read afterwards only to name the cause and the fix. Namespaces,
 * overlayfs and seccomp are required; cgroup controllers only warn, since
 * without them doppel still runs and just refuses limits. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "endpoints/confine.h"
#include "isolate/cgroup.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define MAX_FIX 6

typedef enum { CHECK_OK, CHECK_WARN, CHECK_FAIL } check_status;

typedef struct check {
	const char *name;
	bool required;
	check_status status;
	char detail[768];
	char fix[MAX_FIX][640];
	size_t nfix;
} check;

typedef struct report {
	check item[16];
	size_t n;
} report;

static check *add_check(report *r, const char *name, bool required)
{
	check *c = &r->item[r->n++];
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->required = required;
	return c;
}

static void set_result(check *c, check_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_result(check *c, check_status st, const char *fmt, ...)
{
	va_list ap;
	c->status = st;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

static void add_fix(check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_fix(check *c, const char *fmt, ...)
{
	va_list ap;
	if (c->nfix == MAX_FIX)
		return;
	va_start(ap, fmt);
	vsnprintf(c->fix[c->nfix++], sizeof(c->fix[0]), fmt, ap);
	va_end(ap);
}

/* --- host facts used to explain failures ------------------------------------- */

/* A sysctl's value, or -1 when the file is absent (the knob does not exist
 * on this kernel) or unreadable. */
static long read_sysctl(const char *path)
{
	cleanup_fclose FILE *f = fopen(path, "re");
	long v;
	if (f == NULL || fscanf(f, "%ld", &v) != 1)
		return -1;
	return v;
}

/* Why we think we run inside a container, or false. */
static bool in_container(char *why, size_t size)
{
	cleanup_fclose FILE *env = NULL;
	cleanup_fclose FILE *mi = NULL;
	cleanup_free char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	bool overlay_root = false;

	if (access("/.dockerenv", F_OK) == 0) {
		snprintf(why, size, "/.dockerenv exists: Docker");
		return true;
	}
	if (access("/run/.containerenv", F_OK) == 0) {
		snprintf(why, size, "/run/.containerenv exists: Podman");
		return true;
	}
	env = fopen("/proc/1/environ", "re");
	while (env != NULL && (len = getdelim(&line, &cap, '\0', env)) > 0) {
		if (strncmp(line, "container=", 10) == 0) {
			snprintf(why, size, "pid 1 has %.100s", line);
			return true;
		}
	}
	/* the last mount on / is the one in effect */
	mi = fopen("/proc/self/mountinfo", "re");
	while (mi != NULL && (len = getline(&line, &cap, mi)) > 0) {
		char mnt[64], fstype[64];
		const char *sep = strstr(line, " - ");
		if (sep == NULL || sscanf(line, "%*s %*s %*s %*s %63s", mnt) != 1 || strcmp(mnt, "/") != 0)
			continue;
		if (sscanf(sep + 3, "%63s", fstype) == 1)
			overlay_root = strcmp(fstype, "overlay") == 0;
	}
	if (overlay_root) {
		snprintf(why, size, "the root filesystem is overlayfs");
		return true;
	}
	return false;
}

static const char *user_name(void)
{
	struct passwd *pw = getpwuid(geteuid());
	return pw != NULL ? pw->pw_name : "$USER";
}

/* --- running a probe in a child ------------------------------------------------ */

typedef struct probe_result {
	int errnum;
	char msg[512];
} probe_result;

typedef int (*probe_fn)(const void *arg, probe_result *res);

static int probe_fail(probe_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int probe_fail(probe_result *res, const char *fmt, ...)
{
	int saved = errno;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	n = strlen(res->msg);
	if (saved != 0)
		snprintf(res->msg + n, sizeof(res->msg) - n, ": %s", strerror(saved));
	res->errnum = saved;
	return -1;
}

/* Namespaces, mounts and filters set up by fn vanish with the child. */
static int run_probe(probe_fn fn, const void *arg, probe_result *res)
{
	int fds[2], status;
	pid_t pid;
	ssize_t n;

	memset(res, 0, sizeof(*res));
	if (pipe2(fds, O_CLOEXEC) < 0)
		return probe_fail(res, "pipe");
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		probe_fail(res, "fork");
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		probe_result mine = { 0 };
		close(fds[0]);
		if (fn(arg, &mine) == 0)
			_exit(0);
		if (write(fds[1], &mine, sizeof(mine)) != (ssize_t)sizeof(mine))
			_exit(2);
		_exit(1);
	}
	close(fds[1]);
	do
		n = read(fds[0], res, sizeof(*res));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return probe_fail(res, "wait for the probe");
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (n == (ssize_t)sizeof(*res))
		return -1;
	res->errnum = 0;
	if (WIFSIGNALED(status))
		snprintf(res->msg, sizeof(res->msg), "the probe was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(res->msg, sizeof(res->msg), "the probe failed with exit status %d", WEXITSTATUS(status));
	return -1;
}

static int write_proc(const char *path, const char *value)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t len = (ssize_t)strlen(value);
	if (fd < 0)
		return -1;
	if (write(fd, value, (size_t)len) != len)
		return -1;
	return 0;
}

/* What every probe starts with: a user namespace in which we are root,
 * as a rootless sandbox does. */
static int enter_userns(probe_result *res)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (unshare(CLONE_NEWUSER) < 0)
		return probe_fail(res, "unshare(CLONE_NEWUSER)");
	/* absent before Linux 3.19, where gid_map needs no such step */
	if (write_proc("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
		return probe_fail(res, "write deny to /proc/self/setgroups");
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	if (write_proc("/proc/self/uid_map", map) < 0)
		return probe_fail(res, "write '%s' to /proc/self/uid_map", map);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	if (write_proc("/proc/self/gid_map", map) < 0)
		return probe_fail(res, "write '%s' to /proc/self/gid_map", map);
	return 0;
}

static int probe_userns(const void *arg, probe_result *res)
{
	(void)arg;
	if (enter_userns(res) < 0)
		return -1;
	if (getuid() != 0) {
		errno = 0;
		return probe_fail(res, "uid_map written, but uid is %u instead of 0", (unsigned)getuid());
	}
	return 0;
}

static const struct {
	int flag;
	const char *name;
	const char *sysctl;
} namespaces[] = {
	{ CLONE_NEWPID, "pid", "/proc/sys/user/max_pid_namespaces" },
	{ CLONE_NEWNET, "net", "/proc/sys/user/max_net_namespaces" },
	{ CLONE_NEWIPC, "ipc", "/proc/sys/user/max_ipc_namespaces" },
	{ CLONE_NEWUTS, "uts", "/proc/sys/user/max_uts_namespaces" },
	{ CLONE_NEWCGROUP, "cgroup", "/proc/sys/user/max_cgroup_namespaces" },
};
#define N_NAMESPACES (sizeof(namespaces) / sizeof(namespaces[0]))

static int probe_namespaces(const void *arg, probe_result *res)
{
	int all = 0, status;
	pid_t pid;

	(void)arg;
	if (enter_userns(res) < 0)
		return -1;
	for (size_t i = 0; i < N_NAMESPACES; i++)
		all |= namespaces[i].flag;
	if (unshare(all) < 0) {
		/* name the one that fails */
		for (size_t i = 0; i < N_NAMESPACES; i++) {
			if (unshare(namespaces[i].flag) < 0)
				return probe_fail(res, "unshare %s namespace (inside a user namespace)", namespaces[i].name);
		}
		return probe_fail(res, "unshare pid+net+ipc+uts+cgroup namespaces together");
	}
	/* the new pid namespace takes effect for children: its first is pid 1 */
	pid = fork();
	if (pid < 0)
		return probe_fail(res, "fork into the new pid namespace");
	if (pid == 0)
		_exit(getpid() == 1 ? 0 : 1);
	if (waitpid(pid, &status, 0) < 0)
		return probe_fail(res, "wait for pid 1 of the new pid namespace");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		errno = 0;
		return probe_fail(res, "the first process in the new pid namespace is not pid 1");
	}
	return 0;
}

static int probe_overlay(const void *arg, probe_result *res)
{
	const char *dir = arg;
	char opts[1024], merged[512], file[600];
	cleanup_close int fd = -1;

	if (enter_userns(res) < 0)
		return -1;
	if (unshare(CLONE_NEWNS) < 0)
		return probe_fail(res, "unshare(CLONE_NEWNS)");
	/* keep our mounts from propagating back to the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return probe_fail(res, "make / private in the new mount namespace");
	snprintf(opts, sizeof(opts), "lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work", dir, dir, dir);
	snprintf(merged, sizeof(merged), "%s/merged", dir);
	if (mount("overlay", merged, "overlay", 0, opts) < 0)
		return probe_fail(res, "mount overlay on %s", merged);
	/* a write through the overlay proves copy-up works, not just the mount */
	snprintf(file, sizeof(file), "%s/lower-file", merged);
	fd = open(file, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return probe_fail(res, "open %s for writing (copy-up)", file);
	if (write(fd, "x", 1) != 1)
		return probe_fail(res, "write to %s (copy-up)", file);
	if (umount2(merged, MNT_DETACH) < 0)
		return probe_fail(res, "unmount %s", merged);
	return 0;
}

static int probe_seccomp(const void *arg, probe_result *res)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = 1, .filter = &allow };

	(void)arg;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return probe_fail(res, "prctl(PR_SET_NO_NEW_PRIVS)");
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return probe_fail(res, "prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)");
	return 0;
}

/* --- the checks ----------------------------------------------------------------- */

/* Fixes for whatever keeps user namespaces from working; also used when a
 * later probe fails at its first step, the user namespace. */
static void userns_fixes(check *c, int errnum)
{
	long max = read_sysctl("/proc/sys/user/max_user_namespaces");
	long clone = read_sysctl("/proc/sys/kernel/unprivileged_userns_clone");
	long apparmor = read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
	bool rootless = geteuid() != 0;
	char container[160];
	size_t before = c->nfix;

	if (max == 0)
		add_fix(c, "user.max_user_namespaces is 0: as root, sysctl -w user.max_user_namespaces=15000 "
			   "(and put it in /etc/sysctl.d/ to keep it)");
	if (clone == 0 && rootless)
		add_fix(c, "kernel.unprivileged_userns_clone is 0 (Debian/Ubuntu): as root, "
			   "sysctl -w kernel.unprivileged_userns_clone=1");
	if (apparmor == 1 && rootless)
		add_fix(c, "kernel.apparmor_restrict_unprivileged_userns is 1 (Ubuntu 23.10+): as root, sysctl -w "
			   "kernel.apparmor_restrict_unprivileged_userns=0, or load an AppArmor profile for doppel "
			   "that allows 'userns,'");
	if (in_container(container, sizeof(container)))
		add_fix(c, "running nested in a container (%s): its seccomp profile and missing CAP_SYS_ADMIN "
			   "block namespaces; start it with --security-opt seccomp=unconfined --security-opt "
			   "apparmor=unconfined (Docker/Podman; Kubernetes: securityContext seccompProfile "
			   "Unconfined), or run doppel on the host",
			container);
	if (errnum == ENOSPC && max != 0)
		add_fix(c, "a namespace limit is reached: user.max_user_namespaces=%ld, or 32 nested user "
			   "namespaces; raise the sysctl or run from a less nested namespace", max);
	if (c->nfix == before)
		add_fix(c, "no known switch explains it: check that the kernel has CONFIG_USER_NS=y and look at "
			   "'dmesg' (an LSM such as SELinux may deny it)");
}

static void check_userns(report *r)
{
	check *c = add_check(r, "user namespaces", true);
	char container[160];
	probe_result res;

	if (run_probe(probe_userns, NULL, &res) < 0) {
		set_result(c, CHECK_FAIL, "%s", res.msg);
		userns_fixes(c, res.errnum);
		return;
	}
	if (in_container(container, sizeof(container)))
		set_result(c, CHECK_OK, "unshare(CLONE_NEWUSER) and id maps work (nested in a container: %s)",
			   container);
	else
		set_result(c, CHECK_OK, "unshare(CLONE_NEWUSER) and id maps work");
}

static void check_namespaces(report *r, bool userns_ok)
{
	check *c = add_check(r, "pid/net namespaces", true);
	probe_result res;

	if (run_probe(probe_namespaces, NULL, &res) == 0) {
		set_result(c, CHECK_OK, "pid, net, ipc, uts and cgroup namespaces inside a user namespace");
		return;
	}
	set_result(c, CHECK_FAIL, "%s", res.msg);
	if (!userns_ok) {
		add_fix(c, "needs user namespaces: fix that check first");
		return;
	}
	for (size_t i = 0; i < N_NAMESPACES; i++) {
		if (strstr(res.msg, namespaces[i].name) != NULL && read_sysctl(namespaces[i].sysctl) == 0)
			add_fix(c, "%s is 0: as root, sysctl -w user.%s=15000", namespaces[i].sysctl,
				namespaces[i].sysctl + strlen("/proc/sys/user/"));
	}
	if (c->nfix == 0)
		userns_fixes(c, res.errnum);
}

static int make_overlay_dirs(char *dir)
{
	static const char *const sub[] = { "lower", "upper", "work", "merged" };
	char path[600];
	cleanup_close int fd = -1;

	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, sub[i]);
		if (mkdir(path, 0700) < 0)
			return -1;
	}
	snprintf(path, sizeof(path), "%s/lower/lower-file", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	return fd < 0 ? -1 : 0;
}

static void check_overlay(report *r, bool userns_ok)
{
	check *c = add_check(r, "overlayfs in userns", true);
	char dir[] = "/tmp/doppel-doctor-XXXXXX";
	struct statfs sfs;
	struct utsname u;
	probe_result res;
	int major = 0, minor = 0;

	if (mkdtemp(dir) == NULL) {
		set_result(c, CHECK_FAIL, "create a scratch directory %s: %s", dir, strerror(errno));
		add_fix(c, "make /tmp writable for this user");
		return;
	}
	if (make_overlay_dirs(dir) < 0) {
		set_result(c, CHECK_FAIL, "create the overlay's directories in %s: %s", dir, strerror(errno));
	} else if (run_probe(probe_overlay, dir, &res) == 0) {
		set_result(c, CHECK_OK, "mounted and wrote through an overlay in a new user+mount namespace");
	} else {
		set_result(c, CHECK_FAIL, "%s", res.msg);
		if (!userns_ok) {
			add_fix(c, "needs user namespaces: fix that check first");
		} else {
			if (uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
			    (major < 5 || (major == 5 && minor < 11)))
				add_fix(c, "overlayfs inside a user namespace needs Linux 5.11 or newer (this is %s): "
					   "upgrade the kernel", u.release);
			if (statfs("/tmp", &sfs) == 0 && sfs.f_type == OVERLAYFS_SUPER_MAGIC)
				add_fix(c, "/tmp is itself overlayfs (a container's root?), which cannot hold an overlay's "
					   "upper layer: mount a tmpfs or a volume on /tmp and on the doppel store");
			if (res.errnum == ENODEV)
				add_fix(c, "the kernel has no overlay filesystem: as root, modprobe overlay");
			if (c->nfix == 0)
				add_fix(c, "see 'dmesg' for overlayfs's reason (it logs why it refuses a mount)");
		}
	}
	if (dp_remove_tree_at(AT_FDCWD, dir) < 0)
		add_fix(c, "could not remove the scratch directory %s: %s", dir, strerror(errno));
}

/* The Seccomp line appears with CONFIG_SECCOMP: 0 none, 1 strict, 2 filter. */
static int seccomp_mode(void)
{
	cleanup_fclose FILE *f = fopen("/proc/self/status", "re");
	cleanup_free char *line = NULL;
	size_t cap = 0;
	int mode = -1;

	while (f != NULL && getline(&line, &cap, f) > 0) {
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	}
	return mode;
}

static void check_seccomp(report *r)
{
	check *c = add_check(r, "seccomp", true);
	int mode = seccomp_mode();
	probe_result res;

	if (mode < 0) {
		set_result(c, CHECK_FAIL, "/proc/self/status has no Seccomp field");
		add_fix(c, "the kernel lacks CONFIG_SECCOMP: use a kernel built with CONFIG_SECCOMP and "
			   "CONFIG_SECCOMP_FILTER (every distribution kernel is)");
		return;
	}
	if (run_probe(probe_seccomp, NULL, &res) < 0) {
		set_result(c, CHECK_FAIL, "%s", res.msg);
		if (res.errnum == EINVAL && strstr(res.msg, "PR_SET_SECCOMP") != NULL)
			add_fix(c, "the kernel lacks CONFIG_SECCOMP_FILTER: use a kernel built with it");
		else
			add_fix(c, "see 'dmesg'; an LSM or an outer seccomp filter may refuse prctl(PR_SET_SECCOMP)");
		return;
	}
	set_result(c, CHECK_OK, "a filter loads%s", mode == 2 ? " (this process already runs under one; filters stack)" : "");
}

/* Not required: without Landlock the API stand-ins' server runs under
 * seccomp only (endpoints/confine.c) and every run says so. The ABI query
 * is the real system call; the kernel answers it only when Landlock is on. */
static void check_landlock(report *r)
{
	check *c = add_check(r, "landlock", false);
	int abi = ep_landlock_abi();

	if (abi > 0) {
		set_result(c, CHECK_OK, "ABI %d: the API stand-ins' server is confined to its directories%s", abi,
			   abi >= 4 ? " and cannot open TCP connections" : "");
		return;
	}
	set_result(c, CHECK_WARN, "unavailable (%s): the API stand-ins' server runs with seccomp only",
		   strerror(-abi));
	if (abi == -EOPNOTSUPP)
		add_fix(c, "Landlock is built in but not enabled: add landlock to the kernel's lsm= boot parameter "
			   "(see /sys/kernel/security/lsm for the current list)");
	else if (abi == -ENOSYS)
		add_fix(c, "the kernel lacks CONFIG_SECURITY_LANDLOCK (Linux 5.13+); a newer distribution kernel has it");
}

static const char *version_name(enum dp_cgroup_version v)
{
	return v == DP_CGROUP_V2 ? "v2" : v == DP_CGROUP_V1 ? "v1" : "none";
}

static void cgroup_fixes(check *c, const dp_cgroup_probe_ctrl *st, const char *ctrl)
{
	const char *user = user_name();

	switch (st->errnum) {
	case EACCES:
	case EPERM:
		if (st->version == DP_CGROUP_V1)
			add_fix(c, "delegate a cgroup to %s, as root: mkdir %s/doppel-%s && chown -R %s %s/doppel-%s, then "
				   "start %s's shell in it: echo PID > %s/doppel-%s/cgroup.procs",
				user, st->parent, user, user, st->parent, user, user, st->parent, user);
		else
			add_fix(c, "run doppel in a cgroup delegated to %s: systemd-run --user --scope -p Delegate=yes "
				   "doppel ..., or Delegate=yes in its service unit",
				user);
		break;
	case EROFS:
		add_fix(c, "the cgroup filesystem is mounted read-only (a container?): give the container a writable "
			   "one (Docker: --privileged, or a read-write bind of /sys/fs/cgroup)");
		break;
	case EBUSY:
		add_fix(c, "none from here yet: doppel creates its cgroup below its own, which cgroup v2 only "
			   "allows in the root cgroup or in one without processes; run doppel from the root "
			   "cgroup, or on a host whose v1 hierarchies carry %s", ctrl);
		break;
	case ENOENT:
		if (st->version == DP_CGROUP_NONE)
			add_fix(c, "the %s controller is not available to this process: whoever manages the parent "
				   "cgroup must enable it in its cgroup.subtree_control (systemd: Delegate=yes), or "
				   "the kernel lacks it (see /proc/cgroups)", ctrl);
		else
			add_fix(c, "%s does not exist: this process's cgroup vanished, or /sys/fs/cgroup is not the "
				   "one its /proc/self/cgroup refers to", st->parent);
		break;
	default:
		break;
	}
}

static void check_cgroups(report *r, dp_cgroup_probe *p)
{
	static const char *const option[DP_CGROUP_NCTRL] = { "--mem", "--pids", "--cpus" };
	static const char *const name[DP_CGROUP_NCTRL] = { "cgroup memory", "cgroup pids", "cgroup cpu" };
	check *c = add_check(r, "cgroup hierarchy", false);

	dp_cgroup_probe_host(p);
	if (p->version == DP_CGROUP_NONE)
		set_result(c, CHECK_WARN, "none usable: %s", p->why);
	else if (p->version == DP_CGROUP_V1)
		set_result(c, CHECK_OK, "v1%s%s%s", p->v2_note[0] ? " (v2 not used: " : "", p->v2_note,
			   p->v2_note[0] ? ")" : "");
	else
		set_result(c, CHECK_OK, "v2 at %s", p->where);

	for (int i = 0; i < DP_CGROUP_NCTRL; i++) {
		const dp_cgroup_probe_ctrl *st = &p->ctrl[i];
		check *cc = add_check(r, name[i], false);
		if (st->usable) {
			set_result(cc, CHECK_OK, "%s: a run's cgroup goes below %s", version_name(st->version), st->parent);
			continue;
		}
		set_result(cc, CHECK_WARN, "%s would be refused: %s", option[i], st->why);
		cgroup_fixes(cc, st, i == DP_CGROUP_MEMORY ? "memory" : i == DP_CGROUP_PIDS ? "pids" : "cpu");
	}
}

/* --- output ------------------------------------------------------------------------ */

static const char *status_word(check_status st)
{
	return st == CHECK_OK ? "ok" : st == CHECK_WARN ? "warn" : "FAIL";
}

static void print_text(const report *r, const dp_cgroup_probe *p, int failed)
{
	char limits[64] = "";

	for (size_t i = 0; i < r->n; i++) {
		const check *c = &r->item[i];
		printf("%-5s %-20s %s\n", status_word(c->status), c->name, c->detail);
		for (size_t f = 0; f < c->nfix; f++)
			printf("      fix: %s\n", c->fix[f]);
	}
	snprintf(limits, sizeof(limits), "%s%s%s", p->memory ? " memory" : "", p->pids ? " pids" : "",
		 p->cpu ? " cpu" : "");
	if (failed)
		printf("doppel cannot run sandboxes here: %d required check%s failed\n", failed, failed == 1 ? "" : "s");
	else
		printf("doppel can run sandboxes here; limits available:%s\n", limits[0] ? limits : " none");
}

static int print_json(const report *r, const dp_cgroup_probe *p, int failed, dp_error **err)
{
	json_t *root = json_object(), *checks = json_array();
	char *s;

	if (root == NULL || checks == NULL) {
		json_decref(root);
		json_decref(checks);
		return dp_fail(err, ENOMEM, "doctor: build JSON");
	}
	for (size_t i = 0; i < r->n; i++) {
		const check *c = &r->item[i];
		json_t *fix = json_array();
		for (size_t f = 0; f < c->nfix; f++)
			json_array_append_new(fix, json_string(c->fix[f]));
		json_array_append_new(checks, json_pack("{ss ss sb ss so}", "name", c->name, "status",
							status_word(c->status), "required", c->required, "detail",
							c->detail, "fix", fix));
	}
	json_object_set_new(root, "ok", json_boolean(failed == 0));
	json_object_set_new(root, "uid", json_integer((json_int_t)geteuid()));
	json_object_set_new(root, "checks", checks);
	json_object_set_new(root, "cgroup", json_pack("{ss sb sb sb}", "version", version_name(p->version),
						      "memory", p->memory, "pids", p->pids, "cpu", p->cpu));
	s = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
	if (s == NULL)
		return dp_fail(err, ENOMEM, "doctor: format JSON");
	puts(s);
	free(s);
	return 0;
}

int cmd_doctor(int argc, char **argv, dp_error **err)
{
	static report r;
	dp_cgroup_probe probe;
	bool json = false, userns_ok;
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: doppel doctor [--json]\n\n"
			       "Checks that this host can run sandboxes and says what to change when it cannot.\n"
			       "Exit 0 when sandboxes can run, 1 otherwise; missing cgroup controllers only warn.\n");
			return 0;
		} else {
			return dp_usage(err, "doctor: unknown argument '%s'; expected --json", argv[i]);
		}
	}
	r.n = 0;
	check_userns(&r);
	userns_ok = r.item[r.n - 1].status == CHECK_OK;
	check_namespaces(&r, userns_ok);
	check_overlay(&r, userns_ok);
	check_seccomp(&r);
	check_landlock(&r);
	check_cgroups(&r, &probe);
	for (size_t i = 0; i < r.n; i++)
		failed += r.item[i].required && r.item[i].status == CHECK_FAIL;
	if (json) {
		if (print_json(&r, &probe, failed, err) < 0)
			return -1;
	} else {
		print_text(&r, &probe, failed);
	}
	fflush(stdout);
	return failed ? 1 : 0;
}
