/* The runner: starting one (daemon side) and being one (the re-executed
 * doppeld); see runner.h for the protocol and why the mode is safe. */
#include "daemon/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/reply.h"
#include "ops/ops.h"
#include "sandbox/sandbox.h"
#include "util/cleanup.h"

#define CTL_FD 3

/* --- messages ------------------------------------------------------------ */

int dpd_msg_send(int fd, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	ssize_t n;

	if (s == NULL)
		return -1;
	do
		n = send(fd, s, strlen(s), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	free(s);
	return n < 0 ? -1 : 0;
}

int dpd_msg_recv(int fd, json_t **out)
{
	cleanup_free char *buf = malloc(DPD_MSG_MAX);
	ssize_t n;

	*out = NULL;
	if (buf == NULL)
		return -1;
	do
		n = recv(fd, buf, DPD_MSG_MAX, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n < 0 || n > DPD_MSG_MAX)
		return -1;
	*out = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	if (*out == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 1;
}

/* --- daemon side --------------------------------------------------------- */

/* fd moved above stdio and the control fd, so the child's dup2 sequence
 * never overwrites a source it still needs */
static int high_fd(int fd, int *owned)
{
	if (fd > CTL_FD)
		return fd;
	*owned = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	return *owned;
}

static json_t *runner_request(dpd *d, const dpd_who *who, const dpd_run_req *req)
{
	json_t *run = dpd_run_to_json(req);
	json_t *j;

	if (run == NULL)
		return NULL;
	j = json_pack("{s:I, s:I, s:I, s:s, s:s, s:s, s:o}", "uid", (json_int_t)who->uid, "gid", (json_int_t)who->gid,
		      "pid", (json_int_t)who->pid, "source", dp_source_name(who->source), "config", d->config, "store",
		      d->store_root, "run", run);
	if (j && who->token && json_object_set_new(j, "token", json_string(who->token)) < 0) {
		json_decref(j);
		return NULL;
	}
	if (j && d->access && json_object_set_new(j, "access", json_string(d->access)) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static int runs_reserve(dpd *d, dpd_runner_entry **out, dp_error **err)
{
	dpd_runner_entry *e;

	pthread_mutex_lock(&d->runs_lock);
	if (atomic_load(&d->stopping) || d->n_runs >= DPD_MAX_RUNS) {
		bool stopping = atomic_load(&d->stopping);
		pthread_mutex_unlock(&d->runs_lock);
		return dp_fail(err, EAGAIN, stopping ? "doppeld is shutting down" : "doppeld has %d runs going already",
			       DPD_MAX_RUNS);
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		pthread_mutex_unlock(&d->runs_lock);
		return dp_fail(err, ENOMEM, "run");
	}
	e->pid = -1;
	e->next = d->runs;
	d->runs = e;
	d->n_runs++;
	pthread_mutex_unlock(&d->runs_lock);
	*out = e;
	return 0;
}

static void runs_release(dpd *d, const dpd_runner_entry *slot, pid_t pid)
{
	pthread_mutex_lock(&d->runs_lock);
	for (dpd_runner_entry **p = &d->runs; *p; p = &(*p)->next)
		if (slot ? *p == slot : (*p)->pid == pid) {
			dpd_runner_entry *e = *p;
			*p = e->next;
			free(e);
			d->n_runs--;
			break;
		}
	pthread_mutex_unlock(&d->runs_lock);
}

void dpd_runs_remove(dpd *d, pid_t pid)
{
	runs_release(d, NULL, pid);
}

void dpd_runs_signal(dpd *d, int sig)
{
	pthread_mutex_lock(&d->runs_lock);
	for (dpd_runner_entry *e = d->runs; e; e = e->next)
		if (e->pid > 0)
			kill(e->pid, sig);
	pthread_mutex_unlock(&d->runs_lock);
}

long long dpd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* waitpid for up to DPD_KILL_GRACE_MS; 0 when it did not end */
static pid_t wait_grace(pid_t pid, int *st)
{
	long long deadline = dpd_now_ms() + DPD_KILL_GRACE_MS;
	pid_t r;

	while ((r = waitpid(pid, st, WNOHANG)) == 0 && dpd_now_ms() < deadline) {
		struct timespec ts = { 0, 10 * 1000000 };
		nanosleep(&ts, NULL);
	}
	return r;
}

int dpd_runner_end(pid_t pid, bool finished)
{
	int st = 0;

	if (finished && wait_grace(pid, &st) != 0)
		return st;
	kill(pid, SIGHUP);
	if (wait_grace(pid, &st) == 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	return st;
}

int dpd_runner_spawn(dpd *d, const dpd_who *who, const dpd_run_req *req, const int fds[3], pid_t *pid, int *ctl,
		     dp_error **err)
{
	int sv[2] = { -1, -1 }, owned[4] = { -1, -1, -1, -1 }, src[4];
	char *argv[] = { d->self_exe, DPD_RUNNER_ARG, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	dpd_runner_entry *slot = NULL;
	sigset_t none, all;
	json_t *msg = NULL;
	int rc;

	if (runs_reserve(d, &slot, err) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		dp_fail_errno(err, "run: socketpair");
		goto fail;
	}
	for (int i = 0; i < 3; i++)
		src[i] = high_fd(fds[i], &owned[i]);
	src[3] = high_fd(sv[1], &owned[3]);
	for (int i = 0; i < 4; i++)
		if (src[i] < 0) {
			dp_fail_errno(err, "run: dup");
			goto fail;
		}
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	for (int i = 0; i < 4; i++)
		posix_spawn_file_actions_adddup2(&fa, src[i], i);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	/* its own session: a signal to the daemon's process group (Ctrl-C on
	 * a foreground doppeld) is not one to its runs */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
	rc = posix_spawn(pid, d->self_exe, &fa, &at, argv, d->runner_env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0) {
		dp_fail(err, rc, "run: start the runner %s", d->self_exe);
		goto fail;
	}
	pthread_mutex_lock(&d->runs_lock);
	slot->pid = *pid;
	pthread_mutex_unlock(&d->runs_lock);
	for (int i = 0; i < 4; i++)
		if (owned[i] >= 0)
			close(owned[i]);
	close(sv[1]);
	msg = runner_request(d, who, req);
	if (msg == NULL || dpd_msg_send(sv[0], msg) < 0) {
		json_decref(msg);
		close(sv[0]);
		dpd_runner_end(*pid, false);
		dpd_runs_remove(d, *pid);
		return dp_fail(err, msg ? errno : ENOMEM, "run: hand the request to the runner");
	}
	json_decref(msg);
	*ctl = sv[0];
	return 0;
fail:
	for (int i = 0; i < 4; i++)
		if (owned[i] >= 0)
			close(owned[i]);
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	runs_release(d, slot, 0);
	return -1;
}

/* --- runner side --------------------------------------------------------- */

static void send_error(const dp_error *e)
{
	json_t *j = dpd_error_json(e ? e->msg : "run failed");

	if (j && json_object_set_new(j, "status", json_integer(dpd_error_status(e))) == 0)
		dpd_msg_send(CTL_FD, j);
	json_decref(j);
}

static void send_simple(const char *key, json_t *v)
{
	json_t *j = json_pack("{s:o}", key, v);

	if (j)
		dpd_msg_send(CTL_FD, j);
	json_decref(j);
}

/* May this process act for uid? See runner.h. */
static int may_act_for(uid_t uid, const char *store, dp_error **err)
{
	struct stat s;
	uid_t me = getuid();

	if (me != geteuid() || getgid() != getegid()) {
		dp_fail(err, 0, "doppeld %s refuses to run set-uid or set-gid", DPD_RUNNER_ARG);
		(*err)->errnum = EACCES;
		return -1;
	}
	if (me == 0 || me == uid)
		return 0;
	if (stat(store, &s) == 0 && s.st_uid == me)
		return 0;
	dp_fail(err, 0, "doppeld %s: uid %u may not run commands for uid %u", DPD_RUNNER_ARG, (unsigned)me,
		(unsigned)uid);
	(*err)->errnum = EACCES;
	return -1;
}

typedef struct runner_in {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	dp_source source;
	const char *token, *config, *access, *store;
	dpd_run_req run;
} runner_in;

static int read_request(json_t *j, runner_in *in, dp_error **err)
{
	json_int_t uid, gid, pid;
	const char *source;

	memset(in, 0, sizeof(*in));
	if (json_unpack(j, "{s:I, s:I, s:I, s:s, s?s, s:s, s?s, s:s}", "uid", &uid, "gid", &gid, "pid", &pid, "source",
			&source, "token", &in->token, "config", &in->config, "access", &in->access, "store",
			&in->store) < 0 ||
	    uid < 0 || gid < 0 || pid < 0 || uid > UINT32_MAX - 1 || gid > UINT32_MAX - 1)
		return dp_usage(err, "runner: malformed request");
	in->uid = (uid_t)uid;
	in->gid = (gid_t)gid;
	in->pid = (pid_t)pid;
	if (strcmp(source, "socket") == 0)
		in->source = DP_SOURCE_SOCKET;
	else if (strcmp(source, "token") == 0)
		in->source = DP_SOURCE_TOKEN;
	else
		return dp_usage(err, "runner: malformed request (source '%s')", source);
	return dpd_run_from_json(json_object_get(j, "run"), &in->run, err);
}

/* Would dp_ops_run get as far as starting the command? Answers the common
 * refusals (no such sandbox, not allowed) before {"started"}; dp_ops_run
 * still decides, checks again and records. */
static bool preflight(dp_ops *o, const dp_actor *a, const char *name)
{
	dp_error *e = NULL;
	dp_sandbox sb;
	dp_target t = { 0 };
	bool ok;

	if (dp_sandbox_get(o->store, name, &sb, &e) < 0) {
		dp_error_free(&e);
		return false;
	}
	t.tier = sb.tier;
	t.sandbox = sb.name;
	t.owner = sb.owner;
	ok = dp_policy_check(o->policy, a, DP_ACT_RUN, &t, &e) == 0;
	dp_error_free(&e);
	dp_sandbox_clear(&sb);
	return ok;
}

static int run(runner_in *in, int *status, bool *started, dp_error **err)
{
	dp_spec *spec = NULL;
	dp_store *st = NULL;
	dp_policy *pol = NULL;
	dp_actor a = { 0 };
	dp_plan tighten;
	dp_ops o;
	int r = -1;

	dp_plan_init(&tighten);
	if (may_act_for(in->uid, in->store, err) < 0 || dp_spec_load(in->config, &spec, err) < 0 ||
	    dp_store_open(in->store, &st, err) < 0 || dp_ops_load_policy(st, in->access, &pol, err) < 0 ||
	    dp_actor_for_uid(in->uid, in->gid, in->source, &a, err) < 0)
		goto out;
	a.pid = in->pid;
	if (in->token && (a.token = strdup(in->token)) == NULL) {
		dp_fail(err, ENOMEM, "runner");
		goto out;
	}
	o = (dp_ops){ .spec = spec, .store = st, .policy = pol };
	tighten.mem_bytes = in->run.mem_bytes;
	tighten.pids = in->run.pids;
	tighten.millicpus = in->run.millicpus;
	tighten.net = in->run.net_none ? DP_NET_NONE : DP_NET_LOOPBACK;
	tighten.env = in->run.env;
	tighten.n_env = in->run.n_env;
	tighten.chdir = in->run.chdir;
	if (preflight(&o, &a, in->run.sandbox)) {
		send_simple("started", json_true());
		*started = true;
	}
	r = dp_ops_run(&o, &a, in->run.sandbox, &tighten, in->run.argv, in->run.tty, status, err);
out:
	/* borrowed from in->run */
	tighten.env = NULL;
	tighten.n_env = 0;
	tighten.chdir = NULL;
	dp_plan_free(&tighten);
	dp_actor_clear(&a);
	dp_policy_free(pol);
	dp_store_close(st);
	dp_spec_free(spec);
	return r;
}

int dpd_runner_main(void)
{
	dp_error *err = NULL;
	json_t *req = NULL;
	runner_in in;
	bool started = false;
	int status = 0;

	/* nothing of the daemon's but the control channel */
	if (close_range(CTL_FD + 1, ~0U, 0) < 0)
		for (int fd = CTL_FD + 1; fd < 1024; fd++)
			close(fd);
	if (dpd_msg_recv(CTL_FD, &req) != 1) {
		fprintf(stderr, "doppeld: %s is internal: it reads its request from the daemon on fd %d\n",
			DPD_RUNNER_ARG, CTL_FD);
		return 2;
	}
	if (read_request(req, &in, &err) < 0 || run(&in, &status, &started, &err) < 0) {
		send_error(err);
		dp_error_free(&err);
	} else {
		if (!started)
			send_simple("started", json_true());
		send_simple("exit", json_integer(status));
	}
	dpd_run_clear(&in.run);
	json_decref(req);
	return 0;
}
