/* The sandbox PostgreSQL cluster: finding the server's programs, initdb,
 * start and stop, and the small SQL helpers the rest of doppel uses on it;
 * see pgcluster.h for who may connect and how objects are named.
 *
 * Layout (root: owners in brackets; rootless: all the caller's):
 *   <store>/pg/             0711 [root]   (the store itself becomes 0711 so
 *                                          the server's user can reach it)
 *   <store>/pg/admin.pw     0600 [root]   the superuser's password
 *   <store>/pg/data/        0700 [postgres] the cluster (built as data.tmp,
 *                                          renamed when initdb is done)
 *   <store>/pg/run/         0755 [postgres] the socket; bound into sandboxes
 *   <store>/pg/log/         0700 [postgres] server.log
 *   <store>/locks/pg        held while starting, so two starts queue
 *
 * A crash leaves a postmaster.pid naming a dead (or reused) pid; a start
 * removes it when that pid is not a live postgres process. */
#include "data/pgcluster.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

#define SERVER_USER "postgres"
#define ADMIN_ROLE "doppel"
#define NAME_MAX_PG 63

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

void dp_pgc_clear(dp_pgc *c)
{
	free(c->dir);
	free(c->sockdir);
	free(c->bindir);
	if (c->password) {
		sodium_memzero(c->password, strlen(c->password));
		free(c->password);
	}
	memset(c, 0, sizeof(*c));
}

/* ---- names ---- */

/* At most 63 bytes (PostgreSQL would cut longer ones, and two names could
 * meet): a longer one keeps its first 46 bytes and 16 hex of its SHA-256. */
static char *pg_name(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *pg_name(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	unsigned char h[crypto_hash_sha256_BYTES];

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	for (char *p = s; *p; p++)
		if (*p == '-')
			*p = '_'; /* plain identifiers read better in psql */
	if (strlen(s) <= NAME_MAX_PG)
		return s;
	crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
	snprintf(s + 46, 18, "_%02x%02x%02x%02x%02x%02x%02x%02x", h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
	return s;
}

/* '-' and '_' both become '_' above; the original name goes through the
 * hash when they could meet, so "a-b" and "a_b" stay apart: a name with a
 * '-' is always hashed. */
static char *pg_name_of(const char *prefix, const char *a, const char *b, const char *c)
{
	bool dash = strchr(a, '-') || (b && strchr(b, '-')) || (c && strchr(c, '-'));
	char *s = xasprintf("%s%s%s%s%s%s", prefix, a, b ? "_" : "", b ? b : "", c ? "_" : "", c ? c : "");
	char *r;
	if (!dash || strlen(s) > NAME_MAX_PG) {
		r = pg_name("%s", s);
	} else {
		/* readable part plus a short hash of the exact original */
		unsigned char h[crypto_hash_sha256_BYTES];
		crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
		if (strlen(s) + 7 > NAME_MAX_PG)
			s[NAME_MAX_PG - 7] = '\0';
		r = pg_name("%s_%02x%02x%02x", s, h[0], h[1], h[2]);
	}
	free(s);
	return r;
}

char *dp_pgc_snapshot_db(int64_t snap, const char *db)
{
	char s[32];
	snprintf(s, sizeof(s), "%lld", (long long)snap);
	return pg_name_of("doppel_s", s, db, NULL);
}

char *dp_pgc_sandbox_db(const char *sandbox, const char *db)
{
	return pg_name_of("doppel_b_", sandbox, db, NULL);
}

char *dp_pgc_checkpoint_db(const char *sandbox, const char *label, const char *db)
{
	return pg_name_of("doppel_c_", sandbox, label, db);
}

char *dp_pgc_build_db(int pid, const char *db)
{
	char p[32];
	snprintf(p, sizeof(p), "%d", pid);
	return pg_name_of("doppel_t", p, db, NULL);
}

/* Tier and database names may both hold '_', so "a_b"+"c" and "a"+"b_c"
 * would read alike: a subset's name always ends in a short hash of the
 * exact pair. */
static char *subset_name(const char *prefix, const char *num, const char *tier, const char *db)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char *pair = xasprintf("%s/%s", tier, db);
	char *s = xasprintf("%s%s_%s_%s", prefix, num, tier, db), *r;

	crypto_hash_sha256(h, (const unsigned char *)pair, strlen(pair));
	if (strlen(s) + 7 > NAME_MAX_PG)
		s[NAME_MAX_PG - 7] = '\0';
	r = pg_name("%s_%02x%02x%02x", s, h[0], h[1], h[2]);
	free(pair);
	free(s);
	return r;
}

char *dp_pgc_subset_db(int64_t snap, const char *tier, const char *db)
{
	char s[32];
	snprintf(s, sizeof(s), "%lld", (long long)snap);
	return subset_name("doppel_u", s, tier, db);
}

char *dp_pgc_subset_build_db(int pid, const char *tier, const char *db)
{
	char p[32];
	snprintf(p, sizeof(p), "%d", pid);
	return subset_name("doppel_v", p, tier, db);
}

char *dp_pgc_ident(const char *name)
{
	size_t n = strlen(name), k = 0;
	char *r = malloc(2 * n + 3);
	if (r == NULL)
		abort();
	r[k++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (name[i] == '"')
			r[k++] = '"';
		r[k++] = name[i];
	}
	r[k++] = '"';
	r[k] = '\0';
	return r;
}

/* A conninfo value: single-quoted, backslash before ' and \. */
static char *conn_value(const char *v)
{
	size_t n = strlen(v), k = 0;
	char *r = malloc(2 * n + 3);
	if (r == NULL)
		abort();
	r[k++] = '\'';
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '\'' || v[i] == '\\')
			r[k++] = '\\';
		r[k++] = v[i];
	}
	r[k++] = '\'';
	r[k] = '\0';
	return r;
}

