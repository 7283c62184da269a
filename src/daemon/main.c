/* doppeld: the multi-user daemon (docs/api.md). Start-up (doppel.yaml, the
 * store made private, the policy, the sockets), the signal loop (SIGHUP
 * reloads doppel.yaml and the policy; SIGTERM and SIGINT stop), and the
 * graceful stop: no new connections, in-flight requests and runs get
 * DPD_DRAIN_S to finish, then runs are ended. All state is in the store, so
 * a restart loses nothing. Runs systemd's Type=notify protocol (notify.c).
 *
 *   doppeld [--config FILE] [--access FILE] [--socket PATH] [--run-socket PATH]
 *           [--listen ADDR:PORT] [--foreground] */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/listen.h"
#include "daemon/notify.h"
#include "daemon/run.h"
#include "daemon/runner.h"
#include "daemon/server.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/log.h"

#define DEFAULT_SOCKET "/run/doppel/doppel.sock"

extern char **environ;

typedef struct options {
	const char *config, *access, *socket, *run_socket, *listen;
} options;

static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	unsigned char b = (unsigned char)sig;
	int saved = errno;

	if (write(sig_pipe[1], &b, 1) < 0) {
		/* the pipe is full: a stop is already pending */
	}
	errno = saved;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: doppeld [--config FILE] [--access FILE] [--socket PATH] [--run-socket PATH]\n"
		     "               [--listen ADDR:PORT] [--foreground]\n\n"
		     "  --config FILE      doppel.yaml (default: $DOPPEL_CONFIG, else ./doppel.yaml)\n"
		     "  --access FILE      access.yaml (default: $DOPPEL_ACCESS, else <store>/access.yaml)\n"
		     "  --socket PATH      the API socket (default " DEFAULT_SOCKET ")\n"
		     "  --run-socket PATH  the run socket (default: run.sock beside --socket)\n"
		     "  --listen ADDR:PORT also serve the API on TCP, loopback only, with API tokens\n"
		     "  --foreground       accepted for symmetry: doppeld never forks away\n\n"
		     "The store is $DOPPEL_HOME, else /var/lib/doppel (root). See docs/api.md.\n");
}

static int parse_args(int argc, char **argv, options *o, dp_error **err)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], **dst = NULL;
		if (strcmp(a, "--config") == 0)
			dst = &o->config;
		else if (strcmp(a, "--access") == 0)
			dst = &o->access;
		else if (strcmp(a, "--socket") == 0)
			dst = &o->socket;
		else if (strcmp(a, "--run-socket") == 0)
			dst = &o->run_socket;
		else if (strcmp(a, "--listen") == 0)
			dst = &o->listen;
		else if (strcmp(a, "--foreground") == 0)
			continue;
		else
			return dp_usage(err, "unexpected argument '%s' (see doppeld --help)", a);
		if (i + 1 >= argc)
			return dp_usage(err, "%s: expected a value", a);
		*dst = argv[++i];
	}
	return 0;
}

/* fds 0-2 open, so no socket or file of ours is ever someone's stdio */
static int stdio_open(dp_error **err)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			return dp_fail_errno(err, "open /dev/null for fd %d", fd);
	return 0;
}

static int absolute(const char *what, const char *path, char **out, dp_error **err)
{
	char buf[PATH_MAX];

	if (realpath(path, buf) == NULL)
		return dp_fail_errno(err, "%s %s", what, path);
	*out = strdup(buf);
	return *out ? 0 : dp_fail(err, ENOMEM, "%s", what);
}

static bool path_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	while (n > 1 && outer[n - 1] == '/')
		n--;
	if (n == 1)
		return true;
	return strncmp(inner, outer, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

/* The runner's environment: the daemon's, less what is not the runner's
 * business (systemd's) or would reach the sandbox as if it were the
 * client's (the runtime passes TERM, LANG... through: a client sends its
 * own in the run request). */
static char **runner_env(void)
{
	static const char *const drop[] = { "NOTIFY_SOCKET=", "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=",
					    "WATCHDOG_", "TERM=", "LANG=", "LANGUAGE=", "TZ=", "COLORTERM=",
					    "NO_COLOR=", NULL };
	size_t n = 0, k = 0;
	char **v;

	while (environ[n])
		n++;
	v = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; v && i < n; i++) {
		bool keep = true;
		for (const char *const *p = drop; keep && *p; p++)
			keep = strncmp(environ[i], *p, strlen(*p)) != 0;
		if (keep)
			v[k++] = environ[i];
	}
	return v;
}

/* The store, made private: its files are reached through the daemon only.
 * Searchable by others (0711) only when the sandbox PostgreSQL server,
 * another user, needs to reach its directory below. */
