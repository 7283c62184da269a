/* The stand-in server of server.h on libmicrohttpd: one daemon per listening
 * socket (a thread pool with epoll each), plus one on the control socket.
 * A connection keeps one context for its whole life, so a keep-alive client
 * costs no allocation per request beyond the journal entry: the request's
 * arrays are reused and a plain mapping's response is shared. Delays never
 * block a worker: the connection is suspended and the timer resumes it. */
#include "endpoints/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "endpoints/admin.h"
#include "endpoints/endpoint.h"
#include "endpoints/faults.h"
#include "endpoints/respond.h"
#include "endpoints/timer.h"
#include "util/cleanup.h"
#include "util/dl-gnutls.h"
#include "util/dl-mhd.h"
#include "util/log.h"

#define BODY_MAX (8u * 1024 * 1024)       /* larger bodies: 413 */
#define CONN_MEMORY (32u * 1024)          /* per connection: request line and headers (431 beyond) */
#define CONN_LIMIT 20000u                 /* per daemon; more wait in the backlog */
#define DEFAULT_TIMEOUT_S 30u
#define DEFAULT_JOURNAL 10000u
#define DELAY_MAX_MS (10u * 60 * 1000)    /* a lognormal tail is cut here */
#define BODY_KEEP (64u * 1024)            /* a connection's body buffer beyond this is freed after use */

typedef struct listener {
	ep_server *srv;
	ep_endpoint *ep; /* NULL: the control socket, where the Host header picks */
	const char *scheme;
	struct MHD_Daemon *d;
} listener;

struct ep_server {
	ep_endpoint *eps;
	size_t n_eps;
	listener *ls;
	size_t n_ls;
	ep_timer *timer;
	char *state_dir;
	bool quiet;
	unsigned timeout_s;
	atomic_bool stopping;
	pthread_mutex_t conns_lock; /* the watchdog's list of open connections */
	struct conn *conns;
	char **pems; /* certificates and keys, alive as long as the daemons */
	size_t n_pems;
};

typedef struct kvbuf {
	ep_kv *v;
	size_t n, cap;
} kvbuf;

enum phase {
	PH_NEW,     /* headers are in; nothing decided */
	PH_BODY,    /* receiving the body */
	PH_DELAYED, /* suspended until the delay is over */
};

typedef struct conn {
	struct conn *prev, *next;
	listener *l;
	struct MHD_Connection *mc;
	int fd;
	bool shut; /* the watchdog gave up on it */
	/* waiting for a whole request since (ms); 0 while one is handled */
	_Atomic uint64_t wait_since;
	enum phase ph;
	bool too_large;
	char *url; /* "url\0path\0" as received */
	size_t url_cap;
	char *body;
	size_t body_len, body_cap;
	kvbuf hdr, query, cookies;
	char host[256], client[80];
	ep_request req;
	ep_endpoint *ep;
	ep_stub *stub; /* held from match to completion */
} conn;

static _Thread_local uint64_t rng_state;
/* Set when a fault makes the handler refuse on purpose, so libmicrohttpd's
 * "internal error" line for it (logged on this thread) is not shown. */
static _Thread_local bool fault_closing;

static double random_unit(void)
{
	uint64_t x;

	if (rng_state == 0 && (getrandom(&rng_state, sizeof(rng_state), GRND_NONBLOCK) != sizeof(rng_state) ||
			       rng_state == 0))
		rng_state = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)&rng_state;
	x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return (double)((x * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}

/* fixedDelayMilliseconds plus a draw from delayDistribution. */
static uint64_t delay_ms(const ep_response *resp)
{
	double d = resp->fixed_delay_ms;

	if (resp->delay == EP_DELAY_UNIFORM) {
		d += resp->delay_a + (resp->delay_b - resp->delay_a) * random_unit();
	} else if (resp->delay == EP_DELAY_LOGNORMAL) {
		/* Box-Muller; median * e^(sigma * N(0,1)) */
		double u = random_unit(), v = random_unit();
		double n = sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(2.0 * M_PI * v);
		d += resp->delay_a * exp(resp->delay_b * n);
	}
	if (!(d > 0))
		return 0;
	return d > DELAY_MAX_MS ? DELAY_MAX_MS : (uint64_t)d;
}

/* --- building the ep_request from libmicrohttpd's view ------------------- */

static int kv_push(kvbuf *b, const char *name, const char *value)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		ep_kv *v = realloc(b->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = (ep_kv){ .name = (char *)name, .value = (char *)(value ? value : "") };
	return 0;
}

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	return kv_push(cls, key, value) == 0 ? MHD_YES : MHD_NO;
}

