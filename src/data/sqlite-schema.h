/* Internal to src/data: an SQLite database's schema as the copy, the
 * masking and the subsetting need it (tables, columns, single-column unique
 * keys, foreign keys), and small helpers for building SQL. */
#ifndef DOPPEL_DATA_SQLITE_SCHEMA_H
#define DOPPEL_DATA_SQLITE_SCHEMA_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "spec/spec.h"
#include "util/error.h"

typedef struct col {
	char *name, *decl;
	bool notnull, unique, hidden;
	int pk;                   /* position in the primary key, 0 if not in it */
	const dp_mask_rule *own;  /* its rule in doppel.yaml */
	const dp_mask_rule *rule; /* effective: own, or inherited from the key it references */
	const char *from;         /* "table.column" it inherits from */
} col;

typedef struct fk {
	size_t child_col, parent_table, parent_col;
} fk;

typedef struct table {
	char *name, *sql;
	col *cols;
	size_t n;
	bool virtual;
} table;

typedef struct schema {
	table *t;
	size_t n;
	fk *fks;
	size_t n_fks;
	size_t *fk_table; /* the child table of each fk */
	bool *mapped;     /* per spec rule: needs the collision-free mapping */
} schema;

/* A growing string for building SQL. */
typedef struct sbuf {
	char *p;
	size_t n, cap;
} sbuf;

void dpq_add(sbuf *b, const char *s);
void dpq_add_ident(sbuf *b, const char *s); /* "name", quotes doubled */
void dpq_free(sbuf *b);
char *dpq_quote(const char *s);

int dpq_fail(sqlite3 *db, const char *what, const char *path, dp_error **err);
int dpq_exec(sqlite3 *db, const char *sql, const char *path, const char *what, dp_error **err);

/* Tables, columns, single-column unique keys and foreign keys of schema
 * `sch` ("main", "src", ...) on db. */
int dpq_load_schema(sqlite3 *db, const char *sch, const char *path, schema *s, dp_error **err);
void dpq_schema_free(schema *s);
table *dpq_table(schema *s, const char *name, size_t *idx);
col *dpq_col(table *t, const char *name, size_t *idx);
/* The name to copy t's rowid by when no INTEGER PRIMARY KEY holds it, or
 * NULL (WITHOUT ROWID, or the key is the rowid). sch holds t. */
const char *dpq_rowid_alias(sqlite3 *db, const char *sch, table *t);

/* Building a copy of a database (src) into a new file (dst): the masked
 * clone and the subsets share this. Open reads src's page size, encoding
 * and header fields, creates dst with the same ones (journal off, no
 * fsyncs: a half-made copy is thrown away, never used) and attaches src as
 * "src". The caller BEGINs, creates and fills the tables, then finish adds
 * AUTOINCREMENT counters, indexes, views and triggers (after the data, so
 * triggers do not fire) and commits; close sets the journal mode src had,
 * closes and fsyncs. */
typedef struct dpq_copy {
	sqlite3 *db;
	const char *dst, *src;
	int64_t page_size, auto_vacuum, user_version, application_id;
	char encoding[16];
	bool wal, committed;
} dpq_copy;

int dpq_copy_open(dpq_copy *c, const char *src_uri, const char *src_path, const char *dst_path, dp_error **err);
int dpq_create_tables(dpq_copy *c, schema *s, dp_error **err);
int dpq_copy_finish(dpq_copy *c, dp_error **err);
/* r: the caller's status so far; returns the final one. */
int dpq_copy_close(dpq_copy *c, int r, dp_error **err);

#endif
