/* libmicrohttpd glue for the API (server.h): connection and request
 * contexts, the raw URL (libmicrohttpd decodes its own copy, and the route
 * table wants it undecoded), the body up to DPD_BODY_MAX (413 beyond; from a
 * Content-Length over DPD_DRAIN_MAX before a byte is read), the peer's credentials taken
 * once per connection, and the answer api.c made turned into a response. */
#include "daemon/server.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/auth.h"
#include "daemon/reply.h"
#include "util/log.h"

/* connections per uid on the Unix socket, so one user cannot take them all */
typedef struct uid_count {
	uid_t uid;
	unsigned n;
} uid_count;

struct dpd_server {
	dpd *d;
	dpd_via via;
	struct MHD_Daemon *mhd;
	pthread_mutex_t uids_lock;
	uid_count *uids;
	size_t n_uids, cap_uids;
	int quiesced_fd; /* ours to close once libmicrohttpd stopped */
	bool quiesced;
};

enum phase { PH_NEW, PH_BODY };

typedef struct conn {
	dpd_server *srv;
	int fd;
	struct ucred cred;
	bool have_cred;
	bool uid_counted;
	bool over_limit;   /* its uid has DPD_CONN_PER_UID open already */
	char cred_error[160];
	/* the request being read */
	enum phase ph;
	bool counted;   /* in d->busy */
	bool too_large;
	char *url;
	char *body;
	size_t body_len, body_cap;
} conn;

/* Counts c in for its uid; false when the uid is at its limit. */
static bool uid_in(dpd_server *s, uid_t uid)
{
	bool ok = true;
	size_t i;

	pthread_mutex_lock(&s->uids_lock);
	for (i = 0; i < s->n_uids && s->uids[i].uid != uid; i++)
		;
	if (i == s->n_uids) {
		if (s->n_uids == s->cap_uids) {
			size_t cap = s->cap_uids ? 2 * s->cap_uids : 16;
			uid_count *v = realloc(s->uids, cap * sizeof(*v));
			if (v == NULL) {
				pthread_mutex_unlock(&s->uids_lock);
				return false;
			}
			s->uids = v;
			s->cap_uids = cap;
		}
		s->uids[s->n_uids++] = (uid_count){ .uid = uid, .n = 0 };
	}
	if (s->uids[i].n >= DPD_CONN_PER_UID)
		ok = false;
	else
		s->uids[i].n++;
	pthread_mutex_unlock(&s->uids_lock);
	return ok;
}

static void uid_out(dpd_server *s, uid_t uid)
{
	pthread_mutex_lock(&s->uids_lock);
	for (size_t i = 0; i < s->n_uids; i++)
		if (s->uids[i].uid == uid) {
			if (--s->uids[i].n == 0)
				s->uids[i] = s->uids[--s->n_uids];
			break;
		}
	pthread_mutex_unlock(&s->uids_lock);
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	dpd_server *s = cls;
	conn *c;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fi = sym_MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
		dp_error *err = NULL;

		c = calloc(1, sizeof(*c));
		*socket_context = c;
		if (c == NULL)
			return; /* the request handler refuses it */
		c->srv = s;
		c->fd = fi ? fi->connect_fd : -1;
		if (s->via == DPD_VIA_UNIX) {
			if (c->fd >= 0 && dpd_peer_cred(c->fd, &c->cred, &err) == 0) {
				c->have_cred = true;
				c->uid_counted = uid_in(s, c->cred.uid);
				c->over_limit = !c->uid_counted;
			} else
				snprintf(c->cred_error, sizeof(c->cred_error), "%s",
					 err ? err->msg : "who is the client: no socket");
			dp_error_free(&err);
		}
		return;
	}
	c = *socket_context;
	*socket_context = NULL;
	if (c == NULL)
		return;
	if (c->uid_counted)
		uid_out(s, c->cred.uid);
	free(c->url);
	free(c->body);
	free(c);
}

/* The raw URL, before libmicrohttpd decodes it; the return value becomes
 * the request's context. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci = sym_MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	conn *c = ci ? ci->socket_context : NULL;

	(void)cls;
	if (c == NULL)
		return NULL;
	free(c->url);
	c->url = strdup(uri);
	c->ph = PH_NEW;
	c->too_large = false;
	c->body_len = 0;
	return c;
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	dpd_server *s = cls;
	conn *c = *req_cls;

	(void)mc;
	(void)toe;
	if (c == NULL)
		return;
	if (c->counted)
		atomic_fetch_sub(&s->d->busy, 1);
	c->counted = false;
	c->ph = PH_NEW;
	c->body_len = 0;
}

static enum MHD_Result queue(struct MHD_Connection *mc, unsigned status, json_t *j, const dpd_response *r,
			     bool close)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	struct MHD_Response *resp;
	enum MHD_Result rc;

	json_decref(j);
	if (text == NULL)
		return MHD_NO;
	resp = sym_MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	if (sym_MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") != MHD_YES ||
	    (close && sym_MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES) ||
	    (r && r->allow[0] && sym_MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow) != MHD_YES) ||
	    (r && r->www_authenticate &&
	     sym_MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"doppeld\"") != MHD_YES)) {
		sym_MHD_destroy_response(resp);
		return MHD_NO;
	}
	rc = sym_MHD_queue_response(mc, status, resp);
	sym_MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result refuse(struct MHD_Connection *mc, unsigned status, const char *msg, bool close)
{
	return queue(mc, status, dpd_error_json(msg), NULL, close);
}

static enum MHD_Result answer(conn *c, struct MHD_Connection *mc, const char *method)
{
	dpd_request req = {
		.method = method,
		.url = c->url,
		.body = c->body ? c->body : "",
		.body_len = c->body_len,
		.via = c->srv->via,
		.cred = &c->cred,
		.authorization = sym_MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
		.mc = mc,
		.fd = c->fd,
	};
	dpd_response resp;
	enum MHD_Result rc;

	if (c->too_large)
		return refuse(mc, MHD_HTTP_CONTENT_TOO_LARGE, "request body over 65536 bytes", true);
	if (c->srv->via == DPD_VIA_UNIX && !c->have_cred)
		return refuse(mc, MHD_HTTP_INTERNAL_SERVER_ERROR, c->cred_error, true);
	dpd_api_handle(c->srv->d, &req, &resp);
	if (resp.stream) {
		if (sym_MHD_add_response_header(resp.stream, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-ndjson") !=
		    MHD_YES) {
			sym_MHD_destroy_response(resp.stream);
			return MHD_NO;
		}
		rc = sym_MHD_queue_response(mc, resp.status, resp.stream);
		sym_MHD_destroy_response(resp.stream);
		return rc;
	}
	return queue(mc, resp.status, resp.body, &resp, false);
}

/* Body bytes; past the limit they are read and dropped, and the request
 * gets 413 when it is complete (a chunked upload declares no length up
 * front). */
