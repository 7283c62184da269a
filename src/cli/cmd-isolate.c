/* `doppel isolate [plan options] -- CMD ARGS...`: the plumbing command that
 * exposes the isolation runtime directly (bwrap-level), for tests, benchmarks
 * and scripts. Parses options into a dp_plan; all judging of paths and values
 * happens in dp_plan_validate() so every front end gets the same rules. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "isolate/isolate.h"
#include "util/cleanup.h"
#include "util/parse.h"

static const char usage_text[] =
	"usage: doppel isolate [OPTIONS] -- CMD [ARGS...]\n"
	"\n"
	"mount plan (host paths absolute, without symlinks or '..'):\n"
	"  --ro-bind SRC DST                    bind host SRC read-only at DST\n"
	"  --overlay LOWER[:LOWER...] UPPER WORK DST\n"
	"                                       overlay, writes go to host UPPER\n"
	"  --tmp-overlay LOWER[:LOWER...] DST   overlay, writes go to a throwaway tmpfs\n"
	"  --tmpfs DST                          empty tmpfs at DST\n"
	"  --system host|DIR                    /usr, /lib*, minimal /etc from the host or DIR\n"
	"limits:\n"
	"  --mem SIZE  --pids N  --cpus N  --disk SIZE   (SIZE like 512M, 2G)\n"
	"network:\n"
	"  --net loopback|none                  default loopback (no route out either way)\n"
	"  --publish HOSTPORT:SANDBOXPORT       forward host 127.0.0.1:HOSTPORT in\n"
	"  --listen 127.X.Y.Z:PORT              a socket listening there inside, held by doppel\n"
	"                                       (connections wait, never refused; for tests)\n"
	"  --add-host NAME:ADDR                 an /etc/hosts line inside\n"
	"  --ca-cert FILE                       trust FILE's PEM certificates inside (added to\n"
	"                                       /etc/ssl/certs/ca-certificates.crt)\n"
	"process:\n"
	"  --hostname NAME  --env K=V  --chdir DIR  --tty  --uid (run as yourself, not 0)\n"
	"identity (root only):\n"
	"  --map-user USER                      run as USER's subordinate ids (/etc/subuid,\n"
	"                                       /etc/subgid) instead of host root; files keep\n"
	"                                       their on-disk owners (idmapped mounts)\n";

#define MAX_BYTES (1ull << 50)

static int need(int argc, char **argv, int i, int n, dp_error **err)
{
	if (i + n >= argc)
		return dp_usage(err, "%s: expected %d value%s; see 'doppel isolate --help'", argv[i], n,
				n > 1 ? "s" : "");
	return 0;
}

static char **split_lowers(const char *s)
{
	size_t n = 1;
	char **v, *copy, *tok, *save = NULL;

	for (const char *c = s; *c; c++)
		n += *c == ':';
	v = calloc(n + 1, sizeof(char *));
	copy = strdup(s);
	if (v == NULL || copy == NULL)
		abort();
	n = 0;
	for (tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
		v[n++] = tok;
	return v;
}

static int add_env(dp_plan *plan, const char *kv)
{
	char **grown = realloc(plan->env, (plan->n_env + 1) * sizeof(char *));
	if (grown == NULL)
		return -1;
	plan->env = grown;
	plan->env[plan->n_env] = strdup(kv);
	if (plan->env[plan->n_env] == NULL)
		return -1;
	plan->n_env++;
	return 0;
}

/* "127.0.0.2:443" */
static int parse_listen(dp_plan *plan, const char *s, dp_error **err)
{
	const char *colon = strrchr(s, ':');
	char addr[INET_ADDRSTRLEN];
	struct in_addr a;
	uint64_t port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(addr))
		return dp_usage(err, "--listen: expected ADDR:PORT such as 127.0.0.2:443, got '%s'", s);
	memcpy(addr, s, (size_t)(colon - s));
	addr[colon - s] = '\0';
	if (inet_pton(AF_INET, addr, &a) != 1)
		return dp_usage(err, "--listen: '%s' is not an IPv4 address", addr);
	if (dp_parse_uint("--listen", colon + 1, 1, 65535, &port, err) < 0)
		return -1;
	return dp_plan_add_listen(plan, ntohl(a.s_addr), (uint16_t)port, err);
}

/* "api.example:127.0.0.2": names hold no ':', so the first one splits */
static int parse_add_host(dp_plan *plan, const char *s, dp_error **err)
{
	const char *colon = strchr(s, ':');
	cleanup_free char *name = NULL;

	if (colon == NULL || colon == s || colon[1] == '\0')
		return dp_usage(err, "--add-host: expected NAME:ADDR such as api.example:127.0.0.2, got '%s'", s);
	name = strndup(s, (size_t)(colon - s));
	if (name == NULL)
		return dp_fail(err, ENOMEM, "--add-host");
	return dp_plan_add_host(plan, colon + 1, name, err);
}

