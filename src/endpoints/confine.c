/* The stand-in server's confinement. The server parses bytes that come from
 * inside a sandbox (HTTP, TLS, JSON, templates) in libraries we do not
 * control, so a memory-safety bug there must not become a way out. The
 * sandbox layer runs the server in a process of its own (src/sandbox/
 * endpoints.c) and calls ep_confine() in it before any mapping is read or
 * thread started; from then on the process holds only what serving needs:
 * its inherited listening sockets and the files beneath its directories.
 *
 * Layers, each enough against a different mistake:
 *   - capabilities: as root, all but CAP_DAC_READ_SEARCH are dropped (read
 *     mappings the caller could read; Landlock still bounds where); bounding
 *     set too, ambient cleared. Rootless there is nothing to drop.
 *   - no_new_privs and non-dumpable: no gain through exec, no ptrace or
 *     /proc/PID/mem from other processes of the same user.
 *   - Landlock (no privilege needed): every filesystem right the kernel's
 *     ABI knows is handled; reading is allowed beneath the mapping
 *     directories, reading and writing beneath the state directory, nothing
 *     else (not /proc, not the store's CA, not the user's home). ABI 4+ also
 *     handles TCP bind and connect with no rule (the inherited sockets keep
 *     accepting); ABI 6+ scopes abstract UNIX sockets and signals to the
 *     process itself. Files opened before (stderr) keep working.
 *   - seccomp (libseccomp, built here at run time: this process is off the
 *     start-up path and a denylist compiles in well under a millisecond): a
 *     denylist returning EPERM for what a server never does and an attacker
 *     wants: exec, ptrace and process_vm_*, the mount family, namespaces
 *     (unshare, setns, clone with CLONE_NEW*; clone3 gets ENOSYS so glibc
 *     falls back to clone), modules, kexec, bpf, keyrings, perf,
 *     userfaultfd, io_uring, handle opens, personality, socket() of any
 *     family (the server only accepts on sockets it was given, so it cannot
 *     reach the user's ssh-agent or D-Bus socket, which Landlock does not
 *     cover), kill/tgkill/sigqueue of any process but itself, pidfds,
 *     TIOCSTI/TIOCLINUX on the inherited terminal, PR_SET_DUMPABLE. Other
 *     ABIs (i386, x32) kill the process. An allowlist would be tighter but
 *     must track libmicrohttpd's, GnuTLS's and glibc's choices of syscalls
 *     across versions; the denylist cannot break serving.
 * Without Landlock (ENOSYS, EOPNOTSUPP) the rest still applies and the
 * caller warns. */
#include "endpoints/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"

/* Newer than linux-libc-dev 6.1's header; the values are ABI. */
#define LL_FS_TRUNCATE (1ULL << 14)       /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15)      /* ABI 5 */
#define LL_NET_BIND_TCP (1ULL << 0)       /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)

struct ll_ruleset_attr {
	uint64_t handled_access_fs, handled_access_net, scoped;
};

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

int ep_landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return v < 0 ? -errno : (int)v;
}

static int drop_caps(dp_error **err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return dp_fail_errno(err, "capget");
	if ((data[0].permitted | data[1].permitted) == 0)
		return 0; /* rootless: nothing to drop, and no CAP_SETPCAP to try */
	/* up to the kernel's last capability (EINVAL past it) */
	for (int c = 0; c < 64; c++) {
		if (c == CAP_DAC_READ_SEARCH)
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;
			return dp_fail_errno(err, "drop capability %d from the bounding set", c);
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return dp_fail_errno(err, "clear ambient capabilities");
	memset(data, 0, sizeof(data));
	data[0].permitted = data[0].effective = 1u << CAP_DAC_READ_SEARCH;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return dp_fail_errno(err, "capset");
	return 0;
}

static int add_dir(int ruleset, const char *dir, uint64_t access, dp_error **err)
{
	struct landlock_path_beneath_attr pb = { .allowed_access = access };
	cleanup_close int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	/* a missing directory: the server reports it, in its own words */
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	if (fd < 0)
		return dp_fail_errno(err, "landlock: open %s", dir);
	pb.parent_fd = fd;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		return dp_fail_errno(err, "landlock: allow %s", dir);
	return 0;
}

static int landlock(const ep_confine_conf *conf, int abi, dp_error **err)
{
	struct ll_ruleset_attr attr = { .handled_access_fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1 };
	size_t size = sizeof(attr.handled_access_fs);
	uint64_t ro = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	uint64_t rw = ro | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG;
	cleanup_close int ruleset = -1;

	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3) {
		attr.handled_access_fs |= LL_FS_TRUNCATE;
		rw |= LL_FS_TRUNCATE;
	}
	if (abi >= 4) {
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 5)
		attr.handled_access_fs |= LL_FS_IOCTL_DEV;
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (ruleset < 0)
		return dp_fail_errno(err, "landlock: create ruleset (ABI %d)", abi);
	for (size_t i = 0; i < conf->n_read_dirs; i++)
		if (add_dir(ruleset, conf->read_dirs[i], ro, err) < 0)
			return -1;
	if (conf->write_dir && add_dir(ruleset, conf->write_dir, rw, err) < 0)
		return -1;
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
		return dp_fail_errno(err, "landlock: restrict self");
	return 0;
}