static void set_host(conn *c, const char *h)
{
	size_t n = 0, colon = 0;

	for (; h && h[n] && n + 1 < sizeof(c->host); n++) {
		c->host[n] = (char)((h[n] >= 'A' && h[n] <= 'Z') ? h[n] + 32 : h[n]);
		if (h[n] == ':')
			colon = n;
		else if (h[n] == ']')
			colon = 0;
	}
	c->host[colon ? colon : n] = '\0';
}

static void build_request(conn *c, const char *method)
{
	ep_request *r = &c->req;

	c->hdr.n = c->query.n = c->cookies.n = 0;
	/* an array that cannot grow (out of memory) just stops short */
	sym_MHD_get_connection_values(c->mc, MHD_HEADER_KIND, collect, &c->hdr);
	sym_MHD_get_connection_values(c->mc, MHD_GET_ARGUMENT_KIND, collect, &c->query);
	sym_MHD_get_connection_values(c->mc, MHD_COOKIE_KIND, collect, &c->cookies);
	set_host(c, sym_MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST));
	*r = (ep_request){
		.method = (char *)method,
		.url = c->url,
		.path = c->url + strlen(c->url) + 1,
		.host = c->host,
		.query = c->query.v, .n_query = c->query.n,
		.headers = c->hdr.v, .n_headers = c->hdr.n,
		.cookies = c->cookies.v, .n_cookies = c->cookies.n,
		.body = c->body ? c->body : (char *)"",
		.body_len = c->body_len,
		.client = c->client,
		.scheme = (char *)c->l->scheme,
	};
}

/* --- connection lifecycle ------------------------------------------------ */

static void format_client(conn *c)
{
	const union MHD_ConnectionInfo *ci = sym_MHD_get_connection_info(c->mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(c->client, sizeof(c->client), "%s:%u", ip, ntohs(in->sin_port));
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(c->client, sizeof(c->client), "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		snprintf(c->client, sizeof(c->client), "local");
	}
}

static void conn_free(conn *c)
{
	ep_stub_unref(c->stub);
	free(c->url);
	free(c->body);
	free(c->hdr.v);
	free(c->query.v);
	free(c->cookies.v);
	free(c);
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	listener *l = cls;
	ep_server *s = l->srv;
	conn *c;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fi = sym_MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
		c = calloc(1, sizeof(*c));
		*socket_context = c;
		if (c == NULL)
			return; /* the request handler refuses it */
		c->l = l;
		c->mc = mc;
		c->fd = fi ? fi->connect_fd : -1;
		atomic_init(&c->wait_since, ep_now_ms());
		format_client(c);
		pthread_mutex_lock(&s->conns_lock);
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		pthread_mutex_unlock(&s->conns_lock);
		return;
	}
	c = *socket_context;
	if (c == NULL)
		return;
	/* unlinked before libmicrohttpd closes the fd, so the watchdog never
	 * shuts down a reused descriptor */
	pthread_mutex_lock(&s->conns_lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&s->conns_lock);
	*socket_context = NULL;
	conn_free(c);
}

/* Slowloris: a client dribbling its request one byte at a time resets
 * libmicrohttpd's idle timeout forever; this deadline is for the whole
 * request. shutdown() makes libmicrohttpd see the end and close it. */
static void watchdog(void *arg)
{
	ep_server *s = arg;
	uint64_t now = ep_now_ms(), limit = (uint64_t)s->timeout_s * 1000;

	pthread_mutex_lock(&s->conns_lock);
	for (conn *c = s->conns; c; c = c->next) {
		uint64_t since = atomic_load_explicit(&c->wait_since, memory_order_relaxed);
		if (since && !c->shut && c->fd >= 0 && now - since > limit) {
			c->shut = true;
			if (shutdown(c->fd, SHUT_RDWR) < 0)
				dp_debug("watchdog: shutdown of a slow client: %s", strerror(errno));
		}
	}
	pthread_mutex_unlock(&s->conns_lock);
}

