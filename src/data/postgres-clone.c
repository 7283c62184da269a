/* The masked copy of one PostgreSQL database (dp_pg_clone, see postgres.h).
 *
 * One production transaction exports its snapshot; pg_dump reads the schema
 * in it (pre-data before the rows, post-data after them, so indexes and
 * constraints are built once over the finished tables rather than row by
 * row); `jobs` worker threads each import the same snapshot on their own
 * production connection and take tables, largest first (a table of 64 MB or
 * more is cut into block ranges read with TID range scans, PostgreSQL 14 on,
 * when there are cpus for more streams than workers, so no worker idles
 * while another copies the one big table). A worker streams
 * COPY TO STDOUT rows in text format, replaces the masked fields in one pass
 * (unmasked fields and tables are passed on byte for byte) and queues the
 * result, in memory, for a writer thread of its own that sends it with
 * COPY FROM STDIN in large PQputCopyData calls on the worker's connection
 * to the copy. No unmasked row is ever written anywhere. The
 * collision-free map of unique columns (data/keymap.h) is shared by all
 * workers behind one mutex, so a key and the foreign keys that inherit its
 * rule get the same fake whichever table is copied first. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "data/keymap.h"
#include "data/postgres-int.h"
#include "data/postgres.h"
#include "util/cleanup.h"
#include "util/log.h"

extern char **environ;

#define MAX_ATTEMPTS 64
#define FLUSH_BYTES (256u * 1024u)
/* tables from this size on are copied in block ranges (PostgreSQL >= 14) */
#define SPLIT_BYTES ((int64_t)64 << 20)
#define RANGE_BYTES ((int64_t)32 << 20)
#define RANGES_PER_WORKER 4

/* seconds since an arbitrary start, for the DOPPEL_DEBUG phase timings */
static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- pg_dump -------------------------------------------------------------- */

static char *find_pg_dump(void)
{
	const char *path = getenv("PATH");
	char *best = NULL;
	long best_v = -1;
	glob_t g;

	if (path) {
		cleanup_free char *copy = strdup(path);
		char *save = NULL;
		for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save)) {
			char *p;
			if (asprintf(&p, "%s/pg_dump", d) < 0)
				abort();
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	if (glob("/usr/lib/postgresql/*/bin/pg_dump", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			long v = strtol(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"), NULL, 10);
			if (v > best_v && access(g.gl_pathv[i], X_OK) == 0) {
				free(best);
				best = strdup(g.gl_pathv[i]);
				best_v = v;
			}
		}
		globfree(&g);
	}
	return best;
}

/* conninfo without its password, and the password (or NULL), for pg_dump:
 * the password goes to the child's environment only, never its argv */
static int split_password(const char *conninfo, char **rest, char **password, dp_error **err)
{
	PQconninfoOption *opts;
	dp_pgbuf b = { 0 };

	*rest = *password = NULL;
	if (dp_dl_pq(err) < 0)
		return -1;
	opts = sym_PQconninfoParse(conninfo, NULL);
	if (opts == NULL)
		return dp_fail(err, 0, "not a valid connection string");
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "password") == 0) {
			*password = strdup(o->val);
			continue;
		}
		if (b.n)
			dp_pgbuf_add(&b, " ", 1);
		dp_pgbuf_add(&b, o->keyword, strlen(o->keyword));
		dp_pgbuf_add(&b, "='", 2);
		for (const char *p = o->val; *p; p++) {
			if (*p == '\'' || *p == '\\')
				dp_pgbuf_add(&b, "\\", 1);
			dp_pgbuf_add(&b, p, 1);
		}
		dp_pgbuf_add(&b, "'", 1);
	}
	sym_PQconninfoFree(opts);
	*rest = b.p ? b.p : strdup("");
	return 0;
}

/* pg_dump's output carries psql meta-commands (\restrict/\unrestrict since
 * the 2025 minor releases, \connect with --create); PQexec wants SQL only */
static void strip_meta(dp_pgbuf *sql)
{
	static const char *const meta[] = { "\\restrict ", "\\unrestrict ", "\\connect " };
	size_t w = 0;

	for (size_t r = 0; r < sql->n;) {
		const char *nl = memchr(sql->p + r, '\n', sql->n - r);
		size_t len = nl ? (size_t)(nl - (sql->p + r)) + 1 : sql->n - r;
		bool drop = false;
		for (size_t k = 0; k < 3; k++)
			drop = drop || (len > strlen(meta[k]) && strncmp(sql->p + r, meta[k], strlen(meta[k])) == 0);
		if (!drop) {
			memmove(sql->p + w, sql->p + r, len);
			w += len;
		}
		r += len;
	}
	sql->n = w;
	if (sql->p)
		sql->p[w] = '\0';
}

/* A running pg_dump of one section: its stdout to read, its stderr kept. */
typedef struct pg_dump_proc {
	pid_t pid;
	int outfd, errfd;
	const char *section;
} pg_dump_proc;

