/* Generated rows for `doppel synth` (see synth.h).
 *
 * Each column of the table gets one generator, chosen in this order:
 *   1. an INTEGER PRIMARY KEY (the rowid) without a foreign key: SQLite
 *      assigns it;
 *   2. a column of a foreign key: the key of an existing parent row, picked
 *      from a sample of the parent's keys (all of them up to FK_SAMPLE); a
 *      key of one unique column takes only parents no row references yet;
 *      an empty parent gives NULL, or an error for a NOT NULL column;
 *   3. a masking rule in doppel.yaml: that transformer, applied to a
 *      synthetic input of the shape it expects (a phone-shaped text for
 *      phone, a date for date, "synth-SEED-ROW-COLUMN" for email, name, ...),
 *      so the output has the rule's format; template and sql rules need a
 *      production row and fall through to 4;
 *   4. a name that looks personal (pii-check's judge, unless masking.allow
 *      lists the column): the transformer pii-check would suggest, when its
 *      output fits the column's type;
 *   5. the declared type's affinity, with a date for date-like names and
 *      types, 0/1 for BOOLEAN, a short word-ish text for TEXT.
 * NOT NULL columns never get NULL. A row that breaks a UNIQUE, PRIMARY KEY
 * or CHECK constraint is generated again with the next attempt number, which
 * every generator mixes into its randomness, up to DP_SYNTH_ATTEMPTS times.
 *
 * Randomness: a splitmix64 stream per (seed, row, column, attempt) for the
 * inputs; the transformers add the store's masking key. Nothing depends on
 * time or on the order SQLite returns unordered rows, so the same seed on the
 * same database gives the same rows. */
#include "data/synth.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "data/pii.h"
#include "data/sqlite-schema.h"

#define FK_SAMPLE (1u << 20)   /* parent keys kept per foreign key */
#define FK_STREAM 0x10000u     /* stream ids of foreign keys, above any column index */
#define DATE_FROM 946684800    /* 2000-01-01 */
#define DATE_TO 1767225599     /* 2025-12-31 23:59:59 */
#define BIRTH_FROM (-946771200) /* 1940-01-01 */
#define BIRTH_TO 1136073599    /* 2005-12-31 */

/* ---- deterministic randomness ---------------------------------------------- */

typedef struct prng {
	uint64_t s;
} prng;

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void prng_init(prng *g, uint64_t seed, uint64_t row, uint64_t stream, uint32_t attempt)
{
	g->s = mix64(mix64(mix64(seed ^ 0x73796e7468ULL) ^ row) ^ (stream << 32 | attempt));
}

static uint64_t prng_next(prng *g)
{
	g->s += 0x9e3779b97f4a7c15ULL;
	return mix64(g->s);
}

/* Uniform enough in [0, n) (n >= 1): the bias is n / 2^64. */
static uint64_t prng_below(prng *g, uint64_t n)
{
	return n ? prng_next(g) % n : 0;
}

static int64_t prng_range(prng *g, int64_t lo, int64_t hi)
{
	return lo + (int64_t)prng_below(g, (uint64_t)(hi - lo) + 1);
}

/* ---- columns ---------------------------------------------------------------- */

enum affinity { AFF_INTEGER, AFF_TEXT, AFF_BLOB, AFF_REAL, AFF_NUMERIC };

enum gen {
	GEN_ROWID, /* SQLite assigns it: not in the INSERT */
	GEN_FK,
	GEN_RULE,
	GEN_INT,
	GEN_BOOL,
	GEN_REAL,
	GEN_TEXT,
	GEN_BLOB,
	GEN_DATE,
};

typedef struct colgen {
	const col *c;
	size_t idx;          /* in the table; also its random stream */
	enum gen gen;
	enum affinity aff;
	dp_mask_rule rule;   /* GEN_RULE: a copy of doppel.yaml's, or one made here */
	bool notnull, unique, with_time, birth;
	size_t maxlen;       /* VARCHAR(n): n characters at most; 0: no limit */
	size_t fk, fk_pos;   /* GEN_FK: which key, which of its columns */
	int param;           /* position in the INSERT; 0 for GEN_ROWID */
} colgen;

/* One foreign key of the table and a sample of its parent's keys. */
typedef struct fkey {
	char *parent;
	size_t n;             /* columns in the key */
	size_t child[8];      /* their indexes in the table */
	char *pcol[8];        /* the parent's columns */
	sqlite3_value **keys; /* n values per sampled parent row */
	size_t n_keys;
	bool exclusive;       /* one unique child column: each parent key once */
	bool nullable;        /* every child column may be NULL */
	bool broken;          /* names a table or column that is not there */
	size_t pick;          /* this row's parent, or SIZE_MAX for NULL */
} fkey;

typedef struct plan {
	sqlite3 *db;
	const dp_synth_opts *o;
	schema s;
	table *t;
	colgen *cols;
	size_t n_cols;
	fkey fks[32];
	size_t n_fks;
	sqlite3_stmt *ins;
	unsigned narrow; /* this row's CHECK failures / 8: smaller numbers */
} plan;

