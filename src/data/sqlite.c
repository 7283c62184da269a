/* SQLite production databases into snapshots: the consistent, masked copy and
 * the strict-mode check; see sqlite.h.
 *
 * The copy is VACUUM INTO done by hand: a new file gets production's page
 * size and encoding, production is ATTACHed read-only, and inside one
 * transaction every table is filled from src.t. A table with nothing to mask
 * goes by INSERT INTO main.t SELECT * (SQLite's transfer path, records and
 * indexes as they are). A masked table whose rules are all transformers is
 * read in batches by this thread, masked by a second one and inserted with
 * a prepared statement (fill_threaded); one with sql or template rules goes
 * by INSERT ... SELECT with masked columns wrapped in doppel_mask(). Where a
 * plain twin table reproduces a masked table's records, the rows go there
 * and the table's indexes are built after them by REINDEX (swap_in_twin):
 * masked keys arrive in hash order, and random b-tree inserts were the
 * largest cost. The one transaction is one read snapshot of production (WAL
 * readers see one state; in rollback mode the shared lock holds writers
 * off), so the copy is consistent without the backup API, which restarts
 * whenever production is written (DESIGN.md §5). Original values of masked
 * columns are never written to the copy (nor to the sorter's temporary
 * files, which hold masked keys only), so no free page or journal can hold
 * them; the copy runs with journal_mode=OFF and one fsync at the end, its
 * writeback started after each table.
 *
 * Keys: a column whose rule applies to a UNIQUE or PRIMARY KEY column gets a
 * collision-free mapping (data/keymap.h: original -> fake; a collision asks
 * the transformer for its next attempt), and every column referencing it
 * through a foreign key inherits the same rule and mapping, so joins still
 * match (Greenmask's apply_for_references). The claims are made in row and
 * column order on either path, so the fakes do not depend on the path. */
#include "data/sqlite.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "data/keymap.h"
#include "data/pii.h"
#include "data/sqlite-schema.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/path.h"

#define MAX_ATTEMPTS 64
#define PII_SAMPLE 200

/* seconds since an arbitrary start, for the DOPPEL_DEBUG timings */
static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *xstrdup(const char *s)
{
	char *r = strdup(s ? s : "");
	if (r == NULL)
		abort();
	return r;
}

/* ---- production, read-only ------------------------------------------------ */

int dp_sqlite_src_open(int prodfd, const char *root, const char *rel, dp_sqlite_src *src, dp_error **err)
{
	const char *slash = strrchr(rel, '/'), *base = slash ? slash + 1 : rel;
	sbuf uri = { 0 };
	char head[64];

	memset(src, 0, sizeof(*src));
	src->dirfd = -1;
	if (asprintf(&src->path, "%s/%s", root, rel) < 0)
		return dp_fail(err, ENOMEM, "%s", rel);
	if (slash) {
		char *dir = strndup(rel, (size_t)(slash - rel));
		if (dir == NULL)
			return dp_fail(err, ENOMEM, "%s", rel);
		src->dirfd = dp_open_in_root_nosym(prodfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		free(dir);
	} else {
		src->dirfd = fcntl(prodfd, F_DUPFD_CLOEXEC, 3);
	}
	if (src->dirfd < 0)
		return dp_fail_errno(err, "%s: cannot open its directory inside production (symlinks are not followed)",
				     src->path);
	if (fstatat(src->dirfd, base, &src->st, AT_SYMLINK_NOFOLLOW) < 0)
		return dp_fail_errno(err, "%s", src->path);
	if (!S_ISREG(src->st.st_mode))
		return dp_usage(err, "%s: not a regular file (a database must be a file inside production.root; "
				"symlinks are not followed)", src->path);
	snprintf(head, sizeof(head), "file:/proc/self/fd/%d/", src->dirfd);
	dpq_add(&uri, head);
	/* the name is percent-encoded so '?' and '#' stay part of it */
	for (const char *p = base; *p; p++) {
		char c[4];
		if (isalnum((unsigned char)*p) || strchr("-._~", *p))
			snprintf(c, sizeof(c), "%c", *p);
		else
			snprintf(c, sizeof(c), "%%%02X", (unsigned char)*p);
		dpq_add(&uri, c);
	}
	dpq_add(&uri, "?mode=ro");
	/* A read-only connection to a WAL database nobody has open creates
	 * -wal and -shm beside it (and leaves them): production would be
	 * written. With neither there, no writer is active, so the file alone
	 * is the database: read it as immutable (no locks, no side files) and
	 * let dp_sqlite_src_changed() tell whether a writer came meanwhile. */
	{
		unsigned char hdr[100];
		char side[NAME_MAX + 8];
		struct stat sb;
		bool wal_mode, sides = false;
		cleanup_close int fd = openat(src->dirfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return dp_fail_errno(err, "%s", src->path);
		wal_mode = pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) && hdr[18] == 2;
		for (int i = 0; i < 2 && strlen(base) < NAME_MAX; i++) {
			snprintf(side, sizeof(side), "%s%s", base, i ? "-shm" : "-wal");
			sides = sides || fstatat(src->dirfd, side, &sb, AT_SYMLINK_NOFOLLOW) == 0;
		}
		src->wal = wal_mode;
		src->immutable = wal_mode && !sides;
		if (src->immutable)
			dpq_add(&uri, "&immutable=1");
	}
	src->uri = uri.p;
	return 0;
}

bool dp_sqlite_src_changed(const dp_sqlite_src *src)
{
	const char *base = strrchr(src->path, '/') + 1;
	char side[NAME_MAX + 8];
	struct stat now;

	if (!src->immutable)
		return false;
	if (fstatat(src->dirfd, base, &now, AT_SYMLINK_NOFOLLOW) < 0 || now.st_size != src->st.st_size ||
	    now.st_mtim.tv_sec != src->st.st_mtim.tv_sec || now.st_mtim.tv_nsec != src->st.st_mtim.tv_nsec ||
	    now.st_ctim.tv_sec != src->st.st_ctim.tv_sec || now.st_ctim.tv_nsec != src->st.st_ctim.tv_nsec ||
	    now.st_ino != src->st.st_ino)
		return true;
	if (strlen(base) >= NAME_MAX)
		return true;
	snprintf(side, sizeof(side), "%s-wal", base);
	return fstatat(src->dirfd, side, &now, AT_SYMLINK_NOFOLLOW) == 0;
}

void dp_sqlite_src_close(dp_sqlite_src *src)
{
	if (src->dirfd >= 0)
		close(src->dirfd);
	free(src->uri);
	free(src->path);
	memset(src, 0, sizeof(*src));
	src->dirfd = -1;
}

void dp_pii_report_free(dp_pii_report *rep)
{
	for (size_t i = 0; i < rep->n; i++) {
		free(rep->items[i].table);
		free(rep->items[i].column);
		free(rep->items[i].suggest);
		free(rep->items[i].why);
	}
	free(rep->items);
	memset(rep, 0, sizeof(*rep));
}

char *dp_pii_report_text(const char *db, const dp_pii_report *rep)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		abort();
	for (size_t i = 0; i < rep->n; i++) {
		const dp_pii_finding *x = &rep->items[i];
		char ref[300];
		snprintf(ref, sizeof(ref), "%s.%s.%s", db, x->table, x->column);
		fprintf(f, "  %-32s %s\n  %-32s suggested rule:  %s: %s\n", ref, x->why, "", ref, x->suggest);
	}
	fclose(f);
	return buf;
}

