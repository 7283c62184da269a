/* Build-time generator of the sandbox's seccomp programs. libseccomp compiles
 * the policy below into BPF once, here; the runtime (src/isolate/seccomp.c)
 * loads the result with a few syscalls instead of compiling a Docker-sized
 * filter on every start. Output: a C header holding ONE program, loaded with
 * one seccomp(2) call (each program costs the kernel a conversion and a JIT
 * pass, ~0.1-0.3 ms here, on every start). It is a hand-written prefix that
 * falls through into libseccomp's policy:
 *
 * 1. The prefix, hand-written because libseccomp cannot express it:
 *    - any ABI but the native one (i386 int 0x80, x32) kills the process,
 *      so that rule does not rest on libseccomp's code generation alone;
 *    - ioctl TIOCSTI, TIOCLINUX and TIOCSETD fail with EPERM (libseccomp drops
 *      argument-matched rules of a syscall that also has an unconditional
 *      allow, and refuses rules whose action is the default);
 *    - syscalls newer than this policy (x86_64 number 451, Linux 6.5, and up)
 *      that it does not allow fail with ENOSYS instead of EPERM, as on an
 *      older kernel: libc falls back from ENOSYS only (Docker's EPERM for
 *      faccessat2 and clone3 broke newer images; runc and crun add the same
 *      stub). libseccomp cannot match a range of syscall numbers.
 *    Everything else falls through. The policy reloads what it tests, and
 *    BPF jumps are relative, so prepending leaves its program intact.
 * 2. The policy: an allowlist at least as strict as Docker's default profile
 *    (its unconditional part); the rest fails with EPERM. clone3 fails with
 *    ENOSYS so libc falls back to clone, whose flags can be checked; clone and
 *    unshare may not create namespaces; personality takes Docker's harmless
 *    values only; socket and socketpair take a short list of families
 *    (below). Namespaces, mounts, keyrings, modules, kexec, bpf, perf,
 *    userfaultfd, handle-based opens, io_uring, time setting, swap and reboot
 *    are refused. Any other ABI kills the process here too.
 *
 * `gen-seccomp --pfc` prints libseccomp's pseudo code of 1 and 2 for review. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef NETLINK_SOCK_DIAG
#define NETLINK_SOCK_DIAG 4
#endif

/* New namespaces. For clone, 0x80 (CLONE_NEWTIME) lies in the exit-signal
 * byte, where no valid signal sets it, so checking it there is harmless. */
#define NS_FLAGS                                                                                      \
	((scmp_datum_t)(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |     \
			CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME))

/* The kernel reads int and unsigned int arguments from the low 32 bits. */
#define LOW32 ((scmp_datum_t)0xffffffffu)

/* Allowed without conditions: Docker's default list minus what its comments
 * flag as needing capabilities, minus modify_ldt, set/get_thread_area (32-bit
 * TLS), adjtimex/clock_adjtime, name_to_handle_at, memfd_secret,
 * fanotify_mark, process_mrelease and other syscalls of other architectures.
 * Names unknown to this libseccomp on this architecture are skipped. */
