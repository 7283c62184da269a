/* Subsets of a PostgreSQL database for partial-copy tiers (subset.TIER in
 * doppel.yaml), cut inside doppel's own sandbox cluster from a fresh copy of
 * the snapshot's full masked template (CREATE DATABASE ... TEMPLATE, by the
 * caller): rows the subset does not keep are deleted there. Production is
 * never read or written here, and the WHERE only ever sees fakes.
 *
 * The rules are the SQLite path's (data/subset.c): a table named in
 * subset.TIER keeps the rows its WHERE selects; a table referencing such a
 * table through a foreign key, directly or through others, is downstream and
 * keeps the rows whose references all point at kept rows (NULL references
 * pass); every other table is whole; then every row a kept row references is
 * kept too, until nothing changes. Differences, from what PostgreSQL is:
 * composite keys are followed as a whole; a partitioned table is one table
 * (its partitions are kept or not together); a table inheriting from another
 * is a table of its own (ONLY); keys declared NOT VALID are followed but not
 * promised, since production's rows may already break them.
 *
 * Rows are tracked by (tableoid, ctid) in temp tables; nothing else uses the
 * database meanwhile, so ctids stay put. The rows are chosen in a READ ONLY
 * transaction (temp tables may still be written), so a WHERE cannot change
 * data; they are deleted with session_replication_role = replica, so no
 * trigger, rule or ON DELETE action of production's schema fires and the
 * result is exactly the rows chosen. Every affected validated key is then
 * checked, and the cut tables are rewritten (VACUUM FULL), so a sandbox made
 * from the subset copies only what it keeps. */
#include "data/postgres.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/postgres-int.h"
#include "util/cleanup.h"

#define MAX_PASSES 1000

enum kind { FULL, FILTERED, DOWNSTREAM };

/* A foreign key between two known tables. */
typedef struct sfk {
	size_t child, parent;         /* logical tables */
	const pgi_table *crel, *prel; /* the relations it is declared on */
	char **ccols, **pcols;        /* quoted column names, in key order */
	size_t n;
	bool validated;
	char *name;
} sfk;

typedef struct ctx {
	PGconn *c;
	const char *db; /* production.databases name, for messages */
	pgi_schema s;
	size_t *lt; /* logical tables (not partitions): indexes into s.t */
	size_t n_lt;
	enum kind *kind; /* by logical table */
	sfk *fks;
	size_t n_fks;
} ctx;

static void add(dp_pgbuf *b, const char *s)
{
	dp_pgbuf_add(b, s, strlen(s));
	dp_pgbuf_reserve(b, 1);
	b->p[b->n] = '\0';
}

