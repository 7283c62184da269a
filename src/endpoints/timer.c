/* The deadline thread of timer.h: a binary min-heap under one mutex and a
 * condition variable on CLOCK_MONOTONIC. Callbacks run without the lock held,
 * so they may add new deadlines (a dribble's next chunk). */
#include "endpoints/timer.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS 1000

typedef struct deadline {
	uint64_t due;
	ep_timer_fn *fn;
	void *arg;
} deadline;

struct ep_timer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	deadline *heap;
	size_t n, cap;
	bool stop;
	ep_timer_fn *tick;
	void *tick_arg;
};

uint64_t ep_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sift_up(deadline *h, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h[parent].due <= h[i].due)
			break;
		deadline tmp = h[parent];
		h[parent] = h[i];
		h[i] = tmp;
		i = parent;
	}
}

static void sift_down(deadline *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && h[l].due < h[m].due)
			m = l;
		if (r < n && h[r].due < h[m].due)
			m = r;
		if (m == i)
			return;
		deadline tmp = h[m];
		h[m] = h[i];
		h[i] = tmp;
		i = m;
	}
}

static deadline pop(ep_timer *t)
{
	deadline top = t->heap[0];

	t->heap[0] = t->heap[--t->n];
	sift_down(t->heap, t->n, 0);
	return top;
}

static void wait_until(ep_timer *t, uint64_t due_ms)
{
	struct timespec ts = { .tv_sec = (time_t)(due_ms / 1000), .tv_nsec = (long)(due_ms % 1000) * 1000000L };

	pthread_cond_timedwait(&t->cond, &t->lock, &ts);
}

static void *run(void *arg)
{
	ep_timer *t = arg;
	uint64_t next_tick = ep_now_ms() + TICK_MS;

	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		uint64_t now = ep_now_ms();
		if (t->n > 0 && t->heap[0].due <= now) {
			deadline d = pop(t);
			pthread_mutex_unlock(&t->lock);
			d.fn(d.arg);
			pthread_mutex_lock(&t->lock);
			continue;
		}
		if (now >= next_tick) {
			next_tick = now + TICK_MS;
			if (t->tick) {
				pthread_mutex_unlock(&t->lock);
				t->tick(t->tick_arg);
				pthread_mutex_lock(&t->lock);
			}
			continue;
		}
		wait_until(t, t->n > 0 && t->heap[0].due < next_tick ? t->heap[0].due : next_tick);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

int ep_timer_start(ep_timer_fn *tick, void *tick_arg, ep_timer **out, dp_error **err)
{
	pthread_condattr_t ca;
	ep_timer *t = calloc(1, sizeof(*t));
	int rc;

	if (t == NULL)
		return dp_fail(err, ENOMEM, "endpoints: timer");
	t->tick = tick;
	t->tick_arg = tick_arg;
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&t->thread, NULL, run, t);
	if (rc != 0) {
		pthread_cond_destroy(&t->cond);
		pthread_mutex_destroy(&t->lock);
		free(t);
		return dp_fail(err, rc, "endpoints: start the timer thread");
	}
	*out = t;
	return 0;
}

int ep_timer_add(ep_timer *t, uint64_t due_ms, ep_timer_fn *fn, void *arg)
{
	pthread_mutex_lock(&t->lock);
	if (t->stop) {
		pthread_mutex_unlock(&t->lock);
		errno = ESHUTDOWN;
		return -1;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		deadline *h = realloc(t->heap, cap * sizeof(*h));
		if (h == NULL) {
			pthread_mutex_unlock(&t->lock);
			errno = ENOMEM;
			return -1;
		}
		t->heap = h;
		t->cap = cap;
	}
	t->heap[t->n] = (deadline){ .due = due_ms, .fn = fn, .arg = arg };
	sift_up(t->heap, t->n++);
	if (t->heap[0].due == due_ms)
		pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

void ep_timer_stop(ep_timer *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	if (t->stop) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	t->stop = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	/* nothing may stay suspended: libmicrohttpd cannot stop otherwise */
	pthread_mutex_lock(&t->lock);
	while (t->n > 0) {
		deadline d = pop(t);
		pthread_mutex_unlock(&t->lock);
		d.fn(d.arg);
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
}

void ep_timer_free(ep_timer *t)
{
	if (t == NULL)
		return;
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t->heap);
	free(t);
}