static int open_store(dpd *d, dp_error **err)
{
	dp_store *st = NULL;
	struct stat s;
	mode_t mode = 0700;
	int r;

	if (dp_store_default_root(&d->store_root, err) < 0)
		return -1;
	if (path_within(d->store_root, d->spec->root) || path_within(d->spec->root, d->store_root))
		return dp_usage(err, "%s: production.root %s and the store %s overlap; set DOPPEL_HOME to a directory "
				     "outside production",
				d->spec->file, d->spec->root, d->store_root);
	if (dp_store_open(d->store_root, &st, err) < 0)
		return -1;
	if (fstatat(st->rootfd, "pg/data", &s, AT_SYMLINK_NOFOLLOW) == 0 && s.st_uid != geteuid())
		mode = 0711;
	if (chmod(d->store_root, mode) < 0)
		r = dp_fail_errno(err, "make the store %s private (chmod %o)", d->store_root, (unsigned)mode);
	else
		r = dp_ops_load_policy(st, d->access, &d->policy, err);
	dp_store_close(st);
	return r;
}

static int load(dpd *d, const options *o, dp_error **err)
{
	const char *config = o->config, *access = o->access;

	if (config == NULL || config[0] == '\0')
		config = getenv("DOPPEL_CONFIG");
	if (config == NULL || config[0] == '\0')
		config = "doppel.yaml";
	if (access == NULL || access[0] == '\0')
		access = getenv("DOPPEL_ACCESS");
	if (absolute("doppel.yaml", config, &d->config, err) < 0 ||
	    (access && access[0] && absolute("access.yaml", access, &d->access, err) < 0))
		return -1;
	if (dp_spec_load(d->config, &d->spec, err) < 0)
		return -1;
	d->self_exe = strdup("/proc/self/exe");
	d->runner_env = runner_env();
	if (d->self_exe == NULL || d->runner_env == NULL)
		return dp_fail(err, ENOMEM, "doppeld");
	return open_store(d, err);
}

/* SIGHUP: doppel.yaml and the policy again; on any error the old ones stay. */
static void reload(dpd *d)
{
	dp_error *err = NULL;
	dp_spec *spec = NULL;
	dp_policy *pol = NULL;
	dp_store *st = NULL;

	if (dp_spec_load(d->config, &spec, &err) < 0 || dp_store_open(d->store_root, &st, &err) < 0 ||
	    dp_ops_load_policy(st, d->access, &pol, &err) < 0) {
		dp_warn("reload refused, still serving the previous configuration: %s", err->msg);
		dp_error_free(&err);
		dp_spec_free(spec);
		dp_store_close(st);
		return;
	}
	dp_store_close(st);
	pthread_rwlock_wrlock(&d->lock);
	dp_spec_free(d->spec);
	dp_policy_free(d->policy);
	d->spec = spec;
	d->policy = pol;
	pthread_rwlock_unlock(&d->lock);
	dp_info("reloaded %s and the policy", d->config);
}

static int install_signals(dp_error **err)
{
	struct sigaction sa = { .sa_handler = on_signal };

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return dp_fail_errno(err, "signal pipe");
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGHUP, &sa, NULL) < 0)
		return dp_fail_errno(err, "signal handlers");
	/* a client gone mid-answer is an error on that connection only */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* Blocks until SIGTERM or SIGINT, reloading on SIGHUP. */
static int wait_for_stop(dpd *d)
{
	for (;;) {
		unsigned char b;
		ssize_t n = read(sig_pipe[0], &b, 1);
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = sig_pipe[0], .events = POLLIN };
			poll(&p, 1, -1);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return SIGTERM;
		if (b == SIGHUP)
			reload(d);
		else
			return b;
	}
}

static void drain(dpd *d, dpd_server *srv[2], dpd_runsock *rs)
{
	long long deadline = dpd_now_ms() + DPD_DRAIN_S * 1000LL;
	int left;

	atomic_store(&d->stopping, true);
	dpd_server_quiesce(srv[0]);
	dpd_server_quiesce(srv[1]);
	dpd_runsock_quiesce(rs);
	while (atomic_load(&d->busy) > 0 && dpd_now_ms() < deadline) {
		struct timespec ts = { 0, 20 * 1000000 };
		nanosleep(&ts, NULL);
	}
	left = dpd_runsock_wait(rs, deadline);
	if (left > 0 || atomic_load(&d->busy) > 0) {
		dp_warn("%d runs and %d requests still going after %d s: ending the runs", left, atomic_load(&d->busy),
			DPD_DRAIN_S);
		dpd_runs_signal(d, SIGHUP);
		if (dpd_runsock_wait(rs, dpd_now_ms() + DPD_KILL_GRACE_MS) > 0) {
			dpd_runs_signal(d, SIGKILL);
			dpd_runsock_wait(rs, dpd_now_ms() + DPD_KILL_GRACE_MS);
		}
	}
}

