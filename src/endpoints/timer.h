/* One thread that runs callbacks at deadlines, so a delayed or dribbled
 * response never blocks a libmicrohttpd worker: the worker suspends the
 * connection and the timer resumes it. It also calls a tick function about
 * once a second (the slow-client watchdog). */
#ifndef DOPPEL_ENDPOINTS_TIMER_H
#define DOPPEL_ENDPOINTS_TIMER_H

#include <stdint.h>

#include "util/error.h"

typedef void ep_timer_fn(void *arg);
typedef struct ep_timer ep_timer;

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t ep_now_ms(void);

/* tick may be NULL. */
int ep_timer_start(ep_timer_fn *tick, void *tick_arg, ep_timer **out, dp_error **err);
/* Runs fn(arg) on the timer thread at due_ms (ep_now_ms() time); -1 with
 * errno ENOMEM when the queue cannot grow, ESHUTDOWN once stopping. */
int ep_timer_add(ep_timer *t, uint64_t due_ms, ep_timer_fn *fn, void *arg);
/* Joins the thread and runs every pending callback now (so nothing stays
 * suspended); later ep_timer_add calls fail. */
void ep_timer_stop(ep_timer *t);
/* After ep_timer_stop, once nothing can call ep_timer_add any more. */
void ep_timer_free(ep_timer *t);

#endif
