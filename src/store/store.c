/* Opening the store, its schema and migrations, transactions and locks; see
 * store.h for the layout and the crash-safety rule. */
#include "store/store.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/path.h"

/* Each entry moves the schema from version i to i+1, in one transaction. */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE snapshots ("
	"  id INTEGER PRIMARY KEY,"
	"  created INTEGER NOT NULL,"
	"  root TEXT NOT NULL,"
	"  files INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL,"
	"  copied INTEGER NOT NULL,"
	"  linked INTEGER NOT NULL);"
	"CREATE TABLE snapshot_files ("
	"  snapshot INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,"
	"  path TEXT NOT NULL,"
	"  type INTEGER NOT NULL,"
	"  mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL,"
	"  size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,"
	"  ino INTEGER NOT NULL, dev INTEGER NOT NULL,"
	"  sha256 BLOB,"
	"  PRIMARY KEY (snapshot, path)) WITHOUT ROWID;"
	"CREATE TABLE sandboxes ("
	"  name TEXT PRIMARY KEY,"
	"  tier TEXT NOT NULL,"
	"  owner INTEGER NOT NULL,"
	"  snapshot INTEGER NOT NULL REFERENCES snapshots(id),"
	"  created INTEGER NOT NULL,"
	"  upper TEXT NOT NULL,"
	"  base TEXT,"
	"  gen INTEGER NOT NULL);"
	"CREATE TABLE checkpoints ("
	"  sandbox TEXT NOT NULL REFERENCES sandboxes(name) ON DELETE CASCADE,"
	"  label TEXT NOT NULL,"
	"  layer TEXT NOT NULL,"
	"  parent TEXT,"
	"  created INTEGER NOT NULL,"
	"  PRIMARY KEY (sandbox, label));",
	/* 1 -> 2: PostgreSQL (data/pgcluster.h): each snapshot's template
	 * databases in the sandbox cluster, and each sandbox's role password */
	"CREATE TABLE snapshot_databases ("
	"  snapshot INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  pgname TEXT NOT NULL,"
	"  PRIMARY KEY (snapshot, name)) WITHOUT ROWID;"
	"ALTER TABLE sandboxes ADD COLUMN pg_password TEXT;",
	/* 2 -> 3: access control (src/ops/): API tokens, stored as hashes, and
	 * the audit log's chain head, kept here as well as in audit.log */
	"CREATE TABLE tokens ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  uid INTEGER NOT NULL,"
	"  hash BLOB NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL DEFAULT 0,"
	"  revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE audit_head ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  seq INTEGER NOT NULL,"
	"  hash TEXT NOT NULL);",
	/* 3 -> 4: PostgreSQL subsets (snapshot/databases.c): a snapshot's
	 * template for a `data: subset` tier sits beside its full copy; tier ''
	 * is the full copy */
	"CREATE TABLE snapshot_databases_v4 ("
	"  snapshot INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,"
	"  tier TEXT NOT NULL DEFAULT '',"
	"  name TEXT NOT NULL,"
	"  pgname TEXT NOT NULL,"
	"  PRIMARY KEY (snapshot, tier, name)) WITHOUT ROWID;"
	"INSERT INTO snapshot_databases_v4 (snapshot, tier, name, pgname)"
	"  SELECT snapshot, '', name, pgname FROM snapshot_databases;"
	"DROP TABLE snapshot_databases;"
	"ALTER TABLE snapshot_databases_v4 RENAME TO snapshot_databases;",
	/* 4 -> 5: trees written without fsyncs carry a mark until the
	 * background syncfs confirms them (flush.c) */
	"ALTER TABLE snapshots ADD COLUMN unflushed TEXT;"
	"ALTER TABLE checkpoints ADD COLUMN unflushed TEXT;",
};

int dp_check_name(const char *what, const char *name, dp_error **err)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 63 || !(islower((unsigned char)name[0]) || isdigit((unsigned char)name[0])))
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)name[i]) || isdigit((unsigned char)name[i]) || name[i] == '-'))
			goto bad;
	return 0;
bad:
	return dp_usage(err, "%s '%s': expected 1 to 63 lowercase letters, digits and '-', starting with a letter or digit",
			what, name ? name : "");
}

