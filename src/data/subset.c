/* Subsetting: a partial copy of a (masked) database for a tier with
 * `data: subset`, so a developer's sandbox holds a slice of production, not
 * all of it, and the slice is whole: PRAGMA foreign_key_check is clean.
 *
 * Tables fall in three kinds. A table named in subset.TIER keeps the rows its
 * WHERE selects. A table that references such a table through a foreign key,
 * directly or through others, is "downstream": it keeps the rows whose
 * references all point at kept rows (an order of a kept customer). Every
 * other table is copied whole. Then the closure: every row a kept row
 * references is kept too, repeated until nothing changes, so no foreign key
 * points into the void (a kept order's product, a kept customer's referrer).
 * Row sets are temp tables of rowids; the rows are then copied as the clone
 * copies them, rowids and schema objects included. */
#include "data/subset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/sqlite-schema.h"

#define MAX_PASSES 1000

enum kind { FULL, FILTERED, DOWNSTREAM };

typedef struct ctx {
	dpq_copy *cp;
	schema *s;
	enum kind *kind;
	bool *rowid; /* can rows be tracked by rowid */
} ctx;

static void keep_name(sbuf *b, size_t i)
{
	char n[32];
	snprintf(n, sizeof(n), "temp.keep_%zu", i);
	dpq_add(b, n);
}

static bool has_rowid(sqlite3 *db, table *t)
{
	sbuf b = { 0 };
	sqlite3_stmt *q = NULL;
	bool ok;

	dpq_add(&b, "SELECT _rowid_ FROM src.");
	dpq_add_ident(&b, t->name);
	ok = sqlite3_prepare_v2(db, b.p, -1, &q, NULL) == SQLITE_OK;
	sqlite3_finalize(q);
	dpq_free(&b);
	return ok;
}

static int run(ctx *c, sbuf *b, const char *what, dp_error **err)
{
	int r = dpq_exec(c->cp->db, b->p, c->cp->src, what, err);
	dpq_free(b);
	return r;
}

/* "c" IN (SELECT "pc" FROM src.P WHERE _rowid_ IN keep_P), NULL passing */
static void ref_kept(sbuf *b, ctx *c, size_t f)
{
	fk *k = &c->s->fks[f];
	table *t = &c->s->t[c->s->fk_table[f]], *p = &c->s->t[k->parent_table];

	dpq_add(b, "(");
	dpq_add_ident(b, t->cols[k->child_col].name);
	dpq_add(b, " IS NULL OR ");
	dpq_add_ident(b, t->cols[k->child_col].name);
	dpq_add(b, " IN (SELECT ");
	dpq_add_ident(b, p->cols[k->parent_col].name);
	dpq_add(b, " FROM src.");
	dpq_add_ident(b, p->name);
	dpq_add(b, " WHERE _rowid_ IN (SELECT rid FROM ");
	keep_name(b, k->parent_table);
	dpq_add(b, ")))");
}

static int seed_downstream(ctx *c, size_t ti, dp_error **err)
{
	sbuf b = { 0 };
	bool any = false;

	dpq_add(&b, "INSERT OR IGNORE INTO ");
	keep_name(&b, ti);
	dpq_add(&b, " SELECT _rowid_ FROM src.");
	dpq_add_ident(&b, c->s->t[ti].name);
	dpq_add(&b, " WHERE ");
	for (size_t f = 0; f < c->s->n_fks; f++) {
		size_t p = c->s->fks[f].parent_table;
		if (c->s->fk_table[f] != ti || p == ti || c->kind[p] == FULL)
			continue;
		if (any)
			dpq_add(&b, " AND ");
		ref_kept(&b, c, f);
		any = true;
	}
	if (!any)
		dpq_add(&b, "1");
	return run(c, &b, "select the rows of a referencing table", err);
}

/* One pass of the closure: every parent row a kept row references. Returns
 * the number of rows added, or -1. */
static int64_t close_once(ctx *c, dp_error **err)
{
	int64_t added = 0;

	for (size_t f = 0; f < c->s->n_fks; f++) {
		fk *k = &c->s->fks[f];
		size_t ti = c->s->fk_table[f];
		table *t = &c->s->t[ti], *p = &c->s->t[k->parent_table];
		sbuf b = { 0 };
		if (c->kind[k->parent_table] == FULL)
			continue;
		dpq_add(&b, "INSERT OR IGNORE INTO ");
		keep_name(&b, k->parent_table);
		dpq_add(&b, " SELECT _rowid_ FROM src.");
		dpq_add_ident(&b, p->name);
		dpq_add(&b, " WHERE ");
		dpq_add_ident(&b, p->cols[k->parent_col].name);
		dpq_add(&b, " IN (SELECT ");
		dpq_add_ident(&b, t->cols[k->child_col].name);
		dpq_add(&b, " FROM src.");
		dpq_add_ident(&b, t->name);
		if (c->kind[ti] != FULL) {
			dpq_add(&b, " WHERE _rowid_ IN (SELECT rid FROM ");
			keep_name(&b, ti);
			dpq_add(&b, ")");
		}
		dpq_add(&b, ")");
		if (run(c, &b, "follow a foreign key", err) < 0)
			return -1;
		added += sqlite3_changes64(c->cp->db);
	}
	return added;
}

