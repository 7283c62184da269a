/* `doppel endpoints serve [--port P] [--https-port P --cert FILE --key FILE]
 * [--bind ADDR] [--threads N] [--journal N] [--timeout S] [--state DIR]
 * [--control SOCKET] [--quiet] DIR`: the stand-in server alone, outside any
 * sandbox, for one directory of WireMock mappings answering any Host
 * (--state keeps scenarios and the journal across runs, --control adds the
 * admin API on a Unix socket, as a sandbox's server has them). It binds its own sockets, serves
 * until SIGINT or SIGTERM, then stops cleanly. The signals are blocked
 * before the server's threads exist, so only sigwait() ever sees them. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "endpoints/server.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/parse.h"

#define USAGE                                                                                                     \
	"[--port P] [--https-port P --cert FILE --key FILE] [--bind ADDR] [--threads N] [--journal N] "          \
	"[--timeout S] [--state DIR] [--control SOCKET] [--quiet] DIR"
#define PEM_MAX (1024 * 1024)

typedef struct serve_args {
	const char *port, *https_port, *cert, *key, *bind, *threads, *journal, *timeout, *state, *control, *dir;
	bool quiet;
} serve_args;

static int parse_args(int argc, char **argv, serve_args *a, dp_error **err)
{
	struct {
		const char *name;
		const char **value;
	} opts[] = {
		{ "--port", &a->port },       { "--https-port", &a->https_port }, { "--cert", &a->cert },
		{ "--key", &a->key },         { "--bind", &a->bind },             { "--threads", &a->threads },
		{ "--journal", &a->journal }, { "--timeout", &a->timeout },       { "--state", &a->state },
		{ "--control", &a->control },
	};

	for (int i = 1; i < argc; i++) {
		bool known = false;
		for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]) && !known; k++)
			if (dp_opt_is(argv[i], opts[k].name)) {
				if (dp_opt_value(argc, argv, &i, opts[k].value, err) < 0)
					return -1;
				known = true;
			}
		if (known)
			continue;
		if (dp_opt_is(argv[i], "--quiet"))
			a->quiet = true;
		else if (argv[i][0] == '-')
			return dp_usage(err, "endpoints serve: unknown option '%s'; usage: %s", argv[i], USAGE);
		else if (a->dir)
			return dp_usage(err, "endpoints serve: one mappings directory, got '%s' and '%s'", a->dir,
					argv[i]);
		else
			a->dir = argv[i];
	}
	if (a->dir == NULL)
		return dp_usage(err, "endpoints serve: expected a mappings directory; usage: %s", USAGE);
	if (a->port == NULL && a->https_port == NULL)
		return dp_usage(err, "endpoints serve: expected --port P or --https-port P; usage: %s", USAGE);
	if (a->https_port && (a->cert == NULL || a->key == NULL))
		return dp_usage(err, "--https-port: expected --cert FILE and --key FILE too");
	if (!a->https_port && (a->cert || a->key))
		return dp_usage(err, "%s: only with --https-port", a->cert ? "--cert" : "--key");
	return 0;
}

/* A PEM file into memory (libmicrohttpd takes certificates as strings). */
static int read_pem(const char *what, const char *path, char **out, dp_error **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	cleanup_free char *buf = NULL;
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return dp_usage(err, "%s %s: %s", what, path, strerror(errno));
	buf = malloc(PEM_MAX + 1);
	if (buf == NULL)
		return dp_fail(err, ENOMEM, "%s", path);
	while ((n = read(fd, buf + len, PEM_MAX - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		return dp_fail_errno(err, "%s %s", what, path);
	if (len == PEM_MAX)
		return dp_usage(err, "%s %s: larger than %d bytes; expected a PEM file", what, path, PEM_MAX);
	buf[len] = '\0';
	if (strstr(buf, "-----BEGIN ") == NULL)
		return dp_usage(err, "%s %s: not a PEM file", what, path);
	*out = dp_steal_ptr(&buf);
	return 0;
}

/* A listening TCP socket on addr:port (port 0: any free one, reported). */
static int listen_on(const char *what, const char *addr, uint16_t port, uint16_t *actual, dp_error **err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_PASSIVE };
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	cleanup_close int fd = -1;
	char service[8];
	int one = 1, rc;

	snprintf(service, sizeof(service), "%u", port);
	rc = getaddrinfo(addr, service, &hints, &ai);
	if (rc != 0)
		return dp_usage(err, "--bind %s: not a numeric IPv4 or IPv6 address (%s)", addr, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return dp_fail_errno(err, "%s: socket", what);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
		freeaddrinfo(ai);
		return dp_fail_errno(err, "%s %u: cannot listen on %s port %u", what, port, addr, port);
	}
	freeaddrinfo(ai);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return dp_fail_errno(err, "%s: getsockname", what);
	*actual = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	return dp_steal_fd(&fd);
}

/* The control socket at path; a stale socket there is replaced, anything
 * else is refused. */
static int listen_unix(const char *path, dp_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cleanup_close int fd = -1;
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path))
		return dp_usage(err, "--control %s: path too long for a Unix socket", path);
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return dp_usage(err, "--control %s: exists and is not a socket", path);
		if (unlink(path) < 0)
			return dp_fail_errno(err, "--control %s: remove the old socket", path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return dp_fail_errno(err, "--control: socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0)
		return dp_fail_errno(err, "--control %s: cannot listen", path);
	return dp_steal_fd(&fd);
}

static int check_state_dir(const char *dir, dp_error **err)
{
	struct stat st;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return dp_usage(err, "--state %s: not a directory", dir);
	return 0;
}

/* Thousands of clients need thousands of descriptors: the soft limit goes
 * up to the hard one (no privilege needed). */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			dp_debug("cannot raise the open files limit: %s", strerror(errno));
	}
}

