/* The schema of an SQLite database, read through pragmas; see
 * sqlite-schema.h. */
#include "data/sqlite-schema.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static char *xstrdup(const char *s)
{
	char *r = strdup(s ? s : "");
	if (r == NULL)
		abort();
	return r;
}

void dpq_schema_free(schema *s)
{
	for (size_t i = 0; i < s->n; i++) {
		for (size_t j = 0; j < s->t[i].n; j++) {
			free(s->t[i].cols[j].name);
			free(s->t[i].cols[j].decl);
		}
		free(s->t[i].cols);
		free(s->t[i].name);
		free(s->t[i].sql);
	}
	free(s->t);
	free(s->fks);
	free(s->fk_table);
	free(s->mapped);
	memset(s, 0, sizeof(*s));
}

int dpq_fail(sqlite3 *db, const char *what, const char *path, dp_error **err)
{
	return dp_fail(err, 0, "%s: %s: %s", path, what, db ? sqlite3_errmsg(db) : "out of memory");
}

/* "name" with inner quotes doubled, into a fresh string. */
char *dpq_quote(const char *s)
{
	size_t n = strlen(s), k = 0;
	char *r = malloc(2 * n + 3);

	if (r == NULL)
		abort();
	r[k++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			r[k++] = '"';
		r[k++] = s[i];
	}
	r[k++] = '"';
	r[k] = '\0';
	return r;
}

void dpq_add(sbuf *b, const char *s)
{
	size_t l = strlen(s);

	if (b->n + l + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 256) + l;
		char *p = realloc(b->p, cap);
		if (p == NULL)
			abort();
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, l + 1);
	b->n += l;
}

void dpq_add_ident(sbuf *b, const char *s)
{
	char *q = dpq_quote(s);
	dpq_add(b, q);
	free(q);
}

void dpq_free(sbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

table *dpq_table(schema *s, const char *name, size_t *idx)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcasecmp(s->t[i].name, name) == 0) {
			if (idx)
				*idx = i;
			return &s->t[i];
		}
	return NULL;
}

col *dpq_col(table *t, const char *name, size_t *idx)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcasecmp(t->cols[i].name, name) == 0) {
			if (idx)
				*idx = i;
			return &t->cols[i];
		}
	return NULL;
}

/* Tables, columns, single-column unique keys and foreign keys of schema
 * `sch` ("main" or "src") on db. */