static int open_src(const dp_sqlite_src *src, sqlite3 **db, dp_error **err)
{
	if (sqlite3_open_v2(src->uri, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) !=
	    SQLITE_OK) {
		dpq_fail(*db, "open read-only", src->path, err);
		sqlite3_close(*db);
		*db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(*db, 10000);
	sqlite3_extended_result_codes(*db, 1);
	return 0;
}

/* ---- schema --------------------------------------------------------------- */

static bool same_rule(const dp_mask_rule *a, const dp_mask_rule *b)
{
	return a->kind == b->kind && a->part == b->part && a->days == b->days && a->percent == b->percent &&
	       a->keep_first == b->keep_first && a->keep_last == b->keep_last && a->length == b->length &&
	       ((a->text == NULL && b->text == NULL) || (a->text && b->text && strcmp(a->text, b->text) == 0));
}

#define RULE_ERR(r, ...) dp_usage(err, "%s:%d: masking.rules.%s.%s.%s: " __VA_ARGS__)

/* Binds doppel.yaml's rules for db to the schema: every rule names a real
 * column and fits it; foreign keys inherit their parent's rule. */
static int resolve_rules(sqlite3 *db, const char *sch, schema *s, const dp_spec *spec, const dp_db_spec *dbs,
			 dp_error **err)
{
	for (size_t i = 0; i < spec->n_rules; i++) {
		const dp_mask_rule *r = &spec->rules[i];
		table *t;
		col *c;
		if (strcmp(r->db, dbs->name) != 0)
			continue;
		t = dpq_table(s, r->table, NULL);
		if (t == NULL)
			return RULE_ERR(r, "no table '%s' in %s", spec->file, r->line, r->db, r->table, r->column, r->table,
					dbs->sqlite);
		if (t->virtual)
			return RULE_ERR(r, "%s is a virtual table; masking virtual tables is not supported", spec->file,
					r->line, r->db, r->table, r->column, r->table);
		c = dpq_col(t, r->column, NULL);
		if (c == NULL) {
			char list[512] = "";
			for (size_t j = 0; j < t->n; j++)
				if (strlen(list) + strlen(t->cols[j].name) + 3 < sizeof(list)) {
					if (list[0])
						strcat(list, ", ");
					strcat(list, t->cols[j].name);
				}
			return RULE_ERR(r, "no column '%s' in table %s (it has: %s)", spec->file, r->line, r->db, r->table,
					r->column, r->column, t->name, list);
		}
		if (c->hidden)
			return RULE_ERR(r, "%s is a generated column; mask the columns it is computed from", spec->file,
					r->line, r->db, r->table, r->column, c->name);
		if (r->kind == DP_MASK_NULL && c->notnull)
			return RULE_ERR(r, "the column is NOT NULL, so 'null' cannot apply; use redact or constant",
					spec->file, r->line, r->db, r->table, r->column);
		if (r->kind == DP_MASK_CONSTANT && c->unique)
			return RULE_ERR(r, "the column is unique, so one constant cannot fill it; use hash or uuid",
					spec->file, r->line, r->db, r->table, r->column);
		c->own = c->rule = r;
	}
	/* an allow entry names a real column too: a typo would hide nothing
	 * today and silently let a renamed personal column through tomorrow */
	for (size_t i = 0; i < spec->n_allow; i++) {
		const char *a = spec->allow[i], *t1, *t2;
		char tname[160], cname[160];
		table *t;
		size_t ld = strlen(dbs->name);
		if (strncmp(a, dbs->name, ld) != 0 || a[ld] != '.')
			continue;
		t1 = a + ld + 1;
		t2 = strchr(t1, '.');
		if (t2 == NULL || (size_t)(t2 - t1) >= sizeof(tname) || strlen(t2 + 1) >= sizeof(cname))
			continue;
		snprintf(tname, sizeof(tname), "%.*s", (int)(t2 - t1), t1);
		snprintf(cname, sizeof(cname), "%s", t2 + 1);
		t = dpq_table(s, tname, NULL);
		if (t == NULL)
			return dp_usage(err, "%s:%d: masking.allow: %s: no table '%s' in %s", spec->file,
					spec->allow_lines[i], a, tname, dbs->sqlite);
		if (dpq_col(t, cname, NULL) == NULL)
			return dp_usage(err, "%s:%d: masking.allow: %s: no column '%s' in table %s", spec->file,
					spec->allow_lines[i], a, cname, t->name);
	}
	/* sql and template rules must compile against their table */
	for (size_t i = 0; i < s->n; i++)
		for (size_t j = 0; j < s->t[i].n; j++) {
			const dp_mask_rule *r = s->t[i].cols[j].own;
			if (r && r->kind == DP_MASK_TEMPLATE) {
				for (const char *p = r->text; (p = strchr(p, '{')) != NULL;) {
					const char *e;
					if (p[1] == '{') {
						p += 2;
						continue;
					}
					e = strchr(p, '}');
					if (e == NULL)
						return RULE_ERR(r, "template: '{' without '}'", spec->file, r->line, r->db,
								r->table, r->column);
					{
						char name[256];
						col *rc;
						if ((size_t)(e - p - 1) >= sizeof(name))
							return RULE_ERR(r, "template: a column name is too long", spec->file,
									r->line, r->db, r->table, r->column);
						memcpy(name, p + 1, (size_t)(e - p - 1));
						name[e - p - 1] = '\0';
						rc = dpq_col(&s->t[i], name, NULL);
						if (rc == NULL)
							return RULE_ERR(r, "template: no column '%s' in %s", spec->file, r->line,
									r->db, r->table, r->column, name, s->t[i].name);
						if (rc->own && (rc->own->kind == DP_MASK_TEMPLATE || rc->own->kind == DP_MASK_SQL))
							return RULE_ERR(r, "template: {%s} is itself a template or sql rule",
									spec->file, r->line, r->db, r->table, r->column, name);
					}
					p = e + 1;
				}
			} else if (r && r->kind == DP_MASK_SQL) {
				sqlite3_stmt *q = NULL;
				sbuf b = { 0 };
				dpq_add(&b, "SELECT (");
				dpq_add(&b, r->text);
				dpq_add(&b, ") FROM \"");
				dpq_add(&b, sch);
				dpq_add(&b, "\".");
				dpq_add_ident(&b, s->t[i].name);
				if (sqlite3_prepare_v2(db, b.p, -1, &q, NULL) != SQLITE_OK) {
					dpq_free(&b);
					return RULE_ERR(r, "sql: %s", spec->file, r->line, r->db, r->table, r->column,
							sqlite3_errmsg(db));
				}
				sqlite3_finalize(q);
				dpq_free(&b);
			}
		}
	/* a key's rule flows down every foreign key that references it; repeat
	 * until nothing changes (chains of keys) */
	for (int pass = 0, changed = 1; changed && pass < 64; pass++) {
		changed = 0;
		for (size_t f = 0; f < s->n_fks; f++) {
			table *ct = &s->t[s->fk_table[f]], *pt = &s->t[s->fks[f].parent_table];
			col *c = &ct->cols[s->fks[f].child_col], *p = &pt->cols[s->fks[f].parent_col];
			if (p->rule == NULL)
				continue; /* perhaps a later pass gives it one */
			if (c->rule == p->rule)
				continue;
			if (p->rule->kind == DP_MASK_TEMPLATE || p->rule->kind == DP_MASK_SQL)
				return dp_usage(err,
						"%s:%d: masking.rules.%s.%s.%s: %s.%s references it, and a %s rule cannot be "
						"carried to another table; use a transformer such as hash or uuid",
						spec->file, p->rule->line, dbs->name, pt->name, p->name, ct->name, c->name,
						dp_mask_kind_name(p->rule->kind));
			if (c->own && !same_rule(c->own, p->rule))
				return dp_usage(err,
						"%s:%d: masking.rules.%s.%s.%s: the column references %s.%s, whose rule decides "
						"its values; remove this rule or make it the same",
						spec->file, c->own->line, dbs->name, ct->name, c->name, pt->name, p->name);
			c->rule = p->rule;
			c->from = pt->name;
			changed = 1;
		}
	}
	/* a masked column whose parent stays unmasked would break the join */
	for (size_t f = 0; f < s->n_fks; f++) {
		table *ct = &s->t[s->fk_table[f]], *pt = &s->t[s->fks[f].parent_table];
		col *c = &ct->cols[s->fks[f].child_col], *p = &pt->cols[s->fks[f].parent_col];
		if (c->own && p->rule == NULL)
			return dp_usage(err,
					"%s:%d: masking.rules.%s.%s.%s: the column references %s.%s, which has no rule, so "
					"masking it alone would break the join; mask %s.%s.%s instead (its rule applies to "
					"every column referencing it)",
					spec->file, c->own->line, dbs->name, ct->name, c->name, pt->name, p->name, dbs->name,
					pt->name, p->name);
	}
	s->mapped = calloc(spec->n_rules + 1, sizeof(bool));
	if (s->mapped == NULL)
		abort();
	for (size_t i = 0; i < s->n; i++)
		for (size_t j = 0; j < s->t[i].n; j++) {
			col *c = &s->t[i].cols[j];
			if (c->rule && c->unique && c->rule->kind != DP_MASK_NULL && c->rule->kind != DP_MASK_SQL &&
			    c->rule->kind != DP_MASK_TEMPLATE)
				s->mapped[c->rule - spec->rules] = true;
		}
	return 0;
}

/* ---- strict mode ---------------------------------------------------------- */

static void add_finding(dp_pii_report *rep, const char *tname, const char *column, const char *suggest,
			const char *why)
{
	dp_pii_finding *n = realloc(rep->items, (rep->n + 1) * sizeof(*n));

	if (n == NULL)
		abort();
	rep->items = n;
	n[rep->n++] = (dp_pii_finding){ .table = xstrdup(tname), .column = xstrdup(column),
					  .suggest = xstrdup(suggest), .why = xstrdup(why) };
}

static int sample_column(sqlite3 *db, const char *path, table *t, col *c, dp_pii_sample *smp, dp_error **err)
{
	sbuf b = { 0 };
	sqlite3_stmt *q = NULL;
	int rc;

	dpq_add(&b, "SELECT ");
	dpq_add_ident(&b, c->name);
	dpq_add(&b, " FROM ");
	dpq_add_ident(&b, t->name);
	dpq_add(&b, " WHERE typeof(");
	dpq_add_ident(&b, c->name);
	{
		char lim[48];
		snprintf(lim, sizeof(lim), ") IN ('text', 'integer') LIMIT %d", PII_SAMPLE);
		dpq_add(&b, lim);
	}
	rc = sqlite3_prepare_v2(db, b.p, -1, &q, NULL);
	dpq_free(&b);
	if (rc != SQLITE_OK)
		return dpq_fail(db, "sample values", path, err);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(q, 0);
		if (v)
			dp_pii_sample_add(smp, v, (size_t)sqlite3_column_bytes(q, 0));
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return dpq_fail(db, "sample values", path, err);
	return 0;
}

int dp_sqlite_pii_check(const dp_sqlite_src *src, const dp_spec *spec, const dp_db_spec *dbs, dp_pii_report *rep,
			dp_error **err)
{
	sqlite3 *db = NULL;
	schema s;
	int r = -1;

	memset(rep, 0, sizeof(*rep));
	if (open_src(src, &db, err) < 0)
		return -1;
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		dpq_fail(db, "begin", src->path, err);
		sqlite3_close(db);
		return -1;
	}
	if (dpq_load_schema(db, "main", src->path, &s, err) < 0 || resolve_rules(db, "main", &s, spec, dbs, err) < 0)
		goto out;
	for (size_t i = 0; i < s.n; i++) {
		table *t = &s.t[i];
		if (t->virtual)
			continue;
		for (size_t j = 0; j < t->n; j++) {
			col *c = &t->cols[j];
			const char *why = NULL, *sug;
			char whybuf[160];
			dp_pii_sample smp = { 0 };
			if (c->rule || c->hidden || dp_spec_mask_allowed(spec, dbs->name, t->name, c->name))
				continue;
			sug = dp_pii_by_name(c->name, &why);
			if (sug == NULL) {
				if (sample_column(db, src->path, t, c, &smp, err) < 0)
					goto out;
				sug = dp_pii_sample_verdict(&smp, whybuf, sizeof(whybuf));
				why = whybuf;
			}
			if (sug)
				add_finding(rep, t->name, c->name, sug, why);
		}
	}
	r = 0;
out:
	if (r < 0)
		dp_pii_report_free(rep);
	dpq_schema_free(&s);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	return r;
}