static const char *const allowed[] = {
	/* files and directories */
	"access", "chdir", "chmod", "chown", "close", "close_range", "copy_file_range", "creat", "dup",
	"dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fallocate", "fchdir", "fchmod",
	"fchmodat", "fchmodat2", "fchown", "fchownat", "fcntl", "fdatasync", "flock", "fstat", "fstatfs",
	"fsync", "ftruncate", "futimesat", "getcwd", "getdents", "getdents64", "lchown", "link", "linkat",
	"lseek", "lstat", "mkdir", "mkdirat", "mknod", "mknodat", "newfstatat", "open", "openat",
	"openat2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read",
	"readahead", "readlink", "readlinkat", "readv", "rename", "renameat", "renameat2", "rmdir",
	"sendfile", "splice", "stat", "statfs", "statx", "symlink", "symlinkat", "sync",
	"sync_file_range", "syncfs", "tee", "truncate", "umask", "unlink", "unlinkat", "utime",
	"utimensat", "utimes", "vmsplice", "write", "writev", "cachestat",
	/* extended attributes */
	"fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "lgetxattr", "listxattr",
	"llistxattr", "lremovexattr", "lsetxattr", "removexattr", "setxattr", "getxattrat",
	"listxattrat", "removexattrat", "setxattrat",
	/* file events, polling, async I/O */
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	"eventfd", "eventfd2", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
	"io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup", "io_submit", "pipe",
	"pipe2", "poll", "ppoll", "pselect6", "select", "signalfd", "signalfd4", "timerfd_create",
	"timerfd_gettime", "timerfd_settime",
	/* memory */
	"brk", "madvise", "membarrier", "memfd_create", "mincore", "mlock", "mlock2", "mlockall", "mmap",
	"mprotect", "mremap", "msync", "munlock", "munlockall", "munmap", "remap_file_pages",
	"pkey_alloc", "pkey_free", "pkey_mprotect", "map_shadow_stack", "mseal",
	/* processes, threads, signals */
	"arch_prctl", "execve", "execveat", "exit", "exit_group", "fork", "vfork", "wait4", "waitid",
	"futex", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue", "get_robust_list",
	"set_robust_list", "set_tid_address", "rseq", "getcpu", "prctl", "seccomp", "ptrace",
	"process_vm_readv", "process_vm_writev", "kill", "tkill", "tgkill", "pidfd_open",
	"pidfd_send_signal", "pause", "restart_syscall", "rt_sigaction", "rt_sigpending",
	"rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
	"rt_tgsigqueueinfo", "sigaltstack", "getpid", "getppid", "gettid", "getpgid", "getpgrp",
	"getsid", "setpgid", "setsid", "getpriority", "setpriority", "ioprio_get", "ioprio_set",
	"sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity", "sched_getattr",
	"sched_getparam", "sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity",
	"sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "getrlimit",
	"setrlimit", "prlimit64", "getrusage", "times", "landlock_add_rule",
	"landlock_create_ruleset", "landlock_restrict_self",
	/* credentials (the user namespace bounds what they can reach) */
	"capget", "capset", "getegid", "geteuid", "getgid", "getgroups", "getresgid", "getresuid",
	"getuid", "setfsgid", "setfsuid", "setgid", "setgroups", "setregid", "setresgid", "setresuid",
	"setreuid", "setuid",
	/* time */
	"alarm", "clock_getres", "clock_gettime", "clock_nanosleep", "getitimer", "gettimeofday",
	"nanosleep", "setitimer", "time", "timer_create", "timer_delete", "timer_getoverrun",
	"timer_gettime", "timer_settime",
	/* sockets (socket and socketpair: see socket_rules) */
	"accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen",
	"recvfrom", "recvmmsg", "recvmsg", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown",
	/* System V and POSIX IPC (namespaced) */
	"msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop", "semtimedop", "shmat",
	"shmctl", "shmdt", "shmget", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
	"mq_timedsend", "mq_unlink",
	/* system information */
	"sysinfo", "uname",
	/* entropy: OpenSSL, Python, every TLS client need it */
	"getrandom",
};

/* x86_64 numbers of allowed syscalls this libseccomp may not know by name
 * (libseccomp 2.5.4 stops at futex_requeue, 456). */
static const struct {
	const char *name;
	int nr;
} x86_64_numbers[] = {
	{ "cachestat", 451 }, { "fchmodat2", 452 }, { "map_shadow_stack", 453 }, { "futex_wake", 454 },
	{ "futex_wait", 455 }, { "futex_requeue", 456 }, { "mseal", 462 }, { "setxattrat", 463 },
	{ "getxattrat", 464 }, { "listxattrat", 465 }, { "removexattrat", 466 },
};

/* First x86_64 syscall newer than this policy's syscall names (Linux 6.5). */
#define FIRST_NEW_NR 451

/* personality: Docker's values (PER_LINUX, PER_LINUX32, UNAME26 and both,
 * and the query 0xffffffff) */
static const unsigned personalities[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffffu };

/* socket and socketpair: local, IPv4 and IPv6 sockets, and netlink for
 * routing (getifaddrs, glibc's getaddrinfo, ip) and socket diagnostics (ss).
 * Other families fail with EAFNOSUPPORT and other netlink protocols with
 * EPROTONOSUPPORT, which programs take as "not in this kernel" (libaudit
 * users abort on any other error). Why not more: each other family is kernel
 * code a server does not need, a frequent privilege-escalation route
 * (AF_PACKET, AF_ALG, AF_TIPC, AF_RDS, AF_VSOCK, netfilter and xfrm netlink)
 * and, through socket() or socketpair(), a trigger of module autoloading. */
static const int families[] = { AF_UNIX, AF_INET, AF_INET6 };
static const int netlink_protocols[] = { NETLINK_ROUTE, NETLINK_SOCK_DIAG };
#define FAMILY_LIMIT 64           /* refuse families 0..63 with EAFNOSUPPORT */
#define NETLINK_PROTOCOL_LIMIT 32 /* the kernel's MAX_LINKS */

