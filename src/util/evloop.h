/* A minimal epoll event loop for the monitor process, which has to watch the
 * sandbox's exit, forwarded signals, the init channel, a pty and published
 * ports at once without threads. */
#ifndef DOPPEL_UTIL_EVLOOP_H
#define DOPPEL_UTIL_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct dp_loop dp_loop;
typedef void (*dp_loop_cb)(dp_loop *loop, int fd, uint32_t events, void *data);

dp_loop *dp_loop_new(void);
void dp_loop_free(dp_loop *loop);
/* 0 or -1 with errno. */
int dp_loop_add(dp_loop *loop, int fd, uint32_t events, dp_loop_cb cb, void *data);
int dp_loop_mod(dp_loop *loop, int fd, uint32_t events);
void dp_loop_del(dp_loop *loop, int fd);
/* Runs until dp_loop_stop(); timeout_ms < 0 waits forever per round.
 * Returns 0, or -1 with errno on an epoll failure. */
int dp_loop_run(dp_loop *loop);
void dp_loop_stop(dp_loop *loop);

#endif