/* Syscalls refused outright; names this libseccomp does not know are skipped. */
static const char *const denied[] = {
	"execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise",
	"mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
	"fsmount", "fspick", "mount_setattr", "unshare", "setns", "kexec_load", "kexec_file_load",
	"init_module", "finit_module", "delete_module", "bpf", "keyctl", "add_key", "request_key",
	"perf_event_open", "userfaultfd", "personality", "io_uring_setup", "io_uring_enter",
	"io_uring_register", "name_to_handle_at", "open_by_handle_at", "socket", "tkill", "pidfd_open",
	"pidfd_getfd", "pidfd_send_signal", "acct", "swapon", "swapoff", "reboot", "settimeofday",
	"clock_settime", "clock_adjtime", "adjtimex", "syslog", "quotactl", "quotactl_fd", "vhangup",
	"iopl", "ioperm", "sethostname", "setdomainname", "lookup_dcookie", "fanotify_init", "uselib",
	"nfsservctl", "landlock_create_ruleset", "landlock_add_rule", "seccomp", "kcmp",
};

#define RULE(ctx, act, name, ...)                                                              \
	do {                                                                                   \
		int rc_ = seccomp_rule_add(ctx, act, seccomp_syscall_resolve_name(name), __VA_ARGS__); \
		if (rc_ < 0) {                                                                 \
			dp_fail(err, -rc_, "seccomp: rule for %s", name);                      \
			goto out;                                                              \
		}                                                                              \
	} while (0)

static int load_seccomp(dp_error **err)
{
	const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
	static const uint64_t ns_flags[] = { CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC,
					     CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWTIME };
	const scmp_datum_t self = (scmp_datum_t)getpid();
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc, r = -1;

	if (ctx == NULL)
		return dp_fail(err, ENOMEM, "seccomp");
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0) {
		dp_fail(err, -rc, "seccomp: bad-arch action");
		goto out;
	}
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		if (seccomp_syscall_resolve_name(denied[i]) == __NR_SCMP_ERROR)
			continue;
		RULE(ctx, eperm, denied[i], 0);
	}
	/* threads, not namespaces */
	for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++)
		RULE(ctx, eperm, "clone", 1, SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
	RULE(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0);
	/* signals to itself only (raise, abort, pthread_kill) */
	RULE(ctx, eperm, "kill", 1, SCMP_A0(SCMP_CMP_NE, self));
	RULE(ctx, eperm, "tgkill", 1, SCMP_A0(SCMP_CMP_NE, self));
	RULE(ctx, eperm, "rt_sigqueueinfo", 1, SCMP_A0(SCMP_CMP_NE, self));
	RULE(ctx, eperm, "rt_tgsigqueueinfo", 1, SCMP_A0(SCMP_CMP_NE, self));
	/* the inherited stderr may be the user's terminal; the request is an int */
	RULE(ctx, eperm, "ioctl", 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
	RULE(ctx, eperm, "ioctl", 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
	RULE(ctx, eperm, "prctl", 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_DUMPABLE));
	RULE(ctx, eperm, "prctl", 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_PTRACER));
	if ((rc = seccomp_load(ctx)) < 0) {
		dp_fail(err, -rc, "seccomp: load the filter");
		goto out;
	}
	r = 0;
out:
	seccomp_release(ctx);
	return r;
}

int ep_confine(const ep_confine_conf *conf, ep_confine_info *info, dp_error **err)
{
	int abi = ep_landlock_abi();

	info->landlock_abi = 0;
	info->landlock_errno = 0;
	if (drop_caps(err) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return dp_fail_errno(err, "prctl(PR_SET_NO_NEW_PRIVS)");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return dp_fail_errno(err, "prctl(PR_SET_DUMPABLE)");
	if (abi == -ENOSYS || abi == -EOPNOTSUPP) {
		info->landlock_errno = -abi;
	} else if (abi < 0) {
		return dp_fail(err, -abi, "landlock: ABI version");
	} else {
		if (landlock(conf, abi, err) < 0)
			return -1;
		info->landlock_abi = abi;
	}
	return load_seccomp(err);
}