int dpq_load_schema(sqlite3 *db, const char *sch, const char *path, schema *s, dp_error **err)
{
	sqlite3_stmt *q = NULL;
	int rc;
	char sql[256];

	memset(s, 0, sizeof(*s));
	snprintf(sql, sizeof(sql),
		 "SELECT name, sql FROM \"%s\".sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%%' "
		 "ESCAPE '\\' ORDER BY rowid",
		 sch);
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		return dpq_fail(db, "read schema", path, err);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		table *t;
		const char *tsql = (const char *)sqlite3_column_text(q, 1);
		table *nt = realloc(s->t, (s->n + 1) * sizeof(table));
		if (nt == NULL)
			abort();
		s->t = nt;
		t = &s->t[s->n++];
		memset(t, 0, sizeof(*t));
		t->name = xstrdup((const char *)sqlite3_column_text(q, 0));
		t->sql = xstrdup(tsql);
		t->virtual = tsql && strncasecmp(tsql, "CREATE VIRTUAL", 14) == 0;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return dpq_fail(db, "read schema", path, err);

	for (size_t i = 0; i < s->n; i++) {
		table *t = &s->t[i];
		if (t->virtual)
			continue;
		if (sqlite3_prepare_v2(db, "SELECT name, type, \"notnull\", pk, hidden FROM pragma_table_xinfo(?1, ?2)",
				       -1, &q, NULL) != SQLITE_OK)
			return dpq_fail(db, "read columns", path, err);
		sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, sch, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			col *c, *nc = realloc(t->cols, (t->n + 1) * sizeof(col));
			if (nc == NULL)
				abort();
			t->cols = nc;
			c = &t->cols[t->n++];
			memset(c, 0, sizeof(*c));
			c->name = xstrdup((const char *)sqlite3_column_text(q, 0));
			c->decl = xstrdup((const char *)sqlite3_column_text(q, 1));
			c->notnull = sqlite3_column_int(q, 2) != 0;
			c->pk = sqlite3_column_int(q, 3);
			c->hidden = sqlite3_column_int(q, 4) != 0;
		}
		sqlite3_finalize(q);
		if (rc != SQLITE_DONE)
			return dpq_fail(db, "read columns", path, err);
		{
			int npk = 0;
			for (size_t j = 0; j < t->n; j++)
				npk += t->cols[j].pk > 0;
			for (size_t j = 0; j < t->n && npk == 1; j++)
				if (t->cols[j].pk)
					t->cols[j].unique = true;
		}
		if (sqlite3_prepare_v2(db,
				       "SELECT ii.name FROM pragma_index_list(?1, ?2) il, pragma_index_info(il.name, ?2) ii "
				       "WHERE il.\"unique\" AND (SELECT count(*) FROM pragma_index_info(il.name, ?2)) = 1",
				       -1, &q, NULL) != SQLITE_OK)
			return dpq_fail(db, "read indexes", path, err);
		sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, sch, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			const char *cn = (const char *)sqlite3_column_text(q, 0);
			col *c = cn ? dpq_col(t, cn, NULL) : NULL;
			if (c)
				c->unique = true;
		}
		sqlite3_finalize(q);
		if (rc != SQLITE_DONE)
			return dpq_fail(db, "read indexes", path, err);
	}

	/* foreign keys, once every table is known */
	for (size_t i = 0; i < s->n; i++) {
		table *t = &s->t[i];
		if (t->virtual)
			continue;
		if (sqlite3_prepare_v2(db, "SELECT \"table\", \"from\", \"to\", seq FROM pragma_foreign_key_list(?1, ?2)",
				       -1, &q, NULL) != SQLITE_OK)
			return dpq_fail(db, "read foreign keys", path, err);
		sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, sch, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			const char *pt = (const char *)sqlite3_column_text(q, 0), *from = (const char *)sqlite3_column_text(q, 1),
				   *to = (const char *)sqlite3_column_text(q, 2);
			int seq = sqlite3_column_int(q, 3);
			size_t pi, ci, pci = 0;
			table *p = pt ? dpq_table(s, pt, &pi) : NULL;
			bool found = false;
			if (p == NULL || from == NULL || dpq_col(t, from, &ci) == NULL)
				continue; /* a dangling foreign key; SQLite allows it */
			if (to) {
				found = dpq_col(p, to, &pci) != NULL;
			} else {
				for (size_t j = 0; j < p->n; j++)
					if (p->cols[j].pk == seq + 1) {
						pci = j;
						found = true;
					}
			}
			if (!found)
				continue;
			fk *nf = realloc(s->fks, (s->n_fks + 1) * sizeof(fk));
			size_t *nt = realloc(s->fk_table, (s->n_fks + 1) * sizeof(size_t));
			if (nf == NULL || nt == NULL)
				abort();
			s->fks = nf;
			s->fk_table = nt;
			s->fks[s->n_fks] = (fk){ .child_col = ci, .parent_table = pi, .parent_col = pci };
			s->fk_table[s->n_fks++] = i;
		}
		sqlite3_finalize(q);
		if (rc != SQLITE_DONE)
			return dpq_fail(db, "read foreign keys", path, err);
	}
	return 0;
}

/* Does t keep rows by rowid that no INTEGER PRIMARY KEY names? Then the
 * rowid is copied too, as VACUUM would not. Returns the alias to use. */
