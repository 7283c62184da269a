/* POST /v1/sandboxes/NAME/run, for TCP (token) clients that cannot pass
 * file descriptors: a runner (runner.h) gets pipes for stdout and stderr and
 * a socket holding the request's stdin; the answer is newline-delimited
 * JSON, {"stdout": base64} / {"stderr": base64} as output comes, then
 * {"exit": N} (or {"error", "status"} when the run failed after it was
 * accepted). Refusals before the start are plain error answers.
 *
 * The connection has its own thread (server.c), so the content callback
 * blocks in poll() until there is output; it also watches the client's
 * socket, and a client that hangs up ends the run (runner_end). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/api.h"
#include "daemon/reply.h"
#include "daemon/runner.h"

#define CHUNK 12288            /* output bytes per line */
#define FIRST_MSG_MS 120000    /* the runner's verdict on starting */
#define DRAIN_MS 5000          /* output still open after the exit status */

typedef struct stream {
	dpd *d;
	pid_t pid;
	bool reaped;
	int ctl, out, err, in;  /* daemon ends; -1 once closed */
	int conn;
	unsigned char *input;   /* decoded stdin not yet written */
	size_t in_len, in_off;
	char *pend;             /* a line being handed to libmicrohttpd */
	size_t pend_len, pend_off;
	json_t *final;          /* {"exit"} or {"error"} once known */
	long long final_at;
	bool done;
	bool said_last;         /* the runner sent its last message */
} stream;

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void stream_free(void *cls)
{
	stream *s = cls;

	/* still running when the client went away: ended here */
	if (!s->reaped)
		dpd_runner_end(s->pid, s->done || s->said_last);
	s->reaped = true;
	dpd_runs_remove(s->d, s->pid);
	close_fd(&s->ctl);
	close_fd(&s->out);
	close_fd(&s->err);
	close_fd(&s->in);
	json_decref(s->final);
	free(s->input);
	free(s->pend);
	free(s);
}

static int set_line(stream *s, json_t *j)
{
	char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
	size_t n;

	json_decref(j);
	if (line == NULL)
		return -1;
	n = strlen(line);
	free(s->pend);
	s->pend = realloc(line, n + 2);
	if (s->pend == NULL) {
		free(line);
		return -1;
	}
	s->pend[n] = '\n';
	s->pend[n + 1] = '\0';
	s->pend_len = n + 1;
	s->pend_off = 0;
	return 0;
}

/* Output from fd as one {"key": base64} line; at end of file closes fd. */
static int read_output(stream *s, int *fd, const char *key)
{
	unsigned char buf[CHUNK];
	char b64[sodium_base64_ENCODED_LEN(CHUNK, sodium_base64_VARIANT_ORIGINAL)];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		close_fd(fd);
		return 0;
	}
	sodium_bin2base64(b64, sizeof(b64), buf, (size_t)n, sodium_base64_VARIANT_ORIGINAL);
	return set_line(s, json_pack("{s:s}", key, b64));
}

static void write_input(stream *s)
{
	while (s->in >= 0 && s->in_off < s->in_len) {
		ssize_t n = send(s->in, s->input + s->in_off, s->in_len - s->in_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			s->in_off = s->in_len; /* the command stopped reading: drop the rest */
			break;
		}
		s->in_off += (size_t)n;
	}
	if (s->in >= 0)
		close_fd(&s->in); /* all written: the command sees end of file */
}

static json_t *final_from(json_t *msg)
{
	json_t *v;

	if (msg && (v = json_object_get(msg, "exit")) && json_is_integer(v))
		return json_pack("{s:O}", "exit", v);
	if (msg && json_is_string(json_object_get(msg, "error")))
		return json_pack("{s:O, s:O?}", "error", json_object_get(msg, "error"), "status",
				 json_object_get(msg, "status"));
	return NULL;
}

static void take_control(stream *s)
{
	json_t *msg = NULL;
	int r = dpd_msg_recv(s->ctl, &msg);

	if (r == 1 && json_object_get(msg, "started")) {
		json_decref(msg);
		return;
	}
	s->final = final_from(msg);
	json_decref(msg);
	if (s->final == NULL)
		s->final = json_pack("{s:s, s:i}", "error", "the runner ended without an exit status", "status", 500);
	s->final_at = dpd_now_ms();
	s->said_last = true;
	close_fd(&s->ctl);
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	stream *s = cls;

	(void)pos;
	for (;;) {
		struct pollfd p[5];
		nfds_t n = 0;
		int timeout = -1, r;

		if (s->pend_off < s->pend_len) {
			size_t k = s->pend_len - s->pend_off < max ? s->pend_len - s->pend_off : max;
			memcpy(buf, s->pend + s->pend_off, k);
			s->pend_off += k;
			return (ssize_t)k;
		}
		if (s->done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (s->final && ((s->out < 0 && s->err < 0) || dpd_now_ms() - s->final_at > DRAIN_MS)) {
			json_t *f = s->final;
			s->final = NULL;
			s->done = true;
			if (set_line(s, f) < 0)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			continue;
		}
		p[n++] = (struct pollfd){ .fd = s->conn, .events = POLLRDHUP };
		if (s->out >= 0)
			p[n++] = (struct pollfd){ .fd = s->out, .events = POLLIN };
		if (s->err >= 0)
			p[n++] = (struct pollfd){ .fd = s->err, .events = POLLIN };
		if (s->ctl >= 0)
			p[n++] = (struct pollfd){ .fd = s->ctl, .events = POLLIN };
		if (s->in >= 0)
			p[n++] = (struct pollfd){ .fd = s->in, .events = POLLOUT };
		if (s->final)
			timeout = (int)(DRAIN_MS - (dpd_now_ms() - s->final_at));
		r = poll(p, n, timeout < 0 && s->final ? 0 : timeout);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR))
			return MHD_CONTENT_READER_END_WITH_ERROR; /* client gone: stream_free ends the run */
		for (nfds_t i = 1; i < n; i++) {
			if (p[i].revents == 0)
				continue;
			if (p[i].fd == s->in) {
				write_input(s);
			} else if (p[i].fd == s->ctl) {
				take_control(s);
			} else if (s->pend_off >= s->pend_len) {
				/* one line at a time; the other fd stays ready */
				if (read_output(s, p[i].fd == s->out ? &s->out : &s->err,
						p[i].fd == s->out ? "stdout" : "stderr") < 0)
					return MHD_CONTENT_READER_END_WITH_ERROR;
			}
		}
	}
}