/* The raw URL (libmicrohttpd decodes its own copy in place afterwards); the
 * return value becomes the request's context. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci = sym_MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	conn *c = ci ? ci->socket_context : NULL;
	size_t len = strlen(uri), plen = strcspn(uri, "?");

	(void)cls;
	if (c == NULL)
		return NULL;
	c->ph = PH_NEW;
	c->too_large = false;
	c->body_len = 0;
	if (len + plen + 2 > c->url_cap) {
		char *u = realloc(c->url, len + plen + 2);
		if (u == NULL)
			return NULL;
		c->url = u;
		c->url_cap = len + plen + 2;
	}
	memcpy(c->url, uri, len + 1);
	memcpy(c->url + len + 1, uri, plen);
	c->url[len + 1 + plen] = '\0';
	return c;
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	conn *c = *req_cls;

	(void)cls;
	(void)mc;
	(void)toe;
	if (c == NULL)
		return;
	ep_stub_unref(c->stub);
	c->stub = NULL;
	c->ph = PH_NEW;
	if (c->body_cap > BODY_KEEP) {
		free(c->body);
		c->body = NULL;
		c->body_cap = 0;
	}
	c->body_len = 0;
	atomic_store_explicit(&c->wait_since, ep_now_ms(), memory_order_relaxed);
}

/* --- answering ----------------------------------------------------------- */

static enum MHD_Result queue_answer(conn *c, unsigned status, json_t *j, bool close)
{
	struct MHD_Response *mr = ep_resp_json(j);
	enum MHD_Result rc;

	if (mr == NULL)
		return MHD_NO;
	if (close && sym_MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES) {
		sym_MHD_destroy_response(mr);
		return MHD_NO; /* closing without an answer is the next best */
	}
	rc = sym_MHD_queue_response(c->mc, status, mr);
	sym_MHD_destroy_response(mr);
	return rc;
}

static enum MHD_Result queue_json(conn *c, unsigned status, json_t *j)
{
	return queue_answer(c, status, j, false);
}

/* After a framing error nothing more on the connection can be trusted. */
static enum MHD_Result queue_and_close(conn *c, unsigned status, json_t *j)
{
	return queue_answer(c, status, j, true);
}

static void log_request(conn *c, unsigned status, const char *what)
{
	if (!c->l->srv->quiet)
		dp_info("%s %s %s -> %u %s", c->client, c->req.method, c->req.url, status, what);
}

/* The matched mapping's answer, after any delay. */
static enum MHD_Result answer(conn *c)
{
	const ep_mapping *m = c->stub->m;
	struct MHD_Response *mr;
	dp_error *err = NULL;
	enum MHD_Result rc;

	if (atomic_load(&c->l->srv->stopping))
		return MHD_NO;
	if (m->resp.fault != EP_FAULT_NONE) {
		ep_fault_inject(c->mc, m->resp.fault);
		fault_closing = true;
		return MHD_NO; /* libmicrohttpd closes without a byte of its own */
	}
	if (c->stub->fixed)
		return sym_MHD_queue_response(c->mc, m->resp.status, c->stub->fixed);
	if (m->resp.dribble_chunks)
		mr = ep_resp_dribble(&m->resp, &c->req, c->mc, c->l->srv->timer, &err);
	else
		mr = ep_resp_render(&m->resp, &c->req, &err);
	if (mr == NULL) {
		json_t *j = ep_admin_error("mapping %s (%s): %s", m->id, m->source, err->msg);
		dp_error_free(&err);
		return queue_json(c, MHD_HTTP_INTERNAL_SERVER_ERROR, j);
	}
	rc = sym_MHD_queue_response(c->mc, m->resp.status, mr);
	sym_MHD_destroy_response(mr);
	return rc;
}

static void resume(void *mc)
{
	sym_MHD_resume_connection(mc);
}

static enum MHD_Result unmatched(conn *c)
{
	json_t *near = ep_stubs_near_miss(&c->ep->stubs, &c->req);
	json_t *j;