/* ioctl requests refused by the second program: terminal input injection
 * (CVE-2017-5226), the virtual console's selection and control requests
 * (bubblewrap, CVE-2023-28100), and line disciplines (module autoload and
 * ldisc bugs: CVE-2017-2636 n_hdlc, CVE-2023-6546 n_gsm). */
static const unsigned long tty_requests[] = { TIOCSTI, TIOCLINUX, TIOCSETD };

static const char *output_path;
static int allowed_count;
static int new_allowed[32];
static size_t new_allowed_count;

static void die(const char *what, int err)
{
	fprintf(stderr, "gen-seccomp: %s: %s\n", what, strerror(err < 0 ? -err : err));
	if (output_path != NULL)
		unlink(output_path);
	exit(1);
}

static bool contains(const int *v, size_t n, int x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* The native number of name, or -1 if this architecture has no such call. */
static int resolve(const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr >= 0)
		return nr;
	/* negative: unknown, or a pseudo number for another ABI (socketcall) */
	if (seccomp_arch_native() == SCMP_ARCH_X86_64)
		for (size_t i = 0; i < sizeof(x86_64_numbers) / sizeof(x86_64_numbers[0]); i++)
			if (strcmp(x86_64_numbers[i].name, name) == 0)
				return x86_64_numbers[i].nr;
	return -1;
}

static void rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
		 const struct scmp_arg_cmp *args)
{
	int nr = resolve(name);
	int rc;
	char what[128];

	if (nr < 0)
		return;
	rc = seccomp_rule_add_exact_array(ctx, action, nr, n, args);
	if (rc < 0) {
		snprintf(what, sizeof(what), "rule for %s", name);
		die(what, rc);
	}
	if (action == SCMP_ACT_ALLOW && n == 0) {
		allowed_count++;
		if (nr >= FIRST_NEW_NR) {
			if (new_allowed_count == sizeof(new_allowed) / sizeof(new_allowed[0]))
				die("too many new syscalls", E2BIG);
			new_allowed[new_allowed_count++] = nr;
		}
	}
}

static scmp_filter_ctx new_filter(uint32_t def)
{
	scmp_filter_ctx ctx = seccomp_init(def);
	int rc;

	if (ctx == NULL)
		die("seccomp_init", ENOMEM);
	/* only the native ABI: i386 (int 0x80) and x32 calls kill the process */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0)
		die("bad-arch action", rc);
	/* the runtime sets no_new_privs itself */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
		die("no_new_privs attribute", rc);
	/* a binary tree of syscall numbers: the calls the kernel's cache cannot
	 * answer (argument checks, ioctl) do not walk 250 comparisons */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) < 0)
		die("optimize attribute", rc);
	return ctx;
}

static void socket_rules(scmp_filter_ctx ctx, const char *name)
{
	const size_t nfam = sizeof(families) / sizeof(families[0]);
	const size_t nproto = sizeof(netlink_protocols) / sizeof(netlink_protocols[0]);

	for (int dom = 0; dom < FAMILY_LIMIT; dom++) {
		struct scmp_arg_cmp a[] = { SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)dom) };

		if (dom == AF_NETLINK)
			continue;
		rule(ctx, contains(families, nfam, dom) ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EAFNOSUPPORT),
		     name, 1, a);
	}
	for (int proto = 0; proto < NETLINK_PROTOCOL_LIMIT; proto++) {
		struct scmp_arg_cmp a[] = { SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
					    SCMP_A2(SCMP_CMP_EQ, (scmp_datum_t)proto) };

		rule(ctx, contains(netlink_protocols, nproto, proto) ? SCMP_ACT_ALLOW
								     : SCMP_ACT_ERRNO(EPROTONOSUPPORT),
		     name, 2, a);
	}
}

static scmp_filter_ctx policy(void)
{
	scmp_filter_ctx ctx = new_filter(SCMP_ACT_ERRNO(EPERM));

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		rule(ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL);
	/* ioctl: allowed here, the terminal requests are refused by the prefix */
	rule(ctx, SCMP_ACT_ALLOW, "ioctl", 0, NULL);
	/* clone and unshare: no new namespaces (flags are argument 0) */
	{
		struct scmp_arg_cmp a[] = { SCMP_A0(SCMP_CMP_MASKED_EQ, NS_FLAGS, 0) };

		rule(ctx, SCMP_ACT_ALLOW, "clone", 1, a);
		rule(ctx, SCMP_ACT_ALLOW, "unshare", 1, a);
	}
	/* clone3 keeps its flags in memory a filter cannot read */
	rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
	for (size_t i = 0; i < sizeof(personalities) / sizeof(personalities[0]); i++) {
		struct scmp_arg_cmp a[] = { SCMP_A0(SCMP_CMP_MASKED_EQ, LOW32, personalities[i]) };

		rule(ctx, SCMP_ACT_ALLOW, "personality", 1, a);
	}
	socket_rules(ctx, "socket");
	socket_rules(ctx, "socketpair");
	return ctx;
}

