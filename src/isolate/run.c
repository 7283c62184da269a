/* The monitor: the host-side process of an isolated run. It creates the
 * cgroup and the namespaced child, writes its id maps, then waits in an event
 * loop that forwards signals, relays the pty and published ports, and
 * collects the exit status. It stays outside every namespace it creates. */
#include "isolate/isolate.h"

#include <errno.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif
#include <pthread.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "isolate/cgroup.h"
#include "isolate/proto.h"
#include "isolate/publish.h"
#include "isolate/runtime.h"
#include "isolate/tty.h"
#include "util/cleanup.h"
#include "util/evloop.h"

typedef struct monitor {
	pid_t init_pid;
	int sync_fd;
	int sig_fd;
	dp_loop *loop;
	dp_tty *tty;
	dp_publisher *pub;
	const dp_plan *plan;
	dp_listen_rx listen;
	int status;
	int error_status;    /* exit status the error asks for, 0: the default */
	bool exited;
	bool placed;         /* DP_MSG_CGROUP sent: init may be past its last read */
	char child_error[1024];
} monitor;

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static int write_file(const char *path, const char *text, dp_error **err)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t n = strlen(text);

	if (fd < 0)
		return dp_fail_errno(err, "open %s", path);
	if (write(fd, text, n) != (ssize_t)n)
		return dp_fail_errno(err, "write '%.*s' to %s", (int)strcspn(text, "\n"), text, path);
	return 0;
}

/* Rootless: the one id we own. Root: the first 65536 ids map to themselves,
 * so files keep their owners; the kernel still confines the sandbox's root
 * to its own namespaces (and rootfs.c masks /proc's host-global knobs).
 * Root with plan->map_ids: the first 65536 ids map to the plan's
 * subordinate range, and idmapped mounts keep the files' owners. */
static int write_id_maps(const dp_child_ctx *ctx, pid_t pid, dp_error **err)
{
	const dp_plan *plan = ctx->plan;
	char path[64], map[64];

	if (ctx->rootless) {
		snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
		if (write_file(path, "deny", err) < 0)
			return -1;
		snprintf(map, sizeof(map), "%u %u 1\n", ctx->inner_uid, ctx->outer_uid);
	} else if (ctx->mapped) {
		/* a subordinate range: nothing inside is a host id of anyone else */
		snprintf(map, sizeof(map), "0 %u %u\n", (unsigned)plan->map_uid_base, DP_MAP_IDS);
	} else {
		snprintf(map, sizeof(map), "0 0 65536\n");
	}
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	if (write_file(path, map, err) < 0)
		return -1;
	if (ctx->rootless)
		snprintf(map, sizeof(map), "%u %u 1\n", ctx->inner_gid, ctx->outer_gid);
	else if (ctx->mapped)
		snprintf(map, sizeof(map), "0 %u %u\n", (unsigned)plan->map_gid_base, DP_MAP_IDS);
	snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
	return write_file(path, map, err);
}

/* A mapped sandbox's root is not the owner of the pipes the caller gave as
 * stdin/stdout/stderr (host root made them), so "> /dev/stdout", which
 * reopens the pipe, would be refused. Anonymous pipes (never named FIFOs,
 * never terminals or files) are handed to the range's root; they exist only
 * as open fds, so no other file changes owner. */
static int give_stdio_pipes(const dp_plan *plan, dp_error **err)
{
	for (int fd = 0; fd <= 2; fd++) {
		struct stat st;
		struct statfs sf;
		if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode) || fstatfs(fd, &sf) < 0 || sf.f_type != PIPEFS_MAGIC)
			continue;
		if (fchown(fd, plan->map_uid_base, plan->map_gid_base) < 0)
			return dp_fail_errno(err, "--map-user: hand the pipe on fd %d to the sandbox's root", fd);
	}
	return 0;
}