static int copy_rows(ctx *c, size_t ti, dp_subset_stats *st, dp_error **err)
{
	table *t = &c->s->t[ti];
	const char *alias = dpq_rowid_alias(c->cp->db, "src", t);
	sbuf b = { 0 }, cols = { 0 };
	bool first = true;

	if (alias) {
		dpq_add(&cols, alias);
		first = false;
	}
	for (size_t j = 0; j < t->n; j++) {
		if (t->cols[j].hidden)
			continue;
		if (!first)
			dpq_add(&cols, ", ");
		first = false;
		dpq_add_ident(&cols, t->cols[j].name);
	}
	dpq_add(&b, "INSERT INTO main.");
	dpq_add_ident(&b, t->name);
	dpq_add(&b, " (");
	dpq_add(&b, cols.p ? cols.p : "");
	dpq_add(&b, ") SELECT ");
	dpq_add(&b, cols.p ? cols.p : "");
	dpq_add(&b, " FROM src.");
	dpq_add_ident(&b, t->name);
	if (c->kind[ti] != FULL) {
		dpq_add(&b, " WHERE _rowid_ IN (SELECT rid FROM ");
		keep_name(&b, ti);
		dpq_add(&b, ")");
	}
	dpq_free(&cols);
	if (run(c, &b, "copy rows", err) < 0)
		return -1;
	st->rows += (uint64_t)sqlite3_changes64(c->cp->db);
	return 0;
}