const char *dpq_rowid_alias(sqlite3 *db, const char *sch, table *t)
{
	const char *const aliases[] = { "rowid", "_rowid_", "oid" };
	sbuf b = { 0 };
	sqlite3_stmt *q = NULL;
	int npk = 0;
	bool ok;

	for (size_t j = 0; j < t->n; j++)
		npk += t->cols[j].pk > 0;
	for (size_t j = 0; j < t->n; j++)
		if (npk == 1 && t->cols[j].pk && strcasecmp(t->cols[j].decl, "INTEGER") == 0)
			return NULL; /* the key is the rowid */
	dpq_add(&b, "SELECT rowid FROM ");
	dpq_add_ident(&b, sch);
	dpq_add(&b, ".");
	dpq_add_ident(&b, t->name);
	ok = sqlite3_prepare_v2(db, b.p, -1, &q, NULL) == SQLITE_OK;
	sqlite3_finalize(q);
	dpq_free(&b);
	if (!ok)
		return NULL; /* WITHOUT ROWID */
	for (size_t a = 0; a < 3; a++)
		if (dpq_col(t, aliases[a], NULL) == NULL)
			return aliases[a];
	return NULL;
}

int dpq_exec(sqlite3 *db, const char *sql, const char *path, const char *what, dp_error **err)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return dpq_fail(db, what, path, err);
	return 0;
}


/* ---- building a copy ------------------------------------------------------ */

static int read_pragmas(dpq_copy *c, const char *uri, dp_error **err)
{
	static const char *const q[] = { "PRAGMA page_size", "PRAGMA auto_vacuum", "PRAGMA user_version",
					 "PRAGMA application_id", "PRAGMA encoding", "PRAGMA journal_mode" };
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
		dpq_fail(db, "open read-only", c->src, err);
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, 10000);
	for (size_t i = 0; i < 6; i++) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(db, q[i], -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
			sqlite3_finalize(st);
			dpq_fail(db, i == 0 ? "read the database header (is it an SQLite database?)" : q[i], c->src, err);
			sqlite3_close(db);
			return -1;
		}
		if (i < 4)
			(&c->page_size)[i] = sqlite3_column_int64(st, 0);
		else if (i == 4)
			snprintf(c->encoding, sizeof(c->encoding), "%s", (const char *)sqlite3_column_text(st, 0));
		else
			c->wal = strcasecmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return 0;
}

