/* The HTTP side of doppeld on libmicrohttpd: one server per listening
 * socket (the Unix socket, and the TCP port when asked for), a thread per
 * connection (handlers block: a sync takes minutes), with limits on body
 * and header sizes, connections and idle time. */
#ifndef DOPPEL_DAEMON_SERVER_H
#define DOPPEL_DAEMON_SERVER_H

#include "daemon/api.h"
#include "daemon/daemon.h"
#include "util/error.h"

#define DPD_CONN_MEMORY (32u * 1024) /* request line and headers (and buffers) per connection */
#define DPD_CONN_LIMIT_UNIX 1024u
#define DPD_CONN_PER_UID 256u      /* on the Unix socket: no user takes every connection */
#define DPD_CONN_LIMIT_TCP 256u
#define DPD_IDLE_TIMEOUT_S 60u
#define DPD_DRAIN_MAX (1024u * 1024) /* a body over the limit up to this is read (then 413), larger refused at once */

typedef struct dpd_server dpd_server;

/* Serves on fd (listening; taken, closed at stop). */
int dpd_server_start(dpd *d, int fd, dpd_via via, dpd_server **out, dp_error **err);
/* Stops accepting; connections already open go on. */
void dpd_server_quiesce(dpd_server *s);
/* Closes every connection and frees. */
void dpd_server_stop(dpd_server *s);

#endif