static int read_ca_cert(dp_plan *plan, const char *file, dp_error **err)
{
	cleanup_close int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	char *pem;
	ssize_t n;

	if (fd < 0)
		return dp_fail_errno(err, "--ca-cert %s", file);
	if (fstat(fd, &st) < 0)
		return dp_fail_errno(err, "--ca-cert %s", file);
	if (!S_ISREG(st.st_mode) || st.st_size > DP_PLAN_MAX_CA_PEM)
		return dp_usage(err, "--ca-cert %s: expected a regular file of at most %u bytes", file, DP_PLAN_MAX_CA_PEM);
	pem = calloc(1, (size_t)st.st_size + 1);
	if (pem == NULL)
		return dp_fail(err, ENOMEM, "--ca-cert");
	n = read(fd, pem, (size_t)st.st_size);
	if (n != st.st_size) {
		free(pem);
		return dp_fail_errno(err, "--ca-cert %s: read", file);
	}
	if (memchr(pem, '\0', (size_t)n) != NULL) {
		free(pem);
		return dp_usage(err, "--ca-cert %s: expected PEM text, found a NUL byte", file);
	}
	free(plan->ca_pem);
	plan->ca_pem = pem;
	return 0;
}

/* A login name, or a uid in decimal. */
static int map_user(dp_plan *plan, const char *user, dp_error **err)
{
	struct passwd pw, *found = NULL;
	char buf[16384];
	uint64_t uid;
	int r;

	if (user[0] >= '0' && user[0] <= '9') {
		if (dp_parse_uint("--map-user", user, 0, UINT32_MAX - 1, &uid, err) < 0)
			return -1;
		return dp_plan_map_user(plan, (uid_t)uid, err);
	}
	r = getpwnam_r(user, &pw, buf, sizeof(buf), &found);
	if (r != 0)
		return dp_fail(err, r, "--map-user %s: look up the user", user);
	if (found == NULL)
		return dp_usage(err, "--map-user: no user named '%s'", user);
	return dp_plan_map_user(plan, found->pw_uid, err);
}

/* The sockets of --listen stay open, unaccepted, for the whole run. */
typedef struct held_sockets {
	int *fds;
	size_t n;
} held_sockets;

static int hold_sockets(void *arg, int *fds, size_t n, dp_error **err)
{
	held_sockets *h = arg;

	h->fds = malloc(n * sizeof(int));
	if (h->fds == NULL) {
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
		return dp_fail(err, ENOMEM, "--listen");
	}
	memcpy(h->fds, fds, n * sizeof(int));
	h->n = n;
	return 0;
}