/* ---- the masking SQL functions ------------------------------------------- */

typedef struct clone_ctx {
	const dp_spec *spec;
	const dp_mask_key *key;
	dp_keymap *map; /* original -> fake, per rule, for unique columns */
} clone_ctx;

static const dp_mask_rule *rule_arg(sqlite3_context *cx, clone_ctx *c, sqlite3_value *v)
{
	int64_t i = sqlite3_value_int64(v);

	if (i < 0 || (size_t)i >= c->spec->n_rules) {
		sqlite3_result_error(cx, "doppel_mask: no such rule", -1);
		return NULL;
	}
	return &c->spec->rules[i];
}

static void to_val(sqlite3_value *v, dp_val *out)
{
	memset(out, 0, sizeof(*out));
	switch (sqlite3_value_type(v)) {
	case SQLITE_INTEGER:
		out->type = DP_VAL_INT;
		out->i = sqlite3_value_int64(v);
		break;
	case SQLITE_FLOAT:
		out->type = DP_VAL_REAL;
		out->r = sqlite3_value_double(v);
		break;
	case SQLITE_TEXT:
		out->type = DP_VAL_TEXT;
		out->p = (const char *)sqlite3_value_text(v);
		out->n = (size_t)sqlite3_value_bytes(v);
		break;
	case SQLITE_BLOB:
		out->type = DP_VAL_BLOB;
		out->p = sqlite3_value_blob(v);
		out->n = (size_t)sqlite3_value_bytes(v);
		break;
	default:
		out->type = DP_VAL_NULL;
	}
}

static void set_result(sqlite3_context *cx, const dp_val *o)
{
	switch (o->type) {
	case DP_VAL_INT: sqlite3_result_int64(cx, o->i); break;
	case DP_VAL_REAL: sqlite3_result_double(cx, o->r); break;
	case DP_VAL_TEXT: sqlite3_result_text(cx, o->p, (int)o->n, SQLITE_TRANSIENT); break;
	case DP_VAL_BLOB: sqlite3_result_blob(cx, o->p, (int)o->n, SQLITE_TRANSIENT); break;
	default: sqlite3_result_null(cx);
	}
}

static void transform_error(const dp_mask_rule *r, dp_error **e, char *msg, size_t msgsz)
{
	snprintf(msg, msgsz, "%s.%s.%s (%s): %s", r->db, r->table, r->column, dp_mask_kind_name(r->kind),
		 *e ? (*e)->msg : "cannot mask");
	dp_error_free(e);
}

/* The fake for `in` (not NULL) by rule ri. unique: through the key map, the
 * same fake for the same original and never one fake for two. first, if
 * not NULL, is the transformer's attempt 0, made beforehand. Returns 0 (out
 * may point into buf, first, the key map or static memory), -1 with msg set
 * (naming the column, never the value) or -2 when memory ran out. */
