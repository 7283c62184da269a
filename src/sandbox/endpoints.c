/* A sandbox's API stand-ins around a run; see endpoints.h. The order of
 * events keeps secrets out of the sandbox: before the run only the CA's
 * certificate is read (it goes into the sandbox's trust bundle); the CA key
 * is opened, the per-host certificates issued and the server started in
 * on_listen, which the runtime calls in the monitor after the sandbox's init
 * was created and while it waits for the answer: init shares the monitor's
 * memory (isolate/run.c), but nothing of the sandbox runs yet, and the key
 * material is wiped before the command starts.
 *
 * The server runs in a child of the monitor, never in the monitor itself:
 * it parses what the sandbox sends (HTTP, TLS, JSON) in libraries we do not
 * control, and the monitor has the caller's full rights (root as root). A
 * memory-safety bug there would otherwise be an escape, and a crash would
 * end the run. on_listen issues the certificates, makes the admin socket
 * and forks while no other thread holds a lock (the monitor's only other
 * thread is parked in clone for init, which itself waits in recv, and the
 * server starts its threads after the fork); the CA key is closed before
 * the fork, so the child holds the leaf keys only. The child drops out of
 * the terminal's session, blocks every signal, keeps only the sockets it
 * serves, confines itself (endpoints/confine.c: capabilities, no_new_privs,
 * Landlock to the mapping and state directories, seccomp) and only then
 * loads mappings and starts threads, so any bug in them runs confined. It
 * reports "ready" or the error over a pipe, which on_listen waits for: a bad
 * mapping still ends the run (exit 2) before the command starts. The parent
 * keeps only the child's pid: the sockets and the key PEMs leave its memory
 * (wiped). PR_SET_PDEATHSIG kills the child with the monitor. After the
 * run, SIGTERM makes it save journals and scenario states and exit; it gets
 * STOP_TIMEOUT_MS, then SIGKILL. If it dies during the run the command goes
 * on (the stand-ins stop answering) and the end of the run says so. */
#include "sandbox/endpoints.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "endpoints/ca.h"
#include "endpoints/confine.h"
#include "endpoints/server.h"
#include "util/cleanup.h"
#include "util/dl-mhd.h"
#include "util/fs.h"
#include "util/log.h"

/* Where TLS libraries look for trusted certificates: OpenSSL (and Python's
 * ssl, Ruby, PHP), Node.js, Python requests, curl. The runtime writes the
 * bundle; these point the rest at it. */
#define SANDBOX_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
static const char *const ca_env[] = { "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
				      NULL };

struct dp_sandbox_endpoints {
	char *ca_dir;
	char *state_dir;
	char sock_addr[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int sandbox_dir;  /* sandboxes/<name>, for the socket */
	bool sock_made;
	size_t n;
	char **hosts, **dirs;
	pid_t server_pid;  /* the server's process; 0: none */
};

/* How long the server may take to save its state after the run. */
#define STOP_TIMEOUT_MS 10000

/* The child's one message: 0 and ready, or an error's exit status and text. */
typedef struct start_report {
	int32_t status;
	char msg[1024];
} start_report;

int dp_sandbox_endpoint_list(const dp_spec *spec, const dp_sandbox *sb, const dp_endpoint_spec ***out, size_t *n,
			     dp_error **err)
{
	const dp_tier *t = dp_spec_tier(spec, sb->tier);

	*out = NULL;
	*n = 0;
	if (t == NULL)
		return dp_usage(err, "sandbox %s uses tier '%s', which %s no longer defines", sb->name, sb->tier,
				spec->file);
	if (t->network != DP_TIER_NET_ENDPOINTS)
		return 0;
	if (dp_spec_tier_endpoints(spec, t, out, n, err) < 0)
		return -1;
	if (*n > DP_SANDBOX_MAX_ENDPOINTS) {
		free(*out);
		*out = NULL;
		*n = 0;
		return dp_usage(err, "%s: tier %s has more than %d endpoints", spec->file, t->name,
				DP_SANDBOX_MAX_ENDPOINTS);
	}
	return 0;
}

uint32_t dp_sandbox_endpoint_addr(size_t i)
{
	return 0x7f000002u + (uint32_t)i;
}

void dp_sandbox_endpoints_state_dir(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "sandboxes/%s/endpoints", name);
}

