/* `--publish HOSTPORT:SANDBOXPORT`: the monitor listens on the host's
 * 127.0.0.1:HOSTPORT and, per connection, asks the sandbox's init for a socket
 * made inside the sandbox's network namespace, connects it to
 * 127.0.0.1:SANDBOXPORT there and relays bytes. The monitor never enters the
 * sandbox's namespaces, so this works rootless. */
#ifndef DOPPEL_ISOLATE_PUBLISH_H
#define DOPPEL_ISOLATE_PUBLISH_H

#include "isolate/plan.h"
#include "util/error.h"
#include "util/evloop.h"

typedef struct dp_publisher dp_publisher;

/* Binds every listener up front, so a busy port fails before anything starts. */
int dp_publish_listen(const dp_plan *plan, dp_publisher **out, dp_error **err);
void dp_publish_start(dp_publisher *p, dp_loop *loop, int sync_fd);
/* A socket from init answering the oldest pending request. */
void dp_publish_socket(dp_publisher *p, int fd);
void dp_publish_free(dp_publisher *p);

#endif