static int table_rows(sqlite3 *db, const char *sch, const char *name, uint64_t *n)
{
	sbuf b = { 0 };
	sqlite3_stmt *q = NULL;
	int r = -1;

	dpq_add(&b, "SELECT count(*) FROM ");
	dpq_add_ident(&b, sch);
	dpq_add(&b, ".");
	dpq_add_ident(&b, name);
	if (sqlite3_prepare_v2(db, b.p, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
		*n += (uint64_t)sqlite3_column_int64(q, 0);
		r = 0;
	}
	sqlite3_finalize(q);
	dpq_free(&b);
	return r;
}

int dp_sqlite_subset(const char *copy_uri, const char *copy_path, bool wal, const char *dst_path, const dp_spec *spec,
		     const dp_db_spec *db, const char *tier, dp_subset_stats *st, dp_error **err)
{
	dpq_copy cp;
	schema s = { 0 };
	ctx c = { .cp = &cp, .s = &s };
	bool src_dangles = false;
	int r = -1;

	memset(st, 0, sizeof(*st));
	if (dpq_copy_open(&cp, copy_uri, copy_path, dst_path, err) < 0)
		return -1;
	cp.wal = cp.wal || wal;
	if (dpq_exec(cp.db, "PRAGMA temp_store=MEMORY; BEGIN", dst_path, "begin", err) < 0 ||
	    dpq_load_schema(cp.db, "src", copy_path, &s, err) < 0)
		goto out;
	c.kind = calloc(s.n + 1, sizeof(enum kind));
	c.rowid = calloc(s.n + 1, sizeof(bool));
	if (c.kind == NULL || c.rowid == NULL)
		abort();
	for (size_t i = 0; i < s.n; i++)
		c.rowid[i] = !s.t[i].virtual && has_rowid(cp.db, &s.t[i]);

	/* the tables named in subset.TIER, with their WHERE */
	for (size_t k = 0; k < spec->n_subsets; k++) {
		const dp_subset_rule *sr = &spec->subsets[k];
		size_t ti;
		sqlite3_stmt *q = NULL;
		sbuf b = { 0 };
		if (strcmp(sr->tier, tier) != 0 || strcmp(sr->db, db->name) != 0)
			continue;
		if (dpq_table(&s, sr->table, &ti) == NULL) {
			dp_usage(err, "%s:%d: subset.%s.%s.%s: no table '%s' in %s", spec->file, sr->line, tier, sr->db,
				 sr->table, sr->table, db->sqlite);
			goto out;
		}
		if (!c.rowid[ti]) {
			dp_usage(err, "%s:%d: subset.%s.%s.%s: a WITHOUT ROWID or virtual table cannot be subset yet",
				 spec->file, sr->line, tier, sr->db, sr->table);
			goto out;
		}
		c.kind[ti] = FILTERED;
		dpq_add(&b, "SELECT _rowid_ FROM src.");
		dpq_add_ident(&b, s.t[ti].name);
		dpq_add(&b, " WHERE (");
		dpq_add(&b, sr->where);
		dpq_add(&b, ")");
		if (sqlite3_prepare_v2(cp.db, b.p, -1, &q, NULL) != SQLITE_OK) {
			dp_usage(err, "%s:%d: subset.%s.%s.%s: %s", spec->file, sr->line, tier, sr->db, sr->table,
				 sqlite3_errmsg(cp.db));
			dpq_free(&b);
			goto out;
		}
		sqlite3_finalize(q);
		dpq_free(&b);
	}
	/* downstream: referencing a filtered or downstream table */
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t f = 0; f < s.n_fks; f++) {
			size_t ti = s.fk_table[f], p = s.fks[f].parent_table;
			if (ti != p && c.kind[ti] == FULL && c.kind[p] != FULL && c.rowid[ti]) {
				c.kind[ti] = DOWNSTREAM;
				changed = true;
			}
		}
	}
	for (size_t i = 0; i < s.n; i++) {
		sbuf b = { 0 };
		if (c.kind[i] == FULL)
			continue;
		dpq_add(&b, "CREATE TABLE ");
		keep_name(&b, i);
		dpq_add(&b, " (rid INTEGER PRIMARY KEY)");
		if (run(&c, &b, "make a row set", err) < 0)
			goto out;
	}
	for (size_t k = 0; k < spec->n_subsets; k++) {
		const dp_subset_rule *sr = &spec->subsets[k];
		size_t ti;
		sbuf b = { 0 };
		if (strcmp(sr->tier, tier) != 0 || strcmp(sr->db, db->name) != 0)
			continue;
		dpq_table(&s, sr->table, &ti);
		dpq_add(&b, "INSERT OR IGNORE INTO ");
		keep_name(&b, ti);
		dpq_add(&b, " SELECT _rowid_ FROM src.");
		dpq_add_ident(&b, s.t[ti].name);
		dpq_add(&b, " WHERE (");
		dpq_add(&b, sr->where);
		dpq_add(&b, ")");
		if (run(&c, &b, "select rows", err) < 0)
			goto out;
	}
	/* downstream tables in dependency order: parents' row sets first; a
	 * cycle is broken by taking what is left, the closure repairs it */
	{
		bool *done = calloc(s.n + 1, sizeof(bool));
		size_t left = 0;
		if (done == NULL)
			abort();
		for (size_t i = 0; i < s.n; i++)
			left += c.kind[i] == DOWNSTREAM;
		while (left) {
			bool progress = false;
			for (size_t i = 0; i < s.n; i++) {
				bool ready = true;
				if (c.kind[i] != DOWNSTREAM || done[i])
					continue;
				for (size_t f = 0; f < s.n_fks; f++) {
					size_t p = s.fks[f].parent_table;
					if (s.fk_table[f] == i && p != i && c.kind[p] == DOWNSTREAM && !done[p])
						ready = false;
				}
				if (!ready)
					continue;
				if (seed_downstream(&c, i, err) < 0) {
					free(done);
					goto out;
				}
				done[i] = progress = true;
				left--;
			}
			if (!progress)
				for (size_t i = 0; i < s.n && !progress; i++)
					if (c.kind[i] == DOWNSTREAM && !done[i]) {
						if (seed_downstream(&c, i, err) < 0) {
							free(done);
							goto out;
						}
						done[i] = progress = true;
						left--;
					}
		}
		free(done);
	}
	for (int pass = 0;; pass++) {
		int64_t added = close_once(&c, err);
		if (added < 0)
			goto out;
		if (added == 0)
			break;
		if (pass == MAX_PASSES) {
			dp_fail(err, 0, "%s: subset for %s: foreign keys still adding rows after %d passes", copy_path,
				tier, MAX_PASSES);
			goto out;
		}
	}
	/* a copy whose own foreign keys dangle cannot promise clean ones */
	{
		sqlite3_stmt *q = NULL;
		if (sqlite3_prepare_v2(cp.db, "PRAGMA src.foreign_key_check", -1, &q, NULL) != SQLITE_OK) {
			dpq_fail(cp.db, "foreign_key_check", copy_path, err);
			goto out;
		}
		src_dangles = sqlite3_step(q) == SQLITE_ROW;
		sqlite3_finalize(q);
	}
	if (dpq_create_tables(&cp, &s, err) < 0)
		goto out;
	for (size_t i = 0; i < s.n; i++) {
		if (copy_rows(&c, i, st, err) < 0 || table_rows(cp.db, "src", s.t[i].name, &st->rows_before) < 0)
			goto out;
		st->tables++;
	}
	/* the promise: no foreign key points into the void */
	{
		sqlite3_stmt *q = NULL;
		int rc;
		if (sqlite3_prepare_v2(cp.db, "PRAGMA main.foreign_key_check", -1, &q, NULL) != SQLITE_OK) {
			dpq_fail(cp.db, "foreign_key_check", dst_path, err);
			goto out;
		}
		rc = sqlite3_step(q);
		if (rc == SQLITE_ROW && !src_dangles) {
			dp_fail(err, 0, "database %s: the subset for tier %s breaks a foreign key of table %s (a bug in "
				"doppel: please report it)", db->name, tier, (const char *)sqlite3_column_text(q, 0));
			sqlite3_finalize(q);
			goto out;
		}
		sqlite3_finalize(q);
	}
	if (dpq_copy_finish(&cp, err) < 0)
		goto out;
	r = 0;
out:
	free(c.kind);
	free(c.rowid);
	dpq_schema_free(&s);
	return dpq_copy_close(&cp, r, err);
}