int dpq_copy_open(dpq_copy *c, const char *src_uri, const char *src_path, const char *dst_path, dp_error **err)
{
	char sql[512];
	char *attach;
	int r;

	memset(c, 0, sizeof(*c));
	c->dst = dst_path;
	c->src = src_path;
	if (read_pragmas(c, src_uri, err) < 0)
		return -1;
	/* one thread uses the connection (the masking thread never calls
	 * SQLite): no mutex around every call, which cost a sixth of a
	 * masked copy's time once a second thread existed */
	if (sqlite3_open_v2(dst_path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		dpq_fail(c->db, "create the copy", dst_path, err);
		sqlite3_close(c->db);
		c->db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(c->db, 10000);
	sqlite3_extended_result_codes(c->db, 1);
	snprintf(sql, sizeof(sql),
		 "PRAGMA page_size=%lld; PRAGMA auto_vacuum=%lld; PRAGMA encoding='%s'; PRAGMA journal_mode=OFF;"
		 "PRAGMA synchronous=OFF; PRAGMA cache_size=-131072; PRAGMA foreign_keys=OFF;"
		 "PRAGMA recursive_triggers=OFF",
		 (long long)c->page_size, (long long)c->auto_vacuum, c->encoding);
	attach = sqlite3_mprintf("ATTACH %Q AS src", src_uri);
	if (attach == NULL)
		r = dp_fail(err, ENOMEM, "%s", src_path);
	else
		r = dpq_exec(c->db, sql, dst_path, "set up the copy", err) < 0 ||
				    dpq_exec(c->db, attach, src_path, "attach read-only", err) < 0
			    ? -1
			    : 0;
	sqlite3_free(attach);
	if (r < 0) {
		sqlite3_close(c->db);
		c->db = NULL;
	}
	return r;
}

/* Creates src's schema objects of the kinds `where` selects, in main. */
static int copy_schema_objects(dpq_copy *c, const char *where, dp_error **err)
{
	sqlite3_stmt *q = NULL;
	sbuf b = { 0 };
	int rc;

	dpq_add(&b, "SELECT sql FROM src.sqlite_schema WHERE sql IS NOT NULL AND ");
	dpq_add(&b, where);
	rc = sqlite3_prepare_v2(c->db, b.p, -1, &q, NULL);
	dpq_free(&b);
	if (rc != SQLITE_OK)
		return dpq_fail(c->db, "read schema", c->src, err);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		if (dpq_exec(c->db, (const char *)sqlite3_column_text(q, 0), c->dst, "create an index, trigger or view",
			     err) < 0) {
			sqlite3_finalize(q);
			return -1;
		}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return dpq_fail(c->db, "read schema", c->src, err);
	return 0;
}

int dpq_create_tables(dpq_copy *c, schema *s, dp_error **err)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->t[i].virtual)
			return dp_usage(err, "%s: table %s is a virtual table (FTS, R*Tree, ...); copying those is not "
					"supported yet", c->src, s->t[i].name);
	for (size_t i = 0; i < s->n; i++)
		if (dpq_exec(c->db, s->t[i].sql, c->dst, "create a table", err) < 0)
			return -1;
	/* indexes before the rows: a table copied unchanged then takes its
	 * index b-trees along in order (SQLite's transfer path) instead of
	 * sorting them again; a masked table pays about the same either way */
	return copy_schema_objects(c, "type = 'index'", err);
}

int dpq_copy_finish(dpq_copy *c, dp_error **err)
{
	sqlite3_stmt *q = NULL;
	char sql[160];
	int rc;

	if (sqlite3_prepare_v2(c->db, "SELECT 1 FROM src.sqlite_schema WHERE name = 'sqlite_sequence'", -1, &q, NULL) !=
	    SQLITE_OK)
		return dpq_fail(c->db, "read schema", c->src, err);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc == SQLITE_ROW &&
	    dpq_exec(c->db, "DELETE FROM main.sqlite_sequence; INSERT INTO main.sqlite_sequence SELECT * FROM src.sqlite_sequence",
		     c->dst, "copy AUTOINCREMENT counters", err) < 0)
		return -1;
	/* triggers after the rows, so they do not fire on the copy */
	if (copy_schema_objects(c, "type IN ('view', 'trigger') ORDER BY type = 'trigger', rowid", err) < 0)
		return -1;
	snprintf(sql, sizeof(sql), "PRAGMA main.user_version=%lld; PRAGMA main.application_id=%lld",
		 (long long)c->user_version, (long long)c->application_id);
	if (dpq_exec(c->db, sql, c->dst, "copy the header fields", err) < 0 ||
	    dpq_exec(c->db, "COMMIT", c->dst, "commit the copy", err) < 0)
		return -1;
	c->committed = true;
	return 0;
}

int dpq_copy_close(dpq_copy *c, int r, dp_error **err)
{
	if (c->db == NULL)
		return -1;
	if (!c->committed)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	if (r == 0 && (dpq_exec(c->db, "DETACH src", c->dst, "detach", err) < 0 ||
		       dpq_exec(c->db, c->wal ? "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode=DELETE", c->dst,
				"set the journal mode", err) < 0))
		r = -1;
	if (sqlite3_close(c->db) != SQLITE_OK && r == 0)
		r = dpq_fail(c->db, "close", c->dst, err);
	c->db = NULL;
	if (r == 0) {
		/* the copy ran without fsyncs; one now, before anything names it */
		int fd = open(c->dst, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0)
			r = dp_fail_errno(err, "sync %s", c->dst);
		if (fd >= 0)
			close(fd);
	}
	return r;
}