static void on_signal(dp_loop *loop, int fd, uint32_t events, void *data)
{
	monitor *m = data;
	struct signalfd_siginfo si;
	(void)events;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			int st;
			pid_t r = waitpid(m->init_pid, &st, WNOHANG);
			if (r == m->init_pid) {
				m->exited = true;
				m->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				dp_loop_stop(loop);
			}
		} else if (si.ssi_signo == SIGWINCH) {
			if (m->tty)
				dp_tty_winch(m->tty);
		} else {
			kill(m->init_pid, (int)si.ssi_signo);
		}
	}
}

static void on_sync(dp_loop *loop, int fd, uint32_t events, void *data)
{
	monitor *m = data;
	char type, buf[sizeof(m->child_error)];
	int got_fd = -1;
	ssize_t n;
	(void)events;

	n = dp_proto_recv(fd, &type, buf, sizeof(buf) - 1, &got_fd);
	if (n < 0 || type == 0) {
		/* init is gone; its exit arrives by SIGCHLD */
		dp_loop_del(loop, fd);
		return;
	}
	buf[n] = '\0';
	switch (type) {
	case DP_MSG_ERROR:
		snprintf(m->child_error, sizeof(m->child_error), "%s", buf);
		break;
	case DP_MSG_PTY:
		if (got_fd >= 0 && m->tty == NULL) {
			dp_error *e = NULL;
			if (dp_tty_start(loop, got_fd, &m->tty, &e) < 0) {
				snprintf(m->child_error, sizeof(m->child_error), "%s", e->msg);
				dp_error_free(&e);
				kill(m->init_pid, SIGKILL);
			}
			got_fd = -1;
		}
		break;
	case DP_MSG_SOCKET:
		if (got_fd >= 0 && m->pub) {
			dp_publish_socket(m->pub, got_fd);
			got_fd = -1;
		}
		break;
	case DP_MSG_LISTEN: {
		dp_error *e = NULL;
		int sock = got_fd;
		got_fd = -1;
		if (m->plan->n_listen == 0) {
			if (sock >= 0)
				close(sock);
			break;
		}
		if (dp_listen_receive(m->plan, &m->listen, m->sync_fd, buf, (size_t)n, sock, &e) < 0) {
			/* the command has not started: end the run with the reason */
			snprintf(m->child_error, sizeof(m->child_error), "%s", e->msg);
			m->error_status = e->status;
			dp_error_free(&e);
			kill(m->init_pid, SIGKILL);
		}
		break;
	}
	default:
		break;
	}
	if (got_fd >= 0)
		close(got_fd);
}

/* Init shares the monitor's address space (CLONE_VM) instead of getting a
 * copy-on-write one. On the VMs doppel runs on every page fault and every
 * torn-down address space is expensive, and a forked init paid for both:
 * copy faults in the monitor and in init right after clone, init's faults
 * on every code page it runs again, and the teardown of its address space
 * when it exits, on the way to the caller getting the exit status.
 *
 * A process sharing our memory must not share our thread state: init runs
 * as a stand-in for a helper thread (its TLS: errno, malloc's cache and
 * arena, stdio lock owners), the way posix_spawn runs its child. The
 * helper thread makes init with CLONE_VFORK and sleeps until init has
 * exited, so the two never run at once; init's stack is a buffer in the
 * helper's stack frame. The monitor's own thread keeps its own state.
 *
 * Nothing in the sandbox can reach this memory: it is made non-dumpable
 * as soon as init's id maps are written (run_monitor), before anything of
 * the sandbox exists, and it belongs to the host's user namespace, so
 * ptrace, /proc/1/mem and process_vm_* are refused to the sandbox's root;
 * the command execs into an address space of its own (docs/security.md). */
#define INIT_STACK (256u << 10)

typedef struct init_start {
	dp_child_ctx ctx;      /* init's own copy: it writes to it */
	pid_t pid;             /* CLONE_PARENT_SETTID: init's pid, set before it runs */
	int close_fd;          /* the monitor's end of the channel, closed in init */
} init_start;

/* The start is told over the channel, not through memory: under valgrind,
 * which runs CLONE_VM|CLONE_VFORK as a fork, init's writes to memory would
 * never reach us. init says DP_MSG_HELLO; a failed clone, the helper thread
 * (which holds init's end of the channel in our fd table) DP_MSG_ERROR
 * with the errno. */
