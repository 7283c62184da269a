/* --publish: host listeners, sockets from inside the sandbox, and a byte
 * relay between them; see publish.h. Each relay direction has one buffer: read
 * while it is empty, write while it is not, so a slow peer never makes the
 * monitor buffer without bound. */
#include "isolate/publish.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "isolate/proto.h"
#include "util/log.h"

#define RELAY_BUF 65536
#define MAX_PENDING 64

typedef struct half {
	int from, to;
	char buf[RELAY_BUF];
	size_t len, off;
	bool eof;
} half;

typedef struct relay {
	struct relay *next;
	half a2b, b2a; /* a: host client, b: sandbox side */
	int a, b;
	struct dp_publisher *owner;
} relay;

typedef struct listener {
	int fd;
	uint16_t sandbox_port;
	struct dp_publisher *owner;
} listener;

typedef struct pending {
	int client;
	uint16_t sandbox_port;
} pending;

struct dp_publisher {
	dp_loop *loop;
	int sync_fd;
	listener *ls;
	size_t n_ls;
	pending q[MAX_PENDING];
	size_t q_head, q_len;
	relay *relays;
};

int dp_publish_listen(const dp_plan *plan, dp_publisher **out, dp_error **err)
{
	dp_publisher *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return dp_fail(err, ENOMEM, "publish");
	p->ls = calloc(plan->n_publish, sizeof(listener));
	if (p->ls == NULL) {
		free(p);
		return dp_fail(err, ENOMEM, "publish");
	}
	*out = p;
	for (size_t i = 0; i < plan->n_publish; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_port = htons(plan->publish[i].host_port),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int one = 1;
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return dp_fail_errno(err, "--publish: socket");
		p->ls[p->n_ls++] = (listener){ .fd = fd, .sandbox_port = plan->publish[i].sandbox_port, .owner = p };
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return dp_fail_errno(err, "--publish %u:%u: cannot listen on 127.0.0.1:%u",
					     plan->publish[i].host_port, plan->publish[i].sandbox_port,
					     plan->publish[i].host_port);
		if (listen(fd, 64) < 0)
			return dp_fail_errno(err, "--publish: listen");
	}
	return 0;
}

static void relay_close(relay *r)
{
	dp_publisher *p = r->owner;
	relay **pp;

	dp_loop_del(p->loop, r->a);
	dp_loop_del(p->loop, r->b);
	close(r->a);
	close(r->b);
	for (pp = &p->relays; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	free(r);
}

static uint32_t interest(relay *r, int fd)
{
	uint32_t ev = 0;
	half *h[2] = { &r->a2b, &r->b2a };
	for (int i = 0; i < 2; i++) {
		if (h[i]->from == fd && h[i]->len == 0 && !h[i]->eof)
			ev |= EPOLLIN;
		if (h[i]->to == fd && h[i]->len > h[i]->off)
			ev |= EPOLLOUT;
	}
	return ev;
}

/* Moves what it can in one direction; false when the relay is finished. */
static bool pump(half *h)
{
	if (h->len == 0 && !h->eof) {
		ssize_t n = recv(h->from, h->buf, sizeof(h->buf), MSG_DONTWAIT);
		if (n > 0) {
			h->len = (size_t)n;
			h->off = 0;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			h->eof = true;
			shutdown(h->to, SHUT_WR);
		}
	}
	while (h->off < h->len) {
		ssize_t n = send(h->to, h->buf + h->off, h->len - h->off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return false;
		}
		h->off += (size_t)n;
	}
	if (h->off == h->len)
		h->len = h->off = 0;
	return true;
}

static void on_relay(dp_loop *loop, int fd, uint32_t events, void *data)
{
	relay *r = data;
	(void)events;
	(void)fd;

	if (!pump(&r->a2b) || !pump(&r->b2a) || (r->a2b.eof && r->b2a.eof && !r->a2b.len && !r->b2a.len)) {
		relay_close(r);
		return;
	}
	dp_loop_mod(loop, r->a, interest(r, r->a));
	dp_loop_mod(loop, r->b, interest(r, r->b));
}

static void on_accept(dp_loop *loop, int fd, uint32_t events, void *data)
{
	listener *l = data;
	dp_publisher *p = l->owner;
	(void)loop;
	(void)events;

	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			return;
		if (p->q_len == MAX_PENDING || dp_proto_send(p->sync_fd, DP_MSG_SOCKET, NULL, 0, -1) < 0) {
			close(c);
			continue;
		}
		p->q[(p->q_head + p->q_len++) % MAX_PENDING] = (pending){ .client = c, .sandbox_port = l->sandbox_port };
	}
}

void dp_publish_start(dp_publisher *p, dp_loop *loop, int sync_fd)
{
	p->loop = loop;
	p->sync_fd = sync_fd;
	for (size_t i = 0; i < p->n_ls; i++)
		if (dp_loop_add(loop, p->ls[i].fd, EPOLLIN, on_accept, &p->ls[i]) < 0)
			dp_warn("--publish: cannot watch port: %s", strerror(errno));
}

void dp_publish_socket(dp_publisher *p, int fd)
{
	pending pd;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 2 };
	relay *r;
	int fl;

	if (p->q_len == 0) {
		close(fd);
		return;
	}
	pd = p->q[p->q_head];
	p->q_head = (p->q_head + 1) % MAX_PENDING;
	p->q_len--;
	sa.sin_port = htons(pd.sandbox_port);
	/* loopback connects finish or fail at once; the timeout bounds a full backlog */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		close(pd.client);
		return;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		close(fd);
		close(pd.client);
		return;
	}
	r->owner = p;
	r->a = pd.client;
	r->b = fd;
	r->a2b.from = r->b2a.to = r->a;
	r->a2b.to = r->b2a.from = r->b;
	r->next = p->relays;
	p->relays = r;
	if (dp_loop_add(p->loop, r->a, EPOLLIN, on_relay, r) < 0 || dp_loop_add(p->loop, r->b, EPOLLIN, on_relay, r) < 0)
		relay_close(r);
}

void dp_publish_free(dp_publisher *p)
{
	if (p == NULL)
		return;
	while (p->relays)
		relay_close(p->relays);
	for (size_t i = 0; i < p->q_len; i++)
		close(p->q[(p->q_head + i) % MAX_PENDING].client);
	for (size_t i = 0; i < p->n_ls; i++) {
		if (p->loop)
			dp_loop_del(p->loop, p->ls[i].fd);
		close(p->ls[i].fd);
	}
	free(p->ls);
	free(p);
}
