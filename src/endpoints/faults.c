/* Fault injection for faults.h. A reset is SO_LINGER {on, 0}: the close()
 * libmicrohttpd does next sends RST instead of FIN. The other faults write
 * their bytes directly; the socket is non-blocking and the writes are small,
 * so a client that does not read loses them, which is fine for a fault. */
#include "endpoints/faults.h"

#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "util/dl-gnutls.h"
#include "util/dl-mhd.h"
#include "util/log.h"

static const char malformed[] = "HTTP/1.1 200 OK\r\n"
				"Transfer-Encoding: chunked\r\n"
				"\r\n"
				"lskdu018973t09sylgasjkfg1][]'./.sdlv";

const char *ep_fault_name(enum ep_fault fault)
{
	switch (fault) {
	case EP_FAULT_CONNECTION_RESET_BY_PEER:
		return "CONNECTION_RESET_BY_PEER";
	case EP_FAULT_EMPTY_RESPONSE:
		return "EMPTY_RESPONSE";
	case EP_FAULT_MALFORMED_RESPONSE_CHUNK:
		return "MALFORMED_RESPONSE_CHUNK";
	case EP_FAULT_RANDOM_DATA_THEN_CLOSE:
		return "RANDOM_DATA_THEN_CLOSE";
	case EP_FAULT_NONE:
		break;
	}
	return "none";
}

enum ep_fault ep_fault_parse(const char *name)
{
	for (enum ep_fault f = EP_FAULT_CONNECTION_RESET_BY_PEER; name && f <= EP_FAULT_RANDOM_DATA_THEN_CLOSE; f++)
		if (strcmp(name, ep_fault_name(f)) == 0)
			return f;
	return EP_FAULT_NONE;
}

static void send_raw(struct MHD_Connection *conn, const void *buf, size_t len)
{
	const union MHD_ConnectionInfo *tls = sym_MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	const union MHD_ConnectionInfo *fd = sym_MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

	if (tls && tls->tls_session) {
		ssize_t n = sym_gnutls_record_send((gnutls_session_t)tls->tls_session, buf, len);
		(void)n; /* best effort: the connection is closed next anyway */
	} else if (fd) {
		ssize_t n = send(fd->connect_fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)n;
	}
}

void ep_fault_inject(struct MHD_Connection *conn, enum ep_fault fault)
{
	const union MHD_ConnectionInfo *fd = sym_MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	unsigned char garbage[256];

	switch (fault) {
	case EP_FAULT_CONNECTION_RESET_BY_PEER:
		if (fd) {
			struct linger l = { .l_onoff = 1, .l_linger = 0 };
			if (setsockopt(fd->connect_fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) < 0)
				dp_debug("CONNECTION_RESET_BY_PEER: SO_LINGER refused; the close is a FIN");
		}
		break;
	case EP_FAULT_MALFORMED_RESPONSE_CHUNK:
		send_raw(conn, malformed, sizeof(malformed) - 1);
		break;
	case EP_FAULT_RANDOM_DATA_THEN_CLOSE:
		if (getrandom(garbage, sizeof(garbage), GRND_NONBLOCK) != (ssize_t)sizeof(garbage))
			memset(garbage, 0xa5, sizeof(garbage));
		send_raw(conn, garbage, sizeof(garbage));
		break;
	case EP_FAULT_EMPTY_RESPONSE:
	case EP_FAULT_NONE:
		break;
	}
}