static int init_entry(void *arg)
{
	init_start *s = arg;

#ifdef __SANITIZE_ADDRESS__
	/* init leaves its allocations behind when it exits, as any process
	 * does; they are in our heap now, so LeakSanitizer is told so (the
	 * setting lives in the TLS init borrows, and ends with it) */
	__lsan_disable();
#endif
	close(s->close_fd);
	if (dp_proto_send(s->ctx.sync_fd, DP_MSG_HELLO, NULL, 0, -1) < 0)
		_exit(DP_EXIT_SETUP);
	dp_child_main(&s->ctx);
}

static void *init_spawner(void *arg)
{
	init_start *s = arg;
	/* init's stack lies inside this thread's, so sanitizers see it as ours */
	char stack[INIT_STACK] __attribute__((aligned(16)));
	int r, e;

	/* ps and tests tell this parked thread from a worker of the monitor */
	(void)prctl(PR_SET_NAME, "doppel-vfork", 0, 0, 0);
	/* The cgroup namespace comes later, once the monitor moved init into its
	 * cgroup, so the namespace is rooted there. */
	r = clone(init_entry, stack + sizeof(stack),
		  CLONE_VM | CLONE_VFORK | CLONE_PARENT_SETTID | CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID |
			  CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD,
		  s, &s->pid);
	if (r < 0) {
		e = errno;
		(void)dp_proto_send(s->ctx.sync_fd, DP_MSG_ERROR, &e, sizeof(e), -1);
	}
	/* init has exited (or never started): nothing of s is touched again */
	return NULL;
}

/* Starts init; returns its pid, or -1 with errno (ECHILD: init ended
 * before it said hello). */
static pid_t start_init(init_start *s, int sync_fd)
{
	pthread_attr_t attr;
	pthread_t t;
	char type = 0;
	int r, e = 0;
	ssize_t n;

	/* init allocates from the arena its borrowed thread state points to;
	 * a new arena would be a new 64 MiB mapping (more page tables to set up
	 * and to tear down with this address space) for a few kilobytes */
	(void)mallopt(M_ARENA_MAX, 1);
	if ((r = pthread_attr_init(&attr)) != 0 ||
	    (r = pthread_attr_setstacksize(&attr, INIT_STACK + (256u << 10))) != 0 ||
	    (r = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED)) != 0 ||
	    (r = pthread_create(&t, &attr, init_spawner, s)) != 0) {
		pthread_attr_destroy(&attr);
		errno = r;
		return -1;
	}
	pthread_attr_destroy(&attr);
	/* hello comes within microseconds; should init die first (its pid is
	 * set before it runs), the channel stays open (that thread holds its
	 * end), so look for that now and then. Signals stay for the loop. */
	for (;;) {
		struct pollfd p = { .fd = sync_fd, .events = POLLIN };
		int st, rc = poll(&p, 1, 50);
		if (rc > 0)
			break;
		if (rc < 0 && errno != EINTR)
			return -1;
		if (s->pid > 0 && waitpid(s->pid, &st, WNOHANG) == s->pid) {
			errno = ECHILD;
			return -1;
		}
	}
	do
		n = dp_proto_recv(sync_fd, &type, &e, sizeof(e), NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (type != DP_MSG_HELLO) {
		errno = type == DP_MSG_ERROR && n == (ssize_t)sizeof(e) && e > 0 ? e : EIO;
		return -1;
	}
	return s->pid;
}

/* Signals not at their default disposition here (ignored or caught; init's
 * dispositions are a copy of ours), from /proc/self/status, so the command
 * resets those few instead of asking about all 64 on its way to exec; ~0
 * (all) when that cannot be read. SIGPIPE, which we ignore once init exists,
 * is reset in any case. Runs while init builds the root. */
