/* doppeld's listening sockets: the API and run sockets on the file system
 * (any local user may connect; the kernel tells who they are), and the
 * optional TCP port, on loopback only. */
#ifndef DOPPEL_DAEMON_LISTEN_H
#define DOPPEL_DAEMON_LISTEN_H

#include <stddef.h>
#include <sys/stat.h>

#include "util/error.h"

/* A listening Unix socket of type (SOCK_STREAM, SOCK_SEQPACKET) at path,
 * mode 0666, its directory made 0755 when missing. A socket left behind by
 * a daemon that is gone is replaced; one that answers is refused (another
 * doppeld). *made identifies it for dpd_unlink_ours. */
int dpd_listen_unix(const char *path, int type, int *fd, struct stat *made, dp_error **err);
/* Removes path if it is still the socket made (not a successor's). */
void dpd_unlink_ours(const char *path, const struct stat *made);
/* "127.0.0.1:PORT", "[::1]:PORT" (numeric, loopback only: anything else is
 * a usage error). PORT 0 picks a free one; bound gets "ADDR:PORT" as bound. */
int dpd_listen_tcp(const char *spec, int *fd, char *bound, size_t n, dp_error **err);

#endif
