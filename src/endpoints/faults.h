/* WireMock's faults: broken answers written past libmicrohttpd, straight to
 * the connection (its GnuTLS session under HTTPS), before the server makes
 * libmicrohttpd drop the connection. */
#ifndef DOPPEL_ENDPOINTS_FAULTS_H
#define DOPPEL_ENDPOINTS_FAULTS_H

#include "endpoints/mapping.h"

struct MHD_Connection;

/* Does what the fault needs before the close; the caller then returns
 * MHD_NO from the request handler so libmicrohttpd closes the socket
 * (without shutdown(), as the daemon runs with MHD_USE_TURBO). */
void ep_fault_inject(struct MHD_Connection *conn, enum ep_fault fault);
const char *ep_fault_name(enum ep_fault fault);
/* The fault a name names; EP_FAULT_NONE for NULL or anything else. */
enum ep_fault ep_fault_parse(const char *name);

#endif
