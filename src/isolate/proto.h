/* The monitor <-> sandbox-init channel: one SOCK_SEQPACKET socketpair, each
 * message a type byte plus payload, optionally carrying one fd. It is the
 * only link between the host side and the sandbox; the sandbox's commands
 * never hold it. */
#ifndef DOPPEL_ISOLATE_PROTO_H
#define DOPPEL_ISOLATE_PROTO_H

#include <stddef.h>
#include <sys/types.h>

enum {
	DP_MSG_HELLO = 'H',  /* init -> monitor: init runs (its pid is known) */
	DP_MSG_GO = 'G',     /* monitor -> init: maps written, build the root */
	DP_MSG_CGROUP = 'C', /* monitor -> init: cgroup joined, start the command;
			      * payload: uint64 ctx->sig_reset */
	DP_MSG_TREE = 'T',   /* monitor -> init, before GO in a mapped run: fd is an
			      * idmapped host tree, payload says which (rootfs.c) */
	DP_MSG_ERROR = 'E',  /* init -> monitor: setup failed, payload is the message;
			      * before HELLO, from the thread that made init: clone
			      * failed, payload is the int errno */
	DP_MSG_PTY = 'P',    /* init -> monitor: fd is the pty master */
	DP_MSG_SOCKET = 'S', /* monitor -> init: want a socket; init -> monitor: fd is one */
	DP_MSG_LISTEN = 'L', /* init -> monitor: fd is plan->listen[payload (uint32)];
			      * monitor -> init: all taken, start the command */
};

/* Returns 0, or -1 with errno set. pass_fd < 0: no fd. */
int dp_proto_send(int sock, char type, const void *data, size_t len, int pass_fd);
/* Returns payload length (>= 0), or -1 with errno set; 0 bytes and type 0 on
 * EOF. A received fd is stored in *fd (else -1); it is close-on-exec. */
ssize_t dp_proto_recv(int sock, char *type, void *data, size_t cap, int *fd);

#endif