static uint64_t signals_to_reset(void)
{
	cleanup_close int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	char buf[4096];
	uint64_t mask = 0;
	int found = 0;
	ssize_t n;

	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return ~0ull;
	buf[n] = '\0';
	for (const char *key = "SigIgn:\t"; key; key = found == 1 ? "SigCgt:\t" : NULL) {
		const char *p = strstr(buf, key);
		char *end;
		unsigned long long v;
		if (p == NULL)
			return ~0ull;
		errno = 0;
		v = strtoull(p + strlen(key), &end, 16);
		if (errno || end == p + strlen(key) || *end != '\n')
			return ~0ull;
		mask |= v;
		found++;
	}
	return mask | (1ull << (SIGPIPE - 1));
}

/* Ends init after a failure of ours. Before DP_MSG_CGROUP it is building the
 * root and may be inside malloc, whose lock would stay taken if it died
 * there (our memory is its memory, and one arena serves both): closing the
 * channel lets it leave at its next read of it, with nothing held. SIGKILL
 * if that takes long (a hung mount point), and once DP_MSG_CGROUP is sent:
 * from there on init allocates nothing (child.c). Init is never the OOM
 * killer's pick (a vfork child sharing its parent's memory never is), so
 * the OOM killer cannot take the monitor with it. */
static void stop_init(monitor *m)
{
	int st;

	if (!m->placed && shutdown(m->sync_fd, SHUT_RDWR) == 0) {
		for (int i = 0; i < 200; i++) {
			struct pollfd p = { .fd = m->sig_fd, .events = POLLIN };
			pid_t r = waitpid(m->init_pid, &st, WNOHANG);
			if (r == m->init_pid || (r < 0 && errno == ECHILD))
				return;
			(void)poll(&p, 1, 10);
		}
	}
	kill(m->init_pid, SIGKILL);
	while (waitpid(m->init_pid, &st, 0) < 0 && errno == EINTR)
		;
}

/* Right after clone both sides have work: the monitor writes the id maps and
 * makes the cgroup, init takes its first page faults and builds the root.
 * The scheduler tends to queue a new task behind its parent on the parent's
 * CPU, which would run the two one after the other; init is kept off the
 * monitor's CPU until DP_MSG_GO, and then takes back the caller's affinity. */
static void spread_init(const dp_child_ctx *ctx, pid_t init)
{
	cpu_set_t others = ctx->cpus;
	int cpu = sched_getcpu();

	if (!ctx->spread || cpu < 0 || !CPU_ISSET(cpu, &others))
		return;
	CPU_CLR(cpu, &others);
	(void)sched_setaffinity(init, sizeof(others), &others); /* only a hint */
}

static int run_monitor(monitor *m, dp_child_ctx *ctx, const dp_limits *limits, dp_cgroup **cg, int *exit_status,
		       dp_error **err)
{
	uint64_t sigs;

	spread_init(ctx, m->init_pid);
	if (write_id_maps(ctx, m->init_pid, err) < 0)
		return -1;
	/* nothing in the sandbox may ptrace or read the monitor, or init, whose
	 * memory is ours (CVE-2016-8659). Only now: until the maps were written,
	 * init's /proc files had to stay the caller's, and "dumpable" belongs to
	 * the address space the two share. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return dp_fail_errno(err, "prctl(PR_SET_DUMPABLE)");
	if (ctx->mapped && (dp_rootfs_send_trees(m->plan, m->init_pid, m->sync_fd, err) < 0 ||
			    give_stdio_pipes(m->plan, err) < 0))
		return -1;
	if (dp_proto_send(m->sync_fd, DP_MSG_GO, NULL, 0, -1) < 0)
		return dp_fail_errno(err, "start sandbox");
	if (dp_cgroup_create(limits, cg, err) < 0 || dp_cgroup_add(*cg, m->init_pid, err) < 0)
		return -1;
	m->placed = true;
	sigs = signals_to_reset();
	if (dp_proto_send(m->sync_fd, DP_MSG_CGROUP, &sigs, sizeof(sigs), -1) < 0)
		return dp_fail_errno(err, "start sandbox");
	if (dp_loop_add(m->loop, m->sig_fd, EPOLLIN, on_signal, m) < 0 ||
	    dp_loop_add(m->loop, m->sync_fd, EPOLLIN, on_sync, m) < 0)
		return dp_fail_errno(err, "watch sandbox");
	if (m->pub)
		dp_publish_start(m->pub, m->loop, m->sync_fd);
	if (dp_loop_run(m->loop) < 0)
		return dp_fail_errno(err, "wait for sandbox");
	if (m->tty)
		dp_tty_drain(m->tty);
	/* a setup error arrives before init exits; pick up one still queued */
	if (m->child_error[0] == '\0' && m->status == DP_EXIT_SETUP)
		on_sync(m->loop, m->sync_fd, EPOLLIN, m);
	if (m->status == DP_EXIT_SETUP && m->child_error[0] != '\0') {
		dp_fail(err, 0, "%s", m->child_error);
		(*err)->status = DP_EXIT_SETUP;
		return -1;
	}
	if (m->child_error[0] != '\0') {
		dp_fail(err, 0, "%s", m->child_error);
		if (m->error_status)
			(*err)->status = m->error_status;
		return -1;
	}
	if (dp_cgroup_oom_killed(*cg))
		fprintf(stderr, "doppel: the sandbox ran out of memory (limit %s); the kernel killed a process\n",
			"--mem");
	*exit_status = m->status;
	return 0;
}

