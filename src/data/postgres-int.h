/* What postgres.c (connections, catalog, rules, strict check, leak scan),
 * postgres-clone.c (the copy) and postgres-subset.c (subsets) share; not
 * for use outside src/data. */
#ifndef DOPPEL_DATA_POSTGRES_INT_H
#define DOPPEL_DATA_POSTGRES_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "data/postgres-text.h"
#include "spec/spec.h"
#include "util/dl-pq.h"
#include "util/error.h"

/* How a column's text is turned into a dp_val for the transformers: the
 * SQLite types a value of that PostgreSQL type would have, so the same value
 * masks the same in both backends. */
typedef enum pgi_kind { PGI_TEXT, PGI_INT, PGI_REAL, PGI_BYTEA, PGI_JSON } pgi_kind;

typedef struct pgi_json {
	const char *path; /* "$.a.b" */
	const dp_mask_rule *rule;
} pgi_json;

typedef struct pgi_col {
	char *name;
	pgi_kind kind; /* of the elements, for an array */
	bool array, notnull, generated, unique;
	char delim;               /* array element delimiter */
	const dp_mask_rule *rule; /* the whole value's, own or inherited */
	bool inherited;           /* through a foreign key */
	pgi_json *json;           /* rules for paths inside the document */
	size_t n_json;
} pgi_col;

typedef struct pgi_table {
	unsigned oid, root; /* root: the partitioned table it belongs to, else oid */
	char *schema, *name;
	char *qname;   /* "schema"."name", quoted */
	char *display; /* name in public, else schema.name: how rules name it */
	char relkind;  /* 'r', or 'p' (partitioned, holds no rows) */
	int64_t bytes;
	pgi_col *cols;
	size_t n;
} pgi_table;

typedef struct pgi_schema {
	pgi_table *t; /* largest first */
	size_t n;
	bool *mapped; /* by rule index: masks a unique column (collision-free map) */
} pgi_schema;

int pgi_fail(PGconn *c, const char *db, const char *what, dp_error **err);
int pgi_exec(PGconn *c, const char *sql, const char *db, const char *what, dp_error **err);
PGresult *pgi_query(PGconn *c, const char *sql, const char *db, const char *what, dp_error **err);
/* A connection with doppel's session settings (ISO dates, UTC, exact floats). */
PGconn *pgi_connect(const char *conninfo, const char *db, bool prod, dp_error **err);
/* The same, then BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY and, with
 * snapshot, SET TRANSACTION SNAPSHOT. */
PGconn *pgi_connect_prod(const char *conninfo, const char *db, const char *snapshot, dp_error **err);

int pgi_load_schema(PGconn *c, const char *db, pgi_schema *s, dp_error **err);
/* Binds db's rules (and allow entries) to the catalog, partitions to their
 * partitioned table's rules, foreign keys to their parent's. */
int pgi_resolve(PGconn *c, const char *db, pgi_schema *s, const dp_spec *spec, const dp_db_spec *dbs,
		dp_error **err);
void pgi_schema_free(pgi_schema *s);
pgi_table *pgi_table_by_oid(pgi_schema *s, unsigned oid);
pgi_col *pgi_col_by_name(pgi_table *t, const char *name, bool nocase);
/* The table a rule's TABLE names: SCHEMA.TABLE, or TABLE in public (exact
 * first, then without regard to case). */
pgi_table *pgi_table_by_ref(pgi_schema *s, const char *ref);

#endif