static char *conninfo(const dp_pgc *c, const char *dbname, const char *extra)
{
	cleanup_free char *h = conn_value(c->sockdir);
	cleanup_free char *d = conn_value(dbname);
	cleanup_free char *p = conn_value(c->password ? c->password : "");
	return xasprintf("host=%s port=%u dbname=%s user=" ADMIN_ROLE " password=%s connect_timeout=30%s", h, c->port, d,
			 p, extra ? extra : "");
}

char *dp_pgc_admin_conninfo(const dp_pgc *c, const char *dbname)
{
	return conninfo(c, dbname, NULL);
}

char *dp_pgc_data_conninfo(const dp_pgc *c, const char *dbname)
{
	return conninfo(c, dbname, " options='-c role=" DP_PGC_DATA_ROLE "'");
}

/* ---- running the server's programs ---- */

typedef struct server_user {
	bool as_other; /* root: run as SERVER_USER */
	uid_t uid;
	gid_t gid;
} server_user;

static int find_server_user(server_user *u, dp_error **err)
{
	struct passwd *pw;

	memset(u, 0, sizeof(*u));
	if (geteuid() != 0) {
		u->uid = geteuid();
		u->gid = getegid();
		return 0;
	}
	errno = 0;
	pw = getpwnam(SERVER_USER);
	if (pw == NULL)
		return dp_fail(err, 0,
			       "the sandbox PostgreSQL server cannot run as root, and there is no system user '" SERVER_USER
			       "' to run it as: install the PostgreSQL server package (it creates that user), or run doppel "
			       "as an unprivileged user");
	if (pw->pw_uid == 0)
		return dp_fail(err, 0, "system user '" SERVER_USER "' is root; PostgreSQL refuses to run as root");
	u->as_other = true;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return 0;
}

static void drop_to(const server_user *u)
{
	if (!u->as_other)
		return;
	if (setgroups(0, NULL) < 0 || setgid(u->gid) < 0 || setuid(u->uid) < 0 || setuid(0) == 0)
		_exit(126);
}

/* Runs argv (argv[0] a full path) as the server's user with a plain
 * environment; its output (the last 4 KiB) goes to out, NUL-terminated. */
static int run_tool(const server_user *u, char *const argv[], char *out, size_t outn, int *status, dp_error **err)
{
	int pfd[2];
	pid_t pid;
	size_t have = 0;
	const char *tz = getenv("TZ");
	char tzv[256];
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL, NULL };

	if (tz) {
		snprintf(tzv, sizeof(tzv), "TZ=%s", tz);
		envp[2] = tzv;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return dp_fail_errno(err, "pipe");
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return dp_fail_errno(err, "fork");
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0)
			_exit(126);
		/* the server outlives us: it may hold no lock or store file of ours */
		syscall(SYS_close_range, 3, ~0U, 0);
		umask(077);
		drop_to(u);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		char buf[4096];
		ssize_t n = read(pfd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (have + 1 >= outn) { /* keep the tail */
				memmove(out, out + outn / 2, have - outn / 2);
				have -= outn / 2;
			}
			out[have++] = buf[i];
		}
	}
	out[have] = '\0';
	close(pfd[0]);
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return dp_fail_errno(err, "wait for %s", argv[0]);
	return 0;
}