int dp_isolate_run(const dp_plan *plan, int *exit_status, dp_error **err)
{
	dp_child_ctx ctx = { .plan = plan };
	init_start start = { .pid = -1 };
	dp_limits limits = { .mem_bytes = plan->mem_bytes, .pids = plan->pids, .millicpus = plan->millicpus };
	monitor m = { .init_pid = -1, .sync_fd = -1, .sig_fd = -1, .plan = plan };
	dp_cgroup *cg = NULL;
	sigset_t mask, oldmask;
	int sv[2] = { -1, -1 };
	int ret = -1;

	if (dp_plan_validate(plan, err) < 0)
		return -1;
	ctx.outer_uid = geteuid();
	ctx.outer_gid = getegid();
	ctx.rootless = ctx.outer_uid != 0;
	ctx.mapped = !ctx.rootless && plan->map_ids;
	ctx.inner_uid = plan->keep_uid ? ctx.outer_uid : 0;
	ctx.inner_gid = plan->keep_uid ? ctx.outer_gid : 0;
	ctx.spread = sched_getaffinity(0, sizeof(ctx.cpus), &ctx.cpus) == 0 && CPU_COUNT(&ctx.cpus) > 1;

	if (plan->n_publish && dp_publish_listen(plan, &m.pub, err) < 0)
		goto out;
	m.loop = dp_loop_new();
	if (m.loop == NULL) {
		dp_fail_errno(err, "create event loop");
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		dp_fail_errno(err, "socketpair");
		goto out;
	}
	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&mask, forwarded[i]);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &mask, &oldmask) < 0) {
		dp_fail_errno(err, "sigprocmask");
		goto out;
	}
	m.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m.sig_fd < 0) {
		dp_fail_errno(err, "signalfd");
		goto out_mask;
	}
	fflush(NULL);
	start.ctx = ctx;
	start.ctx.sync_fd = sv[1];
	start.close_fd = sv[0];
	m.init_pid = start_init(&start, sv[0]);
	if (m.init_pid < 0) {
		dp_fail_errno(err, "create namespaces (clone)");
		if (errno == EPERM || errno == ENOSPC || errno == EINVAL)
			dp_wrap(err, "user namespaces are unavailable here; run 'doppel doctor'");
		goto out_mask;
	}
	close(sv[1]);
	sv[1] = -1;
	m.sync_fd = sv[0];
	signal(SIGPIPE, SIG_IGN);
	ret = run_monitor(&m, &ctx, &limits, &cg, exit_status, err);
	if (!m.exited)
		stop_init(&m);
out_mask:
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
out:
	if (m.tty)
		dp_tty_free(m.tty);
	dp_listen_rx_free(&m.listen);
	if (m.pub)
		dp_publish_free(m.pub);
	if (cg)
		dp_cgroup_destroy(cg);
	if (m.sig_fd >= 0)
		close(m.sig_fd);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	dp_loop_free(m.loop);
	return ret;
}