static int mask_one(clone_ctx *c, uint32_t ri, bool unique, const dp_val *in, const dp_val *first, dp_val *out,
		    char *buf, char *msg, size_t msgsz)
{
	const dp_mask_rule *r = &c->spec->rules[ri];

	if (unique && dp_keymap_get(c->map, ri, in, out))
		return 0;
	for (uint32_t attempt = 0; attempt < (unique ? MAX_ATTEMPTS : 1); attempt++) {
		dp_error *e = NULL;
		int claimed;
		if (attempt == 0 && first) {
			*out = *first;
		} else if (dp_transform(r, c->key, in, attempt, out, buf, DP_TRANSFORM_BUF, &e) < 0) {
			transform_error(r, &e, msg, msgsz);
			return -1;
		}
		if (!unique)
			return 0;
		claimed = dp_keymap_claim(c->map, ri, in, out);
		if (claimed == 0)
			continue; /* another original has it */
		if (claimed < 0 || (attempt > 0 && dp_keymap_put(c->map, ri, in, out) < 0))
			return -2;
		return 0;
	}
	snprintf(msg, msgsz,
		 "%s.%s.%s: %s found no unused value in %d tries; the column is unique, so pick a transformer "
		 "with more outcomes (hash, uuid, email)",
		 r->db, r->table, r->column, dp_mask_kind_name(r->kind), MAX_ATTEMPTS);
	return -1;
}

static void fn_common(sqlite3_context *cx, sqlite3_value **argv, bool unique)
{
	clone_ctx *c = sqlite3_user_data(cx);
	const dp_mask_rule *r = rule_arg(cx, c, argv[0]);
	char buf[DP_TRANSFORM_BUF], msg[600];
	dp_val in, out;
	int rc;

	if (r == NULL)
		return;
	to_val(argv[1], &in);
	if (in.type == DP_VAL_NULL) {
		sqlite3_result_null(cx);
		return;
	}
	rc = mask_one(c, (uint32_t)(r - c->spec->rules), unique, &in, NULL, &out, buf, msg, sizeof(msg));
	if (rc == 0)
		set_result(cx, &out);
	else if (rc == -2)
		sqlite3_result_error_nomem(cx);
	else
		sqlite3_result_error(cx, msg, -1);
}

/* doppel_mask(RULE, VALUE) */
static void fn_mask(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	(void)argc;
	fn_common(cx, argv, false);
}

/* doppel_mask_unique(RULE, VALUE): the same fake for the same original, and
 * never one fake for two originals. */
static void fn_mask_unique(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	(void)argc;
	fn_common(cx, argv, true);
}

/* ---- the copy ------------------------------------------------------------- */

/* The SELECT expression that fills column j of table t. */
static void column_expr(sbuf *b, const dp_spec *spec, schema *s, table *t, size_t j, bool in_template)
{
	col *c = &t->cols[j];
	const dp_mask_rule *r = c->rule;
	char num[32];

	if (r == NULL) {
		dpq_add_ident(b, c->name);
		return;
	}
	if (r->kind == DP_MASK_SQL) {
		dpq_add(b, "(");
		dpq_add(b, r->text);
		dpq_add(b, ")");
		return;
	}
	if (r->kind == DP_MASK_TEMPLATE && !in_template) {
		/* "user-{id}@example.test" -> ('user-' || <id> || '@example.test') */
		const char *p = r->text;
		dpq_add(b, "(''");
		while (*p) {
			if (*p == '{' && p[1] != '{') {
				const char *e = strchr(p, '}');
				char name[256];
				size_t k = 0;
				memcpy(name, p + 1, (size_t)(e - p - 1));
				name[e - p - 1] = '\0';
				dpq_col(t, name, &k);
				dpq_add(b, " || ");
				column_expr(b, spec, s, t, k, true);
				p = e + 1;
			} else {
				sbuf lit = { 0 };
				dpq_add(&lit, "'");
				while (*p && !(*p == '{' && p[1] != '{')) {
					char ch[3] = { *p, 0, 0 };
					if (*p == '\'')
						ch[1] = '\'';
					dpq_add(&lit, ch);
					p += (*p == '{' || *p == '}') && p[1] == *p ? 2 : 1;
				}
				dpq_add(&lit, "'");
				dpq_add(b, " || ");
				dpq_add(b, lit.p);
				dpq_free(&lit);
			}
		}
		dpq_add(b, ")");
		return;
	}
	snprintf(num, sizeof(num), "%td", r - spec->rules);
	dpq_add(b, s->mapped[r - spec->rules] ? "doppel_mask_unique(" : "doppel_mask(");
	dpq_add(b, num);
	dpq_add(b, ", ");
	dpq_add_ident(b, c->name);
	dpq_add(b, ")");
}

/* Memory for one table's copy. SQLite's transfer path appends pages in
 * order, so a small page cache is fastest there (a big one only costs
 * mallocs and page faults); a masked table's unique indexes take rows in
 * hash order, so their b-trees must stay in the cache (measured: 3.9 s
 * instead of 7.3 s for a million unique emails). The key map of a unique
 * masked column is sized up front from the row count. */
static int size_for_table(sqlite3 *db, const dp_spec *spec, schema *s, table *t, dp_keymap *map, const char *path,
			  dp_error **err)
{
	bool masked = false, mapped = false;
	sqlite3_stmt *q = NULL;
	sbuf b = { 0 };

	for (size_t j = 0; j < t->n; j++) {
		const dp_mask_rule *r = t->cols[j].rule;
		masked = masked || r != NULL || t->cols[j].hidden;
		mapped = mapped || (r != NULL && r->kind != DP_MASK_SQL && r->kind != DP_MASK_TEMPLATE &&
				    s->mapped[r - spec->rules]);
	}
	if (dpq_exec(db, masked ? "PRAGMA main.cache_size=-131072" : "PRAGMA main.cache_size=-2000", path,
		     "size the page cache", err) < 0)
		return -1;
	if (!mapped)
		return 0;
	dpq_add(&b, "SELECT count(*) FROM src.");
	dpq_add_ident(&b, t->name);
	if (sqlite3_prepare_v2(db, b.p, -1, &q, NULL) != SQLITE_OK) {
		dpq_free(&b);
		return dpq_fail(db, "count rows", path, err);
	}
	dpq_free(&b);
	if (sqlite3_step(q) == SQLITE_ROW && dp_keymap_reserve(map, (size_t)sqlite3_column_int64(q, 0)) < 0) {
		sqlite3_finalize(q);
		return dp_fail(err, ENOMEM, "%s: key mapping for table %s", path, t->name);
	}
	sqlite3_finalize(q);
	return 0;
}

/* ---- a masked table's indexes, built after its rows ---------------------- *
 *
 * Masked values arrive in hash order, so every index on a masked column
 * (a UNIQUE email's above all) took one random b-tree insert per row, the
 * largest part of a masked copy (measured: 2.3 s of 4.7 s for a million
 * customers). REINDEX builds the same b-tree from sorted keys instead. The
 * rows go into a twin table (same columns, declared types, NOT NULL and
 * INTEGER PRIMARY KEY, so the same records; no indexes), the twin's and the
 * table's root pages are swapped in sqlite_schema, the twin (now the empty
 * b-tree) is dropped and the table's indexes rebuilt. Only tables whose
 * records the twin reproduces exactly and whose constraints it does not
 * drop take this path: no CHECK, no STRICT, no generated columns, no
 * WITHOUT ROWID, no DESC (INTEGER PRIMARY KEY DESC is no rowid alias), no
 * auto_vacuum (it keeps root pages in a map of its own). A UNIQUE
 * violation still fails: REINDEX checks it. */

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

/* Does s contain the word w, case-insensitively, not as part of a longer
 * name ("district" holds no STRICT)? A quoted name that is exactly w counts:
 * the slower path is still right. */
static bool has_word(const char *s, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = s; p && *p; p++)
		if (strncasecmp(p, w, n) == 0 && (p == s || !ident_char(p[-1])) && !ident_char(p[n]))
			return true;
	return false;
}

static bool twin_fits(sqlite3 *db, table *t, bool auto_vacuum)
{
	sqlite3_stmt *q = NULL;
	int n = 0;

	if (auto_vacuum || t->virtual || t->sql == NULL || has_word(t->sql, "CHECK") || has_word(t->sql, "STRICT") ||
	    has_word(t->sql, "WITHOUT") || has_word(t->sql, "DESC") || has_word(t->sql, "GENERATED"))
		return false;
	for (size_t j = 0; j < t->n; j++)
		if (t->cols[j].hidden)
			return false;
	/* nothing to gain without an index */
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM main.sqlite_schema WHERE type = 'index' AND tbl_name = ?1", -1,
			       &q, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return n > 0;
}