/* The prefix (1. above), built with labels resolved once laid out. */
enum { L_NEXT, L_KILL, L_EPERM, L_ENOSYS, L_POLICY, L_NEWCHECK, L_IOCTL, L_N };

typedef struct insn {
	uint16_t code;
	int jt, jf;  /* labels for conditional jumps, -1: the next instruction */
	uint32_t k;
	int label;   /* ja: the label; else -1 */
	int at;      /* the label this instruction defines, or -1 */
} insn;

static size_t prefix(struct sock_filter *p, size_t cap)
{
	insn a[96];
	size_t n = 0, pos[L_N];
	/* the low 32 bits of ioctl's request, which the tty layer uses: a request
	 * with high bits set is the same request (bubblewrap's CVE-2017-5226 fix) */
	const uint32_t arg1_low = (uint32_t)offsetof(struct seccomp_data, args[1]) +
				  (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 4u : 0u);
	const bool x86_64 = seccomp_arch_native() == SCMP_ARCH_X86_64;
	int ioctl_nr = resolve("ioctl");

#define OP(c, t, f, kk, lab, def) (a[n++] = (insn){ (uint16_t)(c), (t), (f), (uint32_t)(kk), (lab), (def) })
	if (ioctl_nr < 0)
		die("no ioctl syscall number", EINVAL);
	if (x86_64) {
		OP(BPF_LD | BPF_W | BPF_ABS, -1, -1, offsetof(struct seccomp_data, arch), -1, -1);
		OP(BPF_JMP | BPF_JEQ | BPF_K, L_NEXT, L_KILL, AUDIT_ARCH_X86_64, -1, -1);
	}
	OP(BPF_LD | BPF_W | BPF_ABS, -1, -1, offsetof(struct seccomp_data, nr), -1, -1);
	if (x86_64) {
		/* x32 numbers; -1 (a tracer skipping the call) is left to the policy */
		OP(BPF_JMP | BPF_JGE | BPF_K, L_NEXT, L_NEWCHECK, 0x40000000u, -1, -1);
		OP(BPF_JMP | BPF_JEQ | BPF_K, L_POLICY, L_KILL, 0xffffffffu, -1, -1);
		OP(BPF_JMP | BPF_JGE | BPF_K, L_NEXT, L_IOCTL, FIRST_NEW_NR, -1, L_NEWCHECK);
		for (size_t i = 0; i < new_allowed_count; i++)
			OP(BPF_JMP | BPF_JEQ | BPF_K, L_POLICY, L_NEXT, new_allowed[i], -1, -1);
		OP(BPF_RET | BPF_K, -1, -1, SECCOMP_RET_ERRNO | ENOSYS, -1, L_ENOSYS);
	}
	/* ioctl is below the new numbers */
	OP(BPF_JMP | BPF_JEQ | BPF_K, L_NEXT, L_POLICY, (uint32_t)ioctl_nr, -1, L_IOCTL);
	OP(BPF_LD | BPF_W | BPF_ABS, -1, -1, arg1_low, -1, -1);
	for (size_t i = 0; i < sizeof(tty_requests) / sizeof(tty_requests[0]); i++)
		OP(BPF_JMP | BPF_JEQ | BPF_K, L_EPERM, L_NEXT, (uint32_t)tty_requests[i], -1, -1);
	OP(BPF_JMP | BPF_JA, -1, -1, 0, L_POLICY, -1);
	OP(BPF_RET | BPF_K, -1, -1, SECCOMP_RET_ERRNO | EPERM, -1, L_EPERM);
	OP(BPF_RET | BPF_K, -1, -1, SECCOMP_RET_KILL_PROCESS, -1, L_KILL);
#undef OP
	if (n > cap)
		die("prefix program", E2BIG);
	for (int l = 0; l < L_N; l++)
		pos[l] = SIZE_MAX;
	for (size_t i = 0; i < n; i++)
		if (a[i].at >= 0)
			pos[a[i].at] = i;
	pos[L_POLICY] = n;
	for (size_t i = 0; i < n; i++) {
		struct sock_filter *f = &p[i];
		f->code = a[i].code;
		f->k = a[i].k;
		f->jt = f->jf = 0;
		if (BPF_CLASS(a[i].code) == BPF_JMP && BPF_OP(a[i].code) == BPF_JA) {
			f->k = (uint32_t)(pos[a[i].label] - i - 1);
		} else if (BPF_CLASS(a[i].code) == BPF_JMP) {
			int t[2] = { a[i].jt, a[i].jf };
			uint8_t *o[2] = { &f->jt, &f->jf };
			for (int j = 0; j < 2; j++) {
				size_t to = t[j] == L_NEXT ? i + 1 : pos[t[j]];
				if (to == SIZE_MAX || to <= i || to - i - 1 > 255)
					die("prefix program: a jump cannot reach its label", EINVAL);
				*o[j] = (uint8_t)(to - i - 1);
			}
		}
	}
	return n;
}

