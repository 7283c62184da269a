/* epoll loop with per-fd callbacks; see evloop.h. Watches are kept in a small
 * array since the monitor has a handful of fds. */
#include "util/evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

struct watch {
	int fd;
	dp_loop_cb cb;
	void *data;
	bool live;
};

struct dp_loop {
	int epfd;
	bool stop;
	struct watch *w;
	size_t n, cap;
};

dp_loop *dp_loop_new(void)
{
	dp_loop *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void dp_loop_free(dp_loop *l)
{
	if (l == NULL)
		return;
	close(l->epfd);
	free(l->w);
	free(l);
}

static struct watch *find(dp_loop *l, int fd)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->w[i].live && l->w[i].fd == fd)
			return &l->w[i];
	return NULL;
}

int dp_loop_add(dp_loop *l, int fd, uint32_t events, dp_loop_cb cb, void *data)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	struct watch *slot = NULL;

	for (size_t i = 0; i < l->n; i++)
		if (!l->w[i].live) {
			slot = &l->w[i];
			break;
		}
	if (slot == NULL) {
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 16;
			struct watch *w = realloc(l->w, cap * sizeof(*w));
			if (w == NULL)
				return -1;
			l->w = w;
			l->cap = cap;
		}
		slot = &l->w[l->n++];
	}
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	*slot = (struct watch){ .fd = fd, .cb = cb, .data = data, .live = true };
	return 0;
}

int dp_loop_mod(dp_loop *l, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
}

void dp_loop_del(dp_loop *l, int fd)
{
	struct watch *w = find(l, fd);
	if (w == NULL)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	w->live = false;
}

void dp_loop_stop(dp_loop *l)
{
	l->stop = true;
}

int dp_loop_run(dp_loop *l)
{
	struct epoll_event evs[32];

	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (int i = 0; i < n && !l->stop; i++) {
			struct watch *w = find(l, evs[i].data.fd);
			if (w != NULL)
				w->cb(l, w->fd, evs[i].events, w->data);
		}
	}
	return 0;
}