void dp_sandbox_endpoints_socket(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "sandboxes/%s/endpoints.sock", name);
}

static void free_endpoints(dp_sandbox_endpoints *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->hosts[i]);
		free(e->dirs[i]);
	}
	free(e->hosts);
	free(e->dirs);
	free(e->ca_dir);
	free(e->state_dir);
	if (e->sandbox_dir >= 0)
		close(e->sandbox_dir);
	free(e);
}

/* The admin socket, mode 0600 (umask: no other thread runs yet), in the
 * sandbox's directory of the store, which the sandbox never sees. */
static int control_socket(dp_sandbox_endpoints *e, dp_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t old;
	int r;

	if (fd < 0)
		return dp_fail_errno(err, "endpoints admin socket");
	memcpy(sa.sun_path, e->sock_addr, sizeof(sa.sun_path));
	if (unlinkat(e->sandbox_dir, "endpoints.sock", 0) < 0 && errno != ENOENT)
		return dp_fail_errno(err, "remove the old endpoints admin socket");
	old = umask(077);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0)
		return dp_fail_errno(err, "endpoints admin socket %s", e->sock_addr);
	e->sock_made = true;
	if (listen(fd, 16) < 0)
		return dp_fail_errno(err, "endpoints admin socket %s", e->sock_addr);
	return dp_steal_fd(&fd);
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Closes every fd but 0-2 and keep[] (close_range over the gaps). */
static int close_all_but(const int *keep, size_t n)
{
	unsigned int next = 3;

	for (;;) {
		unsigned int low = ~0u;
		for (size_t i = 0; i < n; i++)
			if (keep[i] >= (int)next && (unsigned int)keep[i] < low)
				low = (unsigned int)keep[i];
		if (low == ~0u)
			return close_range(next, ~0u, 0);
		if (low > next && close_range(next, low - 1, 0) < 0)
			return -1;
		next = low + 1;
	}
}

static void report(int fd, int status, const char *msg)
{
	start_report r = { .status = status };
	ssize_t w;

	snprintf(r.msg, sizeof(r.msg), "%s", msg ? msg : "");
	/* under PIPE_BUF: one atomic write */
	do
		w = write(fd, &r, sizeof(r));
	while (w < 0 && errno == EINTR);
}

/* The server's process: confine, start, serve until SIGTERM, save, exit. */
__attribute__((noreturn)) static void server_child(dp_sandbox_endpoints *e, ep_server_conf *conf, int *keep,
						   size_t n_keep, int report_fd, pid_t monitor)
{
	const char **read_dirs = (const char **)e->dirs;
	ep_confine_conf cc = { .read_dirs = read_dirs, .n_read_dirs = e->n, .write_dir = e->state_dir };
	ep_confine_info info;
	ep_server *server = NULL;
	dp_error *err = NULL;
	sigset_t all, term;
	int devnull, sig = 0;

	/* die with the monitor; it may have died before the line above */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != monitor)
		_exit(1);
	sigfillset(&all);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	/* threads inherit the mask: SIGTERM waits for sigwait below */
	if (sigprocmask(SIG_SETMASK, &all, NULL) < 0) {
		dp_fail_errno(&err, "endpoints: block signals");
		goto fail;
	}
	/* out of the terminal's session: no ^C, no controlling tty to reach */
	if (setsid() < 0) {
		dp_fail_errno(&err, "endpoints: setsid");
		goto fail;
	}
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 || dup2(devnull, STDOUT_FILENO) < 0) {
		dp_fail_errno(&err, "endpoints: /dev/null");
		goto fail;
	}
	if (close_all_but(keep, n_keep) < 0) {
		dp_fail_errno(&err, "endpoints: close inherited fds");
		goto fail;
	}
	/* what libraries read lazily, read while they still may: the time
	 * zone, and jansson's hash seed from /dev/urandom (else it falls back
	 * to a guessable one, and JSON from the sandbox could flood its tables) */
	tzset();
	json_object_seed(0);
	if (ep_confine(&cc, &info, &err) < 0) {
		dp_wrap(&err, "endpoints: confine the stand-in server");
		goto fail;
	}
	if (info.landlock_abi == 0)
		dp_warn("endpoints: stand-ins run without Landlock: %s", strerror(info.landlock_errno));
	dp_debug("endpoints: server %d confined (Landlock ABI %d, seccomp)", (int)getpid(), info.landlock_abi);
	/* the server owns the listening fds from here, on failure too */
	if (ep_server_start(conf, &server, &err) < 0)
		goto fail;
	report(report_fd, 0, NULL);
	close(report_fd);
	while (sig != SIGTERM)
		if (sigwait(&term, &sig) != 0)
			_exit(1);
	ep_server_stop(server);
	_exit(0);
