/* Remote mode (remote.h): libcurl for the API, whether over the daemon's Unix
 * socket or its loopback TCP port with a bearer token; a SOCK_SEQPACKET
 * socket with SCM_RIGHTS for run, so the command gets this process's own
 * stdio (a real terminal for shell) instead of a copy of its bytes. */
#include "cli/remote.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/curlbuf.h"
#include "util/dl-curl.h"

#define MAX_RESPONSE (256u << 20) /* a list of every audit record fits */
#define MAX_MESSAGE 65536

struct dp_remote {
	char *unix_path; /* NULL for TCP */
	char *base;      /* URL prefix */
	char *token;     /* bearer, TCP only */
	CURL *curl;
};

static bool loopback_url(const char *u)
{
	static const char *const ok[] = { "http://127.0.0.1:", "http://localhost:", "http://[::1]:" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strncmp(u, ok[i], strlen(ok[i])) == 0)
			return u[strlen(ok[i])] >= '0' && u[strlen(ok[i])] <= '9';
	return false;
}

int dp_remote_open(const char *host, dp_remote **out, dp_error **err)
{
	const char *from = "--host";
	dp_remote *r;
	struct stat s;

	*out = NULL;
	if (host == NULL || host[0] == '\0') {
		host = getenv("DOPPEL_HOST");
		from = "DOPPEL_HOST";
	}
	if (host == NULL || host[0] == '\0') {
		if (stat(DP_SYSTEM_SOCKET, &s) < 0 || !S_ISSOCK(s.st_mode))
			return 0;
		host = "unix:" DP_SYSTEM_SOCKET;
		from = "the system socket";
	}
	if (strcmp(host, "local") == 0)
		return 0;
	if (dp_dl_curl(err) < 0)
		return dp_wrap(err, "talk to doppeld at %s", host);
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return dp_fail(err, ENOMEM, "remote");
	if (strncmp(host, "unix:", 5) == 0) {
		if (host[5] != '/' || strlen(host + 5) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			free(r);
			return dp_usage(err, "%s '%s': expected unix:/ABSOLUTE/PATH of doppeld's socket", from, host);
		}
		r->unix_path = strdup(host + 5);
		r->base = strdup("http://doppeld");
	} else if (loopback_url(host)) {
		const char *t = getenv("DOPPEL_TOKEN");
		if (t == NULL || t[0] == '\0') {
			free(r);
			return dp_usage(err, "%s '%s' is a TCP address: set DOPPEL_TOKEN to a token from 'doppel token create'",
					from, host);
		}
		r->base = strdup(host);
		r->token = strdup(t);
		if (r->base && r->base[strlen(r->base) - 1] == '/')
			r->base[strlen(r->base) - 1] = '\0';
	} else {
		free(r);
		return dp_usage(err, "%s '%s': expected unix:PATH, http://127.0.0.1:PORT (the daemon listens on loopback "
				     "only) or local",
				from, host);
	}
	r->curl = sym_curl_easy_init();
	if (r->base == NULL || r->curl == NULL || (host[0] == 'u' && r->unix_path == NULL) ||
	    (host[0] == 'h' && r->token == NULL)) {
		dp_remote_close(r);
		return dp_fail(err, ENOMEM, "remote");
	}
	*out = r;
	return 0;
}

void dp_remote_close(dp_remote *r)
{
	if (r == NULL)
		return;
	if (r->curl)
		sym_curl_easy_cleanup(r->curl);
	free(r->unix_path);
	free(r->base);
	if (r->token)
		explicit_bzero(r->token, strlen(r->token));
	free(r->token);
	free(r);
}

/* Where the daemon is, for messages. */
static const char *where(const dp_remote *r)
{
	return r->unix_path ? r->unix_path : r->base;
}

int dp_remote_call(dp_remote *r, const char *method, const char *path, json_t *body, json_t **out,
		   dp_error **err)
{
	cleanup_free char *url = NULL, *auth = NULL, *payload = NULL;
	dp_curlbuf b = { .max = MAX_RESPONSE - 1 };
	struct curl_slist *hdr = NULL;
	json_t *resp = NULL;
	long code = 0;
	CURLcode rc;
	int ret = -1;

	if (out)
		*out = NULL;
	if (asprintf(&url, "%s%s", r->base, path) < 0)
		return dp_fail(err, ENOMEM, "remote");
	sym_curl_easy_reset(r->curl);
	sym_curl_easy_setopt(r->curl, CURLOPT_URL, url);
	if (r->unix_path)
		sym_curl_easy_setopt(r->curl, CURLOPT_UNIX_SOCKET_PATH, r->unix_path);
	sym_curl_easy_setopt(r->curl, CURLOPT_CUSTOMREQUEST, method);
	sym_curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
	sym_curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	sym_curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "http");
	sym_curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, dp_curlbuf_write);
	sym_curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &b);
	hdr = sym_curl_slist_append(hdr, "Accept: application/json");
	if (r->token) {
		if (asprintf(&auth, "Authorization: Bearer %s", r->token) < 0)
			goto nomem;
		hdr = sym_curl_slist_append(hdr, auth);
	}
	if (body) {
		payload = json_dumps(body, JSON_COMPACT);
		if (payload == NULL)
			goto nomem;
		hdr = sym_curl_slist_append(hdr, "Content-Type: application/json");
		sym_curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, payload);
		sym_curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
	}
	sym_curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, hdr);
	rc = sym_curl_easy_perform(r->curl);
	if (rc != CURLE_OK) {
		if (b.overflow)
			dp_fail(err, 0, "doppeld at %s: response larger than %u MiB", where(r), MAX_RESPONSE >> 20);
		else
			dp_fail(err, 0, "doppeld at %s: %s", where(r), sym_curl_easy_strerror(rc));
		goto out;
	}
	sym_curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &code);
	if (b.len) {
		json_error_t je;
		resp = json_loadb(b.data, b.len, 0, &je);
		if (resp == NULL) {
			dp_fail(err, 0, "doppeld at %s: %s %s: HTTP %ld with a body that is not JSON (%s)", where(r), method,
				path, code, je.text);
			goto out;
		}
	}
	if (code < 200 || code > 299) {
		json_t *m = resp ? json_object_get(resp, "error") : NULL;
		const char *msg = json_is_string(m) ? json_string_value(m) : "no message";
		if (code == 400 || code == 404 || code == 413)
			dp_usage(err, "%s", msg);
		else
			dp_fail(err, 0, "%s", msg);
		/* the daemon's words as they are, its reason as the cause */
		(*err)->errnum = code == 403 ? EACCES : code == 404 ? ENOENT : code == 409 ? EBUSY : 0;
		goto out;
	}
	if (out) {
		*out = resp;
		resp = NULL;
	}
	ret = 0;
	goto out;