	ep_journal_record(c->ep->journal, &c->req, MHD_HTTP_NOT_FOUND, NULL, EP_FAULT_NONE);
	log_request(c, MHD_HTTP_NOT_FOUND, "(no mapping matched)");
	j = json_pack("{s:i, s:s, s:{s:s, s:s}, s:o}", "status", MHD_HTTP_NOT_FOUND, "message",
		      "Request was not matched", "request", "method", c->req.method, "url", c->req.url, "closestStub",
		      near);
	if (j && json_is_object(near))
		json_object_set(j, "why", json_object_get(near, "why"));
	return queue_json(c, MHD_HTTP_NOT_FOUND, j);
}

static ep_endpoint *endpoint_for_host(ep_server *s, const char *host)
{
	ep_endpoint *any = NULL;

	for (size_t i = 0; i < s->n_eps; i++) {
		if (strcasecmp(s->eps[i].host, host) == 0)
			return &s->eps[i];
		if (s->eps[i].host[0] == '\0')
			any = &s->eps[i];
	}
	return any;
}

static enum MHD_Result admin(conn *c)
{
	unsigned status;
	json_t *body;

	ep_admin_handle(c->ep, &c->req, &status, &body);
	return queue_json(c, status, body);
}

/* Framing libmicrohttpd lets through but a proxy in front could read
 * differently (request smuggling): Content-Length twice with different
 * values, or beside Transfer-Encoding. */