typedef struct numbers {
	uint16_t port, https_port;
	unsigned threads, timeout;
	size_t journal;
} numbers;

static int parse_numbers(const serve_args *a, numbers *n, dp_error **err)
{
	uint64_t v;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	n->threads = cpus > 0 ? (unsigned)cpus : 1;
	if (a->port) {
		if (dp_parse_uint("--port", a->port, 0, 65535, &v, err) < 0)
			return -1;
		n->port = (uint16_t)v;
	}
	if (a->https_port) {
		if (dp_parse_uint("--https-port", a->https_port, 0, 65535, &v, err) < 0)
			return -1;
		n->https_port = (uint16_t)v;
	}
	if (a->threads) {
		if (dp_parse_uint("--threads", a->threads, 1, 1024, &v, err) < 0)
			return -1;
		n->threads = (unsigned)v;
	}
	if (a->journal) {
		if (dp_parse_uint("--journal", a->journal, 1, 10000000, &v, err) < 0)
			return -1;
		n->journal = (size_t)v;
	}
	if (a->timeout) {
		if (dp_parse_uint("--timeout", a->timeout, 1, 86400, &v, err) < 0)
			return -1;
		n->timeout = (unsigned)v;
	}
	return 0;
}

static int check_dir(const char *dir, dp_error **err)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return dp_usage(err, "endpoints serve: %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return dp_usage(err, "endpoints serve: %s: not a directory", dir);
	return 0;
}

static void url(char *buf, size_t len, const char *scheme, const char *addr, uint16_t port)
{
	snprintf(buf, len, strchr(addr, ':') ? "%s://[%s]:%u" : "%s://%s:%u", scheme, addr, port);
}

int cmd_endpoints_serve(int argc, char **argv, dp_error **err)
{
	serve_args a = { .bind = "127.0.0.1" };
	numbers n = { 0 };
	cleanup_free char *cert = NULL, *key = NULL;
	ep_endpoint_conf ec = { .host = "", .http_fd = -1, .https_fd = -1 };
	ep_server_conf conf = { .endpoints = &ec, .n_endpoints = 1, .control_fd = -1 };
	char http_url[96] = "", https_url[96] = "";
	ep_server *srv = NULL;
	sigset_t mask;
	int sig, rc;

	if (parse_args(argc, argv, &a, err) < 0 || parse_numbers(&a, &n, err) < 0 || check_dir(a.dir, err) < 0)
		return -1;
	if (a.https_port && (read_pem("--cert", a.cert, &cert, err) < 0 || read_pem("--key", a.key, &key, err) < 0))
		return -1;
	if (a.state && check_state_dir(a.state, err) < 0)
		return -1;
	raise_nofile();
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	rc = pthread_sigmask(SIG_BLOCK, &mask, NULL);
	if (rc != 0)
		return dp_fail(err, rc, "endpoints serve: block signals");
	if (a.port) {
		ec.http_fd = listen_on("--port", a.bind, n.port, &n.port, err);
		if (ec.http_fd < 0)
			return -1;
		url(http_url, sizeof(http_url), "http", a.bind, n.port);
	}
	if (a.https_port) {
		ec.https_fd = listen_on("--https-port", a.bind, n.https_port, &n.https_port, err);
		if (ec.https_fd < 0) {
			if (ec.http_fd >= 0)
				close(ec.http_fd);
			return -1;
		}
		url(https_url, sizeof(https_url), "https", a.bind, n.https_port);
	}
	if (a.control) {
		conf.control_fd = listen_unix(a.control, err);
		if (conf.control_fd < 0) {
			if (ec.http_fd >= 0)
				close(ec.http_fd);
			if (ec.https_fd >= 0)
				close(ec.https_fd);
			return -1;
		}
	}
	ec.mappings_dir = a.dir;
	conf.state_dir = a.state;
	ec.cert_pem = cert;
	ec.key_pem = key;
	conf.threads = n.threads;
	conf.journal_max = n.journal;
	conf.timeout_s = n.timeout;
	conf.quiet = a.quiet;
	if (ep_server_start(&conf, &srv, err) < 0)
		return -1;
	dp_info("serving %zu mappings from %s on %s%s%s", ep_server_mapping_count(srv), a.dir, http_url,
		http_url[0] && https_url[0] ? " and " : "", https_url);
	do {
		rc = sigwait(&mask, &sig);
	} while (rc == EINTR);
	ep_server_stop(srv);
	if (a.control && unlink(a.control) < 0)
		dp_debug("--control %s: %s", a.control, strerror(errno));
	return DP_EXIT_OK;
}