nomem:
	dp_fail(err, ENOMEM, "remote");
out:
	json_decref(resp);
	sym_curl_slist_free_all(hdr);
	free(b.data);
	return ret;
}

/* One message to the run socket: the request, and our stdio with it. */
static int send_request(int fd, const char *text, dp_error **err)
{
	int fds[3] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO };
	char cbuf[CMSG_SPACE(sizeof(fds))];
	struct iovec iov = { .iov_base = (void *)text, .iov_len = strlen(text) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;

	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
		return dp_fail_errno(err, "send the run request to doppeld");
	return 0;
}

static int send_signal(int fd, int sig)
{
	char m[32];
	int n = snprintf(m, sizeof(m), "{\"signal\":%d}", sig);
	return send(fd, m, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -1;
}

/* Handles one message from the daemon: 1 when the run is over. */
static int on_message(const char *m, size_t n, const char *path, int *status, dp_error **err)
{
	json_error_t je;
	json_t *j = json_loadb(m, n, 0, &je), *v;
	int r = 0;

	if (!json_is_object(j)) {
		json_decref(j);
		return dp_fail(err, 0, "doppeld at %s: a run message that is not a JSON object", path);
	}
	if ((v = json_object_get(j, "exit")) && json_is_integer(v)) {
		*status = (int)json_integer_value(v);
		r = 1;
	} else if ((v = json_object_get(j, "error")) && json_is_string(v)) {
		json_int_t code = json_integer_value(json_object_get(j, "status"));
		if (code == 400 || code == 404)
			dp_usage(err, "%s", json_string_value(v));
		else
			dp_fail(err, 0, "%s", json_string_value(v));
		r = -1;
	}
	json_decref(j);
	return r;
}

int dp_remote_run(dp_remote *r, json_t *req, int *status, dp_error **err)
{
	static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	cleanup_free char *path = NULL, *text = NULL, *msg = NULL;
	cleanup_close int fd = -1, sfd = -1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	sigset_t mask, old;
	char *slash;
	int ret = -1;

	if (r->unix_path == NULL)
		return dp_usage(err, "run and shell through a TCP address are not interactive; use the daemon's Unix "
				     "socket (unix:PATH) or POST /v1/sandboxes/NAME/run (docs/api.md)");
	/* the run socket sits beside the API socket */
	path = strdup(r->unix_path);
	text = json_dumps(req, JSON_COMPACT);
	msg = malloc(MAX_MESSAGE + 1);
	if (path == NULL || text == NULL || msg == NULL)
		return dp_fail(err, ENOMEM, "remote run");
	slash = strrchr(path, '/');
	*slash = '\0';
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/run.sock", path[0] ? path : "") >= (int)sizeof(sa.sun_path))
		return dp_usage(err, "doppeld's run socket path beside %s is too long", r->unix_path);
	if (strlen(text) > MAX_MESSAGE)
		return dp_usage(err, "run request larger than %d bytes", MAX_MESSAGE);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return dp_fail_errno(err, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return dp_fail_errno(err, "connect to doppeld's run socket %s", sa.sun_path);
	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&mask, forwarded[i]);
	if (sigprocmask(SIG_BLOCK, &mask, &old) < 0)
		return dp_fail_errno(err, "sigprocmask");
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		dp_fail_errno(err, "signalfd");
		goto out;
	}
	if (send_request(fd, text, err) < 0)
		goto out;
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			dp_fail_errno(err, "poll");
			goto out;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				send_signal(fd, (int)si.ssi_signo);
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(fd, msg, MAX_MESSAGE, MSG_TRUNC);
			int m;
			if (n < 0) {
				if (errno == EINTR)
					continue;
				dp_fail_errno(err, "read from doppeld's run socket");
				goto out;
			}
			if (n == 0) {
				dp_fail(err, 0, "doppeld closed the run socket before the command's exit status came");
				goto out;
			}
			if (n > MAX_MESSAGE) {
				dp_fail(err, 0, "doppeld sent a run message larger than %d bytes", MAX_MESSAGE);
				goto out;
			}
			m = on_message(msg, (size_t)n, sa.sun_path, status, err);
			if (m < 0)
				goto out;
			if (m > 0)
				break;
		}
	}
	ret = 0;
out:
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ret;
}