static bool ambiguous_length(const conn *c)
{
	const char *cl = NULL;
	bool te = false;

	for (size_t i = 0; i < c->hdr.n; i++) {
		const ep_kv *h = &c->hdr.v[i];
		if (strcasecmp(h->name, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
			te = true;
		else if (strcasecmp(h->name, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
			continue;
		else if (cl && strcmp(cl, h->value) != 0)
			return true;
		else
			cl = h->value;
	}
	return cl && te;
}

/* The whole request is in: admin call or mapping. */
static enum MHD_Result dispatch(conn *c, const char *method)
{
	ep_server *s = c->l->srv;
	uint64_t delay;

	atomic_store_explicit(&c->wait_since, 0, memory_order_relaxed);
	build_request(c, method);
	if (ambiguous_length(c))
		return queue_and_close(c, MHD_HTTP_BAD_REQUEST,
				  ep_admin_error("ambiguous request length (Content-Length repeated or with Transfer-Encoding)"));
	if (c->too_large)
		return queue_and_close(c, MHD_HTTP_CONTENT_TOO_LARGE,
				  ep_admin_error("request body over %u bytes", BODY_MAX));
	c->ep = c->l->ep ? c->l->ep : endpoint_for_host(s, c->host);
	if (c->ep == NULL)
		return queue_json(c, MHD_HTTP_NOT_FOUND, ep_admin_error("no endpoint for host '%s'", c->host));
	if (c->l->ep == NULL || ep_admin_path(c->req.path)) {
		if (!ep_admin_path(c->req.path))
			return queue_json(c, MHD_HTTP_NOT_FOUND,
					  ep_admin_error("the control socket serves only %s", EP_ADMIN_PREFIX));
		return admin(c);
	}
	c->stub = ep_stubs_match(&c->ep->stubs, &c->req);
	if (c->stub == NULL)
		return unmatched(c);
	ep_journal_record(c->ep->journal, &c->req, c->stub->m->resp.status, c->stub->m->id, c->stub->m->resp.fault);
	if (!s->quiet)
		log_request(c, c->stub->m->resp.status,
			    c->stub->m->resp.fault ? ep_fault_name(c->stub->m->resp.fault) : c->stub->m->id);
	delay = delay_ms(&c->stub->m->resp);
	if (delay == 0 || atomic_load(&s->stopping))
		return answer(c);
	/* suspended first: the timer may fire before ep_timer_add returns */
	c->ph = PH_DELAYED;
	sym_MHD_suspend_connection(c->mc);
	if (ep_timer_add(s->timer, ep_now_ms() + delay, resume, c->mc) < 0)
		sym_MHD_resume_connection(c->mc); /* cannot wait: answer at once */
	return MHD_YES;
}

/* The first call: headers are in. A declared body over the limit is refused
 * before a byte of it is read (no 100 Continue either). */
static enum MHD_Result begin(conn *c)
{
	const char *cl = sym_MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	c->ph = PH_BODY;
	if (cl && strtoull(cl, NULL, 10) > BODY_MAX)
		return queue_and_close(c, MHD_HTTP_CONTENT_TOO_LARGE,
				  ep_admin_error("request body over %u bytes", BODY_MAX));
	return MHD_YES;
}

/* Body bytes; past the limit they are read and dropped, and the request
 * gets 413 (chunked uploads declare no length up front). */
static enum MHD_Result take_body(conn *c, const char *data, size_t *size)
{
	size_t n = *size;

	*size = 0;
	if (c->too_large || c->body_len + n > BODY_MAX) {
		c->too_large = true;
		return MHD_YES;
	}
	if (c->body_len + n + 1 > c->body_cap) {
		size_t cap = c->body_cap ? c->body_cap : 4096;
		while (cap < c->body_len + n + 1)
			cap *= 2;
		char *b = realloc(c->body, cap);
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
	conn *c = *req_cls;

	(void)cls;
	(void)url;
	(void)version;
	if (c == NULL || c->url == NULL)
		return MHD_NO; /* out of memory at connect or URL time */
	switch (c->ph) {
	case PH_NEW:
		return begin(c);
	case PH_BODY:
		if (*upload_size)
			return take_body(c, upload_data, upload_size);
		return dispatch(c, method);
	case PH_DELAYED:
		return answer(c);
	}
	(void)mc;
	return MHD_NO;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (fault_closing) {
		fault_closing = false;
		if (strncmp(line, "Application reported internal error", 35) == 0)
			return;
	}
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	dp_warn("libmicrohttpd: %s", line);
}

/* --- start and stop ------------------------------------------------------ */

static int nonblocking(int fd, dp_error **err)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return dp_fail_errno(err, "endpoints: listening socket %d", fd);
	return 0;
}

static char *keep_pem(ep_server *s, const char *pem)
{
	char *copy = strdup(pem);

	if (copy == NULL)
		return NULL;
	s->pems[s->n_pems++] = copy;
	return copy;
}

/* Starts a daemon on *fd (taken: -1 after, whatever happens). */
static int start_daemon(ep_server *s, ep_endpoint *ep, int *fd, const char *cert, const char *key, unsigned threads,
			dp_error **err)
{
	listener *l = &s->ls[s->n_ls];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
	struct MHD_OptionItem tls[3] = { { MHD_OPTION_END, 0, NULL } };
	cleanup_close int sock = dp_steal_fd(fd);
	const char *what = ep == NULL ? "control socket" : cert ? "https" : "http";

	if (nonblocking(sock, err) < 0)
		return -1;
	if (cert) {
		char *c = keep_pem(s, cert), *k = keep_pem(s, key);
		if (c == NULL || k == NULL)
			return dp_fail(err, ENOMEM, "endpoints");
		flags |= MHD_USE_TLS;
		tls[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, c };
		tls[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, k };
	}
	if (!s->quiet)
		flags |= MHD_USE_ERROR_LOG;
	*l = (listener){ .srv = s, .ep = ep, .scheme = cert ? "https" : "http" };
	l->d = sym_MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET, sock, MHD_OPTION_THREAD_POOL_SIZE,
		threads > 1 ? threads : 1u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
		MHD_OPTION_CONNECTION_LIMIT, CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT, s->timeout_s,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, l, MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, l, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	if (l->d == NULL)
		return dp_fail(err, 0, "endpoints %s%s%s: libmicrohttpd cannot serve on the %s socket (a bad "
				       "certificate or key?)",
			       ep ? "'" : "", ep ? ep->host : "", ep ? "'" : "", what);
	sock = -1; /* libmicrohttpd closes it at stop */
	s->n_ls++;
	return 0;
}

static void close_conf_fds(const ep_server_conf *conf)
{
	for (size_t i = 0; i < conf->n_endpoints; i++) {
		if (conf->endpoints[i].http_fd >= 0)
			close(conf->endpoints[i].http_fd);
		if (conf->endpoints[i].https_fd >= 0)
			close(conf->endpoints[i].https_fd);
	}
	if (conf->control_fd >= 0)
		close(conf->control_fd);
}

static int load_state(ep_server *s, ep_endpoint *ep, dp_error **err)
{
	json_t *st = NULL;
	int rc;

	if (s->state_dir == NULL)
		return 0;
	if (ep_state_load(s->state_dir, ep->host, &st, err) < 0)
		return -1;
	ep_stubs_scenarios_import(&ep->stubs, json_object_get(st, "scenarios"));
	rc = ep_journal_import(ep->journal, json_object_get(st, "requests"), ep->host[0] ? ep->host : "default",
			       err);
	json_decref(st);
	return rc;
}

static void save_state(ep_server *s, ep_endpoint *ep)
{
	dp_error *err = NULL;
	json_t *st;

	if (s->state_dir == NULL)
		return;
	st = json_pack("{s:o?, s:o?}", "scenarios", ep_stubs_scenarios_export(&ep->stubs), "requests",
		       ep_journal_export(ep->journal, &ep->stubs));
	if (st == NULL || ep_state_save(s->state_dir, ep->host, st, &err) < 0)
		dp_warn("endpoint %s: state not saved: %s", ep->host, err ? err->msg : "out of memory");
	dp_error_free(&err);
	json_decref(st);
}

/* Stops and frees what start made, in reverse; with save, writes the state
 * first. */
static void server_free(ep_server *s, size_t n_loaded, bool save)
{
	atomic_store(&s->stopping, true);
	/* resumes every suspended connection (libmicrohttpd must not stop with
	 * one): its handler sees stopping and closes it */
	ep_timer_stop(s->timer);
	for (size_t i = 0; i < s->n_ls; i++)
		sym_MHD_stop_daemon(s->ls[i].d);
	for (size_t i = 0; i < n_loaded; i++) {
		if (save)
			save_state(s, &s->eps[i]);
		ep_journal_free(s->eps[i].journal);
		ep_stubs_destroy(&s->eps[i].stubs);
		free(s->eps[i].host);
	}
	/* the daemons are gone: no worker can reach the timer any more */
	ep_timer_free(s->timer);
	for (size_t i = 0; i < s->n_pems; i++)
		free(s->pems[i]);
	pthread_mutex_destroy(&s->conns_lock);
	free(s->pems);
	free(s->eps);
	free(s->ls);
	free(s->state_dir);
	free(s);
}

static int load_endpoint(ep_server *s, const ep_server_conf *conf, size_t i, dp_error **err)
{
	const ep_endpoint_conf *ec = &conf->endpoints[i];
	ep_endpoint *ep = &s->eps[i];

	for (size_t k = 0; k < i; k++)
		if (strcasecmp(conf->endpoints[k].host, ec->host) == 0)
			return dp_usage(err, "endpoint '%s' is listed twice", ec->host);
	if (ec->mappings_dir == NULL)
		return dp_usage(err, "endpoint '%s': no mappings directory", ec->host);
	if (ec->https_fd >= 0 && (ec->cert_pem == NULL || ec->key_pem == NULL))
		return dp_usage(err, "endpoint '%s': HTTPS needs a certificate and a key", ec->host);
	ep->host = strdup(ec->host);
	if (ep->host == NULL)
		return dp_fail(err, ENOMEM, "endpoints");
	if (ep_stubs_init(&ep->stubs, ec->mappings_dir, err) < 0) {
		free(ep->host);
		return -1;
	}
	if (ep_journal_new(conf->journal_max ? conf->journal_max : DEFAULT_JOURNAL, &ep->journal, err) < 0) {
		ep_stubs_destroy(&ep->stubs);
		free(ep->host);
		return -1;
	}
	for (size_t m = 0; m < ep->stubs.n; m++)
		if (ep->stubs.v[m]->m->resp.status_message && !conf->quiet)
			dp_warn("%s: response.statusMessage is not sent: libmicrohttpd %s sends the standard reason "
				"phrase",
				ep->stubs.v[m]->m->source, sym_MHD_get_version());
	return 0;
}

static int start_daemons(ep_server *s, const ep_server_conf *conf, dp_error **err)
{
	unsigned threads = conf->threads ? conf->threads : 1;
	int fd;

	for (size_t i = 0; i < conf->n_endpoints; i++) {
		const ep_endpoint_conf *ec = &conf->endpoints[i];
		ep_endpoint *ep = &s->eps[i];
		fd = ec->http_fd;
		if (fd >= 0 && start_daemon(s, ep, &fd, NULL, NULL, threads, err) < 0)
			return -1;
		fd = ec->https_fd;
		if (fd >= 0 && start_daemon(s, ep, &fd, ec->cert_pem, ec->key_pem, threads, err) < 0)
			return -1;
	}
	fd = conf->control_fd;
	if (fd >= 0 && start_daemon(s, NULL, &fd, NULL, NULL, 1, err) < 0)
		return -1;
	return 0;
}

/* The fds of the daemons start_daemons did not reach yet. */
static void close_unstarted(const ep_server_conf *conf, size_t started)
{
	size_t k = 0;

	for (size_t i = 0; i < conf->n_endpoints; i++) {
		int fds[2] = { conf->endpoints[i].http_fd, conf->endpoints[i].https_fd };
		for (int j = 0; j < 2; j++)
			if (fds[j] >= 0 && k++ > started)
				close(fds[j]);
	}
	if (conf->control_fd >= 0 && k > started)
		close(conf->control_fd);
}

int ep_server_start(const ep_server_conf *conf, ep_server **out, dp_error **err)
{
	size_t n_fds = conf->control_fd >= 0 ? 1 : 0, loaded = 0;
	ep_server *s;

	/* GnuTLS too: faults.c writes to TLS sessions directly. A confined
	 * server (endpoints/confine.h) cannot load anything: its parent loads
	 * both before the fork (start_server in sandbox/endpoints.c). */
	if (dp_dl_mhd(err) < 0 || dp_dl_gnutls(err) < 0) {
		close_conf_fds(conf);
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		close_conf_fds(conf);
		return dp_fail(err, ENOMEM, "endpoints");
	}
	pthread_mutex_init(&s->conns_lock, NULL);
	s->quiet = conf->quiet;
	s->timeout_s = conf->timeout_s ? conf->timeout_s : DEFAULT_TIMEOUT_S;
	for (size_t i = 0; i < conf->n_endpoints; i++)
		n_fds += (conf->endpoints[i].http_fd >= 0) + (conf->endpoints[i].https_fd >= 0);
	s->eps = calloc(conf->n_endpoints ? conf->n_endpoints : 1, sizeof(*s->eps));
	s->ls = calloc(n_fds ? n_fds : 1, sizeof(*s->ls));
	s->pems = calloc(2 * n_fds + 1, sizeof(*s->pems));
	s->state_dir = conf->state_dir ? strdup(conf->state_dir) : NULL;
	if (s->eps == NULL || s->ls == NULL || s->pems == NULL || (conf->state_dir && s->state_dir == NULL)) {
		dp_fail(err, ENOMEM, "endpoints");
		goto fail;
	}
	s->n_eps = conf->n_endpoints;
	/* every mapping first: a bad file means nothing is served at all */
	for (; loaded < conf->n_endpoints; loaded++)
		if (load_endpoint(s, conf, loaded, err) < 0)
			goto fail;
	for (size_t i = 0; i < loaded; i++)
		if (load_state(s, &s->eps[i], err) < 0)
			goto fail;
	if (ep_timer_start(watchdog, s, &s->timer, err) < 0)
		goto fail;
	if (start_daemons(s, conf, err) < 0) {
		close_unstarted(conf, s->n_ls);
		server_free(s, loaded, false);
		return -1;
	}
	*out = s;
	return 0;
fail:
	close_conf_fds(conf);
	server_free(s, loaded, false);
	return -1;
}

void ep_server_stop(ep_server *s)
{
	if (s == NULL)
		return;
	server_free(s, s->n_eps, true);
}

size_t ep_server_mapping_count(ep_server *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_eps; i++)
		n += ep_stubs_count(&s->eps[i].stubs);
	return n;
}
