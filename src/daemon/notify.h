/* systemd's readiness protocol (sd_notify(3)), for Type=notify: one
 * datagram of "KEY=VALUE" lines to the socket named by $NOTIFY_SOCKET. Not
 * under systemd (no $NOTIFY_SOCKET) it does nothing. */
#ifndef DOPPEL_DAEMON_NOTIFY_H
#define DOPPEL_DAEMON_NOTIFY_H

/* "READY=1", "STOPPING=1", "STATUS=...". 0 when sent or not asked for, -1
 * (errno set) when the socket could not be reached. */
int dpd_notify(const char *state);

#endif
