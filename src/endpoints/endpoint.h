/* One stand-in host as the server and the admin API share it: its mappings
 * and scenarios, its journal. Sockets and daemons stay in server.c. */
#ifndef DOPPEL_ENDPOINTS_ENDPOINT_H
#define DOPPEL_ENDPOINTS_ENDPOINT_H

#include "endpoints/journal.h"
#include "endpoints/stubs.h"

typedef struct ep_endpoint {
	char *host; /* "" answers any Host */
	ep_stubs stubs;
	ep_journal *journal;
} ep_endpoint;

#endif
