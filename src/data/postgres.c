/* PostgreSQL production databases into snapshots: the connection string, the
 * catalog and how doppel.yaml's rules bind to it, the strict-mode check and
 * the leak scan's values; see postgres.h. The copy itself is
 * postgres-clone.c; both share postgres-int.h.
 *
 * Every production connection runs with default_transaction_read_only=on
 * and does its reading inside READ ONLY transactions, so even a bug here
 * cannot write to production. */
#include "data/postgres.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/pii.h"
#include "data/postgres-int.h"
#include "util/cleanup.h"

#define PII_SAMPLE 200
#define PASSWORD_MAX 4096

static char *xstrdup(const char *s)
{
	char *r = strdup(s ? s : "");
	if (r == NULL)
		abort();
	return r;
}

/* ---- connections ---------------------------------------------------------- */

int pgi_fail(PGconn *c, const char *db, const char *what, dp_error **err)
{
	const char *m = c ? sym_PQerrorMessage(c) : "out of memory";
	size_t n = strlen(m);

	while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
		n--;
	return dp_fail(err, 0, "database %s: %s: %.*s", db, what, (int)n, m);
}

int pgi_exec(PGconn *c, const char *sql, const char *db, const char *what, dp_error **err)
{
	PGresult *r = sym_PQexec(c, sql);
	ExecStatusType st = sym_PQresultStatus(r);

	sym_PQclear(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		return pgi_fail(c, db, what, err);
	return 0;
}

PGresult *pgi_query(PGconn *c, const char *sql, const char *db, const char *what, dp_error **err)
{
	PGresult *r = sym_PQexec(c, sql);

	if (sym_PQresultStatus(r) != PGRES_TUPLES_OK) {
		pgi_fail(c, db, what, err);
		sym_PQclear(r);
		return NULL;
	}
	return r;
}

PGconn *pgi_connect(const char *conninfo, const char *db, bool prod, dp_error **err)
{
	PGconn *c;

	if (dp_dl_pq(err) < 0)
		return NULL;
	c = sym_PQconnectdb(conninfo);
	if (c == NULL || sym_PQstatus(c) != CONNECTION_OK) {
		pgi_fail(c, db, prod ? "connect to production" : "connect to the copy", err);
		sym_PQfinish(c);
		return NULL;
	}
	/* ISO dates (what the date transformer reads), UTC offsets so a
	 * timestamptz masks the same whatever the server's zone, exact floats */
	if (pgi_exec(c,
		     "SET datestyle = ISO, YMD; SET intervalstyle = postgres; SET TimeZone = 'UTC'; "
		     "SET extra_float_digits = 3",
		     db, "session settings", err) < 0) {
		sym_PQfinish(c);
		return NULL;
	}
	return c;
}

PGconn *pgi_connect_prod(const char *conninfo, const char *db, const char *snapshot, dp_error **err)
{
	PGconn *c = pgi_connect(conninfo, db, true, err);
	char *lit, sql[256];

	if (c == NULL)
		return NULL;
	if (pgi_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", db, "begin", err) < 0)
		goto fail;
	if (snapshot) {
		lit = sym_PQescapeLiteral(c, snapshot, strlen(snapshot));
		if (lit == NULL) {
			pgi_fail(c, db, "snapshot", err);
			goto fail;
		}
		snprintf(sql, sizeof(sql), "SET TRANSACTION SNAPSHOT %s", lit);
		sym_PQfreemem(lit);
		if (pgi_exec(c, sql, db, "import production's snapshot", err) < 0)
			goto fail;
	}
	return c;
fail:
	sym_PQfinish(c);
	return NULL;
}

/* " key='value'" as libpq's conninfo parser reads it back */
static void add_kv(dp_pgbuf *b, const char *k, const char *v)
{
	if (b->n)
		dp_pgbuf_add(b, " ", 1);
	dp_pgbuf_add(b, k, strlen(k));
	dp_pgbuf_add(b, "='", 2);
	for (const char *p = v; *p; p++) {
		if (*p == '\'' || *p == '\\')
			dp_pgbuf_add(b, "\\", 1);
		dp_pgbuf_add(b, p, 1);
	}
	dp_pgbuf_add(b, "'", 1);
}

static int read_password_file(const dp_db_spec *db, const char *config_dir, char **out, dp_error **err)
{
	cleanup_free char *path = NULL;
	cleanup_close int fd = -1;
	char buf[PASSWORD_MAX + 1];
	struct stat st;
	ssize_t n;

	if (db->password_file[0] == '/')
		path = xstrdup(db->password_file);
	else if (asprintf(&path, "%s/%s", config_dir ? config_dir : ".", db->password_file) < 0)
		return dp_fail(err, ENOMEM, "password_file");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return dp_fail_errno(err, "production.databases %s: password_file %s", db->name, path);
	if (fstat(fd, &st) < 0)
		return dp_fail_errno(err, "production.databases %s: password_file %s", db->name, path);
	if (!S_ISREG(st.st_mode))
		return dp_usage(err, "production.databases %s: password_file %s is not a regular file", db->name, path);
	if (st.st_mode & 077)
		return dp_usage(err,
				"production.databases %s: password_file %s has mode %04o: others may read the password; "
				"make it 0600 or 0400 (chmod 600 %s)",
				db->name, path, (unsigned)(st.st_mode & 07777), path);
	n = read(fd, buf, PASSWORD_MAX + 1);
	if (n < 0)
		return dp_fail_errno(err, "production.databases %s: password_file %s", db->name, path);
	if (n > PASSWORD_MAX)
		return dp_usage(err, "production.databases %s: password_file %s: longer than %d bytes", db->name, path,
				PASSWORD_MAX);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	if (n == 0 || memchr(buf, '\0', (size_t)n))
		return dp_usage(err, "production.databases %s: password_file %s: %s", db->name, path,
				n ? "holds a NUL byte" : "is empty");
	*out = xstrdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static int prod_conninfo(const dp_db_spec *db, const char *config_dir, char **out, dp_error **err)
{
	char *msg = NULL, *password = NULL;
	PQconninfoOption *opts;
	dp_pgbuf b = { 0 };
	bool have_options = false;

	*out = NULL;
	if (db->postgres == NULL)
		return dp_usage(err, "production.databases %s: not a PostgreSQL database", db->name);
	if (dp_dl_pq(err) < 0)
		return -1;
	opts = sym_PQconninfoParse(db->postgres, &msg);
	if (opts == NULL) {
		dp_usage(err, "production.databases %s: postgres: not a connection string libpq accepts: %s", db->name,
			 msg ? msg : "out of memory");
		sym_PQfreemem(msg);
		return -1;
	}
	if (db->password_file && read_password_file(db, config_dir, &password, err) < 0) {
		sym_PQconninfoFree(opts);
		return -1;
	}
	if (db->password_env) {
		const char *v = getenv(db->password_env);
		if (v == NULL || v[0] == '\0') {
			sym_PQconninfoFree(opts);
			return dp_usage(err, "production.databases %s: password_env: the environment variable %s is %s",
					db->name, db->password_env, v ? "empty" : "not set");
		}
		password = xstrdup(v);
	}
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (o->val == NULL || (password && strcmp(o->keyword, "password") == 0))
			continue;
		if (strcmp(o->keyword, "options") == 0) {
			/* the second guard: any transaction production opens for
			 * doppel is read-only unless it says otherwise (it never does) */
			cleanup_free char *v = NULL;
			if (asprintf(&v, "%s -c default_transaction_read_only=on", o->val) < 0)
				abort();
			add_kv(&b, "options", v);
			have_options = true;
			continue;
		}
		add_kv(&b, o->keyword, o->val);
	}
	sym_PQconninfoFree(opts);
	if (!have_options)
		add_kv(&b, "options", "-c default_transaction_read_only=on");
	add_kv(&b, "fallback_application_name", "doppel");
	if (password) {
		add_kv(&b, "password", password);
		explicit_bzero(password, strlen(password));
		free(password);
	}
	*out = b.p;
	return 0;
}

/* ---- the catalog ---------------------------------------------------------- */

static pgi_kind kind_of(const char *typname)
{
	static const struct {
		const char *name;
		pgi_kind kind;
	} m[] = {
		{ "int2", PGI_INT },  { "int4", PGI_INT },   { "int8", PGI_INT },   { "float4", PGI_REAL },
		{ "float8", PGI_REAL }, { "bytea", PGI_BYTEA }, { "json", PGI_JSON }, { "jsonb", PGI_JSON },
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (strcmp(typname, m[i].name) == 0)
			return m[i].kind;
	return PGI_TEXT;
}

void pgi_schema_free(pgi_schema *s)
{
	for (size_t i = 0; i < s->n; i++) {
		pgi_table *t = &s->t[i];
		for (size_t j = 0; j < t->n; j++) {
			free(t->cols[j].name);
			free(t->cols[j].json);
		}
		free(t->cols);
		free(t->schema);
		free(t->name);
		free(t->qname);
		free(t->display);
	}
	free(s->t);
	free(s->mapped);
	memset(s, 0, sizeof(*s));
}

pgi_table *pgi_table_by_oid(pgi_schema *s, unsigned oid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->t[i].oid == oid)
			return &s->t[i];
	return NULL;
}

pgi_col *pgi_col_by_name(pgi_table *t, const char *name, bool nocase)
{
	for (size_t j = 0; j < t->n; j++)
		if (nocase ? strcasecmp(t->cols[j].name, name) == 0 : strcmp(t->cols[j].name, name) == 0)
			return &t->cols[j];
	return NULL;
}

static char *quote_ident(PGconn *c, const char *s)
{
	char *q = sym_PQescapeIdentifier(c, s, strlen(s)), *r;

	if (q == NULL)
		abort();
	r = xstrdup(q);
	sym_PQfreemem(q);
	return r;
}

int pgi_load_schema(PGconn *c, const char *db, pgi_schema *s, dp_error **err)
{
	static const char sql[] =
		"SELECT c.oid, n.nspname, c.relname, c.relkind, pg_catalog.pg_table_size(c.oid), "
		"coalesce(pg_catalog.pg_partition_root(c.oid)::oid, c.oid), "
		"a.attname, a.attnotnull, a.attgenerated <> '', bt.typname, coalesce(et.typname, ''), "
		"coalesce(et.typdelim, ','), "
		"EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND "
		"i.indnatts = 1 AND i.indkey[0] = a.attnum AND i.indpred IS NULL AND i.indexprs IS NULL) "
		"FROM pg_catalog.pg_class c "
		"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		"JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
		"JOIN pg_catalog.pg_type t0 ON t0.oid = a.atttypid "
		"JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t0.typtype = 'd' THEN t0.typbasetype ELSE t0.oid END "
		"LEFT JOIN pg_catalog.pg_type et ON bt.typcategory = 'A' AND et.oid = bt.typelem "
		"WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
		"AND n.nspname !~ '^pg_(toast|temp)' "
		"AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass "
		"AND d.objid = c.oid AND d.deptype = 'e') "
		"ORDER BY 5 DESC, 1, a.attnum";
	PGresult *r = pgi_query(c, sql, db, "read the catalog", err);
	int rows;

	memset(s, 0, sizeof(*s));
	if (r == NULL)
		return -1;
	rows = sym_PQntuples(r);
	for (int i = 0; i < rows; i++) {
		unsigned oid = (unsigned)strtoul(sym_PQgetvalue(r, i, 0), NULL, 10);
		pgi_table *t = s->n ? &s->t[s->n - 1] : NULL;
		pgi_col *col;
		const char *elem = sym_PQgetvalue(r, i, 10);
		if (t == NULL || t->oid != oid) {
			pgi_table *nt = realloc(s->t, (s->n + 1) * sizeof(*s->t));
			if (nt == NULL)
				abort();
			s->t = nt;
			t = &s->t[s->n++];
			memset(t, 0, sizeof(*t));
			t->oid = oid;
			t->schema = xstrdup(sym_PQgetvalue(r, i, 1));
			t->name = xstrdup(sym_PQgetvalue(r, i, 2));
			t->relkind = sym_PQgetvalue(r, i, 3)[0];
			t->bytes = strtoll(sym_PQgetvalue(r, i, 4), NULL, 10);
			t->root = (unsigned)strtoul(sym_PQgetvalue(r, i, 5), NULL, 10);
			{
				char *qs = quote_ident(c, t->schema), *qt = quote_ident(c, t->name);
				if (asprintf(&t->qname, "%s.%s", qs, qt) < 0)
					abort();
				free(qs);
				free(qt);
			}
			if (strcmp(t->schema, "public") == 0)
				t->display = xstrdup(t->name);
			else if (asprintf(&t->display, "%s.%s", t->schema, t->name) < 0)
				abort();
		}
		col = realloc(t->cols, (t->n + 1) * sizeof(*t->cols));
		if (col == NULL)
			abort();
		t->cols = col;
		col = &t->cols[t->n++];
		memset(col, 0, sizeof(*col));
		col->name = xstrdup(sym_PQgetvalue(r, i, 6));
		col->notnull = sym_PQgetvalue(r, i, 7)[0] == 't';
		col->generated = sym_PQgetvalue(r, i, 8)[0] == 't';
		col->array = elem[0] != '\0';
		col->kind = kind_of(col->array ? elem : sym_PQgetvalue(r, i, 9));
		col->delim = sym_PQgetvalue(r, i, 11)[0];
		col->unique = sym_PQgetvalue(r, i, 12)[0] == 't';
	}
	sym_PQclear(r);
	return 0;
}

static bool same_rule(const dp_mask_rule *a, const dp_mask_rule *b)
{
	return a == b || (a->kind == b->kind && a->part == b->part && a->days == b->days && a->percent == b->percent &&
			  a->keep_first == b->keep_first && a->keep_last == b->keep_last && a->length == b->length &&
			  ((a->text == NULL && b->text == NULL) || (a->text && b->text && strcmp(a->text, b->text) == 0)));
}

pgi_table *pgi_table_by_ref(pgi_schema *s, const char *ref)
{
	const char *dot = strchr(ref, '.');
	const char *sch = dot ? ref : "public", *name = dot ? dot + 1 : ref;
	size_t sl = dot ? (size_t)(dot - ref) : strlen(sch);
	pgi_table *nocase = NULL;

	for (size_t i = 0; i < s->n; i++) {
		pgi_table *t = &s->t[i];
		if (strlen(t->schema) != sl)
			continue;
		if (strncmp(t->schema, sch, sl) == 0 && strcmp(t->name, name) == 0)
			return t;
		if (nocase == NULL && strncasecmp(t->schema, sch, sl) == 0 && strcasecmp(t->name, name) == 0)
			nocase = t;
	}
	return nocase;
}

static void col_list(const pgi_table *t, char *list, size_t sz)
{
	list[0] = '\0';
	for (size_t j = 0; j < t->n; j++)
		if (strlen(list) + strlen(t->cols[j].name) + 3 < sz) {
			if (list[0])
				strcat(list, ", ");
			strcat(list, t->cols[j].name);
		}
}

#define RULE_ERR(fmt, ...)                                                                                       \
	dp_usage(err, "%s:%d: masking.rules.%s.%s.%s%s%s: " fmt, spec->file, r->line, r->db, r->table, r->column, \
		 r->json_path ? "." : "", r->json_path ? r->json_path : "", __VA_ARGS__)

static int bind_rule(pgi_schema *s, const dp_spec *spec, const dp_mask_rule *r, dp_error **err)
{
	pgi_table *t = pgi_table_by_ref(s, r->table);
	pgi_col *c;

	if (t == NULL)
		return RULE_ERR("no table '%s' in the database (TABLE alone means schema public; write "
				"DB.SCHEMA.TABLE.COLUMN for another schema)",
				r->table);
	c = pgi_col_by_name(t, r->column, false);
	if (c == NULL)
		c = pgi_col_by_name(t, r->column, true);
	if (c == NULL) {
		char list[512];
		col_list(t, list, sizeof(list));
		return RULE_ERR("no column '%s' in table %s (it has: %s)", r->column, t->display, list);
	}
	if (c->generated)
		return RULE_ERR("%s is a generated column; mask the columns it is computed from", c->name);
	if (r->kind == DP_MASK_TEMPLATE)
		return RULE_ERR("%s", "template rules are not supported for PostgreSQL databases yet; use sql with a "
				"PostgreSQL expression");
	if (r->json_path) {
		pgi_json *j;
		if (c->kind != PGI_JSON || c->array)
			return RULE_ERR("a path inside a document needs a json or jsonb column; %s is not one", c->name);
		j = realloc(c->json, (c->n_json + 1) * sizeof(*c->json));
		if (j == NULL)
			abort();
		c->json = j;
		c->json[c->n_json++] = (pgi_json){ .path = r->json_path, .rule = r };
		return 0;
	}
	if (r->kind == DP_MASK_NULL && c->notnull)
		return RULE_ERR("%s", "the column is NOT NULL, so 'null' cannot apply; use redact or constant");
	if (r->kind == DP_MASK_CONSTANT && c->unique)
		return RULE_ERR("%s", "the column is unique, so one constant cannot fill it; use hash or uuid");
	c->rule = r;
	return 0;
}

/* Foreign keys: the referencing column takes its parent's rule, along
 * chains of keys, so joins on masked keys still match. */
static int inherit_fk_rules(PGconn *pc, const char *dbname, pgi_schema *s, const dp_spec *spec, dp_error **err)
{
	static const char sql[] =
		"SELECT c.conrelid, ca.attname, c.confrelid, pa.attname FROM pg_catalog.pg_constraint c "
		"JOIN pg_catalog.pg_attribute ca ON ca.attrelid = c.conrelid AND ca.attnum = c.conkey[1] "
		"JOIN pg_catalog.pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1] "
		"WHERE c.contype = 'f' AND pg_catalog.array_length(c.conkey, 1) = 1";
	PGresult *r = pgi_query(pc, sql, dbname, "read foreign keys", err);
	int n, changed = 1;

	if (r == NULL)
		return -1;
	n = sym_PQntuples(r);
	for (int round = 0; changed && round < 64; round++) {
		changed = 0;
		for (int i = 0; i < n; i++) {
			pgi_table *ct = pgi_table_by_oid(s, (unsigned)strtoul(sym_PQgetvalue(r, i, 0), NULL, 10));
			pgi_table *pt = pgi_table_by_oid(s, (unsigned)strtoul(sym_PQgetvalue(r, i, 2), NULL, 10));
			pgi_col *cc = ct ? pgi_col_by_name(ct, sym_PQgetvalue(r, i, 1), false) : NULL;
			pgi_col *pcol = pt ? pgi_col_by_name(pt, sym_PQgetvalue(r, i, 3), false) : NULL;
			const dp_mask_rule *pr;
			if (cc == NULL || pcol == NULL || pcol->rule == NULL || pcol->rule->kind == DP_MASK_SQL)
				continue;
			pr = pcol->rule;
			if (cc->rule == NULL) {
				cc->rule = pr;
				cc->inherited = true;
				changed = 1;
			} else if (!same_rule(cc->rule, pr)) {
				const dp_mask_rule *rr = cc->rule;
				dp_usage(err, "%s:%d: masking.rules.%s.%s.%s: the column references %s.%s, which is masked "
					 "by another rule (line %d); a foreign key must use its parent's rule, so joins "
					 "still match",
					 spec->file, rr->line, rr->db, rr->table, rr->column, pt->display, pcol->name, pr->line);
				sym_PQclear(r);
				return -1;
			}
		}
	}
	/* a rule on a key column whose parent is not masked would break the join */
	for (int i = 0; i < n; i++) {
		pgi_table *ct = pgi_table_by_oid(s, (unsigned)strtoul(sym_PQgetvalue(r, i, 0), NULL, 10));
		pgi_table *pt = pgi_table_by_oid(s, (unsigned)strtoul(sym_PQgetvalue(r, i, 2), NULL, 10));
		pgi_col *cc = ct ? pgi_col_by_name(ct, sym_PQgetvalue(r, i, 1), false) : NULL;
		pgi_col *pcol = pt ? pgi_col_by_name(pt, sym_PQgetvalue(r, i, 3), false) : NULL;
		if (cc && pcol && cc->rule && pcol->rule == NULL && cc->rule->kind != DP_MASK_NULL) {
			const dp_mask_rule *rr = cc->rule;
			dp_usage(err, "%s:%d: masking.rules.%s.%s.%s: the column references %s.%s, which has no rule; "
				 "masking only the reference would break the join (add the rule to %s.%s.%s)",
				 spec->file, rr->line, rr->db, rr->table, rr->column, pt->display, pcol->name, rr->db,
				 pt->display, pcol->name);
			sym_PQclear(r);
			return -1;
		}
		if (cc && pcol && pcol->rule && pcol->rule->kind == DP_MASK_SQL) {
			const dp_mask_rule *rr = pcol->rule;
			dp_usage(err, "%s:%d: masking.rules.%s.%s.%s: %s.%s references this column, and an sql rule "
				 "cannot be carried to another table; use a transformer",
				 spec->file, rr->line, rr->db, rr->table, rr->column, ct->display, cc->name);
			sym_PQclear(r);
			return -1;
		}
	}
	sym_PQclear(r);
	return 0;
}

int pgi_resolve(PGconn *pc, const char *dbname, pgi_schema *s, const dp_spec *spec, const dp_db_spec *dbs,
		dp_error **err)
{
	for (size_t i = 0; i < spec->n_rules; i++)
		if (strcmp(spec->rules[i].db, dbs->name) == 0 && bind_rule(s, spec, &spec->rules[i], err) < 0)
			return -1;
	for (size_t i = 0; i < spec->n_allow; i++) {
		const char *a = spec->allow[i], *tref, *cdot;
		size_t ld = strlen(dbs->name);
		char tname[300];
		pgi_table *t;
		if (strncmp(a, dbs->name, ld) != 0 || a[ld] != '.')
			continue;
		tref = a + ld + 1;
		cdot = strrchr(tref, '.');
		if (cdot == NULL || (size_t)(cdot - tref) >= sizeof(tname))
			continue;
		snprintf(tname, sizeof(tname), "%.*s", (int)(cdot - tref), tref);
		t = pgi_table_by_ref(s, tname);
		if (t == NULL)
			return dp_usage(err, "%s:%d: masking.allow: %s: no table '%s' in database %s", spec->file,
					spec->allow_lines[i], a, tname, dbs->name);
		if (pgi_col_by_name(t, cdot + 1, true) == NULL)
			return dp_usage(err, "%s:%d: masking.allow: %s: no column '%s' in table %s", spec->file,
					spec->allow_lines[i], a, cdot + 1, t->display);
	}
	/* a partition is masked by its partitioned table's rules */
	for (size_t i = 0; i < s->n; i++) {
		pgi_table *t = &s->t[i], *root = t->root != t->oid ? pgi_table_by_oid(s, t->root) : NULL;
		if (root == NULL)
			continue;
		for (size_t j = 0; j < t->n; j++) {
			pgi_col *c = &t->cols[j], *rc = pgi_col_by_name(root, c->name, false);
			if (rc == NULL)
				continue;
			if (c->rule == NULL)
				c->rule = rc->rule;
			if (c->n_json == 0 && rc->n_json) {
				c->json = malloc(rc->n_json * sizeof(*c->json));
				if (c->json == NULL)
					abort();
				memcpy(c->json, rc->json, rc->n_json * sizeof(*c->json));
				c->n_json = rc->n_json;
			}
		}
	}
	if (inherit_fk_rules(pc, dbname, s, spec, err) < 0)
		return -1;
	s->mapped = calloc(spec->n_rules + 1, sizeof(bool));
	if (s->mapped == NULL)
		abort();
	for (size_t i = 0; i < s->n; i++)
		for (size_t j = 0; j < s->t[i].n; j++) {
			const pgi_col *c = &s->t[i].cols[j];
			if (c->rule && c->unique && c->rule->kind != DP_MASK_SQL)
				s->mapped[c->rule - spec->rules] = true;
		}
	return 0;
}

/* ---- strict mode ---------------------------------------------------------- */

static void add_finding(dp_pii_report *rep, const char *table, const char *column, const char *suggest,
			const char *why)
{
	dp_pii_finding *n = realloc(rep->items, (rep->n + 1) * sizeof(*n));
	if (n == NULL)
		abort();
	rep->items = n;
	n[rep->n++] = (dp_pii_finding){ .table = xstrdup(table), .column = xstrdup(column),
					.suggest = xstrdup(suggest), .why = xstrdup(why) };
}

static bool allowed(const dp_spec *spec, const dp_db_spec *dbs, const pgi_table *t, const char *col)
{
	char full[300];

	snprintf(full, sizeof(full), "%s.%s", t->schema, t->name);
	return dp_spec_mask_allowed(spec, dbs->name, t->display, col) || dp_spec_mask_allowed(spec, dbs->name, full, col);
}

static int sample_column(PGconn *c, const char *db, const pgi_table *t, const pgi_col *col, dp_pii_sample *smp,
			 dp_error **err)
{
	cleanup_free char *q = NULL, *sql = NULL;
	PGresult *r;

	q = quote_ident(c, col->name);
	if (asprintf(&sql, "SELECT %s::text FROM %s WHERE %s IS NOT NULL LIMIT %d", q, t->qname, q, PII_SAMPLE) < 0)
		abort();
	r = pgi_query(c, sql, db, "sample values", err);
	if (r == NULL)
		return -1;
	for (int i = 0; i < sym_PQntuples(r); i++)
		dp_pii_sample_add(smp, sym_PQgetvalue(r, i, 0), (size_t)sym_PQgetlength(r, i, 0));
	sym_PQclear(r);
	return 0;
}

int dp_pg_pii_check(const char *prod_conninfo, const dp_spec *spec, const dp_db_spec *dbs, dp_pii_report *rep,
		    dp_error **err)
{
	PGconn *c;
	pgi_schema s = { 0 };
	int r = -1;

	memset(rep, 0, sizeof(*rep));
	c = pgi_connect_prod(prod_conninfo, dbs->name, NULL, err);
	if (c == NULL)
		return -1;
	if (pgi_load_schema(c, dbs->name, &s, err) < 0 || pgi_resolve(c, dbs->name, &s, spec, dbs, err) < 0)
		goto out;
	for (size_t i = 0; i < s.n; i++) {
		pgi_table *t = &s.t[i];
		/* partitions are judged through their partitioned table */
		if (t->root != t->oid)
			continue;
		for (size_t j = 0; j < t->n; j++) {
			pgi_col *col = &t->cols[j];
			const char *why = NULL, *sug;
			char whybuf[160];
			dp_pii_sample smp = { 0 };
			if (col->rule || col->n_json || col->generated || allowed(spec, dbs, t, col->name))
				continue;
			sug = dp_pii_by_name(col->name, &why);
			if (sug == NULL && !col->array && (col->kind == PGI_TEXT || col->kind == PGI_INT)) {
				if (sample_column(c, dbs->name, t, col, &smp, err) < 0)
					goto out;
				sug = dp_pii_sample_verdict(&smp, whybuf, sizeof(whybuf));
				why = whybuf;
			}
			if (sug)
				add_finding(rep, t->display, col->name, sug, why);
		}
	}
	r = 0;
out:
	if (r < 0)
		dp_pii_report_free(rep);
	pgi_schema_free(&s);
	sym_PQfinish(c); /* ends the read-only transaction */
	return r;
}

/* ---- values for the leak scan --------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct strset {
	char **v;
	size_t n;
} strset;

static void strset_free(strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* The query listing a masked column's distinct non-NULL values (or those at
 * a json path, or an array's elements) as text. */
static char *values_sql(PGconn *c, const pgi_table *t, const pgi_col *col, const char *json_path, bool only)
{
	cleanup_free char *q = quote_ident(c, col->name);
	char *sql = NULL;
	int rc;

	if (json_path) {
		/* "$.a.b" -> '$."a"."b"' (lax: arrays on the way are entered) */
		dp_pgbuf p = { 0 };
		char *lit;
		dp_pgbuf_add(&p, "$", 1);
		for (const char *k = json_path + 1; *k == '.';) {
			size_t kn = strcspn(k + 1, ".");
			dp_pgbuf_add(&p, ".\"", 2);
			for (size_t i = 0; i < kn; i++) {
				if (k[1 + i] == '"' || k[1 + i] == '\\')
					dp_pgbuf_add(&p, "\\", 1);
				dp_pgbuf_add(&p, &k[1 + i], 1);
			}
			dp_pgbuf_add(&p, "\"", 1);
			k += 1 + kn;
		}
		lit = sym_PQescapeLiteral(c, p.p, p.n);
		dp_pgbuf_free(&p);
		if (lit == NULL)
			abort();
		rc = asprintf(&sql,
			      "SELECT DISTINCT v #>> '{}' FROM %s%s, pg_catalog.jsonb_path_query(%s::jsonb, %s) v "
			      "WHERE pg_catalog.jsonb_typeof(v) IN ('string', 'number')",
			      only ? "ONLY " : "", t->qname, q, lit);
		sym_PQfreemem(lit);
	} else if (col->array) {
		rc = asprintf(&sql, "SELECT DISTINCT e::text FROM %s%s, pg_catalog.unnest(%s) e WHERE e IS NOT NULL",
			      only ? "ONLY " : "", t->qname, q);
	} else {
		rc = asprintf(&sql, "SELECT DISTINCT %s::text FROM %s%s WHERE %s IS NOT NULL", q, only ? "ONLY " : "",
			      t->qname, q);
	}
	if (rc < 0)
		abort();
	return sql;
}

static int copy_values(PGconn *copy, const char *db, const pgi_table *t, const pgi_col *col, const char *json_path,
		       strset *out)
{
	cleanup_free char *sql = values_sql(copy, t, col, json_path, true);
	PGresult *r = sym_PQexec(copy, sql);

	memset(out, 0, sizeof(*out));
	(void)db;
	if (sym_PQresultStatus(r) != PGRES_TUPLES_OK) {
		sym_PQclear(r); /* not in the copy: every value counts */
		return 0;
	}
	out->v = calloc((size_t)sym_PQntuples(r) + 1, sizeof(char *));
	if (out->v == NULL)
		abort();
	for (int i = 0; i < sym_PQntuples(r); i++)
		out->v[out->n++] = xstrdup(sym_PQgetvalue(r, i, 0));
	sym_PQclear(r);
	qsort(out->v, out->n, sizeof(char *), cmp_str);
	return 0;
}

static int emit_values(PGconn *c, PGconn *copy, const char *db, const pgi_table *t, const pgi_col *col,
		       const dp_mask_rule *rule, const char *json_path, dp_masked_value_fn fn, void *user, dp_error **err)
{
	cleanup_free char *sql = values_sql(c, t, col, json_path, true);
	strset fakes = { 0 };
	PGresult *r;
	int rc = 0;

	/* sql rules may write real values on purpose or by mistake: their copy
	 * proves nothing, every value counts */
	if (copy && rule->kind != DP_MASK_SQL)
		copy_values(copy, db, t, col, json_path, &fakes);
	r = pgi_query(c, sql, db, "read values", err);
	if (r == NULL) {
		strset_free(&fakes);
		return -1;
	}
	for (int i = 0; i < sym_PQntuples(r) && rc == 0; i++) {
		const char *v = sym_PQgetvalue(r, i, 0);
		if (fakes.n && bsearch(&v, fakes.v, fakes.n, sizeof(char *), cmp_str))
			continue;
		rc = fn(user, rule, v, (size_t)sym_PQgetlength(r, i, 0));
	}
	sym_PQclear(r);
	strset_free(&fakes);
	return rc ? 1 : 0;
}

int dp_pg_masked_values(const char *prod_conninfo, const char *copy_conninfo, const dp_spec *spec,
			const dp_db_spec *dbs, dp_masked_value_fn fn, void *user, dp_error **err)
{
	PGconn *c, *copy = NULL;
	pgi_schema s = { 0 };
	int r = -1;

	c = pgi_connect_prod(prod_conninfo, dbs->name, NULL, err);
	if (c == NULL)
		return -1;
	if (copy_conninfo) {
		dp_error *ignored = NULL;
		copy = pgi_connect(copy_conninfo, dbs->name, false, &ignored);
		dp_error_free(&ignored); /* no copy to compare with: every value counts */
	}
	if (pgi_load_schema(c, dbs->name, &s, err) < 0 || pgi_resolve(c, dbs->name, &s, spec, dbs, err) < 0)
		goto out;
	for (size_t i = 0; i < s.n; i++) {
		pgi_table *t = &s.t[i];
		if (t->relkind != 'r')
			continue; /* partitioned: its rows are in its partitions */
		for (size_t j = 0; j < t->n; j++) {
			pgi_col *col = &t->cols[j];
			int e;
			/* a column that inherits its rule holds its parent's values */
			if (col->rule && !col->inherited) {
				e = emit_values(c, copy, dbs->name, t, col, col->rule, NULL, fn, user, err);
				if (e < 0)
					goto out;
				if (e > 0)
					goto done;
			}
			for (size_t k = 0; k < col->n_json; k++) {
				e = emit_values(c, copy, dbs->name, t, col, col->json[k].rule, col->json[k].path, fn, user,
						err);
				if (e < 0)
					goto out;
				if (e > 0)
					goto done;
			}
		}
	}
done:
	r = 0;
out:
	pgi_schema_free(&s);
	sym_PQfinish(copy);
	sym_PQfinish(c);
	return r;
}

int dp_pg_prod_conninfo(const dp_spec *spec, const dp_db_spec *db, char **out, dp_error **err)
{
	/* password_file is relative to doppel.yaml's directory */
	const char *slash = strrchr(spec->file, '/');
	cleanup_free char *dir = slash ? strndup(spec->file, slash == spec->file ? 1 : (size_t)(slash - spec->file))
				       : strdup(".");

	if (dir == NULL)
		abort();
	if (prod_conninfo(db, dir, out, err) < 0)
		return dp_wrap(err, "%s: production.databases: %s", spec->file, db->name);
	return 0;
}
