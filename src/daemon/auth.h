/* Who a client is. On the Unix sockets: the kernel's word (SO_PEERCRED),
 * mapped to a user and groups from the system databases; nothing the client
 * says about itself counts. On TCP: a bearer token (ops/token.h) acting as
 * the user it was made for. */
#ifndef DOPPEL_DAEMON_AUTH_H
#define DOPPEL_DAEMON_AUTH_H

#include <sys/socket.h>

#include "ops/actor.h"
#include "store/store.h"
#include "util/error.h"

/* The peer of a Unix socket connection. */
int dpd_peer_cred(int fd, struct ucred *out, dp_error **err);
/* The actor for a Unix socket peer (source socket). */
int dpd_actor_socket(const struct ucred *c, dp_actor *out, dp_error **err);
/* The actor an Authorization header value names ("Bearer dpt_..."), source
 * token. -1 with errnum EACCES for a missing, malformed, unknown, expired or
 * revoked token (the API answers 401). */
int dpd_actor_token(dp_store *st, const char *authorization, dp_actor *out, dp_error **err);

#endif