static int serve(dpd *d, const options *o, dp_error **err)
{
	cleanup_free char *run_socket = NULL;
	const char *sock = o->socket ? o->socket : DEFAULT_SOCKET;
	struct stat made_api = { 0 }, made_run = { 0 };
	dpd_server *srv[2] = { NULL, NULL };
	dpd_runsock *rs = NULL;
	char bound[80] = "";
	int fd = -1, tcp_fd = -1, run_fd = -1, sig, r = -1;

	if (o->run_socket) {
		run_socket = strdup(o->run_socket);
	} else {
		const char *slash = strrchr(sock, '/');
		if (asprintf(&run_socket, "%.*s/run.sock", slash ? (int)(slash - sock) : 0, sock) < 0)
			run_socket = NULL;
	}
	if (run_socket == NULL)
		return dp_fail(err, ENOMEM, "doppeld");
	if (strcmp(run_socket, sock) == 0)
		return dp_usage(err, "--socket and --run-socket are both %s", sock);
	/* the TCP address first: a refused --listen must create nothing */
	if (o->listen && dpd_listen_tcp(o->listen, &tcp_fd, bound, sizeof(bound), err) < 0)
		return -1;
	if (install_signals(err) < 0 || dpd_listen_unix(sock, SOCK_STREAM, &fd, &made_api, err) < 0)
		goto out;
	if (dpd_listen_unix(run_socket, SOCK_SEQPACKET, &run_fd, &made_run, err) < 0)
		goto out;
	if (dpd_server_start(d, dp_steal_fd(&fd), DPD_VIA_UNIX, &srv[0], err) < 0 ||
	    (tcp_fd >= 0 && dpd_server_start(d, dp_steal_fd(&tcp_fd), DPD_VIA_TCP, &srv[1], err) < 0) ||
	    dpd_runsock_start(d, dp_steal_fd(&run_fd), &rs, err) < 0)
		goto out;
	dp_info("doppeld %s serving %s (runs: %s)%s%s; store %s; %s", DPD_VERSION, sock, run_socket,
		bound[0] ? ", TCP " : "", bound, d->store_root, d->config);
	if (dpd_notify("READY=1\nSTATUS=serving") < 0)
		dp_warn("sd_notify READY: %s", strerror(errno));
	sig = wait_for_stop(d);
	dp_info("%s: stopping (in-flight requests and runs get %d s)", strsignal(sig), DPD_DRAIN_S);
	dpd_notify("STOPPING=1");
	drain(d, srv, rs);
	r = 0;
out:
	if (r < 0)
		atomic_store(&d->stopping, true);
	dpd_server_stop(srv[0]);
	dpd_server_stop(srv[1]);
	dpd_runsock_stop(rs);
	if (fd >= 0)
		close(fd);
	if (tcp_fd >= 0)
		close(tcp_fd);
	if (run_fd >= 0)
		close(run_fd);
	if (made_api.st_ino)
		dpd_unlink_ours(sock, &made_api);
	if (made_run.st_ino)
		dpd_unlink_ours(run_socket, &made_run);
	return r;
}

int main(int argc, char **argv)
{
	options o = { 0 };
	dp_error *err = NULL;
	dpd d;
	int r;

	if (argc == 2 && strcmp(argv[1], DPD_RUNNER_ARG) == 0)
		return dpd_runner_main();
	if (argc >= 2 && strcmp(argv[1], DP_STORE_REMOVER_ARG) == 0)
		return dp_store_remover_main(argc, argv);
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("doppeld %s (API v%d)\n", DPD_VERSION, DPD_API);
		return 0;
	}
	memset(&d, 0, sizeof(d));
	pthread_rwlock_init(&d.lock, NULL);
	pthread_mutex_init(&d.mutate, NULL);
	pthread_mutex_init(&d.runs_lock, NULL);
	umask(022);
	r = parse_args(argc, argv, &o, &err) == 0 && stdio_open(&err) == 0 && load(&d, &o, &err) == 0 &&
		    serve(&d, &o, &err) == 0
		    ? 0
		    : -1;
	if (r < 0) {
		fprintf(stderr, "doppeld: %s\n", err->msg);
		r = err->status == DP_EXIT_USAGE ? DP_EXIT_USAGE : DP_EXIT_FAIL;
		dp_error_free(&err);
	}
	dp_spec_free(d.spec);
	dp_policy_free(d.policy);
	free(d.config);
	free(d.access);
	free(d.store_root);
	free(d.self_exe);
	free(d.runner_env);
	return r;
}