/* The runner's first word: started, or why not. */
static int first_message(stream *s, json_t **msg)
{
	long long deadline = dpd_now_ms() + FIRST_MSG_MS;

	for (;;) {
		struct pollfd p = { .fd = s->ctl, .events = POLLIN };
		long long left = deadline - dpd_now_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r;
		return dpd_msg_recv(s->ctl, msg);
	}
}

static int start(dpd_ctx *c, stream *s, dp_error **err)
{
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, inp[2] = { -1, -1 };
	dpd_who who = { .uid = c->actor->uid, .gid = c->actor->gid, .pid = 0, .source = c->actor->source,
			.token = c->actor->token };
	dpd_run_req req = { 0 };
	json_t *argv = json_object_get(c->call->body, "argv"), *w;
	size_t i;
	int r = -1;

	snprintf(req.sandbox, sizeof(req.sandbox), "%s", c->call->name);
	req.argv = calloc(json_array_size(argv) + 1, sizeof(char *));
	if (req.argv == NULL)
		return dp_fail(err, ENOMEM, "run");
	json_array_foreach(argv, i, w)
		if ((req.argv[i] = strdup(json_string_value(w))) == NULL) {
			dp_fail(err, ENOMEM, "run");
			goto out;
		}
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, inp) < 0) {
		dp_fail_errno(err, "run: pipes");
		goto out;
	}
	if (dpd_runner_spawn(c->d, &who, &req, (int[]){ inp[1], outp[1], errp[1] }, &s->pid, &s->ctl, err) < 0)
		goto out;
	s->out = outp[0];
	s->err = errp[0];
	s->in = inp[0];
	outp[0] = errp[0] = inp[0] = -1;
	r = 0;
out:
	for (int k = 0; k < 2; k++) {
		close_fd(&outp[k]);
		close_fd(&errp[k]);
		close_fd(&inp[k]);
	}
	dpd_run_clear(&req);
	return r;
}

static int decode_stdin(dpd_ctx *c, stream *s, dp_error **err)
{
	const char *b64 = json_string_value(json_object_get(c->call->body, "stdin"));
	size_t len;

	if (b64 == NULL || b64[0] == '\0')
		return 0;
	len = strlen(b64);
	s->input = malloc(len);
	if (s->input == NULL)
		return dp_fail(err, ENOMEM, "run: stdin");
	if (sodium_base642bin(s->input, len, b64, len, NULL, &s->in_len, NULL, sodium_base64_VARIANT_ORIGINAL) < 0)
		return dp_usage(err, "stdin: not valid base64");
	return 0;
}

int dpd_api_run(dpd_ctx *c, dpd_response *out, dp_error **err)
{
	stream *s = calloc(1, sizeof(*s));
	json_t *msg = NULL;
	int r;

	if (s == NULL)
		return dp_fail(err, ENOMEM, "run");
	*s = (stream){ .d = c->d, .pid = -1, .ctl = -1, .out = -1, .err = -1, .in = -1, .conn = c->req->fd };
	if (decode_stdin(c, s, err) < 0 || start(c, s, err) < 0) {
		s->reaped = true;
		stream_free(s);
		return -1;
	}
	r = first_message(s, &msg);
	if (r != 1 || !json_object_get(msg, "started")) {
		json_t *f = final_from(msg);
		json_decref(msg);
		s->said_last = f != NULL;
		stream_free(s); /* ends the runner if it is still there */
		if (f && json_is_string(json_object_get(f, "error"))) {
			json_int_t st = json_integer_value(json_object_get(f, "status"));
			out->status = st >= 400 && st <= 599 ? (unsigned)st : 500;
			out->body = dpd_error_json(json_string_value(json_object_get(f, "error")));
			json_decref(f);
			return 0;
		}
		json_decref(f);
		return dp_fail(err, 0, "run: the runner %s", r == 0 ? "did not answer" : "sent no start");
	}
	json_decref(msg);
	write_input(s);
	out->stream = sym_MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, reader, s, stream_free);
	if (out->stream == NULL) {
		stream_free(s);
		return dp_fail(err, ENOMEM, "run: response");
	}
	/* the run may be silent for longer than the idle timeout; a client
	 * that hangs up is noticed by the reader instead */
	sym_MHD_set_connection_option(c->req->mc, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
	out->status = 200;
	return 0;
}
