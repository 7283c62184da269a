/* The sandbox's first process, PID 1 of its namespaces. In one readable order
 * (bubblewrap's): wait for the monitor to map our ids, build and pivot into
 * the new root, set up the network, wait until the monitor has put us in the
 * run's cgroup (it makes it meanwhile), enter a fresh cgroup namespace, set
 * up the terminal, start the command, then become its init. Any setup
 * failure is reported to the monitor and ends the run with status 125. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <limits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "isolate/isolate.h"
#include "isolate/proto.h"
#include "isolate/runtime.h"
#include "util/cleanup.h"

__attribute__((noreturn)) static void child_fail(dp_child_ctx *ctx, dp_error *err)
{
	const char *msg = err && err->msg ? err->msg : "sandbox setup failed";
	dp_proto_send(ctx->sync_fd, DP_MSG_ERROR, msg, strlen(msg), -1);
	_exit(DP_EXIT_SETUP);
}

/* A pty from the sandbox's own devpts: the master goes to the monitor, the
 * slave (opened with TIOCGPTPEER, no path lookup) to the command. */
static int open_pty(dp_child_ctx *ctx, int *slave, dp_error **err)
{
	cleanup_close int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int unlock = 0;

	if (master < 0)
		return dp_fail_errno(err, "open /dev/ptmx in the sandbox");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return dp_fail_errno(err, "unlock pty");
	*slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		return dp_fail_errno(err, "open pty peer");
	if (dp_proto_send(ctx->sync_fd, DP_MSG_PTY, NULL, 0, master) < 0)
		return dp_fail_errno(err, "hand the pty to the monitor");
	return 0;
}

static void close_range_between(int lo, int hi)
{
	if (lo <= hi)
		syscall(SYS_close_range, (unsigned)lo, (unsigned)hi, 0);
}

/* Closes every fd from 3 up except those in keep (-1 entries ignored). */
static void close_inherited(const int *keep, size_t n)
{
	int k[4], m = 0, lo = 3;

	for (size_t i = 0; i < n && m < 4; i++)
		if (keep[i] >= 3)
			k[m++] = keep[i];
	for (int i = 1; i < m; i++) /* a handful: insertion sort */
		for (int j = i; j > 0 && k[j - 1] > k[j]; j--) {
			int t = k[j];
			k[j] = k[j - 1];
			k[j - 1] = t;
		}
	for (int i = 0; i < m; i++) {
		close_range_between(lo, k[i] - 1);
		lo = k[i] + 1;
	}
	close_range_between(lo, INT_MAX);
}

/* vfork: no copy of init's address space (its copy-on-write faults cost
 * more than the rest of a start on a VM); init waits until the command has
 * exec'd. The child only touches its own stack frames below this one and
 * per-task state (fds, signals, creds, seccomp), allocates nothing (its
 * environment is built before), and never returns here. */
static pid_t start_command(dp_child_ctx *ctx, const dp_cmd_env *env, int slave)
{
	pid_t pid = vfork();

	if (pid == 0) {
		close(ctx->sync_fd);
		dp_exec_command(ctx, env, slave);
	}
	return pid;
}

/* A mapped run's init still holds the monitor's credentials (host root,
 * unmapped in the new namespace, and root's supplementary groups): take the
 * namespace's own root, so every file it creates is owned by the range and
 * no host group comes along. Changing ids clears the parent-death signal;
 * set it again, and end here if the monitor is already gone. */
static int become_inner_root(dp_child_ctx *ctx, dp_error **err)
{
	struct pollfd p = { .fd = ctx->sync_fd, .events = 0 };

	/* raw syscalls, per task: libc's wrappers would also change the ids of
	 * "every thread", by its list of the monitor's threads (run.c: init
	 * shares the monitor's memory) */
	if (syscall(SYS_setgroups, 0, NULL) < 0)
		return dp_fail_errno(err, "--map-user: drop supplementary groups");
	if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
		return dp_fail_errno(err, "--map-user: become the sandbox's root");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return dp_fail_errno(err, "prctl(PR_SET_PDEATHSIG)");
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
		_exit(DP_EXIT_SETUP);
	return 0;
}