static enum MHD_Result take_body(conn *c, const char *data, size_t *size)
{
	size_t n = *size;

	*size = 0;
	if (c->too_large || c->body_len + n > DPD_BODY_MAX) {
		c->too_large = true;
		return MHD_YES;
	}
	if (c->body_len + n + 1 > c->body_cap) {
		size_t cap = c->body_cap ? c->body_cap : 4096;
		char *b;
		while (cap < c->body_len + n + 1)
			cap *= 2;
		b = realloc(c->body, cap);
		if (b == NULL)
			return MHD_NO;
		c->body = b;
		c->body_cap = cap;
	}
	memcpy(c->body + c->body_len, data, n);
	c->body_len += n;
	c->body[c->body_len] = '\0';
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_size, void **req_cls)
{
	dpd_server *s = cls;
	conn *c = *req_cls;
	const char *cl;

	(void)url;
	(void)version;
	if (c == NULL || c->url == NULL)
		return MHD_NO; /* out of memory at connect or URL time */
	if (c->ph == PH_NEW) {
		c->ph = PH_BODY;
		c->counted = true;
		atomic_fetch_add(&s->d->busy, 1);
		if (atomic_load(&s->d->stopping))
			return refuse(mc, MHD_HTTP_SERVICE_UNAVAILABLE, "doppeld is shutting down", true);
		if (c->over_limit) {
			char msg[96];
			snprintf(msg, sizeof(msg), "uid %u has %u connections open already: close some",
				 (unsigned)c->cred.uid, DPD_CONN_PER_UID);
			return refuse(mc, MHD_HTTP_SERVICE_UNAVAILABLE, msg, true);
		}
		/* a body somewhat over the limit is read and dropped, so the
		 * client (still sending) reads the 413 instead of a reset
		 * connection; a huge one is refused before a byte of it */
		cl = sym_MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > DPD_DRAIN_MAX)
			return refuse(mc, MHD_HTTP_CONTENT_TOO_LARGE, "request body over 65536 bytes", true);
		return MHD_YES;
	}
	if (*upload_size)
		return take_body(c, upload_data, upload_size);
	return answer(c, mc, method);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	dp_debug("doppeld: libmicrohttpd: %s", line);
}

int dpd_server_start(dpd *d, int fd, dpd_via via, dpd_server **out, dp_error **err)
{
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG;
	dpd_server *s;
	int fl;

	if (dp_dl_mhd(err) < 0) {
		close(fd);
		return -1;
	}
	s = calloc(1, sizeof(*s));
	fl = fcntl(fd, F_GETFL);
	if (s == NULL) {
		close(fd);
		return dp_fail(err, ENOMEM, "server");
	}
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		dp_fail_errno(err, "listening socket");
		close(fd);
		free(s);
		return -1;
	}
	s->d = d;
	s->via = via;
	s->quiesced_fd = -1;
	pthread_mutex_init(&s->uids_lock, NULL);
	s->mhd = sym_MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				  (size_t)DPD_CONN_MEMORY, MHD_OPTION_CONNECTION_LIMIT,
				  via == DPD_VIA_UNIX ? DPD_CONN_LIMIT_UNIX : DPD_CONN_LIMIT_TCP,
				  MHD_OPTION_CONNECTION_TIMEOUT, DPD_IDLE_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED,
				  on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
				  MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_END);
	if (s->mhd == NULL) {
		close(fd);
		pthread_mutex_destroy(&s->uids_lock);
		free(s);
		return dp_fail(err, 0, "libmicrohttpd cannot serve on the %s socket", via == DPD_VIA_UNIX ? "Unix" : "TCP");
	}
	*out = s;
	return 0;
}

void dpd_server_quiesce(dpd_server *s)
{
	if (s == NULL || s->quiesced)
		return;
	/* the socket stays open until libmicrohttpd's threads are gone */
	s->quiesced_fd = sym_MHD_quiesce_daemon(s->mhd);
	s->quiesced = true;
}

void dpd_server_stop(dpd_server *s)
{
	if (s == NULL)
		return;
	sym_MHD_stop_daemon(s->mhd);
	if (s->quiesced_fd >= 0)
		close(s->quiesced_fd);
	pthread_mutex_destroy(&s->uids_lock);
	free(s->uids);
	free(s);
}