fail:
	report(report_fd, err->status ? err->status : DP_EXIT_FAIL, err->msg);
	_exit(1);
}

static void reap(pid_t pid, int *st)
{
	while (waitpid(pid, st, 0) < 0 && errno == EINTR)
		;
}

/* Forks the server's process and waits for its report. The conf's fds are
 * closed here whatever happens; the key PEMs are the caller's to wipe. */
static int fork_server(dp_sandbox_endpoints *e, ep_server_conf *conf, dp_error **err)
{
	size_t n_keep = 2 * e->n + 2;
	cleanup_free int *keep = calloc(n_keep, sizeof(int));
	int pipefd[2] = { -1, -1 };
	start_report r = { 0 };
	size_t got = 0;
	pid_t monitor = getpid(), pid;
	int st, ret = -1;

	if (keep == NULL) {
		dp_fail(err, ENOMEM, "endpoints");
		goto out;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		dp_fail_errno(err, "endpoints: pipe");
		goto out;
	}
	for (size_t i = 0; i < e->n; i++) {
		keep[2 * i] = conf->endpoints[i].http_fd;
		keep[2 * i + 1] = conf->endpoints[i].https_fd;
	}
	keep[2 * e->n] = conf->control_fd;
	keep[2 * e->n + 1] = pipefd[1];
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		dp_fail_errno(err, "endpoints: fork the stand-in server");
		goto out;
	}
	if (pid == 0)
		server_child(e, conf, keep, n_keep, pipefd[1], monitor);
	close(pipefd[1]);
	pipefd[1] = -1;
	while (got < sizeof(r)) {
		ssize_t n = read(pipefd[0], (char *)&r + got, sizeof(r) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == sizeof(r) && r.status == 0) {
		e->server_pid = pid;
		dp_debug("endpoints: stand-in server is pid %d", (int)pid);
		ret = 0;
		goto out;
	}
	reap(pid, &st);
	if (got == sizeof(r)) {
		r.msg[sizeof(r.msg) - 1] = '\0';
		dp_fail(err, 0, "%s", r.msg);
		(*err)->status = r.status;
	} else if (WIFSIGNALED(st)) {
		dp_fail(err, 0, "endpoints: the stand-in server died while starting (signal %d)", WTERMSIG(st));
	} else {
		dp_fail(err, 0, "endpoints: the stand-in server exited while starting (status %d)", WEXITSTATUS(st));
	}
out:
	for (size_t i = 0; i < e->n; i++) {
		close(conf->endpoints[i].http_fd);
		close(conf->endpoints[i].https_fd);
	}
	close(conf->control_fd);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return ret;
}

