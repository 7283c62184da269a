/* The monitor: the host-side process of an isolated run. It creates the
 * cgroup and the namespaced child, writes its id maps, then waits in an event
 * loop that forwards signals, relays the pty and published ports, and
 * collects the exit status. It stays outside every namespace it creates. */
#include "isolate/isolate.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
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

static int clone_child(void)
{
	/* fork-like clone: no new stack, the child continues here. The cgroup
	 * namespace comes later, once the monitor moved the child into its
	 * cgroup, so the namespace is rooted there. */
	return (int)syscall(SYS_clone,
			    CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
				    CLONE_NEWUTS | SIGCHLD,
			    NULL, NULL, NULL, NULL);
}

/* The cgroup is made while init builds the sandbox's root (the two run on
 * separate CPUs), and init waits for DP_MSG_CGROUP only before it starts the
 * command, so every process of the command is born inside the limits. */
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
	spread_init(ctx, m->init_pid);
	if (write_id_maps(ctx, m->init_pid, err) < 0)
		return -1;
	if (ctx->mapped && (dp_rootfs_send_trees(m->plan, m->init_pid, m->sync_fd, err) < 0 ||
			    give_stdio_pipes(m->plan, err) < 0))
		return -1;
	if (dp_proto_send(m->sync_fd, DP_MSG_GO, NULL, 0, -1) < 0)
		return dp_fail_errno(err, "start sandbox");
	if (dp_cgroup_create(limits, cg, err) < 0 || dp_cgroup_add(*cg, m->init_pid, err) < 0)
		return -1;
	if (dp_proto_send(m->sync_fd, DP_MSG_CGROUP, NULL, 0, -1) < 0)
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
	m.init_pid = clone_child();
	if (m.init_pid < 0) {
		dp_fail_errno(err, "create namespaces (clone)");
		if (errno == EPERM || errno == ENOSPC || errno == EINVAL)
			dp_wrap(err, "user namespaces are unavailable here; run 'doppel doctor'");
		goto out_mask;
	}
	if (m.init_pid == 0) {
		close(sv[0]);
		ctx.sync_fd = sv[1];
		dp_child_main(&ctx);
	}
	close(sv[1]);
	sv[1] = -1;
	m.sync_fd = sv[0];
	/* nothing in the sandbox may ptrace or read the monitor (CVE-2016-8659);
	 * set after clone, since the child's id maps must stay writable by us */
	signal(SIGPIPE, SIG_IGN);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		dp_fail_errno(err, "prctl(PR_SET_DUMPABLE)");
	else
		ret = run_monitor(&m, &ctx, &limits, &cg, exit_status, err);
	if (!m.exited) {
		int st;
		kill(m.init_pid, SIGKILL);
		while (waitpid(m.init_pid, &st, 0) < 0 && errno == EINTR)
			;
	}
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
