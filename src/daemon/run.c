/* The run socket; see run.h. One thread accepts; each connection gets a
 * detached session thread that reads the request, starts the runner and
 * relays until the run ends or the client goes. */
#include "daemon/run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/auth.h"
#include "daemon/reply.h"
#include "daemon/runner.h"
#include "util/cleanup.h"
#include "util/log.h"

#define MAX_FDS 16 /* room to see (and refuse) more than three */

struct dpd_runsock {
	dpd *d;
	int fd;
	int wake[2];
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	int sessions;
};

typedef struct session {
	dpd_runsock *rs;
	int fd;
} session;

static void send_error(int fd, unsigned status, const char *msg)
{
	json_t *j = dpd_error_json(msg);

	if (j && json_object_set_new(j, "status", json_integer(status)) == 0)
		dpd_msg_send(fd, j);
	json_decref(j);
}

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* The request and its fds. 0 with *req and fds[3]; -1 after telling the
 * client why (or when it left). */
static int receive(int fd, dpd_run_req *req, int fds[3])
{
	cleanup_free char *buf = malloc(DPD_BODY_MAX + 1);
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = DPD_BODY_MAX + 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.space,
			     .msg_controllen = sizeof(ctl.space) };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int got[MAX_FDS], n = 0, r;
	dp_error *err = NULL;
	ssize_t len;

	if (buf == NULL)
		return -1;
	do
		r = poll(&p, 1, DPD_RUN_REQUEST_MS);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		send_error(fd, 400, "no run request within 30 seconds");
		return -1;
	}
	do
		len = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (len < 0 && errno == EINTR);
	if (len < 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < k && n < MAX_FDS; i++)
				memcpy(&got[n++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
		}
	if (len == 0) {
		/* gone, or an empty message (with fds, perhaps: not kept) */
		close_fds(got, n);
		send_error(fd, 400, "run request: empty");
		return -1;
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		close_fds(got, n);
		send_error(fd, 400, "run request: expected exactly 3 file descriptors (stdin, stdout, stderr), got more");
		return -1;
	}
	if (n != 3) {
		char msg[128];
		close_fds(got, n);
		snprintf(msg, sizeof(msg),
			 "run request: expected exactly 3 file descriptors (stdin, stdout, stderr), got %d", n);
		send_error(fd, 400, msg);
		return -1;
	}
	if ((mh.msg_flags & MSG_TRUNC) || len > DPD_BODY_MAX) {
		close_fds(got, n);
		send_error(fd, 413, "run request over 65536 bytes");
		return -1;
	}
	if (dpd_run_parse(buf, (size_t)len, req, &err) < 0) {
		close_fds(got, n);
		send_error(fd, dpd_error_status(err), err->msg);
		dp_error_free(&err);
		return -1;
	}
	memcpy(fds, got, 3 * sizeof(int));
	return 0;
}

/* The signals a client may forward (the ones a terminal makes, and a
 * resize). */
static bool forwardable(json_int_t sig)
{
	return sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT || sig == SIGWINCH;
}

/* One message from the client after the start; false when it is gone. */
static bool from_client(int fd, pid_t runner)
{
	char buf[512];
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.space,
			     .msg_controllen = sizeof(ctl.space) };
	ssize_t n;
	json_t *j, *sig;

	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return true;
	if (n <= 0)
		return false;
	/* fds have no business here */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < k; i++) {
				int f;
				memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				close(f);
			}
		}
	j = (mh.msg_flags & MSG_TRUNC) ? NULL : json_loadb(buf, (size_t)n, 0, NULL);
	sig = json_object_get(j, "signal");
	if (json_is_integer(sig) && json_object_size(j) == 1 && forwardable(json_integer_value(sig)))
		kill(runner, (int)json_integer_value(sig));
	else
		dp_debug("doppeld: run socket: ignored a client message that is not {\"signal\": INT|TERM|HUP|QUIT|WINCH}");
	json_decref(j);
	return true;
}

/* The runner's message, passed on as the protocol says; true when it was
 * the last one. */
static bool from_runner(json_t *m, int client)
{
	json_t *v, *out = NULL;
	bool last = false;

	if (json_is_true(json_object_get(m, "started"))) {
		out = json_pack("{s:b}", "started", true);
	} else if ((v = json_object_get(m, "exit")) && json_is_integer(v)) {
		out = json_pack("{s:O}", "exit", v);
		last = true;
	} else if (json_is_string(json_object_get(m, "error"))) {
		json_int_t st = json_integer_value(json_object_get(m, "status"));
		out = json_pack("{s:O, s:I}", "error", json_object_get(m, "error"), "status",
				st >= 400 && st <= 599 ? st : (json_int_t)500);
		last = true;
	}
	if (out)
		dpd_msg_send(client, out);
	json_decref(out);
	return last;
}

