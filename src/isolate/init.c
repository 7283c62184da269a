/* PID 1 of the sandbox. A pid namespace's init gets no default signal
 * handling, so it must forward SIGINT/SIGTERM/SIGHUP to the command, reap
 * every orphan, and leave with the command's status; when it exits the kernel
 * kills whatever else still runs in the sandbox. It also hands the monitor
 * sockets made in the sandbox's network namespace for --publish. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "isolate/isolate.h"
#include "isolate/proto.h"
#include "isolate/runtime.h"

static int status_of(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void dp_init_serve_socket(int sync_fd)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	dp_proto_send(sync_fd, DP_MSG_SOCKET, NULL, 0, s);
	if (s >= 0)
		close(s);
}

int dp_init_loop(const dp_child_ctx *ctx, pid_t command)
{
	sigset_t mask;
	int sfd;
	bool channel_open = true;

	/* the monitor blocked these before clone; they stay blocked here and
	 * arrive through the signalfd */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		return DP_EXIT_SETUP;

	for (;;) {
		struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
				       { .fd = channel_open ? ctx->sync_fd : -1, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return DP_EXIT_SETUP;
		}
		if (p[1].revents) {
			char type = 0;
			if (dp_proto_recv(ctx->sync_fd, &type, NULL, 0, NULL) <= 0 && type == 0)
				channel_open = false; /* monitor gone: PDEATHSIG follows */
			else if (type == DP_MSG_SOCKET)
				dp_init_serve_socket(ctx->sync_fd);
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo != SIGCHLD) {
				if (si.ssi_signo != SIGWINCH)
					kill(command, (int)si.ssi_signo);
				continue;
			}
			for (;;) {
				int st;
				pid_t r = waitpid(-1, &st, WNOHANG);
				if (r <= 0)
					break;
				if (r == command)
					return status_of(st);
			}
		}
	}
}