static bool is_exec(const char *dir, const char *prog)
{
	cleanup_free char *p = xasprintf("%s/%s", dir, prog);
	return access(p, X_OK) == 0;
}

static int major_of(const char *name)
{
	return atoi(name);
}

/* Where initdb, pg_ctl and postgres are: the version the cluster was made
 * with when there is one; else $DOPPEL_PG_BINDIR, pg_config --bindir, the
 * newest /usr/lib/postgresql/N/bin, $PATH. */
static char *find_bindir(const char *datadir)
{
	char buf[4096];
	const char *env = getenv("DOPPEL_PG_BINDIR");
	int want = 0;

	snprintf(buf, sizeof(buf), "%s/PG_VERSION", datadir);
	{
		FILE *f = fopen(buf, "re");
		if (f) {
			if (fgets(buf, sizeof(buf), f))
				want = major_of(buf);
			fclose(f);
		}
	}
	if (want) {
		snprintf(buf, sizeof(buf), "/usr/lib/postgresql/%d/bin", want);
		if (is_exec(buf, "postgres"))
			return strdup(buf);
	}
	if (env && env[0] && is_exec(env, "postgres"))
		return strdup(env);
	{
		char *argv[] = { "pg_config", "--bindir", NULL };
		char out[1024];
		int pfd[2], st;
		pid_t pid;
		if (pipe2(pfd, O_CLOEXEC) == 0) {
			pid = fork();
			if (pid == 0) {
				int null = open("/dev/null", O_WRONLY);
				dup2(pfd[1], 1);
				if (null >= 0)
					dup2(null, 2);
				execvp(argv[0], argv);
				_exit(127);
			}
			close(pfd[1]);
			ssize_t n = pid > 0 ? read(pfd[0], out, sizeof(out) - 1) : -1;
			close(pfd[0]);
			if (pid > 0)
				waitpid(pid, &st, 0);
			if (n > 0) {
				out[n] = '\0';
				out[strcspn(out, "\n")] = '\0';
				if (is_exec(out, "postgres") && is_exec(out, "initdb"))
					return strdup(out);
			}
		}
	}
	{
		DIR *d = opendir("/usr/lib/postgresql");
		struct dirent *de;
		int best = 0;
		while (d && (de = readdir(d)) != NULL) {
			int v = major_of(de->d_name);
			snprintf(buf, sizeof(buf), "/usr/lib/postgresql/%s/bin", de->d_name);
			if (v > best && is_exec(buf, "postgres") && is_exec(buf, "initdb"))
				best = v;
		}
		if (d)
			closedir(d);
		if (best) {
			snprintf(buf, sizeof(buf), "/usr/lib/postgresql/%d/bin", best);
			return strdup(buf);
		}
	}
	{
		const char *path = getenv("PATH");
		cleanup_free char *copy = strdup(path ? path : "/usr/bin:/bin");
		for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
			if (is_exec(dir, "postgres") && is_exec(dir, "initdb") && is_exec(dir, "pg_ctl"))
				return strdup(dir);
	}
	return NULL;
}

