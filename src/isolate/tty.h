/* The host side of `--tty`: relays between the caller's terminal and the pty
 * master that the sandbox's init opened inside its own devpts instance (so
 * the sandbox never sees a host pty), raw mode while it runs, window size
 * forwarded on SIGWINCH. */
#ifndef DOPPEL_ISOLATE_TTY_H
#define DOPPEL_ISOLATE_TTY_H

#include "util/error.h"
#include "util/evloop.h"

typedef struct dp_tty dp_tty;

/* Takes ownership of 'master'. */
int dp_tty_start(dp_loop *loop, int master, dp_tty **out, dp_error **err);
void dp_tty_winch(dp_tty *t);
/* Copies whatever output is still buffered in the pty to stdout. */
void dp_tty_drain(dp_tty *t);
/* Restores the terminal and frees. */
void dp_tty_free(dp_tty *t);

#endif