static void addf(dp_pgbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(dp_pgbuf *b, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	add(b, s);
	free(s);
}

/* A relation as the key sees it: a partitioned table with its partitions,
 * any other table without the tables inheriting from it. */
static void add_rel(dp_pgbuf *b, const pgi_table *t)
{
	if (t->relkind != 'p')
		add(b, "ONLY ");
	add(b, t->qname);
}

static void add_keep(dp_pgbuf *b, size_t l)
{
	addf(b, "pg_temp.doppel_keep_%zu", l);
}

static const pgi_table *ltab(const ctx *c, size_t l)
{
	return &c->s.t[c->lt[l]];
}

/* The logical table a relation belongs to (its partitioned root's). */
static bool logical_of(ctx *c, unsigned oid, size_t *out)
{
	pgi_table *t = pgi_table_by_oid(&c->s, oid);

	if (t == NULL)
		return false;
	for (size_t l = 0; l < c->n_lt; l++)
		if (ltab(c, l)->oid == t->root) {
			*out = l;
			return true;
		}
	return false;
}

/* Runs b (and frees it); *changed: the rows it touched. */
static int run(ctx *c, dp_pgbuf *b, const char *what, int64_t *changed, dp_error **err)
{
	PGresult *r = sym_PQexec(c->c, b->p);
	ExecStatusType st = sym_PQresultStatus(r);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = pgi_fail(c->c, c->db, what, err);
	else if (changed)
		*changed = strtoll(sym_PQcmdTuples(r), NULL, 10);
	sym_PQclear(r);
	dp_pgbuf_free(b);
	return rc;
}

static void free_fks(ctx *c)
{
	for (size_t f = 0; f < c->n_fks; f++) {
		for (size_t i = 0; i < c->fks[f].n; i++) {
			free(c->fks[f].ccols[i]);
			free(c->fks[f].pcols[i]);
		}
		free(c->fks[f].ccols);
		free(c->fks[f].pcols);
		free(c->fks[f].name);
	}
	free(c->fks);
}

static char *quote(PGconn *pc, const char *s)
{
	char *q = sym_PQescapeIdentifier(pc, s, strlen(s)), *r;

	if (q == NULL)
		abort();
	r = strdup(q);
	sym_PQfreemem(q);
	if (r == NULL)
		abort();
	return r;
}

/* Every foreign key as declared (not the copies PostgreSQL keeps on each
 * partition), one row per column pair. */
static int load_fks(ctx *c, dp_error **err)
{
	static const char sql[] =
		"SELECT k.oid, k.conrelid, k.confrelid, k.convalidated, k.conname, ca.attname, pa.attname "
		"FROM pg_catalog.pg_constraint k "
		"CROSS JOIN LATERAL unnest(k.conkey, k.confkey) WITH ORDINALITY AS u(ck, pk, i) "
		"JOIN pg_catalog.pg_attribute ca ON ca.attrelid = k.conrelid AND ca.attnum = u.ck "
		"JOIN pg_catalog.pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = u.pk "
		"WHERE k.contype = 'f' AND k.conparentid = 0 ORDER BY k.oid, u.i";
	PGresult *r = pgi_query(c->c, sql, c->db, "read foreign keys", err);
	const char *last = "";
	bool skip = false;

	if (r == NULL)
		return -1;
	for (int i = 0; i < sym_PQntuples(r); i++) {
		unsigned co = (unsigned)strtoul(sym_PQgetvalue(r, i, 1), NULL, 10);
		unsigned po = (unsigned)strtoul(sym_PQgetvalue(r, i, 2), NULL, 10);
		size_t lc, lp;
		sfk *f;
		if (strcmp(sym_PQgetvalue(r, i, 0), last) != 0) {
			last = sym_PQgetvalue(r, i, 0);
			/* a key from or to a table doppel does not copy (an
			 * extension's) is left alone */
			skip = !logical_of(c, co, &lc) || !logical_of(c, po, &lp);
			if (skip)
				continue;
			f = realloc(c->fks, (c->n_fks + 1) * sizeof(*f));
			if (f == NULL)
				abort();
			c->fks = f;
			f = &c->fks[c->n_fks++];
			memset(f, 0, sizeof(*f));
			f->child = lc;
			f->parent = lp;
			f->crel = pgi_table_by_oid(&c->s, co);
			f->prel = pgi_table_by_oid(&c->s, po);
			f->validated = sym_PQgetvalue(r, i, 3)[0] == 't';
			f->name = strdup(sym_PQgetvalue(r, i, 4));
			if (f->name == NULL)
				abort();
		} else if (skip) {
			continue;
		}
		f = &c->fks[c->n_fks - 1];
		f->ccols = realloc(f->ccols, (f->n + 1) * sizeof(char *));
		f->pcols = realloc(f->pcols, (f->n + 1) * sizeof(char *));
		if (f->ccols == NULL || f->pcols == NULL)
			abort();
		f->ccols[f->n] = quote(c->c, sym_PQgetvalue(r, i, 5));
		f->pcols[f->n] = quote(c->c, sym_PQgetvalue(r, i, 6));
		f->n++;
	}
	sym_PQclear(r);
	return 0;
}

/* p.<pcols> = x.<ccols> */
static void add_match(dp_pgbuf *b, const sfk *f)
{
	for (size_t i = 0; i < f->n; i++)
		addf(b, "%sp.%s = x.%s", i ? " AND " : "", f->pcols[i], f->ccols[i]);
}

/* Row x of the child's logical table passes key f: it is not in the
 * relation f is declared on, a column of its reference is NULL, or the row
 * it references is kept. */
static void add_ref_kept(dp_pgbuf *b, const ctx *c, const sfk *f)
{
	add(b, "(");
	if (f->crel != ltab(c, f->child))
		addf(b,
		     "x.tableoid NOT IN (SELECT relid::pg_catalog.oid FROM "
		     "pg_catalog.pg_partition_tree(%u::pg_catalog.oid::pg_catalog.regclass)) OR ",
		     f->crel->oid);
	for (size_t i = 0; i < f->n; i++)
		addf(b, "x.%s IS NULL OR ", f->ccols[i]);
	add(b, "EXISTS (SELECT 1 FROM ");
	add_rel(b, f->prel);
	add(b, " p JOIN ");
	add_keep(b, f->parent);
	add(b, " k ON k.o = p.tableoid AND k.c = p.ctid WHERE ");
	add_match(b, f);
	add(b, "))");
}

static int seed_downstream(ctx *c, size_t l, dp_error **err)
{
	dp_pgbuf b = { 0 };
	bool any = false;

	add(&b, "INSERT INTO ");
	add_keep(&b, l);
	add(&b, " (o, c) SELECT x.tableoid, x.ctid FROM ");
	add_rel(&b, ltab(c, l));
	add(&b, " x WHERE ");
	for (size_t f = 0; f < c->n_fks; f++) {
		const sfk *k = &c->fks[f];
		if (k->child != l || k->parent == l || c->kind[k->parent] == FULL)
			continue;
		if (any)
			add(&b, " AND ");
		add_ref_kept(&b, c, k);
		any = true;
	}
	if (!any)
		add(&b, "true");
	add(&b, " ON CONFLICT DO NOTHING");
	return run(c, &b, "select the rows of a referencing table", NULL, err);
}

/* One pass of the closure: every parent row a kept row references. Returns
 * the number of rows added, or -1. */
static int64_t close_once(ctx *c, dp_error **err)
{
	int64_t added = 0;

	for (size_t f = 0; f < c->n_fks; f++) {
		const sfk *k = &c->fks[f];
		dp_pgbuf b = { 0 };
		int64_t n = 0;
		if (c->kind[k->parent] == FULL)
			continue;
		add(&b, "INSERT INTO ");
		add_keep(&b, k->parent);
		add(&b, " (o, c) SELECT p.tableoid, p.ctid FROM ");
		add_rel(&b, k->prel);
		add(&b, " p WHERE EXISTS (SELECT 1 FROM ");
		add_rel(&b, k->crel);
		add(&b, " x ");
		if (c->kind[k->child] != FULL) {
			add(&b, "JOIN ");
			add_keep(&b, k->child);
			add(&b, " kx ON kx.o = x.tableoid AND kx.c = x.ctid ");
		}
		add(&b, "WHERE ");
		add_match(&b, k);
		add(&b, ") ON CONFLICT DO NOTHING");
		if (run(c, &b, "follow a foreign key", &n, err) < 0)
			return -1;
		added += n;
	}
	return added;
}

/* The tables named in subset.TIER for db, and their WHERE. */
static int select_filtered(ctx *c, const dp_spec *spec, const dp_db_spec *db, const char *tier, bool seed,
			   dp_error **err)
{
	for (size_t k = 0; k < spec->n_subsets; k++) {
		const dp_subset_rule *sr = &spec->subsets[k];
		pgi_table *t;
		size_t l;
		dp_pgbuf b = { 0 };
		PGresult *r;
		if (strcmp(sr->tier, tier) != 0 || strcmp(sr->db, db->name) != 0)
			continue;
		t = pgi_table_by_ref(&c->s, sr->table);
		if (t == NULL)
			return dp_usage(err, "%s:%d: subset.%s.%s.%s: no table '%s' in database %s (TABLE alone means "
					"schema public)",
					spec->file, sr->line, tier, sr->db, sr->table, sr->table, db->name);
		if (t->root != t->oid)
			return dp_usage(err, "%s:%d: subset.%s.%s.%s: %s is a partition; name its partitioned table",
					spec->file, sr->line, tier, sr->db, sr->table, t->display);
		if (!logical_of(c, t->oid, &l))
			abort(); /* every root is a logical table */
		c->kind[l] = FILTERED;
		if (!seed)
			continue;
		/* no alias: the WHERE may name the table */
		add(&b, "INSERT INTO ");
		add_keep(&b, l);
		add(&b, " (o, c) SELECT tableoid, ctid FROM ");
		add_rel(&b, t);
		add(&b, " WHERE (\n");
		add(&b, sr->where);
		add(&b, "\n) ON CONFLICT DO NOTHING");
		r = sym_PQexec(c->c, b.p);
		dp_pgbuf_free(&b);
		if (sym_PQresultStatus(r) != PGRES_COMMAND_OK) {
			const char *m = sym_PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
			const char *code = sym_PQresultErrorField(r, PG_DIAG_SQLSTATE);
			/* 42: syntax or names, 22: data (a bad literal): the rule's fault */
			bool usage = code && (strncmp(code, "42", 2) == 0 || strncmp(code, "22", 2) == 0);
			char *msg = strdup(m ? m : sym_PQerrorMessage(c->c));
			if (msg == NULL)
				abort();
			msg[strcspn(msg, "\n")] = '\0';
			sym_PQclear(r);
			if (usage)
				dp_usage(err, "%s:%d: subset.%s.%s.%s: %s", spec->file, sr->line, tier, sr->db, sr->table, msg);
			else
				dp_fail(err, 0, "%s:%d: subset.%s.%s.%s: %s", spec->file, sr->line, tier, sr->db, sr->table,
					msg);
			free(msg);
			return -1;
		}
		sym_PQclear(r);
	}
	return 0;
}

/* Downstream tables in dependency order, parents' row sets first; a cycle
 * is broken by taking what is left, the closure repairs it. */
static int seed_all_downstream(ctx *c, dp_error **err)
{
	cleanup_free bool *done = calloc(c->n_lt + 1, sizeof(bool));
	size_t left = 0;

	if (done == NULL)
		abort();
	for (size_t l = 0; l < c->n_lt; l++)
		left += c->kind[l] == DOWNSTREAM;
	while (left) {
		bool progress = false;
		for (size_t l = 0; l < c->n_lt; l++) {
			bool ready = true;
			if (c->kind[l] != DOWNSTREAM || done[l])
				continue;
			for (size_t f = 0; f < c->n_fks; f++) {
				size_t p = c->fks[f].parent;
				if (c->fks[f].child == l && p != l && c->kind[p] == DOWNSTREAM && !done[p])
					ready = false;
			}
			if (!ready)
				continue;
			if (seed_downstream(c, l, err) < 0)
				return -1;
			done[l] = progress = true;
			left--;
		}
		for (size_t l = 0; l < c->n_lt && !progress; l++)
			if (c->kind[l] == DOWNSTREAM && !done[l]) {
				if (seed_downstream(c, l, err) < 0)
					return -1;
				done[l] = progress = true;
				left--;
			}
	}
	return 0;
}

/* The promise: no validated key of a cut table points into the void. */
static int check_keys(ctx *c, const char *tier, dp_error **err)
{
	for (size_t f = 0; f < c->n_fks; f++) {
		const sfk *k = &c->fks[f];
		dp_pgbuf b = { 0 };
		PGresult *r;
		bool broken;
		if (!k->validated || (c->kind[k->child] == FULL && c->kind[k->parent] == FULL))
			continue;
		add(&b, "SELECT EXISTS (SELECT 1 FROM ");
		add_rel(&b, k->crel);
		add(&b, " x WHERE ");
		for (size_t i = 0; i < k->n; i++)
			addf(&b, "x.%s IS NOT NULL AND ", k->ccols[i]);
		add(&b, "NOT EXISTS (SELECT 1 FROM ");
		add_rel(&b, k->prel);
		add(&b, " p WHERE ");
		add_match(&b, k);
		add(&b, "))");
		r = pgi_query(c->c, b.p, c->db, "check a foreign key", err);
		dp_pgbuf_free(&b);
		if (r == NULL)
			return -1;
		broken = sym_PQgetvalue(r, 0, 0)[0] == 't';
		sym_PQclear(r);
		if (broken)
			return dp_fail(err, 0, "database %s: the subset for tier %s breaks foreign key %s of table %s (a "
				       "bug in doppel: please report it)",
				       c->db, tier, k->name, k->crel->display);
	}
	return 0;
}

static int cut(ctx *c, const dp_spec *spec, const dp_db_spec *db, const char *tier, dp_subset_stats *st,
	       dp_error **err)
{
	dp_pgbuf b = { 0 };

	if (pgi_load_schema(c->c, c->db, &c->s, err) < 0)
		return -1;
	c->lt = calloc(c->s.n + 1, sizeof(size_t));
	c->kind = calloc(c->s.n + 1, sizeof(enum kind));
	if (c->lt == NULL || c->kind == NULL)
		abort();
	for (size_t i = 0; i < c->s.n; i++)
		if (c->s.t[i].root == c->s.t[i].oid)
			c->lt[c->n_lt++] = i;
	if (load_fks(c, err) < 0 || select_filtered(c, spec, db, tier, false, err) < 0)
		return -1;
	/* downstream: referencing a filtered or downstream table */
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t f = 0; f < c->n_fks; f++) {
			size_t l = c->fks[f].child, p = c->fks[f].parent;
			if (l != p && c->kind[l] == FULL && c->kind[p] != FULL) {
				c->kind[l] = DOWNSTREAM;
				changed = true;
			}
		}
	}
	/* row sets: made before the READ ONLY transaction, which may fill
	 * temp tables but not create them */
	for (size_t l = 0; l < c->n_lt; l++) {
		if (c->kind[l] == FULL)
			continue;
		addf(&b, "CREATE TEMP TABLE doppel_keep_%zu (o pg_catalog.oid NOT NULL, c pg_catalog.tid NOT NULL, "
			 "PRIMARY KEY (o, c))",
		     l);
		if (run(c, &b, "make a row set", NULL, err) < 0)
			return -1;
	}
	if (pgi_exec(c->c, "BEGIN READ ONLY", c->db, "begin", err) < 0 ||
	    select_filtered(c, spec, db, tier, true, err) < 0 || seed_all_downstream(c, err) < 0)
		return -1;
	for (int pass = 0;; pass++) {
		int64_t added = close_once(c, err);
		if (added < 0)
			return -1;
		if (added == 0)
			break;
		if (pass == MAX_PASSES)
			return dp_fail(err, 0, "database %s: subset for %s: foreign keys still adding rows after %d passes",
				       c->db, tier, MAX_PASSES);
	}
	if (pgi_exec(c->c, "COMMIT", c->db, "commit", err) < 0)
		return -1;

	/* the cut: nothing of production's schema fires */
	if (pgi_exec(c->c, "BEGIN; SET LOCAL session_replication_role = replica", c->db, "begin", err) < 0)
		return -1;
	for (size_t l = 0; l < c->n_lt; l++) {
		int64_t gone = 0, kept = 0;
		PGresult *r;
		if (c->kind[l] == FULL)
			continue;
		add(&b, "DELETE FROM ");
		add_rel(&b, ltab(c, l));
		add(&b, " x WHERE NOT EXISTS (SELECT 1 FROM ");
		add_keep(&b, l);
		add(&b, " k WHERE k.o = x.tableoid AND k.c = x.ctid)");
		if (run(c, &b, "delete the rows the subset leaves out", &gone, err) < 0)
			return -1;
		add(&b, "SELECT count(*) FROM ");
		add_keep(&b, l);
		r = pgi_query(c->c, b.p, c->db, "count a row set", err);
		dp_pgbuf_free(&b);
		if (r == NULL)
			return -1;
		kept = strtoll(sym_PQgetvalue(r, 0, 0), NULL, 10);
		sym_PQclear(r);
		st->tables++;
		st->rows += (uint64_t)kept;
		st->rows_before += (uint64_t)(kept + gone);
	}
	if (check_keys(c, tier, err) < 0 || pgi_exec(c->c, "COMMIT", c->db, "commit", err) < 0)
		return -1;
	/* rewritten, so the template and every sandbox made from it hold only
	 * the kept rows; fresh statistics for the planner */
	add(&b, "VACUUM (FULL, ANALYZE) ");
	for (size_t l = 0, any = 0; l < c->n_lt; l++) {
		if (c->kind[l] == FULL)
			continue;
		if (any++)
			add(&b, ", ");
		add(&b, ltab(c, l)->qname);
	}
	if (st->tables && run(c, &b, "compact the cut tables", NULL, err) < 0)
		return -1;
	dp_pgbuf_free(&b);
	return 0;
}

int dp_pg_subset(const char *conninfo, const dp_spec *spec, const dp_db_spec *db, const char *tier,
		 dp_subset_stats *st, dp_error **err)
{
	ctx c = { .db = db->name };
	int r;

	memset(st, 0, sizeof(*st));
	c.c = pgi_connect(conninfo, db->name, false, err);
	if (c.c == NULL)
		return -1;
	r = cut(&c, spec, db, tier, st, err);
	if (r < 0 && sym_PQtransactionStatus(c.c) != PQTRANS_IDLE)
		sym_PQclear(sym_PQexec(c.c, "ROLLBACK"));
	sym_PQfinish(c.c);
	pgi_schema_free(&c.s);
	free_fks(&c);
	free(c.lt);
	free(c.kind);
	return r;
}