static void relay(dpd *d, int client, pid_t pid, int ctl)
{
	bool last = false, gone = false;

	while (!last && !gone) {
		struct pollfd p[2] = { { .fd = ctl, .events = POLLIN }, { .fd = client, .events = POLLIN | POLLRDHUP } };
		int r = poll(p, 2, -1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (p[0].revents) {
			json_t *m = NULL;
			int k = dpd_msg_recv(ctl, &m);
			if (k == 1)
				last = from_runner(m, client);
			json_decref(m);
			if (k <= 0)
				break; /* the runner is gone without its last word */
		}
		if (!last && (p[1].revents & POLLIN))
			gone = !from_client(client, pid);
		if (!last && (p[1].revents & (POLLHUP | POLLRDHUP | POLLERR)))
			gone = true;
	}
	{
		int st = dpd_runner_end(pid, last);
		if (!last && !gone) {
			char msg[160];
			snprintf(msg, sizeof(msg), "the run ended without an exit status (runner %s %d)",
				 WIFSIGNALED(st) ? "killed by signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			send_error(client, 500, msg);
		}
	}
	dpd_runs_remove(d, pid);
}

static void *session_main(void *arg)
{
	session *s = arg;
	dpd_runsock *rs = s->rs;
	dpd_run_req req = { 0 };
	dp_error *err = NULL;
	struct ucred cred;
	int fds[3] = { -1, -1, -1 }, ctl = -1;
	pid_t pid;

	if (dpd_peer_cred(s->fd, &cred, &err) < 0) {
		send_error(s->fd, 500, err->msg);
	} else if (receive(s->fd, &req, fds) == 0) {
		dpd_who who = { .uid = cred.uid, .gid = cred.gid, .pid = cred.pid, .source = DP_SOURCE_SOCKET };
		if (dpd_runner_spawn(rs->d, &who, &req, fds, &pid, &ctl, &err) < 0) {
			send_error(s->fd, dpd_error_status(err), err->msg);
		} else {
			close_fds(fds, 3);
			fds[0] = fds[1] = fds[2] = -1;
			relay(rs->d, s->fd, pid, ctl);
			close(ctl);
		}
		close_fds(fds, 3);
	}
	dp_error_free(&err);
	dpd_run_clear(&req);
	close(s->fd);
	free(s);
	pthread_mutex_lock(&rs->lock);
	if (--rs->sessions == 0)
		pthread_cond_broadcast(&rs->idle);
	pthread_mutex_unlock(&rs->lock);
	return NULL;
}

static void start_session(dpd_runsock *rs, int fd)
{
	session *s = calloc(1, sizeof(*s));
	pthread_attr_t at;
	pthread_t t;
	bool full;

	pthread_mutex_lock(&rs->lock);
	full = rs->sessions >= DPD_RUN_SESSIONS_MAX;
	if (!full && s)
		rs->sessions++;
	pthread_mutex_unlock(&rs->lock);
	if (s == NULL || full) {
		send_error(fd, 503, s ? "doppeld has too many run connections" : "out of memory");
		close(fd);
		free(s);
		return;
	}
	s->rs = rs;
	s->fd = fd;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, session_main, s) != 0) {
		send_error(fd, 503, "doppeld cannot start a thread for this run");
		close(fd);
		free(s);
		pthread_mutex_lock(&rs->lock);
		if (--rs->sessions == 0)
			pthread_cond_broadcast(&rs->idle);
		pthread_mutex_unlock(&rs->lock);
	}
	pthread_attr_destroy(&at);
}

static void *accept_main(void *arg)
{
	dpd_runsock *rs = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = rs->fd, .events = POLLIN }, { .fd = rs->wake[0], .events = POLLIN } };
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			dp_warn("doppeld: run socket: poll: %s", strerror(errno));
			return NULL;
		}
		if (p[1].revents)
			return NULL;
		fd = accept4(rs->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
				dp_warn("doppeld: run socket: accept: %s", strerror(errno));
			if (errno == EMFILE || errno == ENFILE) {
				struct pollfd none;
				poll(&none, 0, 100); /* out of fds: do not spin */
			}
			continue;
		}
		start_session(rs, fd);
	}
}

int dpd_runsock_start(dpd *d, int fd, dpd_runsock **out, dp_error **err)
{
	dpd_runsock *rs = calloc(1, sizeof(*rs));
	int e;

	if (rs == NULL) {
		close(fd);
		return dp_fail(err, ENOMEM, "run socket");
	}
	rs->d = d;
	rs->fd = fd;
	pthread_mutex_init(&rs->lock, NULL);
	pthread_cond_init(&rs->idle, NULL);
	if (pipe2(rs->wake, O_CLOEXEC) < 0) {
		dp_fail_errno(err, "run socket");
		close(fd);
		free(rs);
		return -1;
	}
	if ((e = pthread_create(&rs->thread, NULL, accept_main, rs)) != 0) {
		dp_fail(err, e, "run socket: thread");
		close(rs->wake[0]);
		close(rs->wake[1]);
		close(fd);
		free(rs);
		return -1;
	}
	rs->started = true;
	*out = rs;
	return 0;
}

void dpd_runsock_quiesce(dpd_runsock *r)
{
	if (r == NULL || !r->started)
		return;
	if (write(r->wake[1], "x", 1) < 0)
		dp_warn("doppeld: run socket: wake: %s", strerror(errno));
	pthread_join(r->thread, NULL);
	r->started = false;
	close(r->fd);
	r->fd = -1;
}

int dpd_runsock_wait(dpd_runsock *r, long long deadline)
{
	int n;

	if (r == NULL)
		return 0;
	pthread_mutex_lock(&r->lock);
	while (r->sessions > 0 && dpd_now_ms() < deadline) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&r->idle, &r->lock, &ts);
	}
	n = r->sessions;
	pthread_mutex_unlock(&r->lock);
	return n;
}

void dpd_runsock_stop(dpd_runsock *r)
{
	if (r == NULL)
		return;
	dpd_runsock_quiesce(r);
	if (dpd_runsock_wait(r, dpd_now_ms() + 1000) > 0) {
		/* a session is still on its way out: it owns r, leave it */
		dp_warn("doppeld: run sessions still ending at exit");
		return;
	}
	close(r->wake[0]);
	close(r->wake[1]);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->idle);
	free(r);
}