int dp_store_default_root(char **out, dp_error **err)
{
	const char *home = getenv("DOPPEL_HOME");
	char *r = NULL;

	if (home && home[0]) {
		r = strdup(home);
	} else if (geteuid() == 0) {
		r = strdup("/var/lib/doppel");
	} else {
		const char *h = getenv("HOME");
		struct passwd *pw = h ? NULL : getpwuid(geteuid());
		if (!h && pw)
			h = pw->pw_dir;
		if (!h)
			return dp_usage(err, "cannot find a home directory for the store; set DOPPEL_HOME");
		if (asprintf(&r, "%s/.local/share/doppel", h) < 0)
			r = NULL;
	}
	if (r == NULL)
		return dp_fail(err, ENOMEM, "store path");
	if (dp_path_check("DOPPEL_HOME", r, err) < 0) {
		free(r);
		return -1;
	}
	*out = r;
	return 0;
}

int dp_store_sql_error(dp_store *st, const char *what, dp_error **err)
{
	return dp_fail(err, 0, "store %s: %s: %s", st->root, what, sqlite3_errmsg(st->db));
}

int dp_store_exec(dp_store *st, const char *sql, dp_error **err)
{
	char *msg = NULL;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		dp_fail(err, 0, "store %s: %s", st->root, msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int dp_store_prepare(dp_store *st, const char *sql, sqlite3_stmt **out, dp_error **err)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, out, NULL) != SQLITE_OK)
		return dp_store_sql_error(st, "prepare", err);
	return 0;
}

int dp_store_begin(dp_store *st, dp_error **err)
{
	return dp_store_exec(st, "BEGIN IMMEDIATE", err);
}

int dp_store_commit(dp_store *st, dp_error **err)
{
	return dp_store_exec(st, "COMMIT", err);
}

void dp_store_rollback(dp_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

static int mkdir_p(const char *path, mode_t mode, dp_error **err)
{
	cleanup_free char *copy = strdup(path);

	if (copy == NULL)
		return dp_fail(err, ENOMEM, "store path");
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			return dp_fail_errno(err, "create %s", copy);
		*p = '/';
	}
	if (mkdir(copy, mode) < 0 && errno != EEXIST)
		return dp_fail_errno(err, "create store %s", copy);
	return 0;
}

static int migrate(dp_store *st, dp_error **err)
{
	sqlite3_stmt *q = NULL;
	int version;
	const int latest = (int)(sizeof(migrations) / sizeof(migrations[0]));

	if (dp_store_prepare(st, "PRAGMA user_version", &q, err) < 0)
		return -1;
	version = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
	sqlite3_finalize(q);
	if (version > latest)
		return dp_fail(err, 0, "store %s has schema version %d, newer than this doppel (%d); upgrade doppel",
			       st->root, version, latest);
	while (version < latest) {
		char setv[64];
		if (dp_store_begin(st, err) < 0)
			return -1;
		snprintf(setv, sizeof(setv), "PRAGMA user_version = %d", version + 1);
		if (dp_store_exec(st, migrations[version], err) < 0 || dp_store_exec(st, setv, err) < 0 ||
		    dp_store_commit(st, err) < 0) {
			dp_store_rollback(st);
			return dp_wrap(err, "migrate schema to version %d", version + 1);
		}
		version++;
	}
	return 0;
}

