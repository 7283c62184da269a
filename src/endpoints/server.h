/* The stand-in server: libmicrohttpd daemons that answer requests from
 * WireMock-format mappings, keep a bounded journal and scenario states per
 * endpoint, inject delays and faults, and serve WireMock's admin API
 * (/__admin/...) on every listener. One ep_server serves one or more
 * endpoints (a stand-in host each); in a sandbox each endpoint has its own
 * listening sockets, made inside the sandbox's network namespace and handed
 * over as fds, so the server itself never enters the sandbox. */
#ifndef DOPPEL_ENDPOINTS_SERVER_H
#define DOPPEL_ENDPOINTS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/error.h"

typedef struct ep_endpoint_conf {
	const char *host;          /* the host it stands in for; "" answers any Host (standalone) */
	const char *mappings_dir;  /* WireMock root (mappings/, __files/) or a dir of *.json */
	int http_fd, https_fd;     /* listening sockets (ownership passes to the server); -1: none */
	const char *cert_pem, *key_pem; /* for https_fd */
} ep_endpoint_conf;

typedef struct ep_server_conf {
	ep_endpoint_conf *endpoints;
	size_t n_endpoints;
	unsigned threads;          /* worker threads per listening socket; 0: one */
	size_t journal_max;        /* journal entries kept per endpoint (oldest dropped); 0: 10000 */
	int control_fd;            /* listening AF_UNIX socket for the CLI (Host header picks the
				    * endpoint), -1: none; ownership passes to the server */
	const char *state_dir;     /* scenario states and journals are loaded from here at start
				    * and saved at stop (one HOST.json each); NULL: memory only */
	bool quiet;                /* no per-request log lines on stderr */
	unsigned timeout_s;        /* a client must send a whole request (line, headers, body)
				    * within this many seconds of the connection becoming idle,
				    * and is closed when silent that long; 0: 30 */
} ep_server_conf;

typedef struct ep_server ep_server;

/* Loads and validates every mapping first (all or nothing), then starts
 * serving in background threads. */
int ep_server_start(const ep_server_conf *conf, ep_server **out, dp_error **err);
/* Stops accepting, finishes nothing in flight, saves state, frees. */
void ep_server_stop(ep_server *s);
/* Mappings currently served, over all endpoints. */
size_t ep_server_mapping_count(ep_server *s);

/* Saved state of one endpoint of a sandbox that is not running:
 * {"scenarios": {NAME: STATE}, "requests": [WireMock journal entries]}.
 * Missing file: an empty object. */
int ep_state_load(const char *state_dir, const char *host, json_t **out, dp_error **err);
int ep_state_save(const char *state_dir, const char *host, json_t *state, dp_error **err);

#endif