static int tool_fail(dp_error **err, const char *what, int status, const char *out)
{
	size_t n = strlen(out);
	while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
		n--;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
		return dp_fail(err, 0, "%s: could not switch to user " SERVER_USER, what);
	return dp_fail(err, 0, "%s failed (%s %d)%s%.*s", what, WIFEXITED(status) ? "exit status" : "signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), n ? ":\n" : "", (int)n, out);
}

/* ---- layout ---- */

static int own(const server_user *u, const char *path, mode_t mode, dp_error **err)
{
	if (u->as_other && chown(path, u->uid, u->gid) < 0)
		return dp_fail_errno(err, "chown %s", path);
	if (chmod(path, mode) < 0)
		return dp_fail_errno(err, "chmod %s", path);
	return 0;
}

static int make_dir(const server_user *u, const char *path, mode_t mode, bool server_owned, dp_error **err)
{
	struct stat sb;
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return dp_fail_errno(err, "create %s", path);
	if (lstat(path, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return dp_fail(err, 0, "%s: not a directory", path);
	if (server_owned)
		return own(u, path, mode, err);
	return chmod(path, mode) < 0 ? dp_fail_errno(err, "chmod %s", path) : 0;
}

/* Can the server's user reach dir? As root the store sits below directories
 * we must not change; say which to open rather than failing in initdb. */
static int check_reachable(const server_user *u, const char *dir, dp_error **err)
{
	pid_t pid;
	int st;

	if (!u->as_other)
		return 0;
	pid = fork();
	if (pid < 0)
		return dp_fail_errno(err, "fork");
	if (pid == 0) {
		drop_to(u);
		_exit(access(dir, X_OK) == 0 ? 0 : 1);
	}
	if (waitpid(pid, &st, 0) < 0)
		return dp_fail_errno(err, "wait");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	return dp_fail(err, 0,
		       "the sandbox PostgreSQL server runs as user " SERVER_USER " and cannot reach %s: each directory above "
		       "the store must be searchable by it (chmod o+x; the store's own directory was made so)", dir);
}

static int read_password(const char *dir, char **out, dp_error **err)
{
	char path[4096], buf[128];
	cleanup_close int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/admin.pw", dir);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return dp_fail_errno(err, "read %s", path);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return dp_fail(err, 0, "%s is empty; remove %s/data to make a new cluster", path, dir);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	*out = strdup(buf);
	sodium_memzero(buf, sizeof(buf));
	return *out ? 0 : dp_fail(err, ENOMEM, "password");
}

static char *random_hex(size_t bytes)
{
	unsigned char r[64];
	char *s = malloc(bytes * 2 + 1);
	if (s == NULL || bytes > sizeof(r) || sodium_init() < 0)
		abort();
	randombytes_buf(r, bytes);
	sodium_bin2hex(s, bytes * 2 + 1, r, bytes);
	sodium_memzero(r, sizeof(r));
	return s;
}

static int write_file(const char *path, const char *text, mode_t mode, int flags, dp_error **err)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | flags, mode);
	size_t n = strlen(text);
	if (fd < 0)
		return dp_fail_errno(err, "write %s", path);
	if (write(fd, text, n) != (ssize_t)n || fsync(fd) < 0)
		return dp_fail_errno(err, "write %s", path);
	return 0;
}

static int init_cluster(dp_pgc *c, const server_user *u, dp_error **err)
{
	cleanup_free char *tmp = xasprintf("%s/data.tmp", c->dir);
	cleanup_free char *data = xasprintf("%s/data", c->dir);
	cleanup_free char *pwfile = xasprintf("%s/log/initdb.pw", c->dir);
	cleanup_free char *adminpw = xasprintf("%s/admin.pw", c->dir);
	cleanup_free char *initdb = xasprintf("%s/initdb", c->bindir);
	cleanup_free char *pwarg = xasprintf("--pwfile=%s", pwfile);
	cleanup_free char *conf = NULL;
	cleanup_free char *sock = conn_value(c->sockdir);
	char *pw = random_hex(24);
	char out[4096], path[4096];
	int status, r = -1;

	/* a crashed initdb left a half-made cluster: it was never renamed */
	dp_remove_tree_at(AT_FDCWD, tmp);
	if (make_dir(u, tmp, 0700, true, err) < 0)
		goto out;
	if (write_file(pwfile, pw, 0600, O_TRUNC, err) < 0 || own(u, pwfile, 0600, err) < 0)
		goto out;
	{
		char *argv[] = { initdb, "-D", tmp, "-U", ADMIN_ROLE, pwarg, "--auth=scram-sha-256", "-E", "UTF8",
				 "--locale=C", "--no-instructions", NULL };
		if (run_tool(u, argv, out, sizeof(out), &status, err) < 0)
			goto out;
		unlink(pwfile);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			tool_fail(err, "initdb of the sandbox PostgreSQL cluster", status, out);
			goto out;
		}
	}
	/* unix_socket_directories is a comma-separated list in quotes */
	for (size_t i = 0; sock[i]; i++)
		if (sock[i] == '\\') {
			dp_fail(err, 0, "%s: the store's path may not hold ',' or quotes for the PostgreSQL socket", c->sockdir);
			goto out;
		}
	conf = xasprintf("\n# doppel: a private server for sandboxes, reached only over its socket\n"
			 "listen_addresses = ''\n"
			 "port = %u\n"
			 "unix_socket_directories = %s\n"
			 "unix_socket_permissions = 0777\n"
			 "password_encryption = 'scram-sha-256'\n"
			 "synchronous_commit = off\n"
			 "max_connections = 200\n"
			 "# nothing replicates or archives from it: tables made or truncated in the\n"
			 "# transaction that fills them (a snapshot's COPY FREEZE, index builds) skip WAL\n"
			 "wal_level = minimal\n"
			 "max_wal_senders = 0\n",
			 c->port, sock);
	snprintf(path, sizeof(path), "%s/postgresql.conf", tmp);
	if (write_file(path, conf, 0600, O_APPEND, err) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/pg_hba.conf", tmp);
	if (write_file(path,
		       "# doppel: the socket only, always a password; the superuser 'doppel' (doppel itself)\n"
		       "# anywhere, every other role (a sandbox's) only the database of its own name\n"
		       "local all " ADMIN_ROLE " scram-sha-256\n"
		       "local sameuser all scram-sha-256\n",
		       0600, O_TRUNC, err) < 0)
		goto out;
	if (write_file(adminpw, pw, 0600, O_TRUNC, err) < 0)
		goto out;
	if (rename(tmp, data) < 0) {
		dp_fail_errno(err, "rename %s", tmp);
		goto out;
	}
	r = 0;
out:
	unlink(pwfile);
	sodium_memzero(pw, strlen(pw));
	free(pw);
	if (r < 0)
		dp_remove_tree_at(AT_FDCWD, tmp);
	return r;
}

/* postmaster.pid's first line is the postmaster's pid; a crash (or a
 * reboot, where the number may now be anyone's) leaves it behind. */
static void clear_stale_pid(const dp_pgc *c)
{
	char path[4096], comm[64] = "";
	FILE *f;
	long pid = 0;

	snprintf(path, sizeof(path), "%s/data/postmaster.pid", c->dir);
	f = fopen(path, "re");
	if (f == NULL)
		return;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid > 0) {
		char cp[64], stat[512] = "";
		const char *rp;
		snprintf(cp, sizeof(cp), "/proc/%ld/stat", pid);
		f = fopen(cp, "re");
		if (f) {
			if (fgets(stat, sizeof(stat), f) == NULL)
				stat[0] = '\0';
			fclose(f);
		}
		/* "pid (comm) S ...": a zombie is as dead as a missing one */
		rp = strrchr(stat, ')');
		if (rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X' && strchr(stat, '(')) {
			const char *lp = strchr(stat, '(') + 1;
			snprintf(comm, sizeof(comm), "%.*s", (int)(rp - lp), lp);
		}
		if (strcmp(comm, "postgres") == 0 || strcmp(comm, "postmaster") == 0)
			return; /* alive: pg_ctl decides */
	}
	dp_debug("removing stale %s (pid %ld)", path, pid);
	unlink(path);
	snprintf(path, sizeof(path), "%s/.s.PGSQL.%u.lock", c->sockdir, c->port);
	unlink(path);
}

static int tail_log(const dp_pgc *c, char *buf, size_t n)
{
	char path[4096];
	cleanup_close int fd = -1;
	off_t end;
	ssize_t got;

	snprintf(path, sizeof(path), "%s/log/server.log", c->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	buf[0] = '\0';
	if (fd < 0 || (end = lseek(fd, 0, SEEK_END)) < 0)
		return -1;
	got = pread(fd, buf, n - 1, end > (off_t)(n - 1) ? end - (off_t)(n - 1) : 0);
	buf[got > 0 ? got : 0] = '\0';
	return 0;
}

static int ping(const dp_pgc *c)
{
	cleanup_free char *ci = NULL;

	/* unloadable libpq: "no attempt", and dp_pgc_connect names the cause */
	if (dp_dl_pq(NULL) < 0)
		return PQPING_NO_ATTEMPT;
	ci = dp_pgc_admin_conninfo(c, "postgres");
	return sym_PQping(ci);
}

static int setup_roles(const dp_pgc *c, dp_error **err)
{
	PGconn *conn = dp_pgc_connect(c, "postgres", err);
	int r;

	if (conn == NULL)
		return -1;
	/* nobody but doppel connects to the maintenance databases */
	r = dp_pgc_exec(conn, err,
			"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" DP_PGC_DATA_ROLE "') THEN "
			"CREATE ROLE " DP_PGC_DATA_ROLE " SUPERUSER NOLOGIN; END IF; END$$; "
			"REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC; "
			"REVOKE CONNECT, TEMPORARY ON DATABASE template1 FROM PUBLIC");
	sym_PQfinish(conn);
	return r;
}

static int fill(const char *store_root, dp_pgc *c, dp_error **err)
{
	cleanup_free char *data = NULL;

	memset(c, 0, sizeof(*c));
	c->dir = xasprintf("%s/pg", store_root);
	c->sockdir = xasprintf("%s/pg/run", store_root);
	c->port = DP_PGC_PORT;
	if (strlen(c->sockdir) + sizeof("/.s.PGSQL.65535") > sizeof(((struct sockaddr_un *)0)->sun_path))
		return dp_fail(err, ENAMETOOLONG,
			       "the sandbox PostgreSQL socket %s/.s.PGSQL.%u would be longer than a socket path may be; "
			       "use a store with a shorter path (DOPPEL_HOME)", c->sockdir, c->port);
	if (strpbrk(c->sockdir, ",'\"\\"))
		return dp_usage(err, "%s: the store's path may not hold ',', quotes or '\\' (PostgreSQL's socket setting)",
				store_root);
	data = xasprintf("%s/data", c->dir);
	c->bindir = find_bindir(data);
	return 0;
}

bool dp_pgc_exists(const char *store_root)
{
	char path[4096];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/pg/data/PG_VERSION", store_root);
	return stat(path, &sb) == 0;
}

bool dp_pgc_running(const char *store_root)
{
	dp_pgc c;
	dp_error *e = NULL;
	bool r = false;
	if (dp_pgc_exists(store_root) && fill(store_root, &c, &e) == 0)
		r = ping(&c) == PQPING_OK;
	dp_error_free(&e);
	dp_pgc_clear(&c);
	return r;
}

int dp_pgc_open(const char *store_root, dp_pgc *out, dp_error **err)
{
	cleanup_free char *data = NULL;
	cleanup_free char *lockpath = NULL;
	cleanup_close int lock = -1;
	dp_pgc c;
	server_user u;
	bool made = false;

	if (fill(store_root, &c, err) < 0)
		goto fail;
	data = xasprintf("%s/data", c.dir);
	/* fast path: running already */
	if (dp_pgc_exists(store_root) && read_password(c.dir, &c.password, err) == 0 && ping(&c) == PQPING_OK)
		goto done;
	dp_error_free(err);
	if (c.bindir == NULL) {
		dp_fail(err, 0, "no PostgreSQL server programs found (initdb, pg_ctl, postgres): install the PostgreSQL "
			"server package, or set DOPPEL_PG_BINDIR to their directory");
		goto fail;
	}
	if (find_server_user(&u, err) < 0)
		goto fail;
	lockpath = xasprintf("%s/locks/pg", store_root);
	lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lock < 0) {
		dp_fail_errno(err, "lock %s", lockpath);
		goto fail;
	}
	while (flock(lock, LOCK_EX) < 0)
		if (errno != EINTR) {
			dp_fail_errno(err, "lock %s", lockpath);
			goto fail;
		}
	if (u.as_other) {
		struct stat sb;
		/* the server's user must pass through the store to its own dirs */
		if (stat(store_root, &sb) < 0 || chmod(store_root, (sb.st_mode & 07777) | 0111) < 0) {
			dp_fail_errno(err, "make %s searchable for the PostgreSQL server", store_root);
			goto fail;
		}
	}
	{
		cleanup_free char *run = xasprintf("%s/run", c.dir);
		cleanup_free char *log = xasprintf("%s/log", c.dir);
		if (make_dir(&u, c.dir, u.as_other ? 0711 : 0700, false, err) < 0 ||
		    make_dir(&u, run, 0755, true, err) < 0 || make_dir(&u, log, 0700, true, err) < 0 ||
		    check_reachable(&u, run, err) < 0)
			goto fail;
	}
	if (!dp_pgc_exists(store_root)) {
		if (init_cluster(&c, &u, err) < 0)
			goto fail;
		made = true;
	}
	if (c.password == NULL && read_password(c.dir, &c.password, err) < 0)
		goto fail;
	if (ping(&c) != PQPING_OK) {
		cleanup_free char *pgctl = xasprintf("%s/pg_ctl", c.bindir);
		cleanup_free char *logf = xasprintf("%s/log/server.log", c.dir);
		/* also on the command line: a cluster made before postgresql.conf
		 * carried them gets the same WAL-free snapshot builds */
		char *argv[] = { pgctl, "-D", data, "-l", logf, "-w", "-t", "120", "-s",
				 "-o", "-c wal_level=minimal -c max_wal_senders=0", "start", NULL };
		char outb[4096], logb[2048];
		int status;

		for (int attempt = 0; attempt < 2; attempt++) {
			if (attempt) { /* a killed server's last processes may still be leaving */
				struct timespec ts = { 1, 0 };
				nanosleep(&ts, NULL);
			}
			clear_stale_pid(&c);
			if (run_tool(&u, argv, outb, sizeof(outb), &status, err) < 0)
				goto fail;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				break;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			tail_log(&c, logb, sizeof(logb));
			if (strlen(outb) + strlen(logb) + 2 < sizeof(outb))
				strcat(strcat(outb, "\n"), logb);
			tool_fail(err, "start the sandbox PostgreSQL server", status, outb);
			goto fail;
		}
		for (int i = 0; i < 300 && ping(&c) != PQPING_OK; i++) {
			struct timespec ts = { 0, 100000000 };
			nanosleep(&ts, NULL);
		}
		if (ping(&c) != PQPING_OK) {
			dp_fail(err, 0, "the sandbox PostgreSQL server started but does not answer on %s", c.sockdir);
			goto fail;
		}
		made = true;
	}
	if (made && setup_roles(&c, err) < 0)
		goto fail;
done:
	{
		char path[4096], v[16] = "";
		FILE *f;
		snprintf(path, sizeof(path), "%s/PG_VERSION", data);
		f = fopen(path, "re");
		if (f) {
			if (fgets(v, sizeof(v), f) == NULL)
				v[0] = '\0';
			fclose(f);
		}
		c.version = atoi(v) * 10000;
	}
	*out = c;
	return 0;
fail:
	dp_pgc_clear(&c);
	return dp_wrap(err, "sandbox PostgreSQL cluster");
}

int dp_pgc_stop(const char *store_root, dp_error **err)
{
	cleanup_free char *data = NULL;
	cleanup_free char *pgctl = NULL;
	dp_pgc c;
	server_user u;
	char out[4096];
	int status, r = -1;

	if (!dp_pgc_exists(store_root))
		return 0;
	if (fill(store_root, &c, err) < 0)
		goto out;
	if (c.bindir == NULL) {
		dp_fail(err, 0, "no PostgreSQL server programs found to stop the sandbox cluster with");
		goto out;
	}
	if (find_server_user(&u, err) < 0)
		goto out;
	data = xasprintf("%s/data", c.dir);
	pgctl = xasprintf("%s/pg_ctl", c.bindir);
	{
		char pidpath[4096];
		struct stat sb;
		snprintf(pidpath, sizeof(pidpath), "%s/postmaster.pid", data);
		clear_stale_pid(&c);
		if (stat(pidpath, &sb) < 0) { /* not running */
			r = 0;
			goto out;
		}
	}
	{
		char *argv[] = { pgctl, "-D", data, "-m", "fast", "-w", "-t", "120", "-s", "stop", NULL };
		if (run_tool(&u, argv, out, sizeof(out), &status, err) < 0)
			goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		tool_fail(err, "stop the sandbox PostgreSQL server", status, out);
		goto out;
	}
	r = 0;
out:
	dp_pgc_clear(&c);
	return r;
}

/* ---- SQL ---- */

static void quiet_notices(void *arg, const char *msg)
{
	(void)arg;
	dp_debug("postgres: %s", msg);
}

PGconn *dp_pgc_connect(const dp_pgc *c, const char *dbname, dp_error **err)
{
	cleanup_free char *ci = NULL;
	PGconn *conn;

	if (dp_dl_pq(err) < 0)
		return NULL;
	ci = dp_pgc_admin_conninfo(c, dbname);
	conn = sym_PQconnectdb(ci);
	if (conn == NULL) {
		dp_fail(err, ENOMEM, "connect to the sandbox PostgreSQL cluster");
		return NULL;
	}
	if (sym_PQstatus(conn) != CONNECTION_OK) {
		const char *m = sym_PQerrorMessage(conn);
		size_t n = strlen(m);
		while (n && m[n - 1] == '\n')
			n--;
		dp_fail(err, 0, "connect to database %s of the sandbox PostgreSQL cluster: %.*s", dbname, (int)n, m);
		sym_PQfinish(conn);
		return NULL;
	}
	sym_PQsetNoticeProcessor(conn, quiet_notices, NULL);
	return conn;
}

static int sql_fail(PGconn *conn, const PGresult *res, const char *sql, dp_error **err)
{
	const char *m = res ? sym_PQresultErrorMessage(res) : sym_PQerrorMessage(conn);
	size_t n = strlen(m), w = strcspn(sql, "(");
	while (n && m[n - 1] == '\n')
		n--;
	if (w > 60)
		w = 60;
	return dp_fail(err, 0, "sandbox PostgreSQL cluster: %.*s: %.*s", (int)w, sql, (int)n, m);
}

int dp_pgc_exec(PGconn *conn, dp_error **err, const char *fmt, ...)
{
	va_list ap;
	char *sql = NULL;
	PGresult *res;
	int r = 0;

	va_start(ap, fmt);
	if (vasprintf(&sql, fmt, ap) < 0)
		abort();
	va_end(ap);
	res = sym_PQexec(conn, sql);
	if (res == NULL || (sym_PQresultStatus(res) != PGRES_COMMAND_OK && sym_PQresultStatus(res) != PGRES_TUPLES_OK))
		r = sql_fail(conn, res, sql, err);
	sym_PQclear(res);
	free(sql);
	return r;
}

PGresult *dp_pgc_query(PGconn *conn, const char *sql, int n, const char *const *params, dp_error **err)
{
	PGresult *res = sym_PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	if (res == NULL || sym_PQresultStatus(res) != PGRES_TUPLES_OK) {
		sql_fail(conn, res, sql, err);
		sym_PQclear(res);
		return NULL;
	}
	return res;
}

int dp_pgc_create_build_db(PGconn *conn, const char *name, dp_error **err)
{
	cleanup_free char *id = dp_pgc_ident(name);

	if (dp_pgc_drop_db(conn, name, err) < 0 ||
	    dp_pgc_exec(conn, err, "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'", id) <
		    0 ||
	    dp_pgc_exec(conn, err, "REVOKE CONNECT, TEMPORARY ON DATABASE %s FROM PUBLIC", id) < 0 ||
	    dp_pgc_exec(conn, err, "COMMENT ON DATABASE %s IS 'doppel build %d'", id, (int)getpid()) < 0)
		return -1;
	return 0;
}

int dp_pgc_drop_db(PGconn *conn, const char *name, dp_error **err)
{
	cleanup_free char *id = dp_pgc_ident(name);
	const char *p[1] = { name };
	PGresult *res = dp_pgc_query(conn, "SELECT datistemplate FROM pg_database WHERE datname = $1", 1, p, err);
	bool tmpl;

	if (res == NULL)
		return -1;
	tmpl = sym_PQntuples(res) == 1 && sym_PQgetvalue(res, 0, 0)[0] == 't';
	sym_PQclear(res);
	/* a template cannot be dropped as one */
	if (tmpl && dp_pgc_exec(conn, err, "ALTER DATABASE %s IS_TEMPLATE false", id) < 0)
		return -1;
	return dp_pgc_exec(conn, err, "DROP DATABASE IF EXISTS %s WITH (FORCE)", id);
}

int dp_pgc_db_comment(PGconn *conn, const char *name, bool *exists, char **comment, dp_error **err)
{
	const char *p[1] = { name };
	PGresult *res = dp_pgc_query(conn, "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
				     1, p, err);
	*exists = false;
	*comment = NULL;
	if (res == NULL)
		return -1;
	if (sym_PQntuples(res) == 1) {
		*exists = true;
		if (!sym_PQgetisnull(res, 0, 0))
			*comment = strdup(sym_PQgetvalue(res, 0, 0));
	}
	sym_PQclear(res);
	return 0;
}