/* A name no table of s has. */
static void twin_name(schema *s, char *buf, size_t len)
{
	for (unsigned i = 0;; i++) {
		snprintf(buf, len, "doppel_twin_%u", i);
		if (dpq_table(s, buf, NULL) == NULL)
			return;
	}
}

static int create_twin(sqlite3 *db, table *t, const char *twin, const char *path, dp_error **err)
{
	sbuf b = { 0 };
	int npk = 0, r;

	for (size_t j = 0; j < t->n; j++)
		npk += t->cols[j].pk > 0;
	dpq_add(&b, "CREATE TABLE main.");
	dpq_add_ident(&b, twin);
	dpq_add(&b, " (");
	for (size_t j = 0; j < t->n; j++) {
		const col *c = &t->cols[j];
		if (j)
			dpq_add(&b, ", ");
		dpq_add_ident(&b, c->name);
		if (c->decl && c->decl[0]) {
			dpq_add(&b, " ");
			dpq_add(&b, c->decl);
		}
		if (c->notnull)
			dpq_add(&b, " NOT NULL");
		/* the rowid alias, as dpq_rowid_alias() decides it too */
		if (npk == 1 && c->pk && strcasecmp(c->decl, "INTEGER") == 0)
			dpq_add(&b, " PRIMARY KEY");
	}
	dpq_add(&b, ")");
	r = dpq_exec(db, b.p, path, "create a twin table", err);
	dpq_free(&b);
	return r;
}

static int64_t query_int(sqlite3 *db, const char *sql, const char *a1, const char *a2)
{
	sqlite3_stmt *q = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		return -1;
	if (a1)
		sqlite3_bind_text(q, 1, a1, -1, SQLITE_STATIC);
	if (a2)
		sqlite3_bind_text(q, 2, a2, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* The twin's rows become t's; t's indexes are built from them. */
static int swap_in_twin(sqlite3 *db, table *t, const char *twin, const char *path, dp_error **err)
{
	static const char root[] = "SELECT rootpage FROM main.sqlite_schema WHERE type = 'table' AND name = ?1";
	int64_t rt = query_int(db, root, t->name, NULL), rw = query_int(db, root, twin, NULL),
		ver = query_int(db, "PRAGMA main.schema_version", NULL, NULL);
	double t0 = mono();
	char *sql;
	sbuf b = { 0 };
	int r;

	if (rt <= 0 || rw <= 0 || ver < 0)
		return dpq_fail(db, "read the root pages", path, err);
	sql = sqlite3_mprintf("PRAGMA writable_schema=ON;"
			      "UPDATE main.sqlite_schema SET rootpage = %lld WHERE type = 'table' AND name = %Q;"
			      "UPDATE main.sqlite_schema SET rootpage = %lld WHERE type = 'table' AND name = %Q;"
			      "PRAGMA writable_schema=OFF; PRAGMA main.schema_version = %lld",
			      (long long)rw, t->name, (long long)rt, twin, (long long)ver + 1);
	if (sql == NULL)
		return dp_fail(err, ENOMEM, "%s", path);
	r = dpq_exec(db, sql, path, "swap in the twin table", err);
	sqlite3_free(sql);
	if (r < 0)
		return -1;
	dpq_add(&b, "DROP TABLE main.");
	dpq_add_ident(&b, twin);
	dpq_add(&b, "; REINDEX main.");
	dpq_add_ident(&b, t->name);
	r = dpq_exec(db, b.p, path, "build the indexes", err);
	dp_debug("%s: indexes of %s built in %.2f s", path, t->name, mono() - t0);
	dpq_free(&b);
	return r;
}

/* ---- masking in a second thread ------------------------------------------ *
 *
 * A table whose rules are all transformers is copied without doppel_mask():
 * this thread reads production's rows in batches (SELECT, one read snapshot
 * as before), a second thread masks a batch while this one inserts the one
 * before it (a prepared INSERT, values bound where they lie), so the masking
 * (a third of a masked copy, the key map's probes most of it) runs on
 * another core. Only the masking thread touches the key map, in row and
 * column order, as the SQL functions would: the same fakes. */

#define BATCH_ROWS 1024

typedef struct batch {
	size_t rows;
	dp_val *in, *out;        /* rows x columns: as read; masked ones as masked */
	unsigned char *ib, *ob; /* TEXT and BLOB bytes of in and out */
	size_t ilen, icap, olen, ocap;
	char err[600]; /* the masking thread's error, or "" */
	bool nomem;
} batch;

typedef struct masker {
	clone_ctx *c;
	size_t ncols;
	const int64_t *rule; /* per column: the rule's index, or -1 */
	const bool *unique;  /* per column: through the key map */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	batch *pending; /* handed over, not yet masked */
	bool busy, quit;
	double cpu;  /* the masking thread's cpu seconds, for DOPPEL_DEBUG */
	double idle; /* seconds this thread waited for it */
} masker;

static int grow_bytes(unsigned char **p, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 1 << 16;
	unsigned char *np;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	np = realloc(*p, n);
	if (np == NULL)
		return -1;
	*p = np;
	*cap = n;
	return 0;
}

/* TEXT and BLOB values first hold offsets into the batch's bytes (which may
 * move as they grow); this makes them pointers. */
static void fix_pointers(dp_val *v, size_t n, const unsigned char *base)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].type == DP_VAL_TEXT || v[i].type == DP_VAL_BLOB)
			v[i].p = (const char *)base + (uintptr_t)v[i].p;
}

/* A TEXT or BLOB result into ob; out then holds its offset there. */
static int keep_bytes(batch *b, dp_val *out)
{
	if (out->type != DP_VAL_TEXT && out->type != DP_VAL_BLOB)
		return 0;
	if (grow_bytes(&b->ob, &b->ocap, b->olen + out->n + 1) < 0)
		return -2;
	if (out->n)
		memcpy(b->ob + b->olen, out->p, out->n);
	out->p = (const char *)(uintptr_t)b->olen;
	b->olen += out->n;
	return 0;
}

/* out with its offset into ob made a pointer (ob may still move). */
static dp_val at(const batch *b, const dp_val *out)
{
	dp_val v = *out;

	if (v.type == DP_VAL_TEXT || v.type == DP_VAL_BLOB)
		v.p = (const char *)b->ob + (uintptr_t)v.p;
	return v;
}

#define PREFETCH_ROWS 8

static bool same_val(const dp_val *a, const dp_val *b)
{
	return a->type == b->type && a->i == b->i && memcmp(&a->r, &b->r, sizeof(a->r)) == 0 && a->p == b->p &&
	       a->n == b->n;
}

/* First every masked value's attempt 0 (the transformers are pure), then
 * the unique columns' claims in row and column order, as the SQL function
 * makes them, the slots of the rows a few ahead fetched meanwhile: the key
 * map's probes are random reads of a table far larger than the caches. */