void dp_child_main(dp_child_ctx *ctx)
{
	const dp_plan *plan = ctx->plan;
	dp_error *err = NULL;
	char type = 0;
	int slave = -1;
	dp_cmd_env *env;
	pid_t cmd;

	/* dies with the monitor; if it is already gone the channel reads EOF */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		_exit(DP_EXIT_SETUP);
	/* ps and profiles tell the sandbox's init from its monitor */
	(void)prctl(PR_SET_NAME, "doppel-init", 0, 0, 0);
	for (;;) {
		char payload[64];
		int fd = -1;
		ssize_t n = dp_proto_recv(ctx->sync_fd, &type, payload, sizeof(payload), &fd);
		if (n >= 0 && type == DP_MSG_TREE && ctx->mapped) {
			if (dp_rootfs_take_tree(ctx, payload, (size_t)n, fd, &err) < 0)
				child_fail(ctx, err);
			continue;
		}
		if (fd >= 0)
			close(fd);
		if (n < 0 || type != DP_MSG_GO)
			_exit(DP_EXIT_SETUP);
		break;
	}
	/* the monitor kept us off its CPU until now (run.c: spread_init) */
	if (ctx->spread)
		(void)sched_setaffinity(0, sizeof(ctx->cpus), &ctx->cpus);
	if (ctx->mapped && become_inner_root(ctx, &err) < 0)
		child_fail(ctx, err);
	/* init stays doppel's image: keep the sandbox from opening /proc/1/exe
	 * or /proc/1/fd (runc CVE-2019-5736 class). The monitor made our shared
	 * address space non-dumpable after writing our id maps; this states it
	 * here too, before anything of the sandbox exists. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		dp_fail_errno(&err, "prctl(PR_SET_DUMPABLE)");
		child_fail(ctx, err);
	}

	if (dp_rootfs_setup(ctx, &err) < 0)
		child_fail(ctx, err);
	if (sethostname(plan->hostname ? plan->hostname : "doppel",
			strlen(plan->hostname ? plan->hostname : "doppel")) < 0) {
		dp_fail_errno(&err, "set hostname");
		child_fail(ctx, err);
	}
	if (plan->net == DP_NET_LOOPBACK && dp_net_loopback_up(&err) < 0)
		child_fail(ctx, err);
	/* the last allocation of init's: after DP_MSG_CGROUP the monitor may
	 * SIGKILL it, and it must not hold malloc's lock then (run.c) */
	env = dp_exec_env_new(ctx);
	if (env == NULL) {
		dp_fail(&err, ENOMEM, "build the command's environment");
		child_fail(ctx, err);
	}
	{
		uint64_t sigs = ~0ull;
		ssize_t n = dp_proto_recv(ctx->sync_fd, &type, &sigs, sizeof(sigs), NULL);
		if (n < 0 || type != DP_MSG_CGROUP)
			_exit(DP_EXIT_SETUP); /* the monitor failed and says why */
		ctx->sig_reset = n == (ssize_t)sizeof(sigs) ? sigs : ~0ull;
	}
	if (unshare(CLONE_NEWCGROUP) < 0) {
		dp_fail_errno(&err, "create cgroup namespace");
		child_fail(ctx, err);
	}
	if (plan->n_listen && dp_listen_handover(ctx, &err) < 0)
		child_fail(ctx, err);
	if (plan->tty && open_pty(ctx, &slave, &err) < 0)
		child_fail(ctx, err);

	/* init keeps nothing of the caller's but its channel, the pty and the
	 * lock that keeps its /etc template from being collected (etc.c) */
	{
		const int keep[] = { ctx->sync_fd, slave, ctx->etc_lock };
		close_inherited(keep, sizeof(keep) / sizeof(keep[0]));
	}
	cmd = start_command(ctx, env, slave);
	dp_exec_env_free(env);
	if (cmd < 0) {
		dp_fail_errno(&err, "start the command (vfork)");
		child_fail(ctx, err);
	}
	if (slave >= 0)
		close(slave);
	/* init needs no privilege from here on */
	if (dp_caps_restrict(0, &err) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		if (err == NULL)
			dp_fail_errno(&err, "prctl(PR_SET_NO_NEW_PRIVS)");
		kill(cmd, SIGKILL);
		child_fail(ctx, err);
	}
	_exit(dp_init_loop(ctx, cmd));
}