/* In the monitor, after the sandbox's init exists, before its command. */
static int start_server(void *arg, int *fds, size_t n, dp_error **err)
{
	dp_sandbox_endpoints *e = arg;
	ep_endpoint_conf *ec = calloc(e->n, sizeof(*ec));
	char **pems = calloc(2 * e->n, sizeof(char *));
	ep_ca *ca = NULL;
	int control = -1, r = -1;

	if (ec == NULL || pems == NULL || n != 2 * e->n) {
		dp_fail(err, ENOMEM, "endpoints");
		goto out_fds;
	}
	/* the confined server cannot load libraries: libmicrohttpd now (and
	 * GnuTLS through ep_ca_open), inherited by the fork */
	if (dp_dl_mhd(err) < 0 || ep_ca_open(e->ca_dir, &ca, err) < 0)
		goto out_fds;
	for (size_t i = 0; i < e->n; i++)
		if (ep_ca_issue(ca, e->hosts[i], &pems[2 * i], &pems[2 * i + 1], err) < 0) {
			ep_ca_close(ca);
			goto out_fds;
		}
	/* before the fork: the server's process never holds the CA key */
	ep_ca_close(ca);
	control = control_socket(e, err);
	if (control < 0)
		goto out_fds;
	for (size_t i = 0; i < e->n; i++)
		ec[i] = (ep_endpoint_conf){ .host = e->hosts[i], .mappings_dir = e->dirs[i], .http_fd = fds[2 * i],
					    .https_fd = fds[2 * i + 1], .cert_pem = pems[2 * i],
					    .key_pem = pems[2 * i + 1] };
	{
		ep_server_conf conf = { .endpoints = ec, .n_endpoints = e->n, .threads = 1, .control_fd = control,
					.state_dir = e->state_dir, .quiet = getenv("DOPPEL_DEBUG") == NULL };
		/* fork_server closes every fd, on failure too */
		r = fork_server(e, &conf, err);
	}
	goto out;
out_fds:
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
out:
	for (size_t i = 0; pems && i < 2 * e->n; i++)
		wipe_free(pems[i]);
	free(pems);
	free(ec);
	return r;
}