static int parse(dp_plan *plan, int argc, char **argv, dp_error **err)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage_text, stdout);
			return 1;
		}
		if (strcmp(a, "--ro-bind") == 0) {
			dp_mount m = { .kind = DP_MOUNT_RO_BIND };
			if (need(argc, argv, i, 2, err) < 0)
				return -1;
			m.src = argv[i + 1];
			m.dst = argv[i + 2];
			i += 2;
			if (dp_plan_add_mount(plan, &m, err) < 0)
				return -1;
		} else if (strcmp(a, "--overlay") == 0 || strcmp(a, "--tmp-overlay") == 0) {
			bool tmp = strcmp(a, "--tmp-overlay") == 0;
			dp_mount m = { .kind = tmp ? DP_MOUNT_TMP_OVERLAY : DP_MOUNT_OVERLAY };
			char **lowers;
			int r;
			if (need(argc, argv, i, tmp ? 2 : 4, err) < 0)
				return -1;
			lowers = split_lowers(argv[i + 1]);
			m.lowers = lowers;
			if (tmp) {
				m.dst = argv[i + 2];
			} else {
				m.upper = argv[i + 2];
				m.work = argv[i + 3];
				m.dst = argv[i + 4];
			}
			i += tmp ? 2 : 4;
			r = dp_plan_add_mount(plan, &m, err);
			free(lowers[0]);
			free(lowers);
			if (r < 0)
				return -1;
		} else if (strcmp(a, "--tmpfs") == 0) {
			dp_mount m = { .kind = DP_MOUNT_TMPFS };
			if (need(argc, argv, i, 1, err) < 0)
				return -1;
			m.dst = argv[++i];
			if (dp_plan_add_mount(plan, &m, err) < 0)
				return -1;
		} else if (strcmp(a, "--system") == 0) {
			if (need(argc, argv, i, 1, err) < 0)
				return -1;
			free(plan->system);
			plan->system = strdup(argv[++i]);
		} else if (strcmp(a, "--hostname") == 0) {
			if (need(argc, argv, i, 1, err) < 0)
				return -1;
			free(plan->hostname);
			plan->hostname = strdup(argv[++i]);
		} else if (strcmp(a, "--mem") == 0) {
			if (need(argc, argv, i, 1, err) < 0 ||
			    dp_parse_size("--mem", argv[++i], MAX_BYTES, &plan->mem_bytes, err) < 0)
				return -1;
			if (plan->mem_bytes < (4u << 20))
				return dp_usage(err, "--mem: '%s' is below the 4M a process needs to start", argv[i]);
		} else if (strcmp(a, "--disk") == 0) {
			if (need(argc, argv, i, 1, err) < 0 ||
			    dp_parse_size("--disk", argv[++i], MAX_BYTES, &plan->disk_bytes, err) < 0)
				return -1;
		} else if (strcmp(a, "--pids") == 0) {
			if (need(argc, argv, i, 1, err) < 0 ||
			    dp_parse_uint("--pids", argv[++i], 1, 4194304, &plan->pids, err) < 0)
				return -1;
		} else if (strcmp(a, "--cpus") == 0) {
			if (need(argc, argv, i, 1, err) < 0 ||
			    dp_parse_cpus("--cpus", argv[++i], &plan->millicpus, err) < 0)
				return -1;
		} else if (strcmp(a, "--net") == 0) {
			if (need(argc, argv, i, 1, err) < 0)
				return -1;
			a = argv[++i];
			if (strcmp(a, "loopback") == 0)
				plan->net = DP_NET_LOOPBACK;
			else if (strcmp(a, "none") == 0)
				plan->net = DP_NET_NONE;
			else
				return dp_usage(err, "--net: expected 'loopback' or 'none', got '%s'", a);
		} else if (strcmp(a, "--publish") == 0) {
			dp_publish *grown;
			if (need(argc, argv, i, 1, err) < 0)
				return -1;
			grown = realloc(plan->publish, (plan->n_publish + 1) * sizeof(*grown));
			if (grown == NULL)
				return dp_fail(err, 12, "--publish");
			plan->publish = grown;
			if (dp_parse_publish("--publish", argv[++i], &grown[plan->n_publish].host_port,
					     &grown[plan->n_publish].sandbox_port, err) < 0)
				return -1;
			plan->n_publish++;
		} else if (strcmp(a, "--listen") == 0) {
			if (need(argc, argv, i, 1, err) < 0 || parse_listen(plan, argv[++i], err) < 0)
				return -1;
		} else if (strcmp(a, "--add-host") == 0) {
			if (need(argc, argv, i, 1, err) < 0 || parse_add_host(plan, argv[++i], err) < 0)
				return -1;
		} else if (strcmp(a, "--ca-cert") == 0) {
			if (need(argc, argv, i, 1, err) < 0 || read_ca_cert(plan, argv[++i], err) < 0)
				return -1;
		} else if (strcmp(a, "--env") == 0) {
			if (need(argc, argv, i, 1, err) < 0)
				return -1;
			if (add_env(plan, argv[++i]) < 0)
				return dp_fail(err, 12, "--env");
		} else if (strcmp(a, "--chdir") == 0) {
			if (need(argc, argv, i, 1, err) < 0)
				return -1;
			free(plan->chdir);
			plan->chdir = strdup(argv[++i]);
		} else if (strcmp(a, "--tty") == 0) {
			plan->tty = true;
		} else if (strcmp(a, "--uid") == 0) {
			plan->keep_uid = true;
		} else if (strcmp(a, "--map-user") == 0) {
			if (need(argc, argv, i, 1, err) < 0 || map_user(plan, argv[++i], err) < 0)
				return -1;
		} else if (a[0] == '-') {
			return dp_usage(err, "isolate: unknown option '%s'; see 'doppel isolate --help'", a);
		} else {
			break; /* the command, without '--' */
		}
	}
	if (i >= argc)
		return dp_usage(err, "isolate: no command given; expected '-- CMD [ARGS...]'");
	plan->argv = &argv[i];
	return 0;
}

int cmd_isolate(int argc, char **argv, dp_error **err)
{
	dp_plan plan;
	held_sockets held = { 0 };
	int status = 0, r;

	dp_plan_init(&plan);
	plan.on_listen = hold_sockets;
	plan.on_listen_arg = &held;
	r = parse(&plan, argc, argv, err);
	if (r == 0)
		r = dp_isolate_run(&plan, &status, err);
	else if (r > 0)
		r = 0; /* --help */
	for (size_t i = 0; i < held.n; i++)
		close(held.fds[i]);
	free(held.fds);
	dp_plan_free(&plan);
	return r < 0 ? -1 : status;
}
