/* A sandbox's PostgreSQL databases: settle, checkpoint, drop, the run's
 * socket and environment, and check's garbage; see pgsandbox.h for the
 * crash-safety rule they follow. */
#include "sandbox/pgsandbox.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "data/pgcluster.h"
#include "util/cleanup.h"
#include "util/log.h"

char *dp_pgsb_new_password(void)
{
	unsigned char r[24];
	char *s = malloc(sizeof(r) * 2 + 1);
	if (s == NULL || sodium_init() < 0)
		abort();
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(s, sizeof(r) * 2 + 1, r, sizeof(r));
	sodium_memzero(r, sizeof(r));
	return s;
}

static bool is_hex(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

/* The sandbox's password: its record's, made (and recorded) for a sandbox
 * that predates PostgreSQL support. */
static int sandbox_password(dp_store *st, const dp_sandbox *sb, char **out, dp_error **err)
{
	sqlite3_stmt *q = NULL;
	char *pw = NULL;

	if (dp_store_prepare(st, "SELECT pg_password FROM sandboxes WHERE name = ?1", &q, err) < 0)
		return -1;
	sqlite3_bind_text(q, 1, sb->name, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		pw = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	if (pw) {
		*out = pw;
		return 0;
	}
	pw = dp_pgsb_new_password();
	if (dp_store_begin(st, err) < 0 || dp_store_prepare(st, "UPDATE sandboxes SET pg_password = ?2 WHERE name = ?1", &q, err) < 0) {
		dp_store_rollback(st);
		free(pw);
		return -1;
	}
	sqlite3_bind_text(q, 1, sb->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, pw, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE) {
		sqlite3_finalize(q);
		dp_store_rollback(st);
		free(pw);
		return dp_store_sql_error(st, "record sandbox password", err);
	}
	sqlite3_finalize(q);
	if (dp_store_commit(st, err) < 0) {
		dp_store_rollback(st);
		free(pw);
		return -1;
	}
	*out = pw;
	return 0;
}

static char *gen_comment(const dp_sandbox *sb, int64_t gen)
{
	char *s = NULL;
	if (asprintf(&s, "doppel sandbox %s gen %lld", sb->name, (long long)gen) < 0)
		abort();
	return s;
}

/* Makes one database B of sb from src (a template or a checkpoint's). */
static int build_sandbox_db(PGconn *conn, const dp_pgc *c, const dp_sandbox *sb, const char *b, const char *src,
			    const char *password, bool role_exists, dp_error **err)
{
	cleanup_free char *bid = dp_pgc_ident(b);
	cleanup_free char *sid = dp_pgc_ident(src);
	cleanup_free char *want = gen_comment(sb, sb->gen);
	PGconn *own = NULL;
	int r;

	if (dp_pgc_drop_db(conn, b, err) < 0)
		return -1;
	if (!role_exists) {
		if (dp_pgc_exec(conn, err,
				"CREATE ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '%s'",
				bid, password) < 0 ||
		    dp_pgc_exec(conn, err, "COMMENT ON ROLE %s IS 'doppel sandbox %s'", bid, sb->name) < 0)
			return -1;
	} else if (dp_pgc_exec(conn, err, "ALTER ROLE %s PASSWORD '%s'", bid, password) < 0) {
		return -1;
	}
	/* FILE_COPY: a copy of the files and two checkpoints, not the whole
	 * database through the WAL (15's default, many times slower) */
	if (dp_pgc_exec(conn, err, "CREATE DATABASE %s TEMPLATE %s OWNER %s%s", bid, sid, bid,
			c->version >= 150000 ? " STRATEGY FILE_COPY" : "") < 0 ||
	    dp_pgc_exec(conn, err, "REVOKE CONNECT, TEMPORARY ON DATABASE %s FROM PUBLIC", bid) < 0)
		return -1;
	own = dp_pgc_connect(c, b, err);
	if (own == NULL)
		return -1;
	/* the copy's objects become the sandbox's: its app may change the schema */
	r = dp_pgc_exec(own, err, "REASSIGN OWNED BY " DP_PGC_DATA_ROLE " TO %s", bid);
	sym_PQfinish(own);
	if (r < 0)
		return -1;
	return dp_pgc_exec(conn, err, "COMMENT ON DATABASE %s IS '%s'", bid, want);
}

static int settle_on(PGconn *conn, const dp_pgc *c, const dp_sandbox *sb, const dp_snapdb *d, const char *password,
		     dp_error **err)
{
	cleanup_free char *b = dp_pgc_sandbox_db(sb->name, d->name);
	cleanup_free char *want = gen_comment(sb, sb->gen);
	cleanup_free char *ck = NULL;
	const char *p[2] = { b, want };
	const char *src = d->pgname;
	PGresult *res;
	bool ok, role;

	res = dp_pgc_query(conn,
			   "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1"
			   "   AND shobj_description(oid, 'pg_database') = $2),"
			   " EXISTS (SELECT FROM pg_roles WHERE rolname = $1)",
			   2, p, err);
	if (res == NULL)
		return -1;
	ok = sym_PQgetvalue(res, 0, 0)[0] == 't';
	role = sym_PQgetvalue(res, 0, 1)[0] == 't';
	sym_PQclear(res);
	if (ok && role)
		return 0;
	if (sb->base) {
		bool exists;
		char *comment = NULL;
		ck = dp_pgc_checkpoint_db(sb->name, sb->base, d->name);
		if (dp_pgc_db_comment(conn, ck, &exists, &comment, err) < 0)
			return -1;
		free(comment);
		if (exists)
			src = ck;
	}
	{
		bool exists;
		char *comment = NULL;
		if (dp_pgc_db_comment(conn, src, &exists, &comment, err) < 0)
			return -1;
		free(comment);
		if (!exists)
			return dp_fail(err, 0, "sandbox %s: database %s: %s is missing from the sandbox PostgreSQL cluster; "
				       "run 'doppel check', or rebase the sandbox onto a new snapshot",
				       sb->name, d->name, src);
	}
	if (build_sandbox_db(conn, c, sb, b, src, password, role, err) < 0)
		return dp_wrap(err, "sandbox %s: database %s", sb->name, d->name);
	return 0;
}

int dp_pgsb_settle(dp_store *st, const dp_sandbox *sb, const char *password, dp_error **err)
{
	dp_snapdb *dbs = NULL;
	size_t n = 0;
	cleanup_free char *own_pw = NULL;
	dp_pgc c;
	PGconn *conn;
	int r = 0;

	/* a subset tier's databases come from the snapshot's subset templates */
	if (dp_store_tier_dbs(st, sb->snapshot, sb->tier, &dbs, &n, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (password == NULL) {
		if (sandbox_password(st, sb, &own_pw, err) < 0) {
			dp_store_snapdbs_free(dbs, n);
			return -1;
		}
		password = own_pw;
	}
	if (!is_hex(password)) {
		dp_store_snapdbs_free(dbs, n);
		return dp_fail(err, 0, "sandbox %s: its PostgreSQL password in the store is damaged", sb->name);
	}
	if (dp_pgc_open(st->root, &c, err) < 0) {
		dp_store_snapdbs_free(dbs, n);
		return -1;
	}
	conn = dp_pgc_connect(&c, "postgres", err);
	for (size_t i = 0; conn && i < n && r == 0; i++)
		r = settle_on(conn, &c, sb, &dbs[i], password, err);
	if (conn == NULL)
		r = -1;
	sym_PQfinish(conn);
	dp_pgc_clear(&c);
	dp_store_snapdbs_free(dbs, n);
	return r;
}

/* CREATE DATABASE ... TEMPLATE needs the source idle: a run that just ended
 * may leave a backend that has not noticed yet. */
static int copy_idle(PGconn *conn, const dp_pgc *c, const char *dst, const char *src, dp_error **err)
{
	cleanup_free char *did = dp_pgc_ident(dst);
	cleanup_free char *sid = dp_pgc_ident(src);
	const char *p[1] = { src };

	for (int attempt = 0;; attempt++) {
		PGresult *res = dp_pgc_query(conn,
					     "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
					     " WHERE datname = $1 AND pid <> pg_backend_pid()",
					     1, p, err);
		if (res == NULL)
			return -1;
		sym_PQclear(res);
		if (dp_pgc_exec(conn, err, "CREATE DATABASE %s TEMPLATE %s%s", did, sid,
				c->version >= 150000 ? " STRATEGY FILE_COPY" : "") == 0)
			return 0;
		if (attempt == 20 || strstr((*err)->msg, "is being accessed by other users") == NULL)
			return -1;
		dp_error_free(err);
		struct timespec ts = { 0, 100000000 };
		nanosleep(&ts, NULL);
	}
}

int dp_pgsb_checkpoint(dp_store *st, const dp_sandbox *sb, const char *label, dp_error **err)
{
	dp_snapdb *dbs = NULL;
	size_t n = 0;
	dp_pgc c;
	PGconn *conn;
	int r = 0;

	if (dp_store_snapshot_dbs(st, sb->snapshot, &dbs, &n, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (dp_pgsb_settle(st, sb, NULL, err) < 0 || dp_pgc_open(st->root, &c, err) < 0) {
		dp_store_snapdbs_free(dbs, n);
		return -1;
	}
	conn = dp_pgc_connect(&c, "postgres", err);
	if (conn == NULL)
		r = -1;
	for (size_t i = 0; r == 0 && i < n; i++) {
		cleanup_free char *b = dp_pgc_sandbox_db(sb->name, dbs[i].name);
		cleanup_free char *ck = dp_pgc_checkpoint_db(sb->name, label, dbs[i].name);
		cleanup_free char *cid = dp_pgc_ident(ck);
		/* a leftover of a crashed checkpoint under this label is unrecorded */
		if (dp_pgc_drop_db(conn, ck, err) < 0 || copy_idle(conn, &c, ck, b, err) < 0 ||
		    dp_pgc_exec(conn, err, "ALTER DATABASE %s ALLOW_CONNECTIONS false", cid) < 0 ||
		    dp_pgc_exec(conn, err, "COMMENT ON DATABASE %s IS 'doppel sandbox %s checkpoint %s'", cid, sb->name,
				label) < 0)
			r = dp_wrap(err, "checkpoint %s of sandbox %s: database %s", label, sb->name, dbs[i].name);
	}
	sym_PQfinish(conn);
	dp_pgc_clear(&c);
	dp_store_snapdbs_free(dbs, n);
	return r;
}

int dp_pgsb_restamp(dp_store *st, const dp_sandbox *sb, int64_t gen, dp_error **err)
{
	dp_snapdb *dbs = NULL;
	size_t n = 0;
	dp_pgc c;
	PGconn *conn;
	int r = 0;

	if (dp_store_snapshot_dbs(st, sb->snapshot, &dbs, &n, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (dp_pgc_open(st->root, &c, err) < 0) {
		dp_store_snapdbs_free(dbs, n);
		return -1;
	}
	conn = dp_pgc_connect(&c, "postgres", err);
	if (conn == NULL)
		r = -1;
	for (size_t i = 0; r == 0 && i < n; i++) {
		cleanup_free char *b = dp_pgc_sandbox_db(sb->name, dbs[i].name);
		cleanup_free char *bid = dp_pgc_ident(b);
		cleanup_free char *want = gen_comment(sb, gen);
		r = dp_pgc_exec(conn, err, "COMMENT ON DATABASE %s IS '%s'", bid, want);
	}
	sym_PQfinish(conn);
	dp_pgc_clear(&c);
	dp_store_snapdbs_free(dbs, n);
	return r;
}

static void push(char ***v, size_t *n, char *s)
{
	char **g = realloc(*v, (*n + 2) * sizeof(char *));
	if (g == NULL || s == NULL)
		abort();
	*v = g;
	g[(*n)++] = s;
	g[*n] = NULL;
}

char **dp_pgsb_names(dp_store *st, const char *name, int64_t snap, bool only_checkpoints, dp_error **err)
{
	dp_snapdb *dbs = NULL;
	size_t n = 0, k = 0;
	char **v = calloc(1, sizeof(char *));
	sqlite3_stmt *q = NULL;

	if (v == NULL)
		abort();
	if (dp_store_snapshot_dbs(st, snap, &dbs, &n, err) < 0) {
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < n && !only_checkpoints; i++)
		push(&v, &k, dp_pgc_sandbox_db(name, dbs[i].name));
	if (n && dp_store_prepare(st, "SELECT label FROM checkpoints WHERE sandbox = ?1", &q, err) < 0) {
		dp_store_snapdbs_free(dbs, n);
		dp_pgsb_names_free(v);
		return NULL;
	}
	if (q) {
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		while (sqlite3_step(q) == SQLITE_ROW)
			for (size_t i = 0; i < n; i++)
				push(&v, &k, dp_pgc_checkpoint_db(name, (const char *)sqlite3_column_text(q, 0), dbs[i].name));
		sqlite3_finalize(q);
	}
	dp_store_snapdbs_free(dbs, n);
	return v;
}

void dp_pgsb_names_free(char **names)
{
	if (names == NULL)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

static void drop_all(dp_store *st, char **names, bool roles, const char *what)
{
	dp_pgc c;
	dp_error *e = NULL;
	PGconn *conn;

	if (names == NULL || names[0] == NULL || !dp_pgc_exists(st->root))
		return;
	if (dp_pgc_open(st->root, &c, &e) < 0) {
		dp_warn("%s: %s; 'doppel check' drops them later", what, e->msg);
		dp_error_free(&e);
		return;
	}
	conn = dp_pgc_connect(&c, "postgres", &e);
	/* every database first: a role cannot go while it owns one */
	for (int pass = 0; pass < (roles ? 2 : 1); pass++)
		for (char **p = names; conn && *p; p++) {
			cleanup_free char *id = dp_pgc_ident(*p);
			if ((pass == 0 ? dp_pgc_drop_db(conn, *p, &e)
				       : dp_pgc_exec(conn, &e, "DROP ROLE IF EXISTS %s", id)) < 0) {
				dp_warn("%s: %s; 'doppel check' drops it later", what, e->msg);
				dp_error_free(&e);
			}
		}
	if (conn == NULL) {
		dp_warn("%s: %s; 'doppel check' drops them later", what, e->msg);
		dp_error_free(&e);
	}
	sym_PQfinish(conn);
	dp_pgc_clear(&c);
}

void dp_pgsb_drop(dp_store *st, char **names)
{
	drop_all(st, names, true, "drop sandbox databases");
}

void dp_pgsb_drop_templates(dp_store *st, char **pgnames)
{
	drop_all(st, pgnames, false, "drop snapshot databases");
}

/* production's socket directory for database d, if its conninfo names one */
static char *prod_sockdir(const dp_spec *spec, const char *db)
{
	for (size_t i = 0; i < spec->n_dbs; i++) {
		PQconninfoOption *opts;
		char *r = NULL;
		if (spec->dbs[i].postgres == NULL || strcmp(spec->dbs[i].name, db) != 0)
			continue;
		opts = sym_PQconninfoParse(spec->dbs[i].postgres, NULL);
		for (PQconninfoOption *o = opts; o && o->keyword; o++)
			if (strcmp(o->keyword, "host") == 0 && o->val && o->val[0] == '/' && !strchr(o->val, ',')) {
				r = strdup(o->val);
				break;
			}
		if (opts == NULL && strncmp(spec->dbs[i].postgres, "postgres", 8) == 0) {
			/* a URL: host=/dir in its query */
			const char *h = strstr(spec->dbs[i].postgres, "host=/");
			if (h)
				r = strndup(h + 5, strcspn(h + 5, "&"));
		}
		sym_PQconninfoFree(opts);
		return r;
	}
	return NULL;
}

static void add_env(dp_plan *plan, const char *k, const char *v)
{
	char *kv = NULL;
	char **g = realloc(plan->env, (plan->n_env + 1) * sizeof(char *));
	if (g == NULL || asprintf(&kv, "%s=%s", k, v) < 0)
		abort();
	plan->env = g;
	plan->env[plan->n_env++] = kv;
}

int dp_pgsb_plan(dp_store *st, const dp_spec *spec, const dp_sandbox *sb, dp_plan *plan, dp_error **err)
{
	dp_snapdb *dbs = NULL;
	size_t n = 0;
	cleanup_free char *pw = NULL;
	cleanup_free char *dir = NULL;
	char **mounted = NULL;
	size_t n_mounted = 0;
	dp_pgc c;
	char port[16];
	int r = -1;
	bool first = true;

	if (dp_store_snapshot_dbs(st, sb->snapshot, &dbs, &n, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (dp_dl_pq(err) < 0 || dp_pgsb_settle(st, sb, NULL, err) < 0 || sandbox_password(st, sb, &pw, err) < 0)
		goto out;
	if (dp_pgc_open(st->root, &c, err) < 0)
		goto out;
	snprintf(port, sizeof(port), "%u", c.port);
	/* doppel.yaml's order: its first PostgreSQL database gets the PG* variables */
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			bool in_spec = false;
			for (size_t k = 0; k < spec->n_dbs; k++)
				if (spec->dbs[k].postgres && strcmp(spec->dbs[k].name, dbs[i].name) == 0)
					in_spec = true;
			if ((pass == 0) != in_spec)
				continue;
			cleanup_free char *b = dp_pgc_sandbox_db(sb->name, dbs[i].name);
			cleanup_free char *sock = prod_sockdir(spec, dbs[i].name);
			const char *at = sock ? sock : DP_PGSB_DEFAULT_SOCKDIR;
			char *url = NULL, key[128];
			bool seen = false;

			/* production's socket path leads to the sandbox's server: the
			 * app's own settings reach its copy, never production */
			for (size_t m = 0; m < n_mounted; m++)
				if (strcmp(mounted[m], at) == 0)
					seen = true;
			if (!seen) {
				dp_mount mt = { .kind = DP_MOUNT_RO_BIND, .src = c.sockdir, .dst = (char *)at };
				if (dp_plan_add_mount(plan, &mt, err) < 0) {
					dp_pgc_clear(&c);
					goto out;
				}
				push(&mounted, &n_mounted, strdup(at));
			}
			if (asprintf(&url, "postgresql://%s:%s@/%s?host=%s&port=%s", b, pw, b, at, port) < 0)
				abort();
			if (first) {
				add_env(plan, "PGHOST", at);
				add_env(plan, "PGPORT", port);
				add_env(plan, "PGDATABASE", b);
				add_env(plan, "PGUSER", b);
				add_env(plan, "PGPASSWORD", pw);
				add_env(plan, "DATABASE_URL", url);
				first = false;
			}
			snprintf(key, sizeof(key), "DATABASE_URL_%s", dbs[i].name);
			for (char *p = key; *p; p++)
				*p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
			add_env(plan, key, url);
			free(url);
		}
	dp_pgc_clear(&c);
	r = 0;
out:
	dp_pgsb_names_free(mounted);
	dp_store_snapdbs_free(dbs, n);
	return r;
}

/* ---- check ---- */

/* Is name (a database or role) one the store names now? */
static bool expected(dp_store *st, const char *name)
{
	sqlite3_stmt *q = NULL;
	bool r = false;

	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM snapshot_databases WHERE pgname = ?1", -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		r = sqlite3_step(q) == SQLITE_ROW;
	}
	sqlite3_finalize(q);
	if (r)
		return true;
	/* sandboxes and their checkpoints, over their snapshot's databases */
	if (sqlite3_prepare_v2(st->db,
			       "SELECT s.name, d.name, c.label FROM sandboxes s JOIN snapshot_databases d ON d.snapshot = s.snapshot"
			       " AND d.tier = ''"
			       " LEFT JOIN checkpoints c ON c.sandbox = s.name",
			       -1, &q, NULL) != SQLITE_OK)
		return true; /* unsure: keep it */
	while (!r && sqlite3_step(q) == SQLITE_ROW) {
		const char *sbn = (const char *)sqlite3_column_text(q, 0), *db = (const char *)sqlite3_column_text(q, 1);
		cleanup_free char *b = dp_pgc_sandbox_db(sbn, db);
		r = strcmp(b, name) == 0;
		if (!r && sqlite3_column_text(q, 2)) {
			cleanup_free char *ck = dp_pgc_checkpoint_db(sbn, (const char *)sqlite3_column_text(q, 2), db);
			r = strcmp(ck, name) == 0;
		}
	}
	sqlite3_finalize(q);
	return r;
}

static void report(bool repaired, const char *what, const char *name, dp_check_report *rep)
{
	if (repaired) {
		printf("repaired: dropped PostgreSQL %s %s (named by no record)\n", what, name);
		rep->repaired++;
	} else {
		printf("problem: PostgreSQL %s %s is named by no record (an interrupted operation left it)\n", what, name);
		rep->problems++;
	}
}

static void judge(dp_store *st, PGconn *conn, bool repair, const char *name, const char *comment, bool role,
		  dp_check_report *rep)
{
	char owner[128] = "";
	int pid = 0;
	int lock = -1;
	dp_error *e = NULL;

	if (expected(st, name))
		return;
	if (sscanf(comment, "doppel build %d", &pid) == 1 && pid > 0 && (kill(pid, 0) == 0 || errno == EPERM))
		return; /* a sync at work */
	if (sscanf(comment, "doppel sandbox %127s", owner) == 1) {
		char lk[160];
		snprintf(lk, sizeof(lk), "sandbox-%s", owner);
		lock = dp_store_lock(st, lk, false, &e);
		if (lock < 0) {
			dp_error_free(&e);
			rep->busy_skipped = true;
			printf("skipped: sandbox %s is busy\n", owner);
			return;
		}
		if (expected(st, name)) { /* made live meanwhile */
			close(lock);
			return;
		}
	}
	if (!repair) {
		report(false, role ? "role" : "database", name, rep);
	} else {
		cleanup_free char *id = dp_pgc_ident(name);
		int r = role ? dp_pgc_exec(conn, &e, "DROP ROLE IF EXISTS %s", id) : dp_pgc_drop_db(conn, name, &e);
		if (r == 0) {
			report(true, role ? "role" : "database", name, rep);
		} else {
			printf("problem: PostgreSQL %s %s is named by no record and could not be dropped: %s\n",
			       role ? "role" : "database", name, e->msg);
			rep->problems++;
			dp_error_free(&e);
		}
	}
	if (lock >= 0)
		close(lock);
}

int dp_pgsb_check(dp_store *st, bool repair, dp_check_report *rep, dp_error **err)
{
	cleanup_close int synclock = -1;
	dp_pgc c;
	PGconn *conn;
	PGresult *res;
	sqlite3_stmt *q = NULL;

	if (!dp_pgc_exists(st->root))
		return 0;
	/* no sync may build or prune templates meanwhile */
	synclock = dp_store_lock(st, "sync", false, err);
	if (synclock < 0)
		return dp_wrap(err, "check");
	if (dp_pgc_open(st->root, &c, err) < 0)
		return -1;
	conn = dp_pgc_connect(&c, "postgres", err);
	if (conn == NULL) {
		dp_pgc_clear(&c);
		return -1;
	}
	/* databases before roles: a role that owns a database cannot go */
	for (int pass = 0; pass < 2; pass++) {
		res = dp_pgc_query(conn,
				   pass == 0 ? "SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database"
					       " WHERE datname LIKE 'doppel\\_%' ORDER BY 1"
					     : "SELECT rolname, coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles"
					       " WHERE rolname LIKE 'doppel\\_%' AND rolname <> '" DP_PGC_DATA_ROLE "' ORDER BY 1",
				   0, NULL, err);
		if (res == NULL) {
			sym_PQfinish(conn);
			dp_pgc_clear(&c);
			return -1;
		}
		for (int i = 0; i < sym_PQntuples(res); i++)
			judge(st, conn, repair, sym_PQgetvalue(res, i, 0), sym_PQgetvalue(res, i, 1), pass == 1, rep);
		sym_PQclear(res);
	}
	/* templates the store names must be there */
	if (sqlite3_prepare_v2(st->db, "SELECT snapshot, name, pgname, tier FROM snapshot_databases", -1, &q, NULL) ==
	    SQLITE_OK) {
		while (sqlite3_step(q) == SQLITE_ROW) {
			bool exists;
			char *comment = NULL;
			dp_error *e = NULL;
			if (dp_pgc_db_comment(conn, (const char *)sqlite3_column_text(q, 2), &exists, &comment, &e) < 0) {
				dp_error_free(&e);
				continue;
			}
			free(comment);
			if (!exists) {
				const char *tier = (const char *)sqlite3_column_text(q, 3);
				printf("problem: snapshot %lld: its PostgreSQL database %s%s%s (%s) is missing\n",
				       (long long)sqlite3_column_int64(q, 0), (const char *)sqlite3_column_text(q, 1),
				       tier && tier[0] ? ", subset for tier " : "", tier ? tier : "",
				       (const char *)sqlite3_column_text(q, 2));
				rep->problems++;
			}
		}
		sqlite3_finalize(q);
	}
	sym_PQfinish(conn);
	dp_pgc_clear(&c);
	/* each idle sandbox's databases as its record says (a crashed reset) */
	if (repair && sqlite3_prepare_v2(st->db, "SELECT name FROM sandboxes s WHERE EXISTS (SELECT 1 FROM snapshot_databases d"
						 " WHERE d.snapshot = s.snapshot)",
					 -1, &q, NULL) == SQLITE_OK) {
		char **names = NULL;
		size_t n = 0;
		while (sqlite3_step(q) == SQLITE_ROW)
			push(&names, &n, strdup((const char *)sqlite3_column_text(q, 0)));
		sqlite3_finalize(q);
		for (size_t i = 0; i < n; i++) {
			char lk[160];
			dp_error *e = NULL;
			dp_sandbox sb;
			int lock;
			snprintf(lk, sizeof(lk), "sandbox-%s", names[i]);
			lock = dp_store_lock(st, lk, false, &e);
			if (lock < 0) {
				dp_error_free(&e);
				continue;
			}
			if (dp_sandbox_get(st, names[i], &sb, &e) == 0) {
				if (dp_pgsb_settle(st, &sb, NULL, &e) < 0) {
					printf("problem: sandbox %s: %s\n", names[i], e->msg);
					rep->problems++;
				}
				dp_sandbox_clear(&sb);
			}
			dp_error_free(&e);
			close(lock);
		}
		dp_pgsb_names_free(names);
	}
	return 0;
}

int dp_pgsb_dirs(dp_store *st, const dp_sandbox *sb, dp_pgsb_dir **out, size_t *n_out, dp_error **err)
{
	dp_snapdb *dbs = NULL;
	size_t n = 0, k = 0;
	dp_pgsb_dir *v;
	PGconn *conn = NULL;
	dp_pgc c;
	int r = -1;

	*out = NULL;
	*n_out = 0;
	if (dp_store_snapshot_dbs(st, sb->snapshot, &dbs, &n, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	v = calloc(n, sizeof(*v));
	if (v == NULL)
		abort();
	if (dp_pgc_open(st->root, &c, err) < 0)
		goto out_nocluster;
	conn = dp_pgc_connect(&c, "postgres", err);
	if (conn == NULL || dp_pgc_exec(conn, err, "CHECKPOINT") < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *pg = dp_pgc_sandbox_db(sb->name, dbs[i].name);
		const char *p[1] = { pg };
		PGresult *res = dp_pgc_query(conn, "SELECT oid::text FROM pg_database WHERE datname = $1", 1, p, err);
		if (res == NULL)
			goto out;
		if (sym_PQntuples(res) != 1) {
			sym_PQclear(res);
			dp_fail(err, 0, "sandbox %s: its PostgreSQL database %s is missing (doppel check repairs it)",
				sb->name, pg);
			goto out;
		}
		if (asprintf(&v[k].rel, "pg/data/base/%s", sym_PQgetvalue(res, 0, 0)) < 0 ||
		    (v[k].db = strdup(dbs[i].name)) == NULL)
			abort();
		k++;
		sym_PQclear(res);
	}
	r = 0;
out:
	sym_PQfinish(conn);
	dp_pgc_clear(&c);
out_nocluster:
	dp_store_snapdbs_free(dbs, n);
	if (r < 0) {
		dp_pgsb_dirs_free(v, k);
		return -1;
	}
	*out = v;
	*n_out = k;
	return 0;
}

void dp_pgsb_dirs_free(dp_pgsb_dir *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].db);
		free(v[i].rel);
	}
	free(v);
}