static void mask_batch(masker *m, batch *b)
{
	const size_t nc = m->ncols;
	char buf[DP_TRANSFORM_BUF];
	int rc = 0;

	b->olen = 0;
	b->err[0] = '\0';
	b->nomem = false;
	for (size_t k = 0; k < b->rows * nc && rc == 0; k++) {
		size_t j = k % nc;
		const dp_val *in = &b->in[k];
		dp_val *out = &b->out[k];
		if (m->rule[j] < 0 || in->type == DP_VAL_NULL) {
			*out = *in;
			continue;
		}
		dp_error *e = NULL;
		const dp_mask_rule *r = &m->c->spec->rules[m->rule[j]];
		if (dp_transform(r, m->c->key, in, 0, out, buf, DP_TRANSFORM_BUF, &e) < 0) {
			transform_error(r, &e, b->err, sizeof(b->err));
			rc = -1;
		} else {
			rc = keep_bytes(b, out);
		}
	}
	for (size_t row = 0; row < b->rows && rc == 0; row++) {
		if (row + PREFETCH_ROWS < b->rows)
			for (size_t j = 0; j < nc; j++) {
				size_t k = (row + PREFETCH_ROWS) * nc + j;
				if (m->unique[j] && b->in[k].type != DP_VAL_NULL) {
					dp_val f = at(b, &b->out[k]);
					dp_keymap_prefetch(m->c->map, (uint32_t)m->rule[j], &f);
				}
			}
		for (size_t j = 0; j < nc && rc == 0; j++) {
			size_t k = row * nc + j;
			dp_val first, out;
			if (!m->unique[j] || b->in[k].type == DP_VAL_NULL)
				continue;
			first = at(b, &b->out[k]);
			rc = mask_one(m->c, (uint32_t)m->rule[j], true, &b->in[k], &first, &out, buf, b->err,
				      sizeof(b->err));
			if (rc == 0 && !same_val(&out, &first)) {
				b->out[k] = out; /* a moved or later fake */
				rc = keep_bytes(b, &b->out[k]);
			}
		}
	}
	if (rc < 0) {
		b->nomem = rc == -2;
		return;
	}
	/* masked TEXT and BLOB hold offsets into ob until here */
	for (size_t k = 0; k < b->rows * nc; k++)
		if (m->rule[k % nc] >= 0 && b->in[k].type != DP_VAL_NULL)
			b->out[k] = at(b, &b->out[k]);
}

