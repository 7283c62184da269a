/* Listening sockets inside the sandbox for a server that stays outside it.
 * init makes them in the sandbox's network namespace (so they are reachable
 * from the sandbox at its loopback addresses, and nowhere else) once loopback
 * is up, and passes each to the monitor over the channel; the monitor hands
 * them to the front end's on_listen and only then lets init start the
 * command, so the command never meets a refused connection. The server never
 * enters the sandbox, which works rootless where setns would not. init may
 * bind ports below 1024: it is root of the namespace that owns the network
 * namespace, and still holds its capabilities at this point. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "isolate/proto.h"
#include "isolate/runtime.h"
#include "util/cleanup.h"

static int make_socket(const dp_listen *l, dp_error **err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(l->port), .sin_addr.s_addr = htonl(l->addr) };
	cleanup_close int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char text[INET_ADDRSTRLEN];
	int one = 1;

	inet_ntop(AF_INET, &sa.sin_addr, text, sizeof(text));
	if (fd < 0)
		return dp_fail_errno(err, "listen on %s:%u in the sandbox: socket", text, l->port);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return dp_fail_errno(err, "listen on %s:%u in the sandbox: SO_REUSEADDR", text, l->port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return dp_fail_errno(err, "listen on %s:%u in the sandbox: bind", text, l->port);
	if (listen(fd, SOMAXCONN) < 0)
		return dp_fail_errno(err, "listen on %s:%u in the sandbox", text, l->port);
	return dp_steal_fd(&fd);
}

int dp_listen_handover(const dp_child_ctx *ctx, dp_error **err)
{
	const dp_plan *plan = ctx->plan;

	for (size_t i = 0; i < plan->n_listen; i++) {
		cleanup_close int fd = make_socket(&plan->listen[i], err);
		uint32_t idx = (uint32_t)i;
		if (fd < 0)
			return -1;
		if (dp_proto_send(ctx->sync_fd, DP_MSG_LISTEN, &idx, sizeof(idx), fd) < 0)
			return dp_fail_errno(err, "hand a listening socket to the monitor");
	}
	/* --publish requests may arrive before the go-ahead; answer them */
	for (;;) {
		char type = 0;
		if (dp_proto_recv(ctx->sync_fd, &type, NULL, 0, NULL) < 0)
			return dp_fail_errno(err, "wait for the monitor to take the listening sockets");
		if (type == DP_MSG_LISTEN)
			return 0;
		if (type == 0)
			return dp_fail(err, 0, "the monitor went away before taking the listening sockets");
		if (type == DP_MSG_SOCKET)
			dp_init_serve_socket(ctx->sync_fd);
	}
}

int dp_listen_receive(const dp_plan *plan, dp_listen_rx *rx, int sync_fd, const void *payload, size_t len, int fd,
		      dp_error **err)
{
	uint32_t idx;

	if (rx->fds == NULL) {
		rx->fds = malloc(plan->n_listen * sizeof(int));
		if (rx->fds == NULL) {
			close(fd);
			return dp_fail(err, ENOMEM, "listening sockets");
		}
		for (size_t i = 0; i < plan->n_listen; i++)
			rx->fds[i] = -1;
		rx->n = plan->n_listen;
	}
	/* init is our own code, but it runs in the sandbox: trust no index */
	if (rx->done || fd < 0 || len != sizeof(idx)) {
		if (fd >= 0)
			close(fd);
		return dp_fail(err, 0, "sandbox init sent a malformed listening socket");
	}
	memcpy(&idx, payload, sizeof(idx));
	if (idx >= plan->n_listen || rx->fds[idx] >= 0) {
		close(fd);
		return dp_fail(err, 0, "sandbox init sent a malformed listening socket");
	}
	rx->fds[idx] = fd;
	if (++rx->got < plan->n_listen)
		return 0;
	rx->done = true;
	/* ownership passes to the callee, on failure too */
	if (plan->on_listen(plan->on_listen_arg, rx->fds, plan->n_listen, err) < 0) {
		for (size_t i = 0; i < plan->n_listen; i++)
			rx->fds[i] = -1;
		return -1;
	}
	for (size_t i = 0; i < plan->n_listen; i++)
		rx->fds[i] = -1;
	if (dp_proto_send(sync_fd, DP_MSG_LISTEN, NULL, 0, -1) < 0)
		return dp_fail_errno(err, "tell sandbox init to start the command");
	return 0;
}

void dp_listen_rx_free(dp_listen_rx *rx)
{
	if (rx->fds == NULL)
		return;
	for (size_t i = 0; i < rx->n; i++)
		if (rx->fds[i] >= 0)
			close(rx->fds[i]);
	free(rx->fds);
	rx->fds = NULL;
}
