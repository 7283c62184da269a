/* Build-time generator of the sandbox's seccomp filter. libseccomp compiles
 * the policy below into BPF once, here; the runtime (src/isolate/seccomp.c)
 * loads the result with one syscall instead of compiling a Docker-sized
 * filter on every start. Output: a C header holding the program.
 *
 * Policy: an allowlist at least as strict as Docker's default profile. What
 * is not listed fails with EPERM; clone3 fails with ENOSYS so libc falls back
 * to clone, whose flags can be checked; namespace creation, mounts, kernel
 * keyrings, modules, kexec, bpf, perf, userfaultfd, handle-based opens,
 * io_uring, time setting, swap, reboot and terminal injection are refused; any
 * other ABI (i386 int 0x80, x32) kills the process. */
#include <errno.h>
#include <linux/filter.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdbool.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define NS_FLAGS                                                                                                      \
	((scmp_datum_t)(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |    \
			CLONE_NEWCGROUP | CLONE_NEWTIME))

/* Allowed without conditions. */
static const char *const allowed[] = {
	"accept", "accept4", "access", "alarm", "arch_prctl", "bind", "brk", "capget", "capset", "chdir", "chmod",
	"chown", "clock_getres", "clock_gettime", "clock_nanosleep", "close", "close_range", "connect",
	"copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
	"epoll_pwait", "epoll_pwait2", "epoll_wait", "eventfd", "eventfd2", "execve", "execveat", "exit",
	"exit_group", "faccessat", "faccessat2", "fadvise64", "fallocate", "fchdir", "fchmod", "fchmodat",
	"fchmodat2", "fchown", "fchownat", "fcntl", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork",
	"fremovexattr", "fsetxattr", "fstat", "fstatfs", "fsync", "ftruncate", "futex", "futex_waitv",
	"futimesat", "get_robust_list", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "geteuid",
	"getgid", "getgroups", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
	"getpriority", "getrandom", "getresgid", "getresuid", "getrlimit", "getrusage", "getsid", "getsockname",
	"getsockopt", "gettid", "gettimeofday", "getuid", "getxattr", "inotify_add_watch", "inotify_init",
	"inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
	"io_setup", "io_submit", "ioprio_get", "ioprio_set", "kill", "landlock_add_rule",
	"landlock_create_ruleset", "landlock_restrict_self", "lchown", "lgetxattr", "link", "linkat", "listen",
	"listxattr", "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat", "madvise", "membarrier",
	"memfd_create", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
	"mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink",
	"mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
	"nanosleep", "newfstatat", "open", "openat", "openat2", "pause", "pidfd_open",
	"pidfd_send_signal", "pipe", "pipe2", "poll", "ppoll", "prctl", "pread64", "preadv", "preadv2",
	"prlimit64", "process_vm_readv", "process_vm_writev", "pselect6", "ptrace", "pwrite64", "pwritev",
	"pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recvfrom", "recvmmsg", "recvmsg",
	"remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq",
	"rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
	"rt_sigtimedwait", "rt_tgsigqueueinfo", "sched_get_priority_max", "sched_get_priority_min",
	"sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
	"sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "select",
	"semctl", "semget", "semop", "semtimedop", "sendfile", "sendmmsg", "sendmsg", "sendto", "set_robust_list",
	"set_tid_address", "setfsgid", "setfsuid", "setgid", "setgroups", "setitimer", "setpgid", "setpriority",
	"setregid", "setresgid", "setresuid", "setreuid", "setrlimit", "setsid", "setsockopt", "setuid",
	"setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
	"socketpair", "splice", "stat", "statfs", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
	"syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
	"timer_gettime", "timer_settime", "timerfd_create", "timerfd_gettime", "timerfd_settime", "times",
	"tkill", "truncate", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat", "utimes", "vfork",
	"vmsplice", "wait4", "waitid", "write", "writev", NULL,
};

static const int personalities[] = { 0x0, 0x8, 0x20000, 0x20008, (int)0xffffffff };

static void die(const char *what, int rc)
{
	fprintf(stderr, "gen-seccomp: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	exit(1);
}

static void rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n, const struct scmp_arg_cmp *args)
{
	int nr = seccomp_syscall_resolve_name(name);
	int rc;

	if (nr == __NR_SCMP_ERROR)
		return; /* not on this architecture */
	rc = seccomp_rule_add_array(ctx, action, nr, n, args);
	if (rc < 0) {
		fprintf(stderr, "gen-seccomp: rule for %s: %s\n", name, strerror(-rc));
		exit(1);
	}
}