static bool has(const char *s, const char *sub)
{
	return s && strcasestr(s, sub) != NULL;
}

/* SQLite's rules (datatype3.html, 3.1), in their order. */
static enum affinity affinity_of(const char *decl)
{
	if (has(decl, "INT"))
		return AFF_INTEGER;
	if (has(decl, "CHAR") || has(decl, "CLOB") || has(decl, "TEXT"))
		return AFF_TEXT;
	if (decl == NULL || decl[0] == '\0' || has(decl, "BLOB"))
		return AFF_BLOB;
	if (has(decl, "REAL") || has(decl, "FLOA") || has(decl, "DOUB"))
		return AFF_REAL;
	return AFF_NUMERIC;
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

/* Is the word of length k at p (within name) a word of its own: between
 * '_' (or any non-letter) and camelCase boundaries? */
static bool word_at(const char *name, const char *p, size_t k)
{
	bool starts = p == name || !isalpha((unsigned char)p[-1]) || (is_lower(p[-1]) && !is_lower(p[0]));

	return starts && (!isalpha((unsigned char)p[k]) || !is_lower(p[k]));
}

/* "birth_date", "dateOfBirth", "shipDate" have the word "date";
 * "update_count" has not. */
static bool has_word(const char *name, const char *word)
{
	for (const char *p = name; (p = strcasestr(p, word)) != NULL; p++)
		if (word_at(name, p, strlen(word)))
			return true;
	return false;
}

static bool last_word(const char *name, const char *word)
{
	size_t n = strlen(name), k = strlen(word);

	return n >= k && strcasecmp(name + n - k, word) == 0 && word_at(name, name + n - k, k);
}

/* created_at, createdAt, updated_on, birth_date, timestamp, start_time */
static bool date_like(const char *name)
{
	return last_word(name, "at") || last_word(name, "on") || has_word(name, "date") || has_word(name, "time") ||
	       has_word(name, "datetime") || has_word(name, "timestamp") || has_word(name, "dob");
}

static bool bool_like(const col *c)
{
	return has(c->decl, "BOOL") || strncasecmp(c->name, "is_", 3) == 0 || strncasecmp(c->name, "has_", 4) == 0;
}

/* The n of VARCHAR(n) and CHAR(n); 0 when the type has none. */
static size_t max_length(const char *decl)
{
	const char *p = decl ? strchr(decl, '(') : NULL;
	unsigned long n;

	if (p == NULL || affinity_of(decl) != AFF_TEXT)
		return 0;
	n = strtoul(p + 1, NULL, 10);
	return n > 0 && n < DP_TRANSFORM_BUF ? (size_t)n : 0;
}

static bool is_rowid_alias(sqlite3 *db, const table *t, const col *c)
{
	sbuf b = { 0 };
	sqlite3_stmt *q = NULL;
	int npk = 0;
	bool rowid;

	for (size_t j = 0; j < t->n; j++)
		npk += t->cols[j].pk > 0;
	if (npk != 1 || c->pk == 0 || strcasecmp(c->decl, "INTEGER") != 0)
		return false;
	/* a WITHOUT ROWID table has no rowid to alias */
	dpq_add(&b, "SELECT rowid FROM main.");
	dpq_add_ident(&b, t->name);
	rowid = sqlite3_prepare_v2(db, b.p, -1, &q, NULL) == SQLITE_OK;
	sqlite3_finalize(q);
	dpq_free(&b);
	return rowid;
}

/* ---- foreign keys ------------------------------------------------------------ */

static void fk_free(fkey *f)
{
	for (size_t i = 0; i < f->n_keys * f->n; i++)
		sqlite3_value_free(f->keys[i]);
	free(f->keys);
	for (size_t i = 0; i < f->n; i++)
		free(f->pcol[i]);
	free(f->parent);
	memset(f, 0, sizeof(*f));
}

static char *xstrdup(const char *s)
{
	char *r = strdup(s);

	if (r == NULL)
		abort();
	return r;
}

/* Adds column `from` (referencing `to`, or the parent's seq'th key column)
 * to foreign key `id`, starting a new key when id changes. Keys SQLite
 * could not enforce (no such parent table or column) are left out. */
static int fk_add_column(plan *p, int id, int *last_id, int seq, const char *parent, const char *from, const char *to,
			 dp_error **err)
{
	table *pt = dpq_table(&p->s, parent, NULL);
	fkey *f;
	size_t ci;

	if (id != *last_id) {
		if (p->n_fks == sizeof(p->fks) / sizeof(p->fks[0]))
			return dp_usage(err, "%s: table %s has more than %zu foreign keys; synth supports up to that",
					p->o->path, p->t->name, sizeof(p->fks) / sizeof(p->fks[0]));
		*last_id = id;
		f = &p->fks[p->n_fks++];
		memset(f, 0, sizeof(*f));
		f->parent = xstrdup(pt ? pt->name : parent);
	}
	f = &p->fks[p->n_fks - 1];
	if (f->n == sizeof(f->child) / sizeof(f->child[0]))
		return dp_usage(err, "%s: table %s: a foreign key of more than %zu columns is not supported", p->o->path,
				p->t->name, sizeof(f->child) / sizeof(f->child[0]));
	if (pt == NULL || dpq_col(p->t, from, &ci) == NULL) {
		f->broken = true;
		return 0;
	}
	if (to == NULL)
		for (size_t j = 0; j < pt->n; j++)
			if (pt->cols[j].pk == seq + 1)
				to = pt->cols[j].name;
	if (to == NULL || dpq_col(pt, to, NULL) == NULL) {
		f->broken = true;
		return 0;
	}
	f->child[f->n] = ci;
	f->pcol[f->n++] = xstrdup(to);
	return 0;
}

static int load_fks(plan *p, dp_error **err)
{
	sqlite3_stmt *q = NULL;
	int rc, last = -1;

	if (sqlite3_prepare_v2(p->db,
			       "SELECT id, seq, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?1, 'main') "
			       "ORDER BY id, seq",
			       -1, &q, NULL) != SQLITE_OK)
		return dpq_fail(p->db, "read foreign keys", p->o->path, err);
	sqlite3_bind_text(q, 1, p->t->name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *parent = (const char *)sqlite3_column_text(q, 2);
		const char *from = (const char *)sqlite3_column_text(q, 3);
		const char *to = (const char *)sqlite3_column_text(q, 4);
		int id = sqlite3_column_int(q, 0), seq = sqlite3_column_int(q, 1);
		if (parent == NULL || from == NULL)
			continue;
		if (fk_add_column(p, id, &last, seq, parent, from, to, err) < 0) {
			sqlite3_finalize(q);
			return -1;
		}
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return dpq_fail(p->db, "read foreign keys", p->o->path, err);
	/* a key naming what is not there is no key SQLite could enforce */
	for (size_t i = 0; i < p->n_fks; i++)
		if (p->fks[i].broken || p->fks[i].n == 0) {
			fk_free(&p->fks[i]);
			p->fks[i--] = p->fks[--p->n_fks];
		}
	return 0;
}

/* SELECT the parent's key columns, non-NULL, in key order; for an exclusive
 * key only parents no row of the table references yet. */
static char *fk_sample_sql(const plan *p, const fkey *f)
{
	sbuf b = { 0 };

	dpq_add(&b, "SELECT ");
	for (size_t i = 0; i < f->n; i++) {
		dpq_add(&b, i ? ", " : "");
		dpq_add_ident(&b, f->pcol[i]);
	}
	dpq_add(&b, " FROM main.");
	dpq_add_ident(&b, f->parent);
	for (size_t i = 0; i < f->n; i++) {
		dpq_add(&b, i ? " AND " : " WHERE ");
		dpq_add_ident(&b, f->pcol[i]);
		dpq_add(&b, " IS NOT NULL");
	}
	if (f->exclusive) {
		dpq_add(&b, " AND ");
		dpq_add_ident(&b, f->pcol[0]);
		dpq_add(&b, " NOT IN (SELECT ");
		dpq_add_ident(&b, p->t->cols[f->child[0]].name);
		dpq_add(&b, " FROM main.");
		dpq_add_ident(&b, p->t->name);
		dpq_add(&b, " WHERE ");
		dpq_add_ident(&b, p->t->cols[f->child[0]].name);
		dpq_add(&b, " IS NOT NULL)");
	}
	dpq_add(&b, " ORDER BY ");
	for (size_t i = 0; i < f->n; i++) {
		char pos[32];
		snprintf(pos, sizeof(pos), "%s%zu", i ? ", " : "", i + 1);
		dpq_add(&b, pos);
	}
	return b.p;
}

/* Keeps row q's key in the sample: the first FK_SAMPLE rows, then each
 * later one in place of a random kept one (reservoir sampling). */
static void fk_keep(fkey *f, sqlite3_stmt *q, uint64_t seen, prng *g)
{
	size_t slot = f->n_keys;

	if (f->n_keys == FK_SAMPLE) {
		uint64_t j = prng_below(g, seen + 1);
		if (j >= FK_SAMPLE)
			return;
		slot = (size_t)j;
		for (size_t i = 0; i < f->n; i++)
			sqlite3_value_free(f->keys[slot * f->n + i]);
	} else {
		sqlite3_value **k = realloc(f->keys, (f->n_keys + 1) * f->n * sizeof(*k));
		if (k == NULL)
			abort();
		f->keys = k;
		f->n_keys++;
	}
	for (size_t i = 0; i < f->n; i++) {
		f->keys[slot * f->n + i] = sqlite3_value_dup(sqlite3_column_value(q, (int)i));
		if (f->keys[slot * f->n + i] == NULL)
			abort();
	}
}

static int fk_sample(plan *p, size_t fi, dp_error **err)
{
	fkey *f = &p->fks[fi];
	char *sql = fk_sample_sql(p, f);
	sqlite3_stmt *q = NULL;
	uint64_t seen = 0;
	prng g;
	int rc;

	prng_init(&g, p->o->seed, UINT64_MAX, FK_STREAM + fi, 0);
	rc = sqlite3_prepare_v2(p->db, sql, -1, &q, NULL);
	free(sql);
	if (rc != SQLITE_OK)
		return dpq_fail(p->db, "read the keys of table", p->o->path, err);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		fk_keep(f, q, seen++, &g);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return dpq_fail(p->db, "read the keys of table", p->o->path, err);
	return 0;
}

/* Can the key give every row a parent? */
static int fk_check(const plan *p, const fkey *f, dp_error **err)
{
	const char *child = p->t->cols[f->child[0]].name;

	if (f->exclusive && !f->nullable && f->n_keys < p->o->rows)
		return dp_usage(err, "%s.%s.%s is unique and references %s.%s: only %zu of its rows have none yet, "
				     "fewer than the %" PRIu64 " asked for; fill %s.%s first",
				p->o->db, p->t->name, child, f->parent, f->pcol[0], f->n_keys, p->o->rows, p->o->db,
				f->parent);
	if (f->n_keys == 0 && !f->nullable)
		return dp_usage(err, "%s.%s.%s references %s.%s, which has no rows; fill %s.%s first", p->o->db,
				p->t->name, child, f->parent, f->pcol[0], p->o->db, f->parent);
	return 0;
}

static int plan_fks(plan *p, dp_error **err)
{
	if (load_fks(p, err) < 0)
		return -1;
	for (size_t i = 0; i < p->n_fks; i++) {
		fkey *f = &p->fks[i];
		f->exclusive = f->n == 1 && p->t->cols[f->child[0]].unique;
		f->nullable = true;
		for (size_t k = 0; k < f->n; k++)
			f->nullable &= !p->t->cols[f->child[k]].notnull && p->t->cols[f->child[k]].pk == 0;
		if (fk_sample(p, i, err) < 0 || fk_check(p, f, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- choosing generators ------------------------------------------------------ */

static bool kind_by_name(const char *name, enum dp_mask_kind *kind)
{
	for (int k = 0; k <= DP_MASK_SQL; k++)
		if (name && strcmp(dp_mask_kind_name((enum dp_mask_kind)k), name) == 0) {
			*kind = (enum dp_mask_kind)k;
			return true;
		}
	return false;
}

/* Does kind's output suit a column of this affinity? Text suits TEXT and
 * untyped columns; numbers come out of the few kinds that take them. */
static bool kind_fits(enum dp_mask_kind k, enum affinity a)
{
	bool numeric = k == DP_MASK_PHONE || k == DP_MASK_POSTAL_CODE || k == DP_MASK_CARD || k == DP_MASK_IP ||
		       k == DP_MASK_DATE || k == DP_MASK_NUMBER;

	switch (a) {
	case AFF_TEXT:
	case AFF_BLOB: return true;
	case AFF_REAL: return k == DP_MASK_DATE || k == DP_MASK_NUMBER;
	default: return numeric;
	}
}

/* The rule pii-check would suggest for the column's name, with the spec's
 * defaults, or false. */
static bool rule_by_name(const plan *p, colgen *g)
{
	const char *suggest = dp_pii_by_name(g->c->name, NULL);
	enum dp_mask_kind kind;

	if (p->o->spec && dp_spec_mask_allowed(p->o->spec, p->o->db, p->t->name, g->c->name))
		return false;
	if (!kind_by_name(suggest, &kind) || !kind_fits(kind, g->aff))
		return false;
	memset(&g->rule, 0, sizeof(g->rule));
	g->rule.kind = kind;
	g->rule.days = 30;
	g->rule.percent = 10;
	g->rule.keep_last = 4;
	g->rule.length = 16;
	if (has(g->c->name, "first") || has(g->c->name, "given") || has(g->c->name, "fore"))
		g->rule.part = DP_NAME_FIRST;
	else if (has(g->c->name, "last") || has(g->c->name, "sur") || has(g->c->name, "family"))
		g->rule.part = DP_NAME_LAST;
	return true;
}

static enum gen gen_by_type(const colgen *g)
{
	const col *c = g->c;

	switch (g->aff) {
	case AFF_INTEGER: return bool_like(c) ? GEN_BOOL : date_like(c->name) ? GEN_DATE : GEN_INT;
	case AFF_REAL: return GEN_REAL;
	case AFF_NUMERIC:
		if (has(c->decl, "DATE") || has(c->decl, "TIME") || date_like(c->name))
			return GEN_DATE;
		if (bool_like(c))
			return GEN_BOOL;
		return has(c->decl, "DEC") || has(c->decl, "NUM") || has(c->decl, "MONEY") ? GEN_REAL : GEN_INT;
	case AFF_BLOB:
		if (c->decl && c->decl[0])
			return GEN_BLOB;
		return date_like(c->name) ? GEN_DATE : GEN_TEXT; /* untyped: mostly text */
	default: return date_like(c->name) ? GEN_DATE : GEN_TEXT;
	}
}

static size_t fk_of_column(const plan *p, size_t idx, size_t *pos)
{
	for (size_t i = 0; i < p->n_fks; i++)
		for (size_t k = 0; k < p->fks[i].n; k++)
			if (p->fks[i].child[k] == idx) {
				*pos = k;
				return i;
			}
	return SIZE_MAX;
}

static void choose(const plan *p, colgen *g)
{
	const dp_mask_rule *r = p->o->spec ? dp_spec_mask_rule(p->o->spec, p->o->db, p->t->name, g->c->name) : NULL;
	bool keyed = (g->fk = fk_of_column(p, g->idx, &g->fk_pos)) != SIZE_MAX;

	g->aff = affinity_of(g->c->decl);
	g->notnull = g->c->notnull || g->c->pk > 0;
	g->unique = g->c->unique;
	g->with_time = has(g->c->decl, "TIME") || (date_like(g->c->name) && !has(g->c->name, "date"));
	g->birth = has(g->c->name, "birth") || strcasecmp(g->c->name, "dob") == 0;
	g->maxlen = max_length(g->c->decl);
	if (keyed)
		g->gen = GEN_FK;
	else if (is_rowid_alias(p->db, p->t, g->c))
		g->gen = GEN_ROWID;
	else if (r && r->kind != DP_MASK_TEMPLATE && r->kind != DP_MASK_SQL) {
		g->gen = GEN_RULE;
		g->rule = *r;
	} else if (rule_by_name(p, g))
		g->gen = GEN_RULE;
	else
		g->gen = gen_by_type(g);
}

/* ---- values ------------------------------------------------------------------ */

/* A value being made: text in buf, or a number. */
typedef struct value {
	dp_val v;
	char buf[DP_TRANSFORM_BUF];
} value;

static void set_int(value *x, int64_t i)
{
	memset(&x->v, 0, sizeof(x->v));
	x->v.type = DP_VAL_INT;
	x->v.i = i;
}

static void set_real(value *x, double r)
{
	memset(&x->v, 0, sizeof(x->v));
	x->v.type = DP_VAL_REAL;
	x->v.r = r;
}

static void set_text(value *x, int n)
{
	memset(&x->v, 0, sizeof(x->v));
	x->v.type = DP_VAL_TEXT;
	x->v.p = x->buf;
	x->v.n = n < 0 ? 0 : (size_t)n < sizeof(x->buf) ? (size_t)n : sizeof(x->buf) - 1;
}

static void digits(prng *r, char *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (char)('0' + prng_below(r, 10));
	out[n] = '\0';
}

/* Pronounceable nonsense: 1-3 words of 2-3 syllables ("tamiro kelu"). */
static void words(prng *r, char *out, size_t cap, int n_words)
{
	static const char cons[] = "bdfgklmnprstvz", vow[] = "aeiou";
	size_t at = 0;

	for (int w = 0; w < n_words && at + 8 < cap; w++) {
		int syl = 2 + (int)prng_below(r, 2);
		if (w)
			out[at++] = ' ';
		for (int s = 0; s < syl; s++) {
			out[at++] = cons[prng_below(r, sizeof(cons) - 1)];
			out[at++] = vow[prng_below(r, sizeof(vow) - 1)];
		}
	}
	out[at] = '\0';
}

/* Seconds since 1970 in the column's plausible range. */
static int64_t random_time(const colgen *g, prng *r)
{
	return g->birth ? prng_range(r, BIRTH_FROM, BIRTH_TO) : prng_range(r, DATE_FROM, DATE_TO);
}

/* A date in the column's type: unix seconds, a julian day number, or
 * "YYYY-MM-DD[ HH:MM:SS]" text (with a time for DATETIME, TIMESTAMP, *_at). */
static void date_value(const colgen *g, prng *r, value *x)
{
	time_t t = (time_t)random_time(g, r);
	struct tm tm;

	if (g->aff == AFF_INTEGER) {
		set_int(x, (int64_t)t);
	} else if (g->aff == AFF_REAL) {
		set_real(x, (double)t / 86400.0 + 2440587.5);
	} else {
		gmtime_r(&t, &tm);
		if (!g->with_time || g->birth)
			tm.tm_hour = tm.tm_min = tm.tm_sec = -1;
		set_text(x, tm.tm_hour < 0 ? (int)strftime(x->buf, sizeof(x->buf), "%Y-%m-%d", &tm)
					   : (int)strftime(x->buf, sizeof(x->buf), "%Y-%m-%d %H:%M:%S", &tm));
	}
}

static void text_value(const colgen *g, prng *r, value *x)
{
	words(r, x->buf, sizeof(x->buf), g->unique ? 3 : 1 + (int)prng_below(r, 2));
	set_text(x, (int)strlen(x->buf));
}

/* The largest number generated: smaller after each run of CHECK failures,
 * since a range check (qty BETWEEN 1 AND 10) is their usual cause; at the
 * end, 0 or 1. */
static int64_t number_max(unsigned narrow)
{
	static const int64_t max[] = { 100000, 10000, 1000, 100, 10, 1 };

	return max[narrow < 5 ? narrow : 5];
}

static int64_t int_value(const colgen *g, unsigned narrow, prng *r)
{
	if (g->unique && narrow == 0)
		return prng_range(r, 1, INT64_C(1) << 53);
	return narrow >= 5 ? prng_range(r, 0, 1) : prng_range(r, 1, number_max(narrow));
}

static void type_value(const colgen *g, enum gen gen, unsigned narrow, prng *r, value *x)
{
	switch (gen) {
	case GEN_INT: set_int(x, int_value(g, narrow, r)); break;
	case GEN_BOOL: set_int(x, (int64_t)prng_below(r, 2)); break;
	case GEN_REAL: set_real(x, (double)prng_range(r, 1, 100 * number_max(narrow)) / 100.0); break;
	case GEN_DATE: date_value(g, r, x); break;
	case GEN_BLOB:
		for (size_t i = 0; i < 16; i++)
			x->buf[i] = (char)prng_below(r, 256);
		set_text(x, 16);
		x->v.type = DP_VAL_BLOB;
		break;
	default: text_value(g, r, x); break;
	}
}

/* Text input for the kinds that look only at their input's shape. */
static void shaped_text(const colgen *g, prng *r, value *x)
{
	char d[24];

	switch (g->rule.kind) {
	case DP_MASK_PHONE:
		digits(r, d, 10);
		set_text(x, snprintf(x->buf, sizeof(x->buf), "+1 %.3s %.3s %.4s", d, d + 3, d + 6));
		break;
	case DP_MASK_IBAN:
		digits(r, d, 18);
		set_text(x, snprintf(x->buf, sizeof(x->buf), "DE00%s", d));
		break;
	case DP_MASK_IP:
		set_text(x, snprintf(x->buf, sizeof(x->buf), "10.%u.%u.%u", (unsigned)prng_below(r, 256),
				     (unsigned)prng_below(r, 256), 1 + (unsigned)prng_below(r, 254)));
		break;
	default: /* postal code 5, card 16, partial 12 digits */
		digits(r, d, g->rule.kind == DP_MASK_POSTAL_CODE ? 5 : g->rule.kind == DP_MASK_CARD ? 16 : 12);
		set_text(x, snprintf(x->buf, sizeof(x->buf), "%s", d));
		break;
	}
}

/* An INTEGER input for the kinds that take one. */
static int64_t shaped_int(const colgen *g, prng *r)
{
	switch (g->rule.kind) {
	case DP_MASK_PHONE: return prng_range(r, INT64_C(1000000000), INT64_C(9999999999));
	case DP_MASK_POSTAL_CODE: return prng_range(r, 10000, 99999);
	case DP_MASK_CARD: return prng_range(r, INT64_C(4000000000000000), INT64_C(4999999999999999));
	case DP_MASK_IP: return (int64_t)prng_below(r, UINT64_C(1) << 32);
	default: return prng_range(r, 1, 100000);
	}
}

/* The input a rule's transformer gets: the shape it expects, with random
 * content, so its output varies row by row and keeps the rule's format. */
static void rule_input(const colgen *g, prng *r, uint64_t seed, uint64_t row, value *x)
{
	enum dp_mask_kind k = g->rule.kind;

	if (k == DP_MASK_DATE) {
		date_value(g, r, x);
	} else if (k == DP_MASK_NUMBER && g->aff == AFF_REAL) {
		set_real(x, (double)prng_range(r, 1, 1000000) / 100.0);
	} else if ((k == DP_MASK_PHONE || k == DP_MASK_POSTAL_CODE || k == DP_MASK_CARD || k == DP_MASK_IP ||
		    k == DP_MASK_NUMBER) && g->aff == AFF_INTEGER) {
		set_int(x, shaped_int(g, r));
	} else if (k == DP_MASK_NUMBER) {
		set_text(x, snprintf(x->buf, sizeof(x->buf), "%.2f", (double)prng_range(r, 1, 1000000) / 100.0));
	} else if (k == DP_MASK_PHONE || k == DP_MASK_POSTAL_CODE || k == DP_MASK_CARD || k == DP_MASK_IP ||
		   k == DP_MASK_IBAN || k == DP_MASK_PARTIAL) {
		shaped_text(g, r, x);
	} else if (k == DP_MASK_REDACT) {
		text_value(g, r, x);
	} else {
		/* email, name, address, city, hash, uuid, constant: any text */
		set_text(x, snprintf(x->buf, sizeof(x->buf), "synth-%" PRIu64 "-%" PRIu64 "-%zu", seed, row, g->idx));
	}
}

static int rule_value(const plan *p, const colgen *g, prng *r, uint64_t row, uint32_t attempt, value *x,
		      dp_error **err)
{
	value in;

	rule_input(g, r, p->o->seed, row, &in);
	if (dp_transform(&g->rule, p->o->key, &in.v, attempt, &x->v, x->buf, sizeof(x->buf), err) < 0)
		return dp_wrap(err, "%s.%s.%s: generate a %s value", p->o->db, p->t->name, g->c->name,
			       dp_mask_kind_name(g->rule.kind));
	if (x->v.type == DP_VAL_NULL && g->notnull)
		type_value(g, gen_by_type(g), p->narrow, r, x); /* a null rule cannot fill a NOT NULL column */
	return 0;
}

/* Cuts TEXT to VARCHAR(n)'s n characters (counting UTF-8 lead bytes),
 * without a trailing space. */
static void fit_length(const colgen *g, value *x)
{
	size_t chars = 0;

	if (g->maxlen == 0 || x->v.type != DP_VAL_TEXT)
		return;
	for (size_t i = 0; i < x->v.n; i++)
		if (((unsigned char)x->v.p[i] & 0xc0) != 0x80 && ++chars > g->maxlen) {
			x->v.n = i;
			break;
		}
	while (x->v.n > 1 && x->v.p[x->v.n - 1] == ' ')
		x->v.n--;
}

static int bind_value(sqlite3_stmt *q, int param, const dp_val *v)
{
	switch (v->type) {
	case DP_VAL_INT: return sqlite3_bind_int64(q, param, v->i);
	case DP_VAL_REAL: return sqlite3_bind_double(q, param, v->r);
	case DP_VAL_TEXT: return sqlite3_bind_text(q, param, v->p, (int)v->n, SQLITE_TRANSIENT);
	case DP_VAL_BLOB: return sqlite3_bind_blob(q, param, v->p, (int)v->n, SQLITE_TRANSIENT);
	default: return sqlite3_bind_null(q, param);
	}
}

static int bind_column(plan *p, const colgen *g, uint64_t row, uint32_t attempt, dp_error **err)
{
	value x;
	prng r;

	if (g->gen == GEN_FK) {
		const fkey *f = &p->fks[g->fk];
		int rc = f->pick == SIZE_MAX ? sqlite3_bind_null(p->ins, g->param)
					     : sqlite3_bind_value(p->ins, g->param, f->keys[f->pick * f->n + g->fk_pos]);
		return rc == SQLITE_OK ? 0 : dpq_fail(p->db, "bind", p->o->path, err);
	}
	prng_init(&r, p->o->seed, row, g->idx, attempt);
	if (g->gen == GEN_RULE) {
		if (rule_value(p, g, &r, row, attempt, &x, err) < 0)
			return -1;
	} else {
		type_value(g, g->gen, p->narrow, &r, &x);
	}
	fit_length(g, &x);
	if (bind_value(p->ins, g->param, &x.v) != SQLITE_OK)
		return dpq_fail(p->db, "bind", p->o->path, err);
	return 0;
}

static void pick_parents(plan *p, uint64_t row, uint32_t attempt)
{
	for (size_t i = 0; i < p->n_fks; i++) {
		fkey *f = &p->fks[i];
		prng r;
		prng_init(&r, p->o->seed, row, FK_STREAM + i, attempt);
		f->pick = f->n_keys ? (size_t)prng_below(&r, f->n_keys) : SIZE_MAX;
	}
}

/* An exclusive key's parent is taken: out of the sample. */
static void use_parents(plan *p)
{
	for (size_t i = 0; i < p->n_fks; i++) {
		fkey *f = &p->fks[i];
		if (!f->exclusive || f->pick == SIZE_MAX)
			continue;
		sqlite3_value_free(f->keys[f->pick]);
		f->keys[f->pick] = f->keys[--f->n_keys];
	}
}

static int bind_row(plan *p, uint64_t row, uint32_t attempt, dp_error **err)
{
	sqlite3_reset(p->ins);
	sqlite3_clear_bindings(p->ins);
	pick_parents(p, row, attempt);
	for (size_t i = 0; i < p->n_cols; i++)
		if (p->cols[i].gen != GEN_ROWID && bind_column(p, &p->cols[i], row, attempt, err) < 0)
			return -1;
	return 0;
}

/* ---- inserting ------------------------------------------------------------------ */

static bool retryable(int ext)
{
	return ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY ||
	       ext == SQLITE_CONSTRAINT_ROWID || ext == SQLITE_CONSTRAINT_CHECK;
}

static int give_up(const plan *p, uint64_t row, int ext, const char *msg, dp_error **err)
{
	if (ext == SQLITE_CONSTRAINT_CHECK)
		return dp_fail(err, 0, "%s.%s: the generated values of row %" PRIu64 " broke a CHECK constraint %d times "
				       "(%s); synth fills columns by type, name and masking rule and cannot satisfy it",
			       p->o->db, p->t->name, row + 1, DP_SYNTH_ATTEMPTS, msg);
	return dp_fail(err, 0, "%s.%s: no unique values found for row %" PRIu64 " in %d attempts (%s); the column's "
			       "generator has too few distinct values",
		       p->o->db, p->t->name, row + 1, DP_SYNTH_ATTEMPTS, msg);
}

static int insert_row(plan *p, uint64_t row, dp_error **err)
{
	char msg[512] = "";
	int ext = 0;
	unsigned checks = 0;

	p->narrow = 0;
	for (uint32_t attempt = 0; attempt < DP_SYNTH_ATTEMPTS; attempt++) {
		int rc;
		if (bind_row(p, row, attempt, err) < 0)
			return -1;
		rc = sqlite3_step(p->ins);
		if (rc == SQLITE_DONE) {
			use_parents(p);
			return 0;
		}
		ext = sqlite3_extended_errcode(p->db);
		snprintf(msg, sizeof(msg), "%s", sqlite3_errmsg(p->db));
		sqlite3_reset(p->ins);
		if (!retryable(ext))
			return dp_fail(err, 0, "%s.%s: insert row %" PRIu64 ": %s", p->o->db, p->t->name, row + 1, msg);
		if (ext == SQLITE_CONSTRAINT_CHECK)
			p->narrow = ++checks / 8;
	}
	return give_up(p, row, ext, msg, err);
}

/* INSERT OR ABORT: a conflict clause in the schema (REPLACE, IGNORE) must
 * not delete existing rows or drop generated ones silently. */
static int prepare_insert(plan *p, dp_error **err)
{
	sbuf b = { 0 }, v = { 0 };
	int n = 0, rc;

	dpq_add(&b, "INSERT OR ABORT INTO main.");
	dpq_add_ident(&b, p->t->name);
	for (size_t i = 0; i < p->n_cols; i++) {
		char param[16];
		if (p->cols[i].gen == GEN_ROWID)
			continue;
		p->cols[i].param = ++n;
		dpq_add(&b, n == 1 ? " (" : ", ");
		dpq_add_ident(&b, p->cols[i].c->name);
		snprintf(param, sizeof(param), "%s?%d", n == 1 ? "" : ", ", n);
		dpq_add(&v, param);
	}
	if (n == 0) {
		dpq_add(&b, " DEFAULT VALUES");
	} else {
		dpq_add(&b, ") VALUES (");
		dpq_add(&b, v.p);
		dpq_add(&b, ")");
	}
	rc = sqlite3_prepare_v2(p->db, b.p, -1, &p->ins, NULL);
	dpq_free(&b);
	dpq_free(&v);
	return rc == SQLITE_OK ? 0 : dpq_fail(p->db, "prepare the insert", p->o->path, err);
}

/* ---- the plan ------------------------------------------------------------------ */

static int no_table(plan *p, dp_error **err)
{
	sbuf list = { 0 };
	int r;

	for (size_t i = 0; i < p->s.n; i++) {
		dpq_add(&list, i ? ", " : "");
		dpq_add(&list, p->s.t[i].name);
	}
	r = dp_usage(err, "no table '%s' in database %s (%s); it has: %s", p->o->table, p->o->db, p->o->path,
		     list.p ? list.p : "no tables");
	dpq_free(&list);
	return r;
}

static int plan_open(plan *p, sqlite3 *db, const dp_synth_opts *o, dp_error **err)
{
	memset(p, 0, sizeof(*p));
	p->db = db;
	p->o = o;
	if (dpq_load_schema(db, "main", o->path, &p->s, err) < 0)
		return -1;
	p->t = dpq_table(&p->s, o->table, NULL);
	if (p->t == NULL)
		return no_table(p, err);
	if (p->t->virtual)
		return dp_usage(err, "%s.%s is a virtual table (FTS, R*Tree, ...); synth fills ordinary tables", o->db,
				p->t->name);
	if (plan_fks(p, err) < 0)
		return -1;
	p->cols = calloc(p->t->n ? p->t->n : 1, sizeof(colgen));
	if (p->cols == NULL)
		abort();
	for (size_t i = 0; i < p->t->n; i++) {
		colgen *g = &p->cols[p->n_cols];
		if (p->t->cols[i].hidden)
			continue; /* generated columns compute themselves */
		g->c = &p->t->cols[i];
		g->idx = i;
		choose(p, g);
		p->n_cols++;
	}
	return prepare_insert(p, err);
}

static void plan_close(plan *p)
{
	sqlite3_finalize(p->ins);
	for (size_t i = 0; i < p->n_fks; i++)
		fk_free(&p->fks[i]);
	free(p->cols);
	dpq_schema_free(&p->s);
}

int dp_synth(sqlite3 *db, const dp_synth_opts *o, dp_error **err)
{
	plan p;
	int r = -1;

	if (dpq_exec(db, "BEGIN IMMEDIATE", o->path, "begin a transaction", err) < 0)
		return -1;
	if (plan_open(&p, db, o, err) == 0) {
		r = 0;
		for (uint64_t row = 0; row < o->rows && r == 0; row++)
			r = insert_row(&p, row, err);
	}
	plan_close(&p);
	if (r == 0)
		return dpq_exec(db, "COMMIT", o->path, "commit", err);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}