/* After the run: SIGTERM (save and exit), then SIGKILL after the timeout. */
static void stop_server(dp_sandbox_endpoints *e)
{
	struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	pid_t pid = e->server_pid;
	int st = 0;
	pid_t w;

	if (pid <= 0)
		return;
	e->server_pid = 0;
	w = waitpid(pid, &st, WNOHANG);
	if (w == pid) {
		if (WIFSIGNALED(st))
			dp_warn("endpoints: the stand-in server died during the run (signal %d); journals and "
				"scenario states of this run were not saved", WTERMSIG(st));
		else
			dp_warn("endpoints: the stand-in server exited during the run (status %d); journals and "
				"scenario states of this run were not saved", WEXITSTATUS(st));
		return;
	}
	if (kill(pid, SIGTERM) < 0) {
		dp_warn("endpoints: stop the stand-in server: %s", strerror(errno));
		return;
	}
	for (int ms = 0; ms < STOP_TIMEOUT_MS; ms += 10) {
		w = waitpid(pid, &st, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		nanosleep(&tick, NULL);
	}
	if (w != pid) {
		dp_warn("endpoints: the stand-in server did not stop within %d s; killed, state not saved",
			STOP_TIMEOUT_MS / 1000);
		kill(pid, SIGKILL);
		reap(pid, &st);
	} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		dp_warn("endpoints: the stand-in server failed while stopping (%s %d)",
			WIFSIGNALED(st) ? "signal" : "status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	}
}

/* sun_path holds 108 bytes; a deep store reaches the socket through an open
 * directory instead. */
void dp_sandbox_endpoints_socket_addr(const char *root, const char *name, int sandbox_dir, char *buf, size_t n)
{
	size_t cap = n < sizeof(((struct sockaddr_un *)0)->sun_path) ? n : sizeof(((struct sockaddr_un *)0)->sun_path);

	if ((size_t)snprintf(buf, cap, "%s/sandboxes/%s/endpoints.sock", root, name) >= cap)
		snprintf(buf, cap, "/proc/self/fd/%d/endpoints.sock", sandbox_dir);
}

static int add_env(dp_plan *plan, const char *name, const char *value)
{
	char **grown = realloc(plan->env, (plan->n_env + 1) * sizeof(char *));

	if (grown == NULL)
		return -1;
	plan->env = grown;
	if (asprintf(&plan->env[plan->n_env], "%s=%s", name, value) < 0)
		return -1;
	plan->n_env++;
	return 0;
}

int dp_sandbox_endpoints_plan(dp_store *st, const dp_spec *spec, const dp_sandbox *sb, dp_plan *plan,
			      dp_sandbox_endpoints **out, dp_error **err)
{
	const dp_endpoint_spec **eps = NULL;
	dp_sandbox_endpoints *e = NULL;
	ep_ca *ca = NULL;
	char rel[192];
	size_t n = 0;

	*out = NULL;
	if (plan->net == DP_NET_NONE)
		return 0;
	if (dp_sandbox_endpoint_list(spec, sb, &eps, &n, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		goto nomem;
	e->sandbox_dir = -1;
	e->hosts = calloc(n, sizeof(char *));
	e->dirs = calloc(n, sizeof(char *));
	if (e->hosts == NULL || e->dirs == NULL)
		goto nomem;
	e->n = n;
	for (size_t i = 0; i < n; i++) {
		char addr[16];
		uint32_t a = dp_sandbox_endpoint_addr(i);
		e->hosts[i] = strdup(eps[i]->host);
		e->dirs[i] = strdup(eps[i]->mappings);
		if (e->hosts[i] == NULL || e->dirs[i] == NULL)
			goto nomem;
		snprintf(addr, sizeof(addr), "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
		if (dp_plan_add_listen(plan, a, 80, err) < 0 || dp_plan_add_listen(plan, a, 443, err) < 0 ||
		    dp_plan_add_host(plan, addr, eps[i]->host, err) < 0)
			goto fail;
	}
	if (asprintf(&e->ca_dir, "%s/ca", st->root) < 0)
		goto nomem;
	dp_sandbox_endpoints_state_dir(sb->name, rel, sizeof(rel));
	if (asprintf(&e->state_dir, "%s/%s", st->root, rel) < 0)
		goto nomem;
	if (mkdirat(st->rootfd, rel, 0700) < 0 && errno != EEXIST) {
		dp_fail_errno(err, "create %s", e->state_dir);
		goto fail;
	}
	snprintf(rel, sizeof(rel), "sandboxes/%s", sb->name);
	e->sandbox_dir = openat(st->rootfd, rel, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (e->sandbox_dir < 0) {
		dp_fail_errno(err, "open %s/%s", st->root, rel);
		goto fail;
	}
	dp_sandbox_endpoints_socket_addr(st->root, sb->name, e->sandbox_dir, e->sock_addr, sizeof(e->sock_addr));
	/* the certificate only; the key is read in start_server */
	if (ep_ca_open(e->ca_dir, &ca, err) < 0)
		goto fail;
	free(plan->ca_pem);
	plan->ca_pem = strdup(ep_ca_cert_pem(ca));
	ep_ca_close(ca);
	if (plan->ca_pem == NULL)
		goto nomem;
	for (const char *const *v = ca_env; *v; v++)
		if (add_env(plan, *v, SANDBOX_CA_BUNDLE) < 0)
			goto nomem;
	plan->on_listen = start_server;
	plan->on_listen_arg = e;
	free(eps);
	*out = e;
	return 0;
nomem:
	dp_fail(err, ENOMEM, "endpoints");
fail:
	free(eps);
	if (e)
		free_endpoints(e);
	return -1;
}

void dp_sandbox_endpoints_end(dp_sandbox_endpoints *e)
{
	if (e == NULL)
		return;
	stop_server(e);
	if (e->sock_made && unlinkat(e->sandbox_dir, "endpoints.sock", 0) < 0 && errno != ENOENT)
		dp_warn("remove %s: %s", e->sock_addr, strerror(errno));
	free_endpoints(e);
}

int dp_sandbox_endpoints_clear(dp_store *st, const char *name, dp_error **err)
{
	char rel[192];

	dp_sandbox_endpoints_state_dir(name, rel, sizeof(rel));
	if (dp_remove_tree_at(st->rootfd, rel) < 0 && errno != ENOENT)
		return dp_fail_errno(err, "clear %s/%s", st->root, rel);
	return 0;
}