static void emit_insns(FILE *out, const struct sock_filter *p, size_t n, const char *name,
		       const char *len_name)
{
	fprintf(out, "\nstatic const struct sock_filter %s[] = {\n", name);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "\t{ 0x%04x, %u, %u, 0x%08x },\n", p[i].code, p[i].jt, p[i].jf, p[i].k);
	fprintf(out, "};\n#define %s %zuu\n", len_name, n);
}

/* Exports ctx's BPF through a temporary file and writes it, after the
 * prefix, as one C array. */
static void emit(FILE *out, scmp_filter_ctx ctx, const struct sock_filter *pre, size_t pre_len, const char *name,
		 const char *len_name)
{
	FILE *tmp = tmpfile();
	struct sock_filter *p;
	long size;
	size_t n;
	int rc;

	if (tmp == NULL)
		die("tmpfile", errno);
	if ((rc = seccomp_export_bpf(ctx, fileno(tmp))) < 0)
		die("seccomp_export_bpf", rc);
	if (fseek(tmp, 0, SEEK_END) != 0 || (size = ftell(tmp)) < 0 || fseek(tmp, 0, SEEK_SET) != 0)
		die("temporary file", errno);
	n = (size_t)size / sizeof(*p);
	if (size == 0 || size % (long)sizeof(*p) != 0 || pre_len + n > BPF_MAXINSNS)
		die("exported program has a bad size", EINVAL);
	p = malloc((pre_len + n) * sizeof(*p));
	if (p == NULL)
		die("malloc", ENOMEM);
	memcpy(p, pre, pre_len * sizeof(*p));
	if (fread(p + pre_len, 1, (size_t)size, tmp) != (size_t)size)
		die("read back the program", ferror(tmp) ? EIO : ENODATA);
	fclose(tmp);
	emit_insns(out, p, pre_len + n, name, len_name);
	free(p);
}

int main(int argc, char **argv)
{
	scmp_filter_ctx pol;
	struct sock_filter pre[96];
	size_t pre_len;
	FILE *out;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: gen-seccomp OUTPUT.h | gen-seccomp --pfc\n");
		return 2;
	}
	pol = policy();
	pre_len = prefix(pre, sizeof(pre) / sizeof(pre[0]));

	if (strcmp(argv[1], "--pfc") == 0) {
		if ((rc = seccomp_export_pfc(pol, STDOUT_FILENO)) < 0)
			die("seccomp_export_pfc", rc);
		printf("# %d syscalls allowed without conditions\n", allowed_count);
		printf("# prefix (%zu instructions, before the policy):\n", pre_len);
		for (size_t i = 0; i < pre_len; i++)
			printf("#   %3zu: code 0x%04x jt %u jf %u k 0x%08x\n", i, pre[i].code, pre[i].jt, pre[i].jf,
			       pre[i].k);
		seccomp_release(pol);
		return 0;
	}

	output_path = argv[1];
	out = fopen(output_path, "w");
	if (out == NULL)
		die(output_path, errno);
	fprintf(out,
		"/* Generated by tools/gen-seccomp.c with libseccomp %u.%u.%u; see there. Do not edit. */\n"
		"#ifndef DOPPEL_SECCOMP_BPF_H\n#define DOPPEL_SECCOMP_BPF_H\n\n#include <linux/filter.h>\n",
		seccomp_version()->major, seccomp_version()->minor, seccomp_version()->micro);
	emit(out, pol, pre, pre_len, "dp_seccomp_bpf", "DP_SECCOMP_BPF_LEN");
	fprintf(out, "\n#endif\n");
	seccomp_release(pol);
	if (ferror(out)) {
		fclose(out);
		die(output_path, EIO);
	}
	if (fclose(out) != 0)
		die(output_path, errno);
	return 0;
}