static double thread_cpu(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *masker_main(void *arg)
{
	masker *m = arg;

	pthread_mutex_lock(&m->mu);
	for (;;) {
		while (m->pending == NULL && !m->quit)
			pthread_cond_wait(&m->cv, &m->mu);
		if (m->pending == NULL)
			break;
		batch *b = m->pending;
		pthread_mutex_unlock(&m->mu);
		mask_batch(m, b);
		pthread_mutex_lock(&m->mu);
		m->pending = NULL;
		m->busy = false;
		pthread_cond_broadcast(&m->cv);
	}
	pthread_mutex_unlock(&m->mu);
	m->cpu = thread_cpu();
	return NULL;
}

static void masker_give(masker *m, batch *b)
{
	pthread_mutex_lock(&m->mu);
	m->pending = b;
	m->busy = true;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

static void masker_wait(masker *m)
{
	double t0 = mono();

	pthread_mutex_lock(&m->mu);
	while (m->busy)
		pthread_cond_wait(&m->cv, &m->mu);
	pthread_mutex_unlock(&m->mu);
	m->idle += mono() - t0;
}

/* Up to BATCH_ROWS rows of sel into b; *more is false once sel is done. */
static int read_batch(sqlite3_stmt *sel, size_t ncols, batch *b, bool *more)
{
	int rc = SQLITE_ROW;

	b->rows = 0;
	b->ilen = 0;
	while (b->rows < BATCH_ROWS && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
		dp_val *v = &b->in[b->rows * ncols];
		for (size_t j = 0; j < ncols; j++) {
			int ci = (int)j;
			memset(&v[j], 0, sizeof(v[j]));
			switch (sqlite3_column_type(sel, ci)) {
			case SQLITE_INTEGER:
				v[j].type = DP_VAL_INT;
				v[j].i = sqlite3_column_int64(sel, ci);
				break;
			case SQLITE_FLOAT:
				v[j].type = DP_VAL_REAL;
				v[j].r = sqlite3_column_double(sel, ci);
				break;
			case SQLITE_TEXT:
			case SQLITE_BLOB: {
				bool text = sqlite3_column_type(sel, ci) == SQLITE_TEXT;
				const void *p = text ? (const void *)sqlite3_column_text(sel, ci) : sqlite3_column_blob(sel, ci);
				size_t n = (size_t)sqlite3_column_bytes(sel, ci);
				if (grow_bytes(&b->ib, &b->icap, b->ilen + n + 1) < 0)
					return SQLITE_NOMEM;
				if (n)
					memcpy(b->ib + b->ilen, p, n);
				v[j].type = text ? DP_VAL_TEXT : DP_VAL_BLOB;
				v[j].p = (const char *)(uintptr_t)b->ilen;
				v[j].n = n;
				b->ilen += n;
				break;
			}
			default:
				v[j].type = DP_VAL_NULL;
			}
		}
		b->rows++;
	}
	*more = rc == SQLITE_ROW;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	fix_pointers(b->in, b->rows * ncols, b->ib);
	return SQLITE_OK;
}

static int bind_val(sqlite3_stmt *q, int i, const dp_val *v)
{
	switch (v->type) {
	case DP_VAL_INT: return sqlite3_bind_int64(q, i, v->i);
	case DP_VAL_REAL: return sqlite3_bind_double(q, i, v->r);
	/* a non-NULL pointer even when empty: NULL would bind NULL */
	case DP_VAL_TEXT: return sqlite3_bind_text(q, i, v->n ? v->p : "", (int)v->n, SQLITE_STATIC);
	case DP_VAL_BLOB: return v->n ? sqlite3_bind_blob(q, i, v->p, (int)v->n, SQLITE_STATIC) : sqlite3_bind_zeroblob(q, i, 0);
	default: return sqlite3_bind_null(q, i);
	}
}

/* rows rows of v through q, which inserts that many at once. */
static int insert_rows(sqlite3_stmt *q, size_t ncols, const dp_val *v, size_t rows)
{
	int rc = SQLITE_OK;

	for (size_t k = 0; k < rows * ncols && rc == SQLITE_OK; k++)
		rc = bind_val(q, (int)k + 1, &v[k]);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The batch, chunk rows at a time through qk, the rest one by one (q1). */
static int insert_batch(sqlite3_stmt *qk, size_t chunk, sqlite3_stmt *q1, size_t ncols, const batch *b)
{
	size_t r = 0;
	int rc = SQLITE_OK;

	for (; rc == SQLITE_OK && r + chunk <= b->rows; r += chunk)
		rc = insert_rows(qk, ncols, &b->out[r * ncols], chunk);
	for (; rc == SQLITE_OK && r < b->rows; r++)
		rc = insert_rows(q1, ncols, &b->out[r * ncols], 1);
	return rc;
}

/* Can the masking thread take t's masked columns? Transformers only (sql
 * and template rules are SQL, evaluated by SQLite), and UTF-8, so text
 * reaches the copy byte for byte. */
static bool threaded_fits(const dpq_copy *cp, table *t)
{
	if (strcasecmp(cp->encoding, "UTF-8") != 0)
		return false;
	for (size_t j = 0; j < t->n; j++) {
		const dp_mask_rule *r = t->cols[j].rule;
		if (r && (r->kind == DP_MASK_SQL || r->kind == DP_MASK_TEMPLATE))
			return false;
	}
	return true;
}

/* INSERT INTO main.<into> (cols) VALUES (?, ...) from SELECT cols FROM src.t,
 * masked by the second thread. The columns: the rowid alias if any, then
 * every column but generated ones. */
static int fill_threaded(sqlite3 *db, clone_ctx *c, const dp_spec *spec, schema *s, table *t, const char *alias,
			 const char *into, const char *path, uint64_t *rows, dp_error **err)
{
	sbuf sel = { 0 }, ins = { 0 }, insk = { 0 }, vals = { 0 };
	sqlite3_stmt *qs = NULL, *qi = NULL, *qk = NULL;
	size_t ncols = 0, chunk;
	int64_t *rule = calloc(t->n + 1, sizeof(int64_t));
	bool *unique = calloc(t->n + 1, sizeof(bool));
	masker m = { .c = c };
	batch b[2];
	bool started = false, more = true;
	int rc = SQLITE_OK, r = -1;
	char what[64] = "read rows";
	double cpu0 = thread_cpu();

	memset(b, 0, sizeof(b));
	if (rule == NULL || unique == NULL)
		abort();
	dpq_add(&sel, "SELECT ");
	dpq_add(&ins, "INSERT INTO main.");
	dpq_add_ident(&ins, into);
	dpq_add(&ins, " (");
	if (alias) {
		dpq_add(&sel, alias);
		dpq_add(&ins, alias);
		dpq_add(&vals, "?");
		rule[ncols++] = -1;
	}
	for (size_t j = 0; j < t->n; j++) {
		const dp_mask_rule *mr = t->cols[j].rule;
		if (t->cols[j].hidden)
			continue; /* generated: recomputed from the masked columns */
		if (ncols) {
			dpq_add(&sel, ", ");
			dpq_add(&ins, ", ");
			dpq_add(&vals, ", ");
		}
		dpq_add_ident(&sel, t->cols[j].name);
		dpq_add_ident(&ins, t->cols[j].name);
		dpq_add(&vals, "?");
		rule[ncols] = mr ? mr - spec->rules : -1;
		unique[ncols] = mr && s->mapped[mr - spec->rules];
		ncols++;
	}
	dpq_add(&sel, " FROM src.");
	dpq_add_ident(&sel, t->name);
	dpq_add(&ins, ") VALUES (");
	dpq_add(&ins, vals.p);
	dpq_add(&ins, ")");
	/* a statement per row re-opened its cursors and sought the end of the
	 * b-tree again each time: rows go in chunks of up to 64 (at most 999
	 * parameters, SQLite's oldest limit) */
	chunk = 999 / ncols < 64 ? 999 / ncols : 64;
	if (chunk < 1)
		chunk = 1;
	dpq_add(&insk, ins.p);
	for (size_t k = 1; k < chunk; k++) {
		dpq_add(&insk, ", (");
		dpq_add(&insk, vals.p);
		dpq_add(&insk, ")");
	}
	m.ncols = ncols;
	m.rule = rule;
	m.unique = unique;
	for (int i = 0; i < 2; i++) {
		b[i].in = calloc(BATCH_ROWS * ncols, sizeof(dp_val));
		b[i].out = calloc(BATCH_ROWS * ncols, sizeof(dp_val));
		if (b[i].in == NULL || b[i].out == NULL)
			abort();
	}
	if (sqlite3_prepare_v2(db, sel.p, -1, &qs, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, ins.p, -1, &qi, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, insk.p, -1, &qk, NULL) != SQLITE_OK) {
		dp_fail(err, 0, "%s: copy table %s: %s", path, t->name, sqlite3_errmsg(db));
		goto out;
	}
	if (pthread_mutex_init(&m.mu, NULL) != 0 || pthread_cond_init(&m.cv, NULL) != 0 ||
	    pthread_create(&m.th, NULL, masker_main, &m) != 0) {
		dp_fail(err, EAGAIN, "%s: copy table %s: cannot start the masking thread", path, t->name);
		goto out;
	}
	started = true;
	/* b[cur] is masked while b[1 - cur], masked before, is inserted and
	 * then filled with the next rows */
	rc = read_batch(qs, ncols, &b[0], &more);
	for (int cur = 0, have_prev = 0; rc == SQLITE_OK && (b[cur].rows || have_prev);) {
		batch *prev = &b[1 - cur];
		if (b[cur].rows)
			masker_give(&m, &b[cur]);
		if (have_prev) {
			snprintf(what, sizeof(what), "insert rows");
			rc = insert_batch(qk, chunk, qi, ncols, prev);
			*rows += prev->rows;
			prev->rows = 0;
		}
		if (rc == SQLITE_OK && more) {
			snprintf(what, sizeof(what), "read rows");
			rc = read_batch(qs, ncols, prev, &more);
		}
		masker_wait(&m);
		if (b[cur].err[0] || b[cur].nomem) {
			if (b[cur].nomem)
				dp_fail(err, ENOMEM, "%s: copy table %s: key mapping", path, t->name);
			else
				dp_fail(err, 0, "%s: copy table %s: %s", path, t->name, b[cur].err);
			goto out;
		}
		have_prev = b[cur].rows != 0;
		cur = 1 - cur;
	}
	if (rc != SQLITE_OK) {
		dp_fail(err, 0, "%s: copy table %s: %s: %s", path, t->name, what, sqlite3_errmsg(db));
		goto out;
	}
	r = 0;
out:
	if (started) {
		masker_wait(&m);
		pthread_mutex_lock(&m.mu);
		m.quit = true;
		pthread_cond_broadcast(&m.cv);
		pthread_mutex_unlock(&m.mu);
		pthread_join(m.th, NULL);
		dp_debug("%s: table %s: masking thread %.2f s of cpu; this thread %.2f s of cpu, %.2f s waiting for it",
			 path, t->name, m.cpu, thread_cpu() - cpu0, m.idle);
		pthread_cond_destroy(&m.cv);
		pthread_mutex_destroy(&m.mu);
	}
	sqlite3_finalize(qs);
	sqlite3_finalize(qi);
	sqlite3_finalize(qk);
	for (int i = 0; i < 2; i++) {
		free(b[i].in);
		free(b[i].out);
		free(b[i].ib);
		free(b[i].ob);
	}
	free(rule);
	free(unique);
	dpq_free(&sel);
	dpq_free(&ins);
	dpq_free(&insk);
	dpq_free(&vals);
	return r;
}

static int copy_table(sqlite3 *db, clone_ctx *c, const dpq_copy *cp, schema *s, table *t, const char *path,
		      dp_clone_stats *stats, dp_error **err)
{
	const dp_spec *spec = c->spec;
	char twin[32] = "";
	sbuf ins = { 0 }, sel = { 0 };
	const char *alias = dpq_rowid_alias(db, "src", t);
	bool first = true, masked = false;
	double t0 = mono();
	int r;

	for (size_t j = 0; j < t->n; j++)
		masked = masked || t->cols[j].rule != NULL || t->cols[j].hidden;
	if (!masked) {
		/* nothing to mask: in exactly this form SQLite copies the records
		 * and their unique indexes as they are (its "transfer
		 * optimisation", VACUUM's own path), rowids included */
		dpq_add(&ins, "INSERT INTO main.");
		dpq_add_ident(&ins, t->name);
		dpq_add(&ins, " SELECT * FROM src.");
		dpq_add_ident(&ins, t->name);
		goto run;
	}
	if (twin_fits(db, t, cp->auto_vacuum != 0)) {
		twin_name(s, twin, sizeof(twin));
		if (create_twin(db, t, twin, path, err) < 0)
			return -1;
		/* rows appended in order, keys sorted in small runs: a small
		 * cache is fastest for both (measured: 1.0 s to index a million
		 * emails instead of 2.5 s with 128 MiB, which costs a page fault
		 * per page) */
		if (dpq_exec(db, "PRAGMA main.cache_size=-2000", path, "size the page cache", err) < 0)
			return -1;
	}
	if (threaded_fits(cp, t)) {
		uint64_t n = 0;
		for (size_t j = 0; j < t->n; j++)
			stats->masked_columns += t->cols[j].rule != NULL && !t->cols[j].hidden;
		if (fill_threaded(db, c, spec, s, t, alias, twin[0] ? twin : t->name, path, &n, err) < 0)
			return -1;
		stats->rows += n;
		goto filled;
	}
	dpq_add(&ins, "INSERT INTO main.");
	dpq_add_ident(&ins, twin[0] ? twin : t->name);
	dpq_add(&ins, " (");
	dpq_add(&sel, " SELECT ");
	if (alias) {
		dpq_add(&ins, alias);
		dpq_add(&sel, alias);
		first = false;
	}
	for (size_t j = 0; j < t->n; j++) {
		if (t->cols[j].hidden)
			continue; /* generated: recomputed from the masked columns */
		if (!first) {
			dpq_add(&ins, ", ");
			dpq_add(&sel, ", ");
		}
		first = false;
		dpq_add_ident(&ins, t->cols[j].name);
		column_expr(&sel, spec, s, t, j, false);
		if (t->cols[j].rule)
			stats->masked_columns++;
	}
	dpq_add(&ins, ")");
	dpq_add(&sel, " FROM src.");
	dpq_add_ident(&sel, t->name);
	dpq_add(&ins, sel.p);
run:
	r = sqlite3_exec(db, ins.p, NULL, NULL, NULL);
	dpq_free(&ins);
	dpq_free(&sel);
	if (r != SQLITE_OK)
		return dp_fail(err, 0, "%s: copy table %s: %s", path, t->name, sqlite3_errmsg(db));
	stats->rows += (uint64_t)sqlite3_changes64(db);
filled:
	stats->tables++;
	if (twin[0])
		dp_debug("%s: rows of %s into its twin in %.2f s", path, t->name, mono() - t0);
	if (twin[0] && swap_in_twin(db, t, twin, path, err) < 0)
		return dp_wrap(err, "copy table %s", t->name);
	dp_debug("%s: copied table %s (%s) in %.2f s", path, t->name, masked ? "masked" : "as it is", mono() - t0);
	return 0;
}

/* Starts writing back what the copy holds so far, so the disk works while
 * the rest is copied and the final fsync (dpq_copy_close) waits for less.
 * A hint: a failure only loses the overlap, durability is that fsync's. */
static void start_writeback(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return; /* SQLite has not created it yet */
	if (sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) < 0)
		dp_debug("%s: sync_file_range: %s", path, strerror(errno));
	close(fd);
}

int dp_sqlite_clone(const dp_sqlite_src *src, const char *dst_path, const dp_spec *spec, const dp_db_spec *dbs,
		    const dp_mask_key *key, dp_clone_stats *stats, dp_error **err)
{
	clone_ctx c = { .spec = spec, .key = key };
	dpq_copy cp;
	schema s = { 0 };
	double t = mono();
	int r = -1;

	memset(stats, 0, sizeof(*stats));
	if (dpq_copy_open(&cp, src->uri, src->path, dst_path, err) < 0)
		return -1;
	cp.wal = cp.wal || src->wal; /* an immutable read reports no WAL */
	c.map = dp_keymap_new();
	if (c.map == NULL) {
		dp_fail(err, ENOMEM, "key mapping");
		goto out;
	}
	if (sqlite3_create_function_v2(cp.db, "doppel_mask", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY, &c, fn_mask, NULL,
				       NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function_v2(cp.db, "doppel_mask_unique", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY, &c,
				       fn_mask_unique, NULL, NULL, NULL) != SQLITE_OK) {
		dpq_fail(cp.db, "register functions", dst_path, err);
		goto out;
	}
	/* one transaction: one read snapshot of production for all of it */
	if (dpq_exec(cp.db, "BEGIN", dst_path, "begin", err) < 0)
		goto out;
	if (dpq_load_schema(cp.db, "src", src->path, &s, err) < 0 || resolve_rules(cp.db, "src", &s, spec, dbs, err) < 0 ||
	    dpq_create_tables(&cp, &s, err) < 0)
		goto out;
	dp_debug("%s: copy opened, schema read and created in %.2f s", src->path, mono() - t);
	for (size_t i = 0; i < s.n; i++) {
		if (size_for_table(cp.db, spec, &s, &s.t[i], c.map, src->path, err) < 0 ||
		    copy_table(cp.db, &c, &cp, &s, &s.t[i], src->path, stats, err) < 0)
			goto out;
		start_writeback(dst_path);
	}
	t = mono();
	if (dpq_copy_finish(&cp, err) < 0)
		goto out;
	dp_debug("%s: views, triggers and commit in %.2f s", src->path, mono() - t);
	r = 0;
out:
	dpq_schema_free(&s);
	t = mono();
	r = dpq_copy_close(&cp, r, err);
	dp_debug("%s: copy closed and synced in %.2f s", src->path, mono() - t);
	dp_keymap_free(c.map);
	return r;
}

/* ---- values for the leak scan --------------------------------------------- */

int dp_sqlite_masked_values(const dp_sqlite_src *src, const dp_sqlite_src *copy, const dp_spec *spec,
			    const dp_db_spec *dbs, dp_masked_value_fn fn, void *user, dp_error **err)
{
	sqlite3 *db = NULL;
	schema s;
	int r = -1;

	if (open_src(src, &db, err) < 0)
		return -1;
	if (copy) {
		/* read-only too: the copy is a snapshot's, and immutable */
		char *a = sqlite3_mprintf("ATTACH %Q AS copy", copy->uri);
		if (a == NULL || sqlite3_exec(db, a, NULL, NULL, NULL) != SQLITE_OK)
			copy = NULL; /* no copy to compare with: every value counts */
		sqlite3_free(a);
	}
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		dpq_fail(db, "begin", src->path, err);
		sqlite3_close(db);
		return -1;
	}
	if (dpq_load_schema(db, "main", src->path, &s, err) < 0 || resolve_rules(db, "main", &s, spec, dbs, err) < 0)
		goto out;
	for (size_t i = 0; i < s.n; i++)
		for (size_t j = 0; j < s.t[i].n; j++) {
			col *c = &s.t[i].cols[j];
			sqlite3_stmt *q = NULL;
			sbuf b = { 0 };
			int rc;
			/* a column that inherits its rule holds its parent's values */
			if (c->rule == NULL || c->from)
				continue;
			dpq_add(&b, "SELECT DISTINCT ");
			dpq_add_ident(&b, c->name);
			dpq_add(&b, " FROM main.");
			dpq_add_ident(&b, s.t[i].name);
			dpq_add(&b, " WHERE ");
			dpq_add_ident(&b, c->name);
			dpq_add(&b, " IS NOT NULL");
			rc = SQLITE_ERROR;
			/* sql and template rules may write real values on purpose
			 * or by mistake: their copy proves nothing, every value counts */
			if (copy && c->rule->kind != DP_MASK_SQL && c->rule->kind != DP_MASK_TEMPLATE) {
				/* a value that is also one of the copy's fakes (a real
				 * "Anna Berg" and a fake one) proves nothing: leave it out */
				sbuf f = { 0 };
				dpq_add(&f, b.p);
				dpq_add(&f, " AND ");
				dpq_add_ident(&f, c->name);
				dpq_add(&f, " NOT IN (SELECT ");
				dpq_add_ident(&f, c->name);
				dpq_add(&f, " FROM copy.");
				dpq_add_ident(&f, s.t[i].name);
				dpq_add(&f, " WHERE ");
				dpq_add_ident(&f, c->name);
				dpq_add(&f, " IS NOT NULL)");
				rc = sqlite3_prepare_v2(db, f.p, -1, &q, NULL);
				dpq_free(&f);
			}
			if (rc != SQLITE_OK)
				rc = sqlite3_prepare_v2(db, b.p, -1, &q, NULL);
			dpq_free(&b);
			if (rc != SQLITE_OK) {
				dpq_fail(db, "read values", src->path, err);
				goto out;
			}
			while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
				const char *v = (const char *)sqlite3_column_text(q, 0);
				if (v && fn(user, c->rule, v, (size_t)sqlite3_column_bytes(q, 0)) != 0) {
					rc = SQLITE_DONE;
					break;
				}
			}
			sqlite3_finalize(q);
			if (rc != SQLITE_DONE) {
				dpq_fail(db, "read values", src->path, err);
				goto out;
			}
		}
	r = 0;
out:
	dpq_schema_free(&s);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	return r;
}
