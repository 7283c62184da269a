/* Schema differences of PostgreSQL databases (issue 7): `doppel diff` (a
 * sandbox's database against its snapshot's template) and `doppel drift`
 * (the template against production). A database's schema is read from its
 * catalogs as a flat list of objects (tables, columns, constraints, indexes,
 * triggers, views, sequences, enum and domain types of the user's schemas)
 * and two lists are compared into changes in a fixed order. See pgschema.c
 * for how a template, which accepts no connection, is read. */
#ifndef DOPPEL_DATA_PGSCHEMA_H
#define DOPPEL_DATA_PGSCHEMA_H

#include <stddef.h>
#include <stdint.h>


#include "spec/spec.h"
#include "store/store.h"
#include "util/dl-pq.h"
#include "util/error.h"

#define DP_PGSCHEMA_ATTRS 3

typedef struct dp_pgschema_obj {
	const char *kind; /* "table", "column", ... (static) */
	int rank;         /* relation-level 0, then column, constraint, index, trigger */
	char *schema, *rel, *sub; /* sub: column/constraint/index/trigger name, "" for a relation or type */
	char *attr[DP_PGSCHEMA_ATTRS]; /* per kind, compared; NULL when unused */
} dp_pgschema_obj;

typedef struct dp_pgschema {
	dp_pgschema_obj *v; /* sorted by (schema, rel, rank, kind, sub), bytewise */
	size_t n;
} dp_pgschema;

typedef struct dp_pgschema_change {
	char kind;        /* 'A' added, 'M' modified, 'D' dropped */
	const char *what; /* "table", "column", "index", ... */
	char *name;       /* schema.rel[.sub] */
	const char *attr; /* 'M': which attribute ("type", "nullability", "default", "definition", ...) */
	char *old, *new; /* 'M': before and after; 'A'/'D': a description (a column's type, an index's
			    definition) or NULL */
} dp_pgschema_change;

/* One database's changes. */
typedef struct dp_pgschema_report {
	char *db; /* production.databases name */
	dp_pgschema_change *v;
	size_t n;
} dp_pgschema_report;

/* Reads the schema over an open connection, in one REPEATABLE READ READ ONLY
 * transaction; db names the database in errors. */
int dp_pgschema_load(PGconn *c, const char *db, dp_pgschema *out, dp_error **err);
void dp_pgschema_free(dp_pgschema *s);

/* What turned old into new: a table or view added or dropped counts once,
 * not with its columns, indexes, constraints and triggers. */
void dp_pgschema_diff(const dp_pgschema *old, const dp_pgschema *new, dp_pgschema_change **out, size_t *n);

/* "A column shop.public.orders.note: text",
 * "M column shop.public.orders.amount: type integer -> bigint" (malloc'd). */
char *dp_pgschema_line(const char *db, const dp_pgschema_change *c);
/* {"change", "object", "name", ["attribute",] ["old",] ["new"]} (a json_t *);
 * words: the command's names for A, M and D. */
void *dp_pgschema_change_json(const dp_pgschema_change *c, const char *const words[3]);

/* `doppel diff`: each PostgreSQL database of sandbox `sandbox` (on snapshot
 * snap) against the snapshot's template. None when the snapshot has none. */
int dp_pgschema_sandbox(dp_store *st, const char *sandbox, int64_t snap, dp_pgschema_report **out, size_t *n,
			dp_error **err);
/* `doppel drift`: snapshot snap's template of each PostgreSQL database
 * doppel.yaml still names against production now (read only). */
int dp_pgschema_drift(dp_store *st, const dp_spec *spec, int64_t snap, dp_pgschema_report **out, size_t *n,
		      dp_error **err);
void dp_pgschema_reports_free(dp_pgschema_report *v, size_t n);

#endif