int dp_store_open(const char *root, dp_store **out, dp_error **err)
{
	static const char *const subdirs[] = { "snapshots", "subsets", "sandboxes", "locks", "tmp", NULL };
	dp_store *st;
	cleanup_free char *dbpath = NULL;

	if (dp_path_check("store", root, err) < 0 || mkdir_p(root, 0700, err) < 0)
		return -1;
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return dp_fail(err, ENOMEM, "store");
	st->rootfd = -1;
	st->root = strdup(root);
	if (st->root == NULL) {
		dp_store_close(st);
		return dp_fail(err, ENOMEM, "store");
	}
	st->rootfd = dp_path_open_nofollow("store", root, O_PATH | O_DIRECTORY, err);
	if (st->rootfd < 0) {
		dp_store_close(st);
		return -1;
	}
	for (const char *const *d = subdirs; *d; d++)
		if (mkdirat(st->rootfd, *d, 0700) < 0 && errno != EEXIST) {
			dp_fail_errno(err, "create %s/%s", root, *d);
			dp_store_close(st);
			return -1;
		}
	if (asprintf(&dbpath, "%s/doppel.db", root) < 0) {
		dp_store_close(st);
		return dp_fail(err, ENOMEM, "store");
	}
	if (sqlite3_open_v2(dbpath, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK) {
		dp_fail(err, 0, "open %s: %s", dbpath, st->db ? sqlite3_errmsg(st->db) : "out of memory");
		dp_store_close(st);
		return -1;
	}
	/* the store's directory may be searchable by others (the sandbox
	 * PostgreSQL server's user, data/pgcluster.c); its metadata is ours */
	for (const char *const *sfx = (const char *const[]){ "", "-wal", "-shm", NULL }; *sfx; sfx++) {
		char p[4096];
		snprintf(p, sizeof(p), "%s%s", dbpath, *sfx);
		if (chmod(p, 0600) < 0 && errno != ENOENT) {
			dp_fail_errno(err, "chmod %s", p);
			dp_store_close(st);
			return -1;
		}
	}
	sqlite3_busy_timeout(st->db, 10000);
	/* The WAL outlives each process: closing the last connection would
	 * otherwise checkpoint (two fsyncs) and delete it, and the next writer
	 * would make a new one (a third, for its header): ~20 ms of every
	 * command. Commits stay in the WAL until an automatic checkpoint
	 * (1000 pages); each action's audit head commit is synchronous=FULL,
	 * which syncs the WAL and so every commit before it. */
	if (sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL) != SQLITE_OK) {
		dp_store_sql_error(st, "keep the WAL on close", err);
		dp_store_close(st);
		return -1;
	}
	if (dp_store_exec(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", err) < 0 ||
	    migrate(st, err) < 0) {
		dp_store_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

void dp_store_close(dp_store *st)
{
	if (st == NULL)
		return;
	dp_store_remove_deferred(st, false);
	if (st->db)
		sqlite3_close(st->db);
	if (st->rootfd >= 0)
		close(st->rootfd);
	free(st->root);
	free(st);
}

void dp_store_defer_remove(dp_store *st, const char *rel)
{
	char **t = realloc(st->trash, (st->n_trash + 1) * sizeof(*t));
	char *c = strdup(rel);

	if (t)
		st->trash = t;
	if (t == NULL || c == NULL) {
		free(c); /* out of memory: left for `doppel check` */
		return;
	}
	st->trash[st->n_trash++] = c;
}

/* The commits that dropped the trees are in the WAL, not synced
 * (synchronous=NORMAL); syncing the WAL file makes them durable. No WAL:
 * another connection checkpointed it into doppel.db, and a checkpoint
 * syncs. */
static int sync_wal(dp_store *st)
{
	cleanup_close int fd = openat(st->rootfd, "doppel.db-wal", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	return fdatasync(fd);
}

typedef struct remover {
	char **argv;
	const posix_spawn_file_actions_t *fa;
	const posix_spawnattr_t *at;
	int rc;
} remover;

/* The middle of a double hop: a process sharing the caller's memory
 * (CLONE_VM) while the caller waits (CLONE_VFORK), so nothing is copied and
 * the caller takes no copy-on-write faults afterwards. It starts the
 * remover and exits at once, so the remover is reparented to init and
 * neither doppel nor a long-lived doppeld has a child to reap. */
static int remover_hop(void *p)
{
	remover *r = p;
	pid_t pid;

	r->rc = posix_spawn(&pid, "/proc/self/exe", r->fa, r->at, r->argv, environ);
	return 0; /* clone's wrapper ends the hop (no _exit: nothing noreturn on this stack for ASan) */
}

/* Starts the detached remover of st->trash: this binary again, in its own
 * session, stdio on /dev/null (`$(doppel reset x)` returns now), only the
 * store's directory open (a sandbox lock held by it would make the
 * caller's next command find the sandbox busy). */
static bool spawn_remover(dp_store *st)
{
	enum { HOP_STACK = 64 * 1024 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t all, none, old;
	cleanup_free char **argv = calloc(st->n_marks + st->n_trash + 3, sizeof(char *));
	cleanup_free char *flags = malloc(st->n_marks * (DP_STORE_MARK_MAX + 8) + 1);
	remover r = { .argv = argv, .fa = &fa, .at = &at, .rc = -1 };
	char *stack;
	pid_t pid = -1;
	bool ok;

	if (argv == NULL || flags == NULL)
		return false;
	argv[0] = "doppel";
	argv[1] = DP_STORE_REMOVER_ARG;
	for (size_t i = 0; i < st->n_marks; i++) {
		char *f = flags + i * (DP_STORE_MARK_MAX + 8);
		snprintf(f, DP_STORE_MARK_MAX + 8, "--flush=%s", st->marks[i]);
		argv[2 + i] = f;
	}
	if (st->n_trash)
		memcpy(argv + 2 + st->n_marks, st->trash, st->n_trash * sizeof(char *));
	stack = mmap(NULL, HOP_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return false;
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	ok = posix_spawn_file_actions_adddup2(&fa, st->rootfd, 3) == 0 &&
	     posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0) == 0 &&
	     posix_spawn_file_actions_adddup2(&fa, 0, 1) == 0 && posix_spawn_file_actions_adddup2(&fa, 0, 2) == 0 &&
	     posix_spawn_file_actions_addclosefrom_np(&fa, 4) == 0 && posix_spawnattr_setsigmask(&at, &none) == 0 &&
	     posix_spawnattr_setsigdefault(&at, &all) == 0 &&
	     posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) == 0;
	if (ok) {
		/* no signal handler may run on the hop's stack */
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pid = clone(remover_hop, stack + HOP_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &r);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	munmap(stack, HOP_STACK);
	return pid > 0 && r.rc == 0;
}

void dp_store_remove_deferred(dp_store *st, bool durable)
{
	if (st == NULL || (st->n_trash == 0 && st->n_marks == 0))
		return;
	if (!durable && sync_wal(st) < 0) {
		dp_warn("sync %s/doppel.db-wal: %s; old layers stay in the store until `doppel check` removes them",
			st->root, strerror(errno));
		/* the marks still go: they need no synced commit */
		for (size_t i = 0; i < st->n_trash; i++)
			free(st->trash[i]);
		st->n_trash = 0;
	}
	if ((st->n_trash || st->n_marks) && !spawn_remover(st)) {
		/* no detached process: here and now */
		if (dp_store_flush_marks(st->rootfd, st->marks, st->n_marks) < 0)
			dp_warn("sync the store %s: %s; `doppel check` will report its new trees after a restart",
				st->root, strerror(errno));
		for (size_t i = 0; i < st->n_trash; i++)
			dp_remove_tree_at(st->rootfd, st->trash[i]);
	}
	for (size_t i = 0; i < st->n_trash; i++)
		free(st->trash[i]);
	for (size_t i = 0; i < st->n_marks; i++)
		free(st->marks[i]);
	free(st->trash);
	free(st->marks);
	st->trash = NULL;
	st->n_trash = 0;
	st->marks = NULL;
	st->n_marks = 0;
}

/* A tree to remove: relative, no '..' component; anything else is not one
 * dp_store_defer_remove queued. */
static bool below_store(const char *rel)
{
	if (rel[0] == '\0' || rel[0] == '/')
		return false;
	for (const char *c = rel;;) {
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t)(slash - c) : strlen(c);
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return false;
		if (slash == NULL)
			return true;
		c = slash + 1;
	}
}

int dp_store_remover_main(int argc, char **argv)
{
	struct stat sb;
	int r = 0;

	if (fstat(3, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "doppel %s: fd 3 is not the store's directory\n", DP_STORE_REMOVER_ARG);
		return DP_EXIT_USAGE;
	}
	{
		/* marks first: a tree's confirmation should not wait for removals */
		cleanup_free char **marks = calloc((size_t)argc, sizeof(char *));
		size_t n = 0;
		for (int i = 2; marks && i < argc; i++)
			if (strncmp(argv[i], "--flush=", 8) == 0)
				marks[n++] = argv[i] + 8;
		if (marks == NULL || dp_store_flush_marks(3, marks, n) < 0)
			r = DP_EXIT_FAIL;
	}
	for (int i = 2; i < argc; i++)
		if (strncmp(argv[i], "--flush=", 8) != 0 &&
		    (!below_store(argv[i]) || (dp_remove_tree_at(3, argv[i]) < 0 && errno != ENOENT)))
			r = DP_EXIT_FAIL;
	return r;
}

int dp_store_lock(dp_store *st, const char *name, bool shared, dp_error **err)
{
	char rel[96];
	int fd;

	snprintf(rel, sizeof(rel), "locks/%s", name);
	fd = openat(st->rootfd, rel, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return dp_fail_errno(err, "lock %s", name);
	if (flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK && strncmp(name, "sandbox-", 8) == 0)
			dp_usage(err, "sandbox %s is busy: another doppel command is using it; try again when it is done",
				 name + 8);
		else if (e == EWOULDBLOCK)
			dp_usage(err, "%s is busy: another doppel %s is running; try again when it is done", name, name);
		if (e == EWOULDBLOCK) {
			(*err)->errnum = EBUSY; /* the daemon answers 409 */
			return -1;
		}
		return dp_fail(err, e, "lock %s", name);
	}
	return fd;
}

/* The masking key: 32 random bytes in <store>/mask.key, mode 0600, made on
 * first use. It never enters a snapshot, so a sandbox cannot recompute a
 * fake from a guess of the real value. Written to a temporary name and
 * linked into place, so two first syncs agree on one key and a crash leaves
 * no short key behind. */
int dp_store_mask_key(dp_store *st, unsigned char key[32], dp_error **err)
{
	char tmp[64];
	struct stat sb;

	for (int tries = 0; tries < 2; tries++) {
		cleanup_close int fd = openat(st->rootfd, "mask.key", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size != 32 ||
			    pread(fd, key, 32, 0) != 32)
				return dp_fail(err, 0, "%s/mask.key: not a 32-byte key file; restore it from a backup "
					       "(without it masked values change on the next sync)", st->root);
			return 0;
		}
		if (errno != ENOENT)
			return dp_fail_errno(err, "open %s/mask.key", st->root);
		if (sodium_init() < 0)
			return dp_fail(err, 0, "libsodium failed to initialise");
		randombytes_buf(key, 32);
		snprintf(tmp, sizeof(tmp), "tmp/mask.key-%d", (int)getpid());
		{
			cleanup_close int w = openat(st->rootfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (w < 0)
				return dp_fail_errno(err, "create %s/%s", st->root, tmp);
			if (write(w, key, 32) != 32 || fsync(w) < 0) {
				unlinkat(st->rootfd, tmp, 0);
				return dp_fail_errno(err, "write %s/%s", st->root, tmp);
			}
		}
		if (linkat(st->rootfd, tmp, st->rootfd, "mask.key", 0) < 0 && errno != EEXIST) {
			unlinkat(st->rootfd, tmp, 0);
			return dp_fail_errno(err, "create %s/mask.key", st->root);
		}
		unlinkat(st->rootfd, tmp, 0);
		/* loop: read back whichever key won */
	}
	return dp_fail(err, 0, "%s/mask.key: could not be created", st->root);
}

void dp_store_snapdbs_free(dp_snapdb *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].pgname);
	}
	free(v);
}

static int read_snapdbs(dp_store *st, int64_t snap, const char *tier, dp_snapdb **out, size_t *n, dp_error **err)
{
	sqlite3_stmt *q = NULL;
	dp_snapdb *v = NULL;
	size_t k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	/* per name: the tier's subset when there is one, else the full copy */
	if (dp_store_prepare(st,
			     "SELECT name, pgname FROM snapshot_databases d WHERE snapshot = ?1 AND"
			     " (tier = ?2 OR (tier = '' AND NOT EXISTS (SELECT 1 FROM snapshot_databases e"
			     "  WHERE e.snapshot = d.snapshot AND e.name = d.name AND e.tier = ?2)))"
			     " ORDER BY name",
			     &q, err) < 0)
		return -1;
	sqlite3_bind_int64(q, 1, snap);
	sqlite3_bind_text(q, 2, tier ? tier : "", -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		dp_snapdb *g = realloc(v, (k + 1) * sizeof(*v));
		if (g == NULL)
			abort();
		v = g;
		v[k].name = strdup((const char *)sqlite3_column_text(q, 0));
		v[k].pgname = strdup((const char *)sqlite3_column_text(q, 1));
		if (v[k].name == NULL || v[k].pgname == NULL)
			abort();
		k++;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		dp_store_snapdbs_free(v, k);
		return dp_store_sql_error(st, "read snapshot databases", err);
	}
	*out = v;
	*n = k;
	return 0;
}

int dp_store_snapshot_dbs(dp_store *st, int64_t snap, dp_snapdb **out, size_t *n, dp_error **err)
{
	return read_snapdbs(st, snap, "", out, n, err);
}

int dp_store_tier_dbs(dp_store *st, int64_t snap, const char *tier, dp_snapdb **out, size_t *n, dp_error **err)
{
	return read_snapdbs(st, snap, tier, out, n, err);
}