/* Writes the compiled program as a C array. */
static void emit(FILE *out, scmp_filter_ctx ctx, const char *name, const char *len_name)
{
	FILE *tmp = tmpfile();
	struct sock_filter insn;
	size_t count = 0;
	int rc;

	if (tmp == NULL)
		die("tmpfile", errno);
	if ((rc = seccomp_export_bpf(ctx, fileno(tmp))) < 0)
		die("export", rc);
	rewind(tmp);
	fprintf(out, "\nstatic const struct sock_filter %s[] = {\n", name);
	while (fread(&insn, sizeof(insn), 1, tmp) == 1) {
		fprintf(out, "\t{ 0x%04x, %u, %u, 0x%08x },\n", insn.code, insn.jt, insn.jf, insn.k);
		count++;
	}
	fprintf(out, "};\n#define %s %zuu\n", len_name, count);
	fclose(tmp);
	if (count == 0)
		die("empty program", EINVAL);
}

int main(int argc, char **argv)
{
	scmp_filter_ctx ctx;
	FILE *out;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: gen-seccomp OUTPUT.h\n");
		return 2;
	}
	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (ctx == NULL)
		die("seccomp_init", ENOMEM);
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0)
		die("bad-arch action", rc);
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
		die("no_new_privs attribute", rc);

	for (const char *const *s = allowed; *s; s++)
		rule(ctx, SCMP_ACT_ALLOW, *s, 0, NULL);

	/* clone: no new namespaces (flags are argument 0 on x86_64) */
	{
		struct scmp_arg_cmp a[] = { SCMP_A0(SCMP_CMP_MASKED_EQ, NS_FLAGS, 0) };
		rule(ctx, SCMP_ACT_ALLOW, "clone", 1, a);
		rule(ctx, SCMP_ACT_ALLOW, "unshare", 1, a);
	}
	/* clone3 keeps its flags in memory we cannot inspect: make libc fall back */
	rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
	/* ioctl is allowed here; the second program refuses the terminal
	 * injection requests (libseccomp cannot put an unconditional allow and
	 * argument-matched denials of one syscall into one filter) */
	rule(ctx, SCMP_ACT_ALLOW, "ioctl", 0, NULL);
	/* personality: the harmless values Docker allows */
	for (size_t i = 0; i < sizeof(personalities) / sizeof(personalities[0]); i++) {
		struct scmp_arg_cmp a[] = { SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)(unsigned)personalities[i]) };
		rule(ctx, SCMP_ACT_ALLOW, "personality", 1, a);
	}
	/* sockets: every family but kernel-interface ones a sandbox never needs */
	{
		static const int refused[] = { AF_NETLINK, AF_PACKET, AF_KEY, AF_VSOCK, AF_ALG, AF_BLUETOOTH };
		(void)refused;
		/* allow domains below AF_MAX except the refused ones */
		for (int dom = 0; dom < AF_MAX; dom++) {
			bool bad = false;
			for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
				bad |= refused[i] == dom;
			if (!bad) {
				struct scmp_arg_cmp a[] = { SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)dom) };
				rule(ctx, SCMP_ACT_ALLOW, "socket", 1, a);
			}
		}
	}

	out = fopen(argv[1], "w");
	if (out == NULL)
		die(argv[1], errno);
	fprintf(out, "/* Generated by tools/gen-seccomp.c with libseccomp %u.%u.%u. Do not edit. */\n"
		     "#include <linux/filter.h>\n",
		seccomp_version()->major, seccomp_version()->minor, seccomp_version()->micro);
	emit(out, ctx, "dp_seccomp_bpf", "DP_SECCOMP_BPF_LEN");
	seccomp_release(ctx);

	/* second program: default allow; TIOCSTI and TIOCLINUX refused, compared
	 * on the low 32 bits the kernel uses (CVE-2017-5226, as bubblewrap) */
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL)
		die("seccomp_init", ENOMEM);
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
		die("attributes", rc);
	{
		struct scmp_arg_cmp sti[] = { SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI) };
		struct scmp_arg_cmp linux_[] = { SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX) };
		rule(ctx, SCMP_ACT_ERRNO(EPERM), "ioctl", 1, sti);
		rule(ctx, SCMP_ACT_ERRNO(EPERM), "ioctl", 1, linux_);
	}
	emit(out, ctx, "dp_seccomp_tty_bpf", "DP_SECCOMP_TTY_BPF_LEN");
	seccomp_release(ctx);
	if (fclose(out) != 0)
		die(argv[1], errno);
	return 0;
}