static int spawn_pg_dump(const char *conninfo, const char *db, const char *snapshot, const char *section,
			 pg_dump_proc *pd, dp_error **err)
{
	cleanup_free char *bin = find_pg_dump(), *rest = NULL, *password = NULL, *dbarg = NULL, *snaparg = NULL,
			  *secarg = NULL, *pwenv = NULL;
	cleanup_close int errfd = -1;
	int pipefd[2], rc;
	posix_spawn_file_actions_t fa;
	char **env;
	size_t ne = 0;
	pid_t pid;

	if (bin == NULL)
		return dp_fail(err, 0, "database %s: pg_dump not found (in PATH or /usr/lib/postgresql/*/bin); "
				  "install the PostgreSQL client",
			       db);
	if (split_password(conninfo, &rest, &password, err) < 0)
		return dp_wrap(err, "database %s", db);
	if (asprintf(&dbarg, "--dbname=%s", rest) < 0 || asprintf(&snaparg, "--snapshot=%s", snapshot) < 0 ||
	    asprintf(&secarg, "--section=%s", section) < 0 ||
	    (password && asprintf(&pwenv, "PGPASSWORD=%s", password) < 0))
		abort();
	char *argv[] = { bin, "--schema-only", secarg, snaparg, "--no-owner", "--no-privileges", "--no-tablespaces",
			 "--no-subscriptions", "--no-publications", "--no-security-labels", dbarg, NULL };
	for (char **e = environ; *e; e++)
		ne++;
	env = calloc(ne + 2, sizeof(char *));
	if (env == NULL)
		abort();
	ne = 0;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "PGPASSWORD=", 11) != 0)
			env[ne++] = *e;
	if (pwenv)
		env[ne++] = pwenv;
	errfd = memfd_create("pg_dump-stderr", MFD_CLOEXEC);
	if (errfd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		free(env);
		return dp_fail_errno(err, "database %s: pg_dump", db);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	rc = posix_spawn(&pid, bin, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	close(pipefd[1]);
	if (pwenv)
		explicit_bzero(pwenv, strlen(pwenv));
	if (rc != 0) {
		close(pipefd[0]);
		return dp_fail(err, rc, "database %s: run %s", db, bin);
	}
	pd->pid = pid;
	pd->outfd = pipefd[0];
	pd->errfd = errfd;
	pd->section = section;
	errfd = -1;
	return 0;
}

/* Stops a pg_dump whose output is no longer wanted (another failed). */
static void discard_pg_dump(pg_dump_proc *pd)
{
	if (pd->pid <= 0)
		return;
	kill(pd->pid, SIGTERM);
	close(pd->outfd);
	close(pd->errfd);
	while (waitpid(pd->pid, NULL, 0) < 0 && errno == EINTR)
		;
	pd->pid = 0;
}

/* Reads a pg_dump's whole output into out and waits for it; always reaps. */
static int collect_pg_dump(pg_dump_proc *pd, const char *db, dp_pgbuf *out, dp_error **err)
{
	cleanup_close int errfd = pd->errfd;
	int status;

	if (pd->pid <= 0)
		return 0;
	out->n = 0;
	for (;;) {
		ssize_t n;
		dp_pgbuf_reserve(out, 65536);
		n = read(pd->outfd, out->p + out->n, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		out->n += (size_t)n;
	}
	close(pd->outfd);
	pd->outfd = pd->errfd = -1;
	while (waitpid(pd->pid, &status, 0) < 0)
		if (errno != EINTR) {
			pd->pid = 0;
			return dp_fail_errno(err, "database %s: wait for pg_dump", db);
		}
	pd->pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char msg[1024];
		ssize_t n = pread(errfd, msg, sizeof(msg) - 1, 0);
		msg[n > 0 ? n : 0] = '\0';
		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			msg[--n] = '\0';
		return dp_fail(err, 0, "database %s: pg_dump --section=%s failed: %s", db, pd->section,
			       msg[0] ? msg : "no message");
	}
	if (out->p)
		out->p[out->n] = '\0';
	strip_meta(out);
	return 0;
}

static int apply_sql(PGconn *dst, const char *db, dp_pgbuf *sql, const char *what, dp_error **err)
{
	PGresult *r;

	if (sql->n == 0)
		return 0;
	/* PQexec returns the last result; an error stops the rest */
	r = sym_PQexec(dst, sql->p);
	if (sym_PQresultStatus(r) != PGRES_COMMAND_OK && sym_PQresultStatus(r) != PGRES_TUPLES_OK) {
		sym_PQclear(r);
		return pgi_fail(dst, db, what, err);
	}
	sym_PQclear(r);
	return 0;
}

/* ---- the workers ---------------------------------------------------------- */

/* One piece of work: a whole table, or (PostgreSQL >= 14, large tables) a
 * range of its blocks read with a TID range scan, so that one big table is
 * shared by every worker instead of holding one while the others idle. */
typedef struct clone_item {
	const pgi_table *t;
	int64_t from, to; /* blocks [from, to); to < 0: to the end; from < 0: whole table */
	int64_t bytes;    /* estimated, for the largest-first order */
	bool first;       /* counts the table */
} clone_item;

typedef struct clone_job {
	const char *prod, *dst, *db, *snapshot;
	const dp_spec *spec;
	const dp_mask_key *key;
	pgi_schema *s;
	clone_item *items; /* largest first */
	size_t n_items;
	dp_keymap *map;
	pthread_mutex_t map_lock, lock;
	size_t next;      /* the next item to take */
	bool failed;      /* stop taking tables */
	dp_error *err;    /* the first failure */
	uint64_t rows, tables, masked_columns;
} clone_job;

/* A worker's writer: the worker queues its masked rows in buffers of about
 * FLUSH_BYTES and the writer thread sends them with COPY FROM STDIN, so the
 * copy's server is fed from the queue while the worker masks the next rows
 * or waits for a cpu, rather than only between batches (the peers'
 * pg_dump | pg_restore are two processes likewise). The connection to the
 * copy is the writer's from the first queued buffer until drain() returns. */
#define QUEUE_BUFS 8

typedef struct wqueue {
	pthread_mutex_t mu;
	pthread_cond_t more, room;
	pthread_t th;
	bool running, quit;
	dp_pgbuf buf[QUEUE_BUFS]; /* [head, head + n) are queued; buf[head] is being sent */
	size_t head, n;
	PGconn *dst;
	const char *db, *what;
	bool failed;   /* this table's send failed: drop what is queued */
	dp_error *err; /* why, until the worker takes it */
} wqueue;

typedef struct worker {
	clone_job *j;
	pthread_t th;
	PGconn *src, *dst;
	wqueue q;
	dp_pgbuf out, field, tmp, scratch;
	const pgi_col *col; /* being masked, for messages and elements */
	char tbuf[DP_TRANSFORM_BUF], ebuf[DP_TRANSFORM_BUF], nbuf[64];
} worker;

static int name_err(const pgi_table *t, const pgi_col *c, const dp_mask_rule *r, dp_error **err)
{
	return dp_wrap(err, "%s.%s.%s (%s)", r->db, t->display, c->name, dp_mask_kind_name(r->kind));
}

/* in masked by r; TEXT and BLOB results are in buf or static memory */
static int mask_val(worker *w, const dp_mask_rule *r, const dp_val *in, dp_val *out, char *buf, dp_error **err)
{
	clone_job *j = w->j;
	uint32_t ri = (uint32_t)(r - j->spec->rules);
	int rc = -1;

	if (in->type == DP_VAL_NULL) {
		*out = *in;
		return 0;
	}
	if (!j->s->mapped[ri])
		return dp_transform(r, j->key, in, 0, out, buf, DP_TRANSFORM_BUF, err);
	pthread_mutex_lock(&j->map_lock);
	if (dp_keymap_get(j->map, ri, in, out)) {
		/* the map's memory moves with the next claim (another worker's) */
		if ((out->type == DP_VAL_TEXT || out->type == DP_VAL_BLOB) && out->n < DP_TRANSFORM_BUF) {
			memcpy(buf, out->p, out->n);
			out->p = buf;
		}
		rc = 0;
		goto out;
	}
	for (uint32_t attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		int claimed;
		if (dp_transform(r, j->key, in, attempt, out, buf, DP_TRANSFORM_BUF, err) < 0)
			goto out;
		claimed = dp_keymap_claim(j->map, ri, in, out);
		if (claimed == 0)
			continue; /* another original has it */
		if (claimed < 0 || (attempt > 0 && dp_keymap_put(j->map, ri, in, out) < 0)) {
			dp_fail(err, ENOMEM, "key mapping");
			goto out;
		}
		rc = 0;
		goto out;
	}
	dp_usage(err, "found no unused value in %d tries; the column is unique, so pick a transformer with more "
		      "outcomes (hash, uuid, email)",
		 MAX_ATTEMPTS);
out:
	pthread_mutex_unlock(&j->map_lock);
	return rc;
}

static int hexv(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A value's text as the transformers take it (see pgi_kind). s is
 * NUL-terminated and may be rewritten in place (bytea). */
static void to_val(pgi_kind k, const dp_mask_rule *r, char *s, size_t n, dp_pgbuf *grow, dp_val *v)
{
	char *end;

	memset(v, 0, sizeof(*v));
	v->type = DP_VAL_TEXT;
	v->p = s;
	v->n = n;
	if (k == PGI_INT && n) {
		errno = 0;
		v->i = strtoll(s, &end, 10);
		if (errno == 0 && end == s + n)
			v->type = DP_VAL_INT;
	} else if (k == PGI_REAL && n) {
		v->r = strtod(s, &end);
		if (end == s + n)
			v->type = DP_VAL_REAL;
	} else if (k == PGI_BYTEA && n >= 2 && s[0] == '\\' && s[1] == 'x' && n % 2 == 0) {
		size_t o = 0;
		for (size_t i = 2; i + 1 < n; i += 2) {
			int hi = hexv(s[i]), lo = hexv(s[i + 1]);
			if (hi < 0 || lo < 0)
				return;
			s[o++] = (char)(hi * 16 + lo);
		}
		v->type = DP_VAL_BLOB;
		v->n = o;
	} else if (r->kind == DP_MASK_DATE && grow && n >= 3 && (s[n - 3] == '+' || s[n - 3] == '-') &&
		   s[n - 2] >= '0' && s[n - 2] <= '9' && s[n - 1] >= '0' && s[n - 1] <= '9' && n > 10) {
		/* timestamptz prints "+00"; the date transformer reads "+00:00" */
		dp_pgbuf_add(grow, ":00", 3);
		v->p = grow->p;
		v->n = grow->n;
	}
}

/* A masked value as PostgreSQL's text input takes it; NULL for NULL. */
static const char *val_text(const dp_val *v, char *nbuf, size_t nsz, dp_pgbuf *hex, size_t *n)
{
	switch (v->type) {
	case DP_VAL_NULL:
		return NULL;
	case DP_VAL_INT:
		*n = (size_t)snprintf(nbuf, nsz, "%" PRId64, v->i);
		return nbuf;
	case DP_VAL_REAL:
		*n = (size_t)snprintf(nbuf, nsz, "%.17g", v->r);
		return nbuf;
	case DP_VAL_BLOB: {
		static const char d[] = "0123456789abcdef";
		hex->n = 0;
		dp_pgbuf_add(hex, "\\x", 2);
		dp_pgbuf_reserve(hex, 2 * v->n);
		for (size_t i = 0; i < v->n; i++) {
			hex->p[hex->n++] = d[(unsigned char)v->p[i] >> 4];
			hex->p[hex->n++] = d[(unsigned char)v->p[i] & 15];
		}
		hex->p[hex->n] = '\0';
		*n = hex->n;
		return hex->p;
	}
	default:
		*n = v->n;
		return v->p;
	}
}

static int elem_fn(void *user, const char *s, size_t n, const char **out, size_t *outn, dp_error **err)
{
	worker *w = user;
	dp_val in, v;

	/* s is the scratch buffer: ours to rewrite */
	to_val(w->col->kind == PGI_BYTEA ? PGI_TEXT : w->col->kind, w->col->rule, (char *)s, n, NULL, &in);
	if (mask_val(w, w->col->rule, &in, &v, w->ebuf, err) < 0)
		return -1;
	*out = val_text(&v, w->nbuf, sizeof(w->nbuf), &w->tmp, outn);
	return 0;
}

static int json_fn(void *user, const void *rule, bool is_text, const char *s, size_t n, const char **out,
		   size_t *outn, bool *out_text, dp_error **err)
{
	worker *w = user;
	dp_val in, v;
	char *end;

	memset(&in, 0, sizeof(in));
	in.type = DP_VAL_TEXT;
	in.p = s;
	in.n = n;
	if (!is_text) {
		if (strpbrk(s, ".eE")) {
			in.type = DP_VAL_REAL;
			in.r = strtod(s, &end);
		} else {
			in.type = DP_VAL_INT;
			in.i = strtoll(s, &end, 10);
		}
	}
	if (mask_val(w, rule, &in, &v, w->ebuf, err) < 0)
		return -1;
	*out_text = v.type == DP_VAL_TEXT || v.type == DP_VAL_BLOB;
	*out = val_text(&v, w->nbuf, sizeof(w->nbuf), &w->scratch, outn);
	return 0;
}

/* One masked field [s, s+n) of column c (not \N) appended to w->out. */
static int mask_field(worker *w, const pgi_table *t, const pgi_col *c, const char *s, size_t n, dp_error **err)
{
	const dp_mask_rule *r = c->rule;
	const char *txt;
	size_t tn = 0;

	dp_copy_unescape(s, n, &w->field);
	w->col = c;
	if (c->n_json) {
		dp_json_target tg[16];
		size_t nt = c->n_json < 16 ? c->n_json : 16;
		for (size_t k = 0; k < nt; k++)
			tg[k] = (dp_json_target){ .path = c->json[k].path, .fn = json_fn, .rule = c->json[k].rule };
		w->tmp.n = 0;
		if (dp_pg_json_mask(w->field.p, w->field.n, tg, nt, w, &w->tmp, err) < 0)
			return dp_wrap(err, "%s.%s.%s", c->json[0].rule->db, t->display, c->name);
		dp_copy_escape(&w->out, w->tmp.p, w->tmp.n);
		return 0;
	}
	if (c->array) {
		dp_pgbuf arr = { 0 };
		int rc;
		/* elements are rewritten into tmp by elem_fn's hex; keep the array apart */
		rc = dp_pg_array_mask(w->field.p, w->field.n, c->delim, elem_fn, w, &w->scratch, &arr, err);
		if (rc == 0)
			dp_copy_escape(&w->out, arr.p ? arr.p : "", arr.n);
		dp_pgbuf_free(&arr);
		return rc < 0 ? name_err(t, c, r, err) : 0;
	}
	{
		dp_val in, v;
		to_val(c->kind, r, w->field.p, w->field.n, &w->field, &in);
		if (mask_val(w, r, &in, &v, w->tbuf, err) < 0)
			return name_err(t, c, r, err);
		txt = val_text(&v, w->nbuf, sizeof(w->nbuf), &w->tmp, &tn);
	}
	if (txt == NULL)
		dp_pgbuf_add(&w->out, "\\N", 2);
	else
		dp_copy_escape(&w->out, txt, tn);
	return 0;
}

static bool row_masked(const pgi_col *c)
{
	return (c->rule && c->rule->kind != DP_MASK_SQL) || c->n_json;
}

static void *writer_main(void *arg)
{
	wqueue *q = arg;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		dp_pgbuf *b;
		dp_error *e = NULL;
		bool send;
		while (q->n == 0 && !q->quit)
			pthread_cond_wait(&q->more, &q->mu);
		if (q->n == 0)
			break;
		b = &q->buf[q->head];
		send = !q->failed;
		pthread_mutex_unlock(&q->mu);
		if (send && sym_PQputCopyData(q->dst, b->p, (int)b->n) != 1)
			pgi_fail(q->dst, q->db, q->what, &e);
		pthread_mutex_lock(&q->mu);
		b->n = 0;
		if (e) {
			q->failed = true;
			q->err = e;
		}
		q->head = (q->head + 1) % QUEUE_BUFS;
		q->n--;
		pthread_cond_signal(&q->room);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* The writer's failure into err (or dropped when err is NULL or set). */
static int take_err(wqueue *q, dp_error **err)
{
	if (!q->failed)
		return 0;
	if (err && *err == NULL) {
		*err = q->err;
		q->err = NULL;
	}
	dp_error_free(&q->err);
	return -1;
}

/* w->out to the writer (w->out gets an empty buffer back). */
static int flush(worker *w, dp_error **err)
{
	wqueue *q = &w->q;
	dp_pgbuf t;
	size_t slot;
	int r;

	if (w->out.n == 0)
		return 0;
	pthread_mutex_lock(&q->mu);
	while (q->n == QUEUE_BUFS && !q->failed)
		pthread_cond_wait(&q->room, &q->mu);
	r = take_err(q, err);
	if (r == 0) {
		slot = (q->head + q->n) % QUEUE_BUFS;
		t = q->buf[slot];
		q->buf[slot] = w->out;
		w->out = t;
		q->n++;
		pthread_cond_signal(&q->more);
	}
	pthread_mutex_unlock(&q->mu);
	w->out.n = 0;
	return r;
}

/* Waits until the writer has sent all that is queued: the connection to the
 * copy is the worker's again. */
static int drain(worker *w, dp_error **err)
{
	wqueue *q = &w->q;
	int r;

	pthread_mutex_lock(&q->mu);
	while (q->n > 0)
		pthread_cond_wait(&q->room, &q->mu);
	r = take_err(q, err);
	pthread_mutex_unlock(&q->mu);
	return r;
}

/* Ends a COPY FROM STDIN that failed on this side (the copy's server rolls
 * it back); the writer is drained first, its own failure dropped. */
static void abort_copy(worker *w, const char *why)
{
	drain(w, NULL);
	sym_PQputCopyEnd(w->dst, why);
}

static int copy_table(worker *w, const clone_item *it, dp_error **err)
{
	clone_job *j = w->j;
	const pgi_table *t = it->t;
	bool whole = it->from < 0;
	dp_pgbuf cols = { 0 }, sel = { 0 }, sql = { 0 };
	const pgi_col **cc = calloc(t->n + 1, sizeof(*cc));
	bool any_row_mask = false, any_sql = false;
	size_t nc = 0;
	PGresult *res;
	uint64_t rows = 0;
	char what[600];
	int rc = -1, n;
	char *row = NULL;

	if (cc == NULL)
		abort();
	snprintf(what, sizeof(what), "copy table %s", t->display);
	for (size_t k = 0; k < t->n; k++) {
		const pgi_col *c = &t->cols[k];
		char *q;
		if (c->generated)
			continue; /* computed again from the masked columns */
		cc[nc++] = c;
		q = sym_PQescapeIdentifier(w->dst, c->name, strlen(c->name));
		if (q == NULL)
			abort();
		if (cols.n) {
			dp_pgbuf_add(&cols, ", ", 2);
			dp_pgbuf_add(&sel, ", ", 2);
		}
		dp_pgbuf_add(&cols, q, strlen(q));
		if (c->rule && c->rule->kind == DP_MASK_SQL) {
			dp_pgbuf_add(&sel, "(", 1);
			dp_pgbuf_add(&sel, c->rule->text, strlen(c->rule->text));
			dp_pgbuf_add(&sel, ")", 1);
			any_sql = true;
		} else {
			dp_pgbuf_add(&sel, q, strlen(q));
		}
		sym_PQfreemem(q);
		any_row_mask = any_row_mask || row_masked(c);
		if ((c->rule || c->n_json) && it->first) {
			pthread_mutex_lock(&j->lock);
			j->masked_columns++;
			pthread_mutex_unlock(&j->lock);
		}
	}
	if (nc == 0) {
		rc = 0;
		goto out;
	}
	/* a whole table: one transaction whose TRUNCATE lets COPY FREEZE write
	 * the rows frozen, so the sandbox never rewrites them to set hint bits.
	 * A range shares its table with other connections, where FREEZE (which
	 * wants the table truncated in the same transaction) cannot be had. */
	if (whole) {
		dp_pgbuf_add(&sql, "BEGIN; TRUNCATE ONLY ", 21);
		dp_pgbuf_add(&sql, t->qname, strlen(t->qname));
		if (pgi_exec(w->dst, sql.p, j->db, what, err) < 0)
			goto out;
		sql.n = 0;
	} else {
		char range[96];
		int rn = it->to < 0 ? snprintf(range, sizeof(range), " blocks %" PRId64 "-", it->from)
				    : snprintf(range, sizeof(range), " blocks %" PRId64 "-%" PRId64, it->from, it->to);
		if (rn > 0 && strlen(what) + (size_t)rn < sizeof(what))
			strcat(what, range);
	}
	dp_pgbuf_add(&sql, "COPY ", 5);
	dp_pgbuf_add(&sql, t->qname, strlen(t->qname));
	dp_pgbuf_add(&sql, " (", 2);
	dp_pgbuf_add(&sql, cols.p, cols.n);
	if (whole)
		dp_pgbuf_add(&sql, ") FROM STDIN WITH (FREEZE)", 26);
	else
		dp_pgbuf_add(&sql, ") FROM STDIN", 12);
	res = sym_PQexec(w->dst, sql.p);
	if (sym_PQresultStatus(res) != PGRES_COPY_IN) {
		sym_PQclear(res);
		pgi_fail(w->dst, j->db, what, err);
		goto out;
	}
	sym_PQclear(res);
	sql.n = 0;
	pthread_mutex_lock(&w->q.mu);
	w->q.what = what;
	w->q.failed = false;
	pthread_mutex_unlock(&w->q.mu);
	if (any_sql || !whole) {
		dp_pgbuf_add(&sql, "COPY (SELECT ", 13);
		dp_pgbuf_add(&sql, sel.p, sel.n);
		dp_pgbuf_add(&sql, " FROM ONLY ", 11);
		dp_pgbuf_add(&sql, t->qname, strlen(t->qname));
		if (!whole) {
			/* a Tid Range Scan: only the range's blocks are read */
			char cond[128];
			if (it->from > 0 && it->to >= 0)
				snprintf(cond, sizeof(cond),
					 " WHERE ctid >= '(%" PRId64 ",0)'::pg_catalog.tid AND ctid < '(%" PRId64
					 ",0)'::pg_catalog.tid",
					 it->from, it->to);
			else if (it->from > 0)
				snprintf(cond, sizeof(cond), " WHERE ctid >= '(%" PRId64 ",0)'::pg_catalog.tid", it->from);
			else
				snprintf(cond, sizeof(cond), " WHERE ctid < '(%" PRId64 ",0)'::pg_catalog.tid", it->to);
			dp_pgbuf_add(&sql, cond, strlen(cond));
		}
		dp_pgbuf_add(&sql, ") TO STDOUT", 11);
	} else {
		dp_pgbuf_add(&sql, "COPY ", 5);
		dp_pgbuf_add(&sql, t->qname, strlen(t->qname));
		dp_pgbuf_add(&sql, " (", 2);
		dp_pgbuf_add(&sql, cols.p, cols.n);
		dp_pgbuf_add(&sql, ") TO STDOUT", 11);
	}
	res = sym_PQexec(w->src, sql.p);
	if (sym_PQresultStatus(res) != PGRES_COPY_OUT) {
		sym_PQclear(res);
		pgi_fail(w->src, j->db, what, err);
		abort_copy(w, "doppel: production failed");
		goto out;
	}
	sym_PQclear(res);
	while ((n = sym_PQgetCopyData(w->src, &row, 0)) > 0) {
		rows++;
		if (!any_row_mask) {
			dp_pgbuf_add(&w->out, row, (size_t)n);
		} else {
			const char *p = row, *end = row + n - 1; /* without the newline */
			for (size_t k = 0; k < nc; k++) {
				const char *e = memchr(p, '\t', (size_t)(end - p));
				if (e == NULL)
					e = end;
				if (k)
					dp_pgbuf_add(&w->out, "\t", 1);
				if (!row_masked(cc[k]) || (e - p == 2 && p[0] == '\\' && p[1] == 'N'))
					dp_pgbuf_add(&w->out, p, (size_t)(e - p));
				else if (mask_field(w, t, cc[k], p, (size_t)(e - p), err) < 0)
					break;
				p = e < end ? e + 1 : end;
			}
			if (*err) {
				sym_PQfreemem(row);
				row = NULL;
				abort_copy(w, "doppel: masking failed");
				goto out;
			}
			dp_pgbuf_add(&w->out, "\n", 1);
		}
		sym_PQfreemem(row);
		row = NULL;
		if (w->out.n >= FLUSH_BYTES) {
			if (flush(w, err) < 0)
				goto out;
			if (__atomic_load_n(&j->failed, __ATOMIC_RELAXED)) {
				dp_fail(err, 0, "stopped");
				goto out;
			}
		}
	}
	if (n == -2) {
		pgi_fail(w->src, j->db, what, err);
		abort_copy(w, "doppel: production failed");
		goto out;
	}
	res = sym_PQgetResult(w->src);
	if (sym_PQresultStatus(res) != PGRES_COMMAND_OK) {
		sym_PQclear(res);
		pgi_fail(w->src, j->db, what, err);
		abort_copy(w, "doppel: production failed");
		goto out;
	}
	sym_PQclear(res);
	while ((res = sym_PQgetResult(w->src)) != NULL)
		sym_PQclear(res);
	if (flush(w, err) < 0 || drain(w, err) < 0)
		goto out;
	if (sym_PQputCopyEnd(w->dst, NULL) != 1) {
		pgi_fail(w->dst, j->db, what, err);
		goto out;
	}
	res = sym_PQgetResult(w->dst);
	if (sym_PQresultStatus(res) != PGRES_COMMAND_OK) {
		sym_PQclear(res);
		pgi_fail(w->dst, j->db, what, err);
		goto out;
	}
	sym_PQclear(res);
	while ((res = sym_PQgetResult(w->dst)) != NULL)
		sym_PQclear(res);
	if (whole && pgi_exec(w->dst, "COMMIT", j->db, what, err) < 0)
		goto out;
	pthread_mutex_lock(&j->lock);
	j->rows += rows;
	j->tables += it->first;
	pthread_mutex_unlock(&j->lock);
	rc = 0;
out:
	drain(w, NULL); /* what is about to go */
	w->out.n = 0;
	free(cc);
	dp_pgbuf_free(&cols);
	dp_pgbuf_free(&sel);
	dp_pgbuf_free(&sql);
	return rc;
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	clone_job *j = w->j;
	dp_error *err = NULL;

	w->src = pgi_connect_prod(j->prod, j->db, j->snapshot, &err);
	if (w->src)
		w->dst = pgi_connect(j->dst, j->db, false, &err);
	if (w->dst && pgi_exec(w->dst, "SET synchronous_commit = off", j->db, "session settings", &err) < 0) {
		sym_PQfinish(w->dst);
		w->dst = NULL;
	}
	w->q.dst = w->dst;
	w->q.db = j->db;
	if (w->dst && pthread_create(&w->q.th, NULL, writer_main, &w->q) != 0) {
		dp_fail(&err, EAGAIN, "database %s: start a copy thread", j->db);
		sym_PQfinish(w->dst);
		w->dst = NULL;
	}
	w->q.running = w->dst != NULL;
	while (w->dst) {
		const clone_item *it = NULL;
		pthread_mutex_lock(&j->lock);
		if (!j->failed && j->next < j->n_items)
			it = &j->items[j->next++];
		pthread_mutex_unlock(&j->lock);
		if (it == NULL)
			break;
		double t0 = mono();
		if (copy_table(w, it, &err) < 0)
			break;
		if (it->from < 0)
			dp_debug("database %s: copied %s in %.2f s", j->db, it->t->display, mono() - t0);
		else
			dp_debug("database %s: copied %s blocks %" PRId64 "-%" PRId64 " in %.2f s", j->db, it->t->display,
				 it->from, it->to, mono() - t0);
	}
	if (err) {
		pthread_mutex_lock(&j->lock);
		if (j->err == NULL && !j->failed)
			j->err = err;
		else
			dp_error_free(&err);
		__atomic_store_n(&j->failed, true, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&j->lock);
	}
	if (w->q.running) {
		pthread_mutex_lock(&w->q.mu);
		w->q.quit = true;
		pthread_cond_signal(&w->q.more);
		pthread_mutex_unlock(&w->q.mu);
		pthread_join(w->q.th, NULL);
	}
	dp_error_free(&w->q.err);
	for (size_t i = 0; i < QUEUE_BUFS; i++)
		dp_pgbuf_free(&w->q.buf[i]);
	sym_PQfinish(w->src);
	sym_PQfinish(w->dst);
	dp_pgbuf_free(&w->out);
	dp_pgbuf_free(&w->field);
	dp_pgbuf_free(&w->tmp);
	dp_pgbuf_free(&w->scratch);
	return NULL;
}

/* ---- the whole copy -------------------------------------------------------- */

static int item_cmp(const void *a, const void *b)
{
	const clone_item *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->from < y->from ? -1 : x->from > y->from;
}

/* The work, largest first: whole tables, and large tables cut into block
 * ranges when production can scan TID ranges (PostgreSQL 14). The sizes are
 * read inside the snapshot's transaction; the last range is open-ended, so
 * a table that grew since still has every row the snapshot sees. */
static int plan_items(PGconn *prod, const char *db, clone_job *j, size_t nw, dp_error **err)
{
	/* A range costs more than its share of a whole table: production scans
	 * TIDs rather than pages, and rows written beside other connections
	 * cannot be written frozen (COPY FREEZE). It pays only when the cpus
	 * can run more streams than there are big tables; a stream keeps about
	 * two processes busy (this worker and the copy's server backend, plus
	 * production's when it is local). On 2 cpus a single-stream copy of
	 * pgbench scale 20 took 30% less server cpu than the same in ranges. */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	bool ranges = sym_PQserverVersion(prod) >= 140000 && nw > 1 && cpus >= 2 * (long)nw;
	size_t cap = 0;

	j->n_items = 0;
	for (size_t i = 0; i < j->s->n; i++) {
		const pgi_table *t = &j->s->t[i];
		int64_t blocks = 0, k = 1;
		if (t->relkind != 'r')
			continue;
		if (ranges && t->bytes >= SPLIT_BYTES) {
			char sql[160];
			PGresult *r;
			snprintf(sql, sizeof(sql),
				 "SELECT pg_catalog.pg_relation_size(%u::pg_catalog.oid::pg_catalog.regclass) / "
				 "pg_catalog.current_setting('block_size')::bigint",
				 t->oid);
			r = pgi_query(prod, sql, db, "read a table's size", err);
			if (r == NULL)
				return -1;
			blocks = strtoll(sym_PQgetvalue(r, 0, 0), NULL, 10);
			sym_PQclear(r);
			k = t->bytes / RANGE_BYTES;
			if (k > (int64_t)(nw * RANGES_PER_WORKER))
				k = (int64_t)(nw * RANGES_PER_WORKER);
			if (k > blocks)
				k = blocks;
		}
		if (j->n_items + (size_t)(k > 1 ? k : 1) > cap) {
			cap = 2 * cap + (size_t)k + 16;
			j->items = realloc(j->items, cap * sizeof(*j->items));
			if (j->items == NULL)
				abort();
		}
		if (k <= 1) {
			j->items[j->n_items++] = (clone_item){ .t = t, .from = -1, .to = -1, .bytes = t->bytes, .first = true };
			continue;
		}
		for (int64_t r = 0; r < k; r++)
			j->items[j->n_items++] = (clone_item){ .t = t,
							       .from = blocks * r / k,
							       .to = r + 1 < k ? blocks * (r + 1) / k : -1,
							       .bytes = t->bytes / k,
							       .first = r == 0 };
	}
	if (j->n_items)
		qsort(j->items, j->n_items, sizeof(*j->items), item_cmp);
	return 0;
}

static int copy_sequences(PGconn *prod, PGconn *dst, const char *db, dp_error **err)
{
	/* sequences are outside transactions: this is their state now, which
	 * is at or past the snapshot's, as pg_dump's would be */
	PGresult *r = pgi_query(prod,
				"SELECT pg_catalog.format('%I.%I', schemaname, sequencename), last_value::text "
				"FROM pg_catalog.pg_sequences WHERE last_value IS NOT NULL",
				db, "read sequences", err);

	if (r == NULL)
		return -1;
	for (int i = 0; i < sym_PQntuples(r); i++) {
		const char *vals[2] = { sym_PQgetvalue(r, i, 0), sym_PQgetvalue(r, i, 1) };
		PGresult *s = sym_PQexecParams(dst, "SELECT pg_catalog.setval($1::regclass, $2::bigint, true)", 2, NULL,
					   vals, NULL, NULL, 0);
		if (sym_PQresultStatus(s) != PGRES_TUPLES_OK) {
			sym_PQclear(s);
			sym_PQclear(r);
			return pgi_fail(dst, db, "set sequences", err);
		}
		sym_PQclear(s);
	}
	sym_PQclear(r);
	return 0;
}

int dp_pg_clone(const char *prod_conninfo, const char *dst_conninfo, const dp_spec *spec, const dp_db_spec *dbs,
		const dp_mask_key *key, unsigned jobs, dp_clone_stats *stats, dp_error **err)
{
	PGconn *prod = NULL, *dst = NULL;
	PGresult *res;
	pgi_schema s = { 0 };
	dp_pgbuf pre = { 0 }, post = { 0 };
	pg_dump_proc pd_pre = { 0 }, pd_post = { 0 };
	cleanup_free char *snapshot = NULL;
	clone_job j = { 0 };
	worker *w = NULL;
	size_t nw = 0, nq = 0, ntab = 0;
	int r = -1;
	double t0 = mono(), t = t0;

	memset(stats, 0, sizeof(*stats));
	pthread_mutex_init(&j.lock, NULL);
	pthread_mutex_init(&j.map_lock, NULL);
	prod = pgi_connect_prod(prod_conninfo, dbs->name, NULL, err);
	if (prod == NULL)
		goto out;
	res = pgi_query(prod, "SELECT pg_catalog.pg_export_snapshot()", dbs->name, "export a snapshot", err);
	if (res == NULL)
		goto out;
	snapshot = strdup(sym_PQgetvalue(res, 0, 0));
	sym_PQclear(res);
	if (snapshot == NULL)
		abort();
	/* every rule is checked before anything is written */
	if (pgi_load_schema(prod, dbs->name, &s, err) < 0 || pgi_resolve(prod, dbs->name, &s, spec, dbs, err) < 0)
		goto out;
	res = pgi_query(prod, "SELECT count(*) FROM pg_catalog.pg_largeobject_metadata", dbs->name,
			"count large objects", err);
	if (res == NULL)
		goto out;
	if (strcmp(sym_PQgetvalue(res, 0, 0), "0") != 0)
		dp_warn("database %s: %s large objects are not copied into the snapshot", dbs->name,
			sym_PQgetvalue(res, 0, 0));
	sym_PQclear(res);
	dp_debug("database %s: snapshot and schema read in %.2f s", dbs->name, mono() - t);
	t = mono();
	/* both sections at once: each pg_dump spends its time reading catalogs */
	if (spawn_pg_dump(prod_conninfo, dbs->name, snapshot, "pre-data", &pd_pre, err) < 0 ||
	    spawn_pg_dump(prod_conninfo, dbs->name, snapshot, "post-data", &pd_post, err) < 0) {
		discard_pg_dump(&pd_pre);
		goto out;
	}
	if (collect_pg_dump(&pd_pre, dbs->name, &pre, err) < 0) {
		discard_pg_dump(&pd_post);
		goto out;
	}
	if (collect_pg_dump(&pd_post, dbs->name, &post, err) < 0)
		goto out;
	dp_debug("database %s: pg_dump pre-data and post-data in %.2f s", dbs->name, mono() - t);
	t = mono();
	dst = pgi_connect(dst_conninfo, dbs->name, false, err);
	if (dst == NULL || apply_sql(dst, dbs->name, &pre, "create the schema in the copy", err) < 0 ||
	    copy_sequences(prod, dst, dbs->name, err) < 0)
		goto out;

	dp_debug("database %s: schema created and sequences set in %.2f s", dbs->name, mono() - t);
	t = mono();
	j.prod = prod_conninfo;
	j.dst = dst_conninfo;
	j.db = dbs->name;
	j.snapshot = snapshot;
	j.spec = spec;
	j.key = key;
	j.s = &s;
	j.map = dp_keymap_new();
	if (j.map == NULL) {
		dp_fail(err, ENOMEM, "key mapping");
		goto out;
	}
	nw = jobs ? jobs : 2;
	if (plan_items(prod, dbs->name, &j, nw, err) < 0)
		goto out;
	ntab = j.n_items;
	if (nw > ntab)
		nw = ntab;
	w = calloc(nw + 1, sizeof(*w));
	if (w == NULL)
		abort();
	for (nq = 0; nq < nw; nq++) {
		pthread_mutex_init(&w[nq].q.mu, NULL);
		pthread_cond_init(&w[nq].q.more, NULL);
		pthread_cond_init(&w[nq].q.room, NULL);
	}
	for (size_t i = 0; i < nw; i++) {
		w[i].j = &j;
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0) {
			nw = i;
			__atomic_store_n(&j.failed, true, __ATOMIC_RELAXED);
			dp_fail(err, EAGAIN, "database %s: start a copy thread", dbs->name);
			break;
		}
	}
	for (size_t i = 0; i < nw; i++)
		pthread_join(w[i].th, NULL);
	if (*err)
		goto out;
	if (j.err) {
		*err = j.err;
		j.err = NULL;
		goto out;
	}
	dp_debug("database %s: %zu pieces of %zu tables copied by %zu workers in %.2f s", dbs->name, ntab,
		 (size_t)j.tables, nw, mono() - t);
	t = mono();
	/* index builds sort in memory rather than in temporary files: the copy's
	 * server is doppel's own, and this session builds one index at a time */
	if (pgi_exec(dst, "SET maintenance_work_mem = '256MB'", dbs->name, "session settings", err) < 0 ||
	    apply_sql(dst, dbs->name, &post, "create indexes, constraints and triggers in the copy", err) < 0)
		goto out;
	dp_debug("database %s: post-data applied in %.2f s; the clone took %.2f s", dbs->name, mono() - t,
		 mono() - t0);
	stats->tables = j.tables;
	stats->rows = j.rows;
	stats->masked_columns = j.masked_columns;
	r = 0;
out:
	if (prod)
		sym_PQclear(sym_PQexec(prod, "ROLLBACK"));
	sym_PQfinish(prod);
	sym_PQfinish(dst);
	for (size_t i = 0; i < nq; i++) {
		pthread_mutex_destroy(&w[i].q.mu);
		pthread_cond_destroy(&w[i].q.more);
		pthread_cond_destroy(&w[i].q.room);
	}
	free(w);
	dp_error_free(&j.err);
	dp_keymap_free(j.map);
	free(j.items);
	pgi_schema_free(&s);
	dp_pgbuf_free(&pre);
	dp_pgbuf_free(&post);
	pthread_mutex_destroy(&j.lock);
	pthread_mutex_destroy(&j.map_lock);
	return r;
}
