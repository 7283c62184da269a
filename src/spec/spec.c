/* Loading and validating doppel.yaml with libfyaml; see spec.h. Each section
 * has a table of the keys it accepts, so an unknown key is caught where it is
 * and answered with the closest known one. */
#include "spec/spec.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/parse.h"
#include "util/path.h"
#include "util/suggest.h"
#include "util/yamldiag.h"

#define MAX_BYTES (1ull << 50)

typedef struct ctx {
	const char *file;
	dp_error **err;
} ctx;

static int load_endpoints(ctx *c, struct fy_node *keyn, const char *section, struct fy_node *map, bool allow_none,
			  dp_endpoint_spec **out, size_t *n);

static void pos_of(struct fy_node *n, int *line, int *col)
{
	struct fy_token *t = n ? fy_node_get_scalar_token(n) : NULL;
	const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;

	*line = m ? m->line + 1 : 0;
	*col = m ? m->column + 1 : 0;
}

/* "FILE:LINE:COL: KEY: message" as a usage error; returns -1. */
__attribute__((format(printf, 4, 5))) static int bad(ctx *c, struct fy_node *at, const char *key, const char *fmt,
						      ...)
{
	char msg[512];
	int line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pos_of(at, &line, &col);
	if (line)
		return dp_usage(c->err, "%s:%d:%d: %s: %s", c->file, line, col, key, msg);
	return dp_usage(c->err, "%s: %s: %s", c->file, key, msg);
}

static int unknown_key(ctx *c, struct fy_node *at, const char *section, const char *key,
		       const char *const *known)
{
	const char *best = dp_suggest(key, known, SIZE_MAX, 2);
	char list[256] = "";

	for (const char *const *k = known; *k; k++) {
		if (strlen(list) + strlen(*k) + 3 < sizeof(list)) {
			if (list[0])
				strcat(list, ", ");
			strcat(list, *k);
		}
	}
	if (best)
		return bad(c, at, section, "unknown key '%s'; did you mean '%s'?", key, best);
	return bad(c, at, section, "unknown key '%s'; expected one of: %s", key, list);
}

static const char *scalar(struct fy_node *n)
{
	size_t len;
	const char *s;

	if (n == NULL || !fy_node_is_scalar(n))
		return NULL;
	s = fy_node_get_scalar0(n);
	(void)len;
	return s;
}

static int want_scalar(ctx *c, struct fy_node *n, struct fy_node *keynode, const char *key, const char **out)
{
	size_t len = 0;
	const char *raw = n && fy_node_is_scalar(n) ? fy_node_get_scalar(n, &len) : NULL;

	*out = scalar(n);
	/* an empty value has no position of its own: point at its key */
	if (*out == NULL || (*out)[0] == '\0')
		return bad(c, keynode, key, "expected a value");
	if (raw && memchr(raw, '\0', len))
		return bad(c, n, key, "contains a NUL byte");
	return 0;
}

static char *xstrdup(const char *s)
{
	char *r = strdup(s);
	if (r == NULL)
		abort();
	return r;
}

/* Wraps a util/parse.c error (which starts with the key) with the YAML
 * position. */
static int located(ctx *c, struct fy_node *at, const char *key, dp_error **inner)
{
	const char *msg = (*inner)->msg;
	size_t n = strlen(key);
	int r;

	if (strncmp(msg, key, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
		msg += n + 2;
	r = bad(c, at, key, "%s", msg);
	dp_error_free(inner);
	return r;
}

int dp_parse_duration(const char *what, const char *s, uint64_t *seconds, dp_error **err)
{
	char *end = NULL;
	unsigned long long v;
	uint64_t unit;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || v == 0)
		goto bad;
	switch (*end) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: goto bad;
	}
	if (end[1] != '\0')
		goto bad;
	if (v > (10ull * 366 * 86400) / unit)
		return dp_usage(err, "%s: '%s' is longer than ten years", what, s);
	*seconds = v * unit;
	return 0;
bad:
	return dp_usage(err, "%s: expected a duration such as 30m, 12h, 7d or 2w, got '%s'", what, s ? s : "");
}

void dp_spec_default_tiers(dp_tier **tiers, size_t *n)
{
	static const struct {
		const char *name;
		uint64_t mem, pids;
		enum dp_tier_data data;
	} d[] = { { "dev", 1ull << 30, 512, DP_TIER_DATA_SUBSET },
		  { "qa", 2ull << 30, 1024, DP_TIER_DATA_FULL },
		  { "staging", 4ull << 30, 2048, DP_TIER_DATA_FULL } };
	*n = 3;
	*tiers = calloc(3, sizeof(dp_tier));
	if (*tiers == NULL)
		abort();
	for (size_t i = 0; i < 3; i++)
		(*tiers)[i] = (dp_tier){ .name = xstrdup(d[i].name), .mem_bytes = d[i].mem, .pids = d[i].pids,
					 .network = DP_TIER_NET_LOOPBACK, .data = d[i].data };
}

static bool valid_name(const char *s)
{
	if (!s || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])) || strlen(s) > 63)
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-' || *s == '_'))
			return false;
	return true;
}

static int load_tier(ctx *c, struct fy_node *keyn, const char *name, struct fy_node *map, dp_tier *t)
{
	static const char *const keys[] = { "memory", "pids", "cpus", "disk", "network", "data", "endpoints", NULL };
	void *it = NULL;
	struct fy_node_pair *p;
	char section[96];

	snprintf(section, sizeof(section), "tiers.%s", name);
	if (!valid_name(name))
		return bad(c, keyn, section, "tier names are lowercase letters, digits, '-' and '_'");
	if (map == NULL || !fy_node_is_mapping(map))
		return bad(c, keyn, section, "expected a mapping such as {memory: 1G, pids: 512}");
	t->name = xstrdup(name);
	t->network = DP_TIER_NET_LOOPBACK;
	t->data = DP_TIER_DATA_FULL;
	while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
		const char *key = scalar(k), *val;
		char full[128];
		dp_error *inner = NULL;

		if (key == NULL)
			return bad(c, k, section, "keys must be plain words");
		snprintf(full, sizeof(full), "%s.%s", section, key);
		if (strcmp(key, "endpoints") == 0) {
			if (t->endpoints != NULL)
				return bad(c, k, full, "given twice");
			if (load_endpoints(c, k, full, v, true, &t->endpoints, &t->n_endpoints) < 0)
				return -1;
			continue;
		}
		if (want_scalar(c, v, k, full, &val) < 0)
			return -1;
		if (strcmp(key, "memory") == 0) {
			if (dp_parse_size(full, val, MAX_BYTES, &t->mem_bytes, &inner) < 0)
				return located(c, v, full, &inner);
		} else if (strcmp(key, "disk") == 0) {
			if (dp_parse_size(full, val, MAX_BYTES, &t->disk_bytes, &inner) < 0)
				return located(c, v, full, &inner);
		} else if (strcmp(key, "pids") == 0) {
			if (dp_parse_uint(full, val, 1, 4194304, &t->pids, &inner) < 0)
				return located(c, v, full, &inner);
		} else if (strcmp(key, "cpus") == 0) {
			if (dp_parse_cpus(full, val, &t->millicpus, &inner) < 0)
				return located(c, v, full, &inner);
		} else if (strcmp(key, "network") == 0) {
			if (strcmp(val, "loopback") == 0)
				t->network = DP_TIER_NET_LOOPBACK;
			else if (strcmp(val, "none") == 0)
				t->network = DP_TIER_NET_NONE;
			else if (strcmp(val, "endpoints") == 0)
				t->network = DP_TIER_NET_ENDPOINTS;
			else
				return bad(c, v, full, "expected loopback, none or endpoints, got '%s'", val);
		} else if (strcmp(key, "data") == 0) {
			if (strcmp(val, "full") == 0)
				t->data = DP_TIER_DATA_FULL;
			else if (strcmp(val, "subset") == 0)
				t->data = DP_TIER_DATA_SUBSET;
			else
				return bad(c, v, full, "expected full or subset, got '%s'", val);
		} else {
			return unknown_key(c, k, section, key, keys);
		}
	}
	return 0;
}

static int load_production(ctx *c, struct fy_node *keyn, struct fy_node *map, dp_spec *s)
{
	static const char *const keys[] = { "root", "exclude", "databases", "secrets", NULL };
	void *it = NULL;
	struct fy_node_pair *p;

	if (map == NULL || !fy_node_is_mapping(map))
		return bad(c, keyn, "production", "expected a mapping with at least 'root'");
	while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
		const char *key = scalar(k);

		if (key == NULL)
			return bad(c, k, "production", "keys must be plain words");
		if (strcmp(key, "root") == 0) {
			const char *val;
			dp_error *inner = NULL;
			if (want_scalar(c, v, k, "production.root", &val) < 0)
				return -1;
			if (dp_path_check("production.root", val, &inner) < 0)
				return located(c, v, "production.root", &inner);
			if (strcmp(val, "/") == 0)
				return bad(c, v, "production.root", "the whole host cannot be production; name its directory");
			s->root = xstrdup(val);
		} else if (strcmp(key, "exclude") == 0) {
			void *si = NULL;
			struct fy_node *e;
			if (v == NULL || !fy_node_is_sequence(v))
				return bad(c, k, "production.exclude", "expected a list of patterns such as [logs/**, \"*.tmp\"]");
			s->exclude = calloc((size_t)fy_node_sequence_item_count(v) + 1, sizeof(char *));
			if (s->exclude == NULL)
				abort();
			while ((e = fy_node_sequence_iterate(v, &si)) != NULL) {
				const char *pat = scalar(e);
				if (pat == NULL || pat[0] == '\0' || pat[0] == '/' || strstr(pat, ".."))
					return bad(c, e, "production.exclude",
						   "expected a pattern relative to production.root, without '..'");
				s->exclude[s->n_exclude++] = xstrdup(pat);
			}
		} else if (strcmp(key, "databases") == 0) {
			static const char *const dbkeys[] = { "name", "sqlite", "postgres", "password_file", "password_env", NULL };
			void *si = NULL;
			struct fy_node *e;
			if (v == NULL || !fy_node_is_sequence(v))
				return bad(c, k, "production.databases", "expected a list such as [{name: main, sqlite: data/app.db}]");
			s->dbs = calloc((size_t)fy_node_sequence_item_count(v) + 1, sizeof(dp_db_spec));
			if (s->dbs == NULL)
				abort();
			while ((e = fy_node_sequence_iterate(v, &si)) != NULL) {
				dp_db_spec *db = &s->dbs[s->n_dbs++];
				void *mi = NULL;
				struct fy_node_pair *dp;
				if (!fy_node_is_mapping(e))
					return bad(c, k, "production.databases", "each entry is a mapping {name: N, sqlite: PATH}");
				while ((dp = fy_node_mapping_iterate(e, &mi)) != NULL) {
					struct fy_node *dk = fy_node_pair_key(dp), *dv = fy_node_pair_value(dp);
					const char *dkey = scalar(dk), *dval;
					if (dkey == NULL)
						return bad(c, dk, "production.databases", "keys must be plain words");
					if (db->line == 0) {
						int dcol;
						pos_of(dk, &db->line, &dcol);
					}
					size_t kn;
					for (kn = 0; dbkeys[kn] && strcmp(dkey, dbkeys[kn]) != 0; kn++)
						;
					if (dbkeys[kn] == NULL)
						return unknown_key(c, dk, "production.databases", dkey, dbkeys);
					if (want_scalar(c, dv, dk, dkey, &dval) < 0)
						return -1;
					if (strcmp(dkey, "name") == 0) {
						if (!valid_name(dval))
							return bad(c, dv, "production.databases.name",
								   "expected lowercase letters, digits, '-' and '_'");
						db->name = xstrdup(dval);
					} else if (strcmp(dkey, "sqlite") == 0) {
						if (dval[0] == '/' || strstr(dval, ".."))
							return bad(c, dv, "production.databases.sqlite",
								   "expected a path relative to production.root, without '..'");
						db->sqlite = xstrdup(dval);
					} else if (strcmp(dkey, "password_file") == 0) {
						if (dval[0] == '\0')
							return bad(c, dv, "production.databases.password_file",
								   "expected a path (relative to doppel.yaml's directory)");
						db->password_file = xstrdup(dval);
					} else if (strcmp(dkey, "password_env") == 0) {
						bool ok = dval[0] != '\0' && !isdigit((unsigned char)dval[0]);
						for (const char *q = dval; *q; q++)
							ok = ok && (isalnum((unsigned char)*q) || *q == '_');
						if (!ok)
							return bad(c, dv, "production.databases.password_env",
								   "expected an environment variable's name such as PGPASSWORD_PROD");
						db->password_env = xstrdup(dval);
					} else {
						db->postgres = xstrdup(dval);
					}
				}
				if (db->name == NULL)
					return bad(c, e, "production.databases", "an entry has no 'name'");
				if (db->password_file && db->password_env)
					return bad(c, e, "production.databases", "'%s' has both password_file and password_env; "
						   "give one", db->name);
				if ((db->password_file || db->password_env) && db->postgres == NULL)
					return bad(c, e, "production.databases", "'%s': password_file and password_env are for "
						   "postgres databases", db->name);
				if (!!db->sqlite == !!db->postgres)
					return bad(c, e, "production.databases", "'%s' needs exactly one of sqlite or postgres",
						   db->name);
				for (size_t j = 0; j + 1 < s->n_dbs; j++)
					if (strcmp(s->dbs[j].name, db->name) == 0)
						return bad(c, e, "production.databases", "name '%s' is used twice", db->name);
			}
		} else if (strcmp(key, "secrets") == 0) {
			void *mi = NULL;
			struct fy_node_pair *sp;
			if (v == NULL || !fy_node_is_mapping(v))
				return bad(c, k, "production.secrets", "expected a mapping {NAME: sandbox value}");
			s->secrets = calloc((size_t)fy_node_mapping_item_count(v) + 1, sizeof(dp_secret));
			if (s->secrets == NULL)
				abort();
			while ((sp = fy_node_mapping_iterate(v, &mi)) != NULL) {
				const char *name = scalar(fy_node_pair_key(sp)), *val = scalar(fy_node_pair_value(sp));
				if (name == NULL || val == NULL || strchr(name, '=') || name[0] == '\0')
					return bad(c, fy_node_pair_key(sp), "production.secrets",
						   "expected NAME: value with a NAME without '='");
				s->secrets[s->n_secrets].name = xstrdup(name);
				s->secrets[s->n_secrets++].value = xstrdup(val);
			}
		} else {
			return unknown_key(c, k, "production", key, keys);
		}
	}
	if (s->root == NULL)
		return bad(c, keyn, "production.root", "missing; name production's directory, e.g. root: /srv/shop");
	return 0;
}

static int load_sync(ctx *c, struct fy_node *keyn, struct fy_node *map, dp_spec *s)
{
	static const char *const keys[] = { "every", "keep", NULL };
	void *it = NULL;
	struct fy_node_pair *p;

	if (map == NULL || !fy_node_is_mapping(map))
		return bad(c, keyn, "sync", "expected a mapping such as {every: 7d, keep: 4}");
	while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
		const char *key = scalar(k), *val;
		dp_error *inner = NULL;
		uint64_t keep;

		if (key == NULL)
			return bad(c, k, "sync", "keys must be plain words");
		if (strcmp(key, "every") == 0) {
			if (want_scalar(c, v, k, "sync.every", &val) < 0)
				return -1;
			if (dp_parse_duration("sync.every", val, &s->sync_every_s, &inner) < 0)
				return located(c, v, "sync.every", &inner);
		} else if (strcmp(key, "keep") == 0) {
			if (want_scalar(c, v, k, "sync.keep", &val) < 0)
				return -1;
			if (dp_parse_uint("sync.keep", val, 1, 10000, &keep, &inner) < 0)
				return located(c, v, "sync.keep", &inner);
			s->sync_keep = (uint32_t)keep;
		} else {
			return unknown_key(c, k, "sync", key, keys);
		}
	}
	return 0;
}

static const char *const mask_kinds[] = {
	[DP_MASK_EMAIL] = "email", [DP_MASK_NAME] = "name", [DP_MASK_PHONE] = "phone",
	[DP_MASK_ADDRESS] = "address", [DP_MASK_CITY] = "city", [DP_MASK_POSTAL_CODE] = "postal_code",
	[DP_MASK_CARD] = "card", [DP_MASK_IBAN] = "iban", [DP_MASK_IP] = "ip", [DP_MASK_DATE] = "date",
	[DP_MASK_NUMBER] = "number", [DP_MASK_PARTIAL] = "partial", [DP_MASK_HASH] = "hash",
	[DP_MASK_REDACT] = "redact", [DP_MASK_NULL] = "null", [DP_MASK_CONSTANT] = "constant",
	[DP_MASK_UUID] = "uuid", [DP_MASK_TEMPLATE] = "template", [DP_MASK_SQL] = "sql", NULL,
};

const char *dp_mask_kind_name(enum dp_mask_kind kind)
{
	return (size_t)kind < sizeof(mask_kinds) / sizeof(mask_kinds[0]) - 1 ? mask_kinds[kind] : "?";
}

static int line_of(struct fy_node *n)
{
	int line, col;
	pos_of(n, &line, &col);
	return line;
}

/* "DB.TABLE.COLUMN" (parts 3) or "DB.TABLE" (parts 2) of plain identifiers. */
static bool split_ref(const char *s, int parts, char **out)
{
	const char *p = s;

	for (int i = 0; i < parts; i++) {
		const char *e = i + 1 < parts ? strchr(p, '.') : p + strlen(p);
		if (e == NULL || e == p || e - p > 128)
			return false;
		for (const char *q = p; q < e; q++)
			if (!(isalnum((unsigned char)*q) || *q == '_' || *q == '$' || *q == '-'))
				return false;
		out[i] = strndup(p, (size_t)(e - p));
		if (out[i] == NULL)
			abort();
		p = *e ? e + 1 : e;
	}
	return true;
}

/* A rule's key: DB.TABLE.COLUMN, or for PostgreSQL DB.SCHEMA.TABLE.COLUMN
 * (TABLE becomes "SCHEMA.TABLE") and either followed by .$.KEY.KEY... to
 * mask the values at that path inside a json/jsonb column. */
static bool split_rule_ref(const char *ref, char **parts, char **json_path)
{
	const char *d = NULL;
	char *head, *four[4] = { 0 };
	bool ok;

	*json_path = NULL;
	for (const char *q = strstr(ref, ".$"); q; q = strstr(q + 1, ".$"))
		if (q[2] == '.' || q[2] == '\0') {
			d = q;
			break;
		}
	if (d) {
		const char *k = d + 2;
		if (*k == '\0')
			return false; /* "$" alone is the whole column: write the plain key */
		while (*k == '.') {
			const char *e = k + 1 + strcspn(k + 1, ".");
			if (e == k + 1)
				return false;
			k = e;
		}
		*json_path = xstrdup(d + 1);
	}
	head = d ? strndup(ref, (size_t)(d - ref)) : xstrdup(ref);
	if (head == NULL)
		abort();
	ok = split_ref(head, 4, four);
	if (ok) {
		parts[0] = four[0];
		if (asprintf(&parts[1], "%s.%s", four[1], four[2]) < 0)
			abort();
		parts[2] = four[3];
		free(four[1]);
		free(four[2]);
	} else {
		for (int i = 0; i < 4; i++)
			free(four[i]);
		ok = split_ref(head, 3, parts);
	}
	free(head);
	if (!ok) {
		free(*json_path);
		*json_path = NULL;
	}
	return ok;
}

static bool same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcasecmp(a, b) == 0);
}

/* The options each kind takes; the first is what a scalar shorthand sets
 * ({date: 90} is {date: {days: 90}}). */
static const char *const *mask_opt_keys(enum dp_mask_kind kind)
{
	static const char *const none[] = { NULL }, *const name[] = { "part", NULL },
				 *const date[] = { "days", NULL }, *const number[] = { "percent", NULL },
				 *const partial[] = { "keep_last", "keep_first", NULL },
				 *const hash[] = { "length", NULL }, *const text[] = { "value", NULL };
	switch (kind) {
	case DP_MASK_NAME: return name;
	case DP_MASK_DATE: return date;
	case DP_MASK_NUMBER: return number;
	case DP_MASK_PARTIAL: return partial;
	case DP_MASK_HASH: return hash;
	case DP_MASK_CONSTANT: case DP_MASK_TEMPLATE: case DP_MASK_SQL: return text;
	default: return none;
	}
}

static int set_mask_opt(ctx *c, dp_mask_rule *r, const char *opt, struct fy_node *v, struct fy_node *k,
			const char *where)
{
	char key[1024];
	const char *val;
	dp_error *inner = NULL;
	uint64_t u;

	snprintf(key, sizeof(key), "%s.%s", where, opt);
	if (strcmp(opt, "value") == 0) {
		/* a constant may be "" and an expression may say anything */
		size_t len = 0;
		const char *raw = v && fy_node_is_scalar(v) ? fy_node_get_scalar(v, &len) : NULL;
		if (raw == NULL || (len == 0 && r->kind != DP_MASK_CONSTANT))
			return bad(c, v ? v : k, key, "expected a text value");
		if (memchr(raw, '\0', len))
			return bad(c, v, key, "contains a NUL byte");
		r->text = strndup(raw, len);
		if (r->text == NULL)
			abort();
		return 0;
	}
	if (want_scalar(c, v, k, key, &val) < 0)
		return -1;
	if (strcmp(opt, "part") == 0) {
		if (strcmp(val, "full") == 0)
			r->part = DP_NAME_FULL;
		else if (strcmp(val, "first") == 0)
			r->part = DP_NAME_FIRST;
		else if (strcmp(val, "last") == 0)
			r->part = DP_NAME_LAST;
		else
			return bad(c, v, key, "expected first, last or full, got '%s'", val);
		return 0;
	}
	if (strcmp(opt, "percent") == 0) {
		char *end = NULL;
		double d;
		errno = 0;
		d = strtod(val, &end);
		if (errno || end == val || *end != '\0' || !(d > 0 && d <= 100))
			return bad(c, v, key, "expected a percentage above 0 and at most 100, got '%s'", val);
		r->percent = d;
		return 0;
	}
	{
		uint64_t hi = strcmp(opt, "length") == 0 ? 64 : strcmp(opt, "days") == 0 ? 36500 : 1000;
		uint64_t lo = strcmp(opt, "length") == 0 || strcmp(opt, "days") == 0 ? 1 : 0;
		if (dp_parse_uint(key, val, lo, hi, &u, &inner) < 0)
			return located(c, v, key, &inner);
	}
	if (strcmp(opt, "days") == 0)
		r->days = (uint32_t)u;
	else if (strcmp(opt, "length") == 0)
		r->length = (uint32_t)u;
	else if (strcmp(opt, "keep_first") == 0)
		r->keep_first = (uint32_t)u;
	else
		r->keep_last = (uint32_t)u;
	return 0;
}

/* One rule's value: KIND, {KIND: SCALAR} or {KIND: {opt: v, ...}}. */
static int load_mask_rule(ctx *c, struct fy_node *keyn, struct fy_node *v, const char *where, dp_mask_rule *r)
{
	struct fy_node *kindn = v, *opts = NULL;
	const char *kind;
	const char *const *keys;
	size_t i;

	if (v != NULL && fy_node_is_mapping(v)) {
		struct fy_node_pair *p;
		void *it = NULL;
		if (fy_node_mapping_item_count(v) != 1)
			return bad(c, keyn, where, "expected one transformer, e.g. email or {partial: {keep_last: 4}}");
		p = fy_node_mapping_iterate(v, &it);
		kindn = fy_node_pair_key(p);
		opts = fy_node_pair_value(p);
	}
	kind = scalar(kindn);
	if (kind == NULL || kind[0] == '\0')
		return bad(c, v ? v : keyn, where, "expected a transformer such as email, name, phone or redact");
	for (i = 0; mask_kinds[i]; i++)
		if (strcmp(kind, mask_kinds[i]) == 0)
			break;
	if (mask_kinds[i] == NULL)
		return unknown_key(c, kindn, where, kind, mask_kinds);
	r->kind = (enum dp_mask_kind)i;
	r->days = 30;
	r->percent = 10;
	r->keep_last = 4;
	r->length = 16;
	keys = mask_opt_keys(r->kind);
	if (opts == NULL || (fy_node_is_scalar(opts) && fy_node_get_style(opts) == FYNS_PLAIN &&
			     (scalar(opts)[0] == '\0' || strcmp(scalar(opts), "~") == 0 || strcmp(scalar(opts), "null") == 0))) {
		if (keys[0] && strcmp(keys[0], "value") == 0)
			return bad(c, kindn, where, "%s needs a value, e.g. {%s: \"...\"}", kind, kind);
		return 0;
	}
	if (fy_node_is_scalar(opts)) {
		if (keys[0] == NULL)
			return bad(c, opts, where, "%s takes no options", kind);
		return set_mask_opt(c, r, keys[0], opts, kindn, where);
	}
	if (!fy_node_is_mapping(opts))
		return bad(c, opts, where, "expected the options of %s as a mapping", kind);
	{
		struct fy_node_pair *p;
		void *it = NULL;
		char sub[640];
		snprintf(sub, sizeof(sub), "%s.%s", where, kind);
		while ((p = fy_node_mapping_iterate(opts, &it)) != NULL) {
			struct fy_node *ok = fy_node_pair_key(p);
			const char *opt = scalar(ok);
			size_t j;
			if (opt == NULL)
				return bad(c, ok, sub, "keys must be plain words");
			for (j = 0; keys[j] && strcmp(keys[j], opt) != 0; j++)
				;
			if (keys[j] == NULL) {
				if (keys[0] == NULL)
					return bad(c, ok, sub, "%s takes no options", kind);
				return unknown_key(c, ok, sub, opt, keys);
			}
			if (set_mask_opt(c, r, opt, fy_node_pair_value(p), ok, sub) < 0)
				return -1;
		}
	}
	if (r->kind == DP_MASK_CONSTANT || r->kind == DP_MASK_TEMPLATE || r->kind == DP_MASK_SQL) {
		if (r->text == NULL)
			return bad(c, kindn, where, "%s needs a value", kind);
	}
	return 0;
}

static int load_masking(ctx *c, struct fy_node *keyn, struct fy_node *map, dp_spec *s)
{
	static const char *const keys[] = { "strict", "rules", "allow", NULL };
	struct fy_node_pair *p;
	void *it = NULL;

	if (map == NULL || !fy_node_is_mapping(map))
		return bad(c, keyn, "masking", "expected a mapping such as {strict: true, rules: {main.users.email: email}}");
	while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
		const char *key = scalar(k), *val;

		if (key == NULL)
			return bad(c, k, "masking", "keys must be plain words");
		if (strcmp(key, "strict") == 0) {
			if (want_scalar(c, v, k, "masking.strict", &val) < 0)
				return -1;
			if (strcmp(val, "true") == 0 || strcmp(val, "yes") == 0)
				s->mask_strict = true;
			else if (strcmp(val, "false") == 0 || strcmp(val, "no") == 0)
				s->mask_strict = false;
			else
				return bad(c, v, "masking.strict", "expected true or false, got '%s'", val);
		} else if (strcmp(key, "rules") == 0) {
			struct fy_node_pair *rp;
			void *ri = NULL;
			if (v == NULL || !fy_node_is_mapping(v))
				return bad(c, k, "masking.rules", "expected a mapping {DB.TABLE.COLUMN: transformer}");
			s->rules = calloc((size_t)fy_node_mapping_item_count(v) + 1, sizeof(dp_mask_rule));
			if (s->rules == NULL)
				abort();
			while ((rp = fy_node_mapping_iterate(v, &ri)) != NULL) {
				struct fy_node *rk = fy_node_pair_key(rp);
				const char *ref = scalar(rk);
				dp_mask_rule *r = &s->rules[s->n_rules++];
				char *parts[3] = { 0 }, where[300];
				if (ref == NULL || !split_rule_ref(ref, parts, &r->json_path)) {
					free(parts[0]);
					free(parts[1]);
					return bad(c, rk, "masking.rules",
						   "expected keys of the form DB.TABLE.COLUMN (PostgreSQL: also "
						   "DB.SCHEMA.TABLE.COLUMN, and .$.KEY.KEY after either for a path in a json "
						   "column), got '%s'",
						   ref ? ref : "");
				}
				r->db = parts[0];
				r->table = parts[1];
				r->column = parts[2];
				r->line = line_of(rk);
				for (size_t j = 0; j + 1 < s->n_rules; j++) {
					const dp_mask_rule *o = &s->rules[j];
					if (strcmp(o->db, r->db) != 0 || strcasecmp(o->table, r->table) != 0 ||
					    strcasecmp(o->column, r->column) != 0)
						continue;
					if (same_str(o->json_path, r->json_path))
						return bad(c, rk, "masking.rules", "%s has two rules", ref);
					if (o->json_path == NULL || r->json_path == NULL)
						return bad(c, rk, "masking.rules",
							   "%s: the column has a rule for the whole value and one for a "
							   "path inside it; keep one of them", ref);
				}
				snprintf(where, sizeof(where), "masking.rules.%s", ref);
				if (load_mask_rule(c, rk, fy_node_pair_value(rp), where, r) < 0)
					return -1;
				if (r->json_path && (r->kind == DP_MASK_TEMPLATE || r->kind == DP_MASK_SQL))
					return bad(c, rk, where, "template and sql cannot apply to a path inside a json column");
			}
		} else if (strcmp(key, "allow") == 0) {
			struct fy_node *e;
			void *si = NULL;
			if (v == NULL || !fy_node_is_sequence(v))
				return bad(c, k, "masking.allow", "expected a list of DB.TABLE.COLUMN known to hold no personal data");
			s->allow = calloc((size_t)fy_node_sequence_item_count(v) + 1, sizeof(char *));
			s->allow_lines = calloc((size_t)fy_node_sequence_item_count(v) + 1, sizeof(int));
			if (s->allow == NULL || s->allow_lines == NULL)
				abort();
			while ((e = fy_node_sequence_iterate(v, &si)) != NULL) {
				const char *ref = scalar(e);
				char *parts[3] = { 0 }, *jp = NULL;
				if (ref == NULL || !split_rule_ref(ref, parts, &jp) || jp) {
					free(parts[0]);
					free(parts[1]);
					free(parts[2]);
					free(jp);
					return bad(c, e, "masking.allow", "expected DB.TABLE.COLUMN (PostgreSQL: or "
						   "DB.SCHEMA.TABLE.COLUMN), got '%s'", ref ? ref : "");
				}
				for (int j = 0; j < 3; j++)
					free(parts[j]);
				s->allow_lines[s->n_allow] = line_of(e);
				s->allow[s->n_allow++] = xstrdup(ref);
			}
		} else {
			return unknown_key(c, k, "masking", key, keys);
		}
	}
	return 0;
}

static int load_subset(ctx *c, struct fy_node *keyn, struct fy_node *map, dp_spec *s)
{
	struct fy_node_pair *tp;
	void *ti = NULL;
	size_t n = 0;

	if (map == NULL || !fy_node_is_mapping(map))
		return bad(c, keyn, "subset", "expected {TIER: {DB.TABLE: \"WHERE expression\"}}");
	while ((tp = fy_node_mapping_iterate(map, &ti)) != NULL) {
		struct fy_node *v = fy_node_pair_value(tp);
		n += v && fy_node_is_mapping(v) ? (size_t)fy_node_mapping_item_count(v) : 0;
	}
	s->subsets = calloc(n + 1, sizeof(dp_subset_rule));
	if (s->subsets == NULL)
		abort();
	ti = NULL;
	while ((tp = fy_node_mapping_iterate(map, &ti)) != NULL) {
		struct fy_node *tk = fy_node_pair_key(tp), *v = fy_node_pair_value(tp);
		const char *tier = scalar(tk);
		struct fy_node_pair *p;
		void *it = NULL;
		char where[128];

		if (tier == NULL || !valid_name(tier))
			return bad(c, tk, "subset", "expected a tier name");
		snprintf(where, sizeof(where), "subset.%s", tier);
		if (v == NULL || !fy_node_is_mapping(v))
			return bad(c, tk, where, "expected {DB.TABLE: \"WHERE expression\"}");
		while ((p = fy_node_mapping_iterate(v, &it)) != NULL) {
			struct fy_node *k = fy_node_pair_key(p), *w = fy_node_pair_value(p);
			const char *ref = scalar(k), *expr;
			char *parts[2] = { 0 }, key[300];
			dp_subset_rule *r;
			if (ref == NULL || !split_ref(ref, 2, parts)) {
				free(parts[0]);
				return bad(c, k, where, "expected keys of the form DB.TABLE, got '%s'", ref ? ref : "");
			}
			r = &s->subsets[s->n_subsets++];
			r->tier = xstrdup(tier);
			r->db = parts[0];
			r->table = parts[1];
			r->line = line_of(k);
			snprintf(key, sizeof(key), "%s.%s", where, ref);
			if (want_scalar(c, w, k, key, &expr) < 0)
				return -1;
			if (strchr(expr, ';'))
				return bad(c, w, key, "expected one WHERE expression, without ';'");
			r->where = xstrdup(expr);
		}
	}
	return 0;
}

/* Rules and subsets may come before production and tiers in the file; their
 * database and tier names are checked once everything is read. */
static int check_refs(ctx *c, dp_spec *s)
{
	for (size_t i = 0; i < s->n_rules; i++) {
		dp_mask_rule *r = &s->rules[i];
		size_t j;
		for (j = 0; j < s->n_dbs && strcmp(s->dbs[j].name, r->db) != 0; j++)
			;
		if (j == s->n_dbs)
			return dp_usage(c->err, "%s:%d: masking.rules.%s.%s.%s: no database named '%s' in production.databases",
					c->file, r->line, r->db, r->table, r->column, r->db);
		if (s->dbs[j].sqlite && (r->json_path || strchr(r->table, '.')))
			return dp_usage(c->err, "%s:%d: masking.rules.%s.%s.%s%s%s: %s is an SQLite database; schemas "
					"and json paths in rule keys are for PostgreSQL databases",
					c->file, r->line, r->db, r->table, r->column, r->json_path ? "." : "",
					r->json_path ? r->json_path : "", r->db);
	}
	for (size_t i = 0; i < s->n_allow; i++) {
		size_t j, n = strcspn(s->allow[i], ".");
		for (j = 0; j < s->n_dbs && !(strlen(s->dbs[j].name) == n && strncmp(s->dbs[j].name, s->allow[i], n) == 0); j++)
			;
		if (j == s->n_dbs)
			return dp_usage(c->err, "%s:%d: masking.allow: %s: no database named '%.*s' in production.databases",
					c->file, s->allow_lines[i], s->allow[i], (int)n, s->allow[i]);
	}
	for (size_t i = 0; i < s->n_subsets; i++) {
		dp_subset_rule *r = &s->subsets[i];
		size_t j;
		for (j = 0; j < s->n_dbs && strcmp(s->dbs[j].name, r->db) != 0; j++)
			;
		if (j == s->n_dbs)
			return dp_usage(c->err, "%s:%d: subset.%s.%s.%s: no database named '%s' in production.databases",
					c->file, r->line, r->tier, r->db, r->table, r->db);
		if (dp_spec_tier(s, r->tier) == NULL)
			return dp_usage(c->err, "%s:%d: subset.%s: no tier named '%s' in tiers", c->file, r->line,
					r->tier, r->tier);
	}
	return 0;
}

/* A tier's "HOST: none" must remove something: a typo would otherwise leave
 * the host it meant in place. */
static int check_endpoint_refs(ctx *c, dp_spec *s)
{
	for (size_t t = 0; t < s->n_tiers; t++)
		for (size_t i = 0; i < s->tiers[t].n_endpoints; i++) {
			const dp_endpoint_spec *e = &s->tiers[t].endpoints[i];
			size_t j;
			if (e->mappings)
				continue;
			for (j = 0; j < s->n_endpoints && strcmp(s->endpoints[j].host, e->host) != 0; j++)
				;
			if (j == s->n_endpoints)
				return dp_usage(c->err, "%s:%d: tiers.%s.endpoints.%s: none removes a host of the top-level "
						"endpoints, and there is no '%s' there",
						c->file, e->line, s->tiers[t].name, e->host, e->host);
		}
	return 0;
}

bool dp_spec_db_file(const dp_spec *s, const char *rel)
{
	for (size_t i = 0; i < s->n_dbs; i++) {
		const char *db = s->dbs[i].sqlite;
		size_t n = db ? strlen(db) : 0;
		if (n && strncmp(db, rel, n) == 0 &&
		    (rel[n] == '\0' || strcmp(rel + n, "-wal") == 0 || strcmp(rel + n, "-shm") == 0 ||
		     strcmp(rel + n, "-journal") == 0))
			return true;
	}
	return false;
}

const dp_mask_rule *dp_spec_mask_rule(const dp_spec *s, const char *db, const char *table, const char *column)
{
	for (size_t i = 0; i < s->n_rules; i++)
		if (strcmp(s->rules[i].db, db) == 0 && strcasecmp(s->rules[i].table, table) == 0 &&
		    strcasecmp(s->rules[i].column, column) == 0)
			return &s->rules[i];
	return NULL;
}

bool dp_spec_mask_allowed(const dp_spec *s, const char *db, const char *table, const char *column)
{
	size_t ld = strlen(db), lt = strlen(table);

	for (size_t i = 0; i < s->n_allow; i++) {
		const char *a = s->allow[i];
		if (strncmp(a, db, ld) == 0 && a[ld] == '.' && strncasecmp(a + ld + 1, table, lt) == 0 &&
		    a[ld + 1 + lt] == '.' && strcasecmp(a + ld + lt + 2, column) == 0)
			return true;
	}
	return false;
}

bool dp_endpoint_host_valid(const char *h)
{
	size_t n = strlen(h), label = 0;
	unsigned char buf[sizeof(struct in6_addr)];
	const char *last;

	if (n == 0 || n > 253 || strcmp(h, "localhost") == 0 || inet_pton(AF_INET, h, buf) == 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = h[i];
		if (ch == '.') {
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!(islower((unsigned char)ch) || isdigit((unsigned char)ch) || ch == '-'))
			return false;
		if ((label == 0 && ch == '-') || ++label > 63)
			return false;
	}
	if (label == 0 || h[n - 1] == '-')
		return false;
	/* an all-digit last label reads as an address to resolvers (127.1, 10.0.0.1) */
	last = strrchr(h, '.');
	last = last ? last + 1 : h;
	for (const char *q = last; *q; q++)
		if (!isdigit((unsigned char)*q))
			return true;
	return false;
}

/* A mappings directory: relative to doppel.yaml's directory, or absolute;
 * it must exist and be a directory now. Returns the resolved path. */
static char *mappings_dir(ctx *c, struct fy_node *at, const char *key, const char *val)
{
	char *joined = NULL, *real;
	struct stat st;

	if (val[0] == '/') {
		joined = xstrdup(val);
	} else {
		const char *slash = strrchr(c->file, '/');
		char cwd[4096];
		if (slash == NULL) {
			if (getcwd(cwd, sizeof(cwd)) == NULL) {
				dp_fail_errno(c->err, "%s: current directory", c->file);
				return NULL;
			}
			if (asprintf(&joined, "%s/%s", cwd, val) < 0)
				abort();
		} else if (asprintf(&joined, "%.*s/%s", (int)(slash - c->file), c->file, val) < 0) {
			abort();
		}
	}
	real = realpath(joined, NULL);
	if (real == NULL) {
		int e = errno;
		bad(c, at, key, "mappings directory '%s' (%s): %s", val, joined, strerror(e));
		free(joined);
		return NULL;
	}
	free(joined);
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		bad(c, at, key, "'%s' is not a directory; expected a directory of WireMock mappings", val);
		free(real);
		return NULL;
	}
	return real;
}

/* endpoints: {HOST: {mappings: DIR}} (and, in a tier, HOST: none). */
static int load_endpoints(ctx *c, struct fy_node *keyn, const char *section, struct fy_node *map, bool allow_none,
			  dp_endpoint_spec **out, size_t *n)
{
	static const char *const keys[] = { "mappings", NULL };
	struct fy_node_pair *p;
	void *it = NULL;

	if (map == NULL || !fy_node_is_mapping(map))
		return bad(c, keyn, section, "expected a mapping {HOST: {mappings: DIR}}, e.g. "
				     "api.payments.example: {mappings: mocks/payments}");
	*out = calloc((size_t)fy_node_mapping_item_count(map) + 1, sizeof(dp_endpoint_spec));
	if (*out == NULL)
		abort();
	while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
		const char *raw = scalar(k);
		dp_endpoint_spec *e = &(*out)[*n];
		char where[320];
		struct fy_node_pair *ep;
		void *ei = NULL;

		if (raw == NULL || raw[0] == '\0')
			return bad(c, k, section, "expected a host name as the key");
		if (strlen(raw) > 253)
			return bad(c, k, section, "host name longer than 253 characters");
		e->host = xstrdup(raw);
		for (char *q = e->host; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		e->line = line_of(k);
		(*n)++;
		snprintf(where, sizeof(where), "%s.%s", section, e->host);
		if (!dp_endpoint_host_valid(e->host))
			return bad(c, k, where, "expected a DNS host name such as api.payments.example (letters, digits, "
				   "'-' and '.'; not an IP address, not localhost)");
		for (size_t j = 0; j + 1 < *n; j++)
			if (strcmp((*out)[j].host, e->host) == 0)
				return bad(c, k, where, "host given twice");
		if (allow_none && scalar(v) && strcmp(scalar(v), "none") == 0)
			continue;
		if (v == NULL || !fy_node_is_mapping(v))
			return bad(c, v && fy_node_get_scalar_token(v) ? v : k, where, "expected {mappings: DIR}%s",
				   allow_none ? " or none" : "");
		while ((ep = fy_node_mapping_iterate(v, &ei)) != NULL) {
			struct fy_node *mk = fy_node_pair_key(ep), *mv = fy_node_pair_value(ep);
			const char *key = scalar(mk), *val;
			char full[340];
			if (key == NULL)
				return bad(c, mk, where, "keys must be plain words");
			if (strcmp(key, "mappings") != 0)
				return unknown_key(c, mk, where, key, keys);
			snprintf(full, sizeof(full), "%s.mappings", where);
			if (want_scalar(c, mv, mk, full, &val) < 0)
				return -1;
			free(e->mappings);
			e->mappings = mappings_dir(c, mv, full, val);
			if (e->mappings == NULL)
				return -1;
		}
		if (e->mappings == NULL)
			return bad(c, k, where, "missing 'mappings: DIR' (a directory of WireMock mappings)");
	}
	return 0;
}

static int cmp_endpoint(const void *a, const void *b)
{
	return strcmp((*(const dp_endpoint_spec *const *)a)->host, (*(const dp_endpoint_spec *const *)b)->host);
}

int dp_spec_tier_endpoints(const dp_spec *s, const dp_tier *t, const dp_endpoint_spec ***out, size_t *n,
			   dp_error **err)
{
	size_t cap = s->n_endpoints + (t ? t->n_endpoints : 0), k = 0;
	const dp_endpoint_spec **v;

	*out = NULL;
	*n = 0;
	if (cap == 0)
		return 0;
	v = calloc(cap, sizeof(*v));
	if (v == NULL)
		return dp_fail(err, ENOMEM, "endpoints");
	for (size_t i = 0; i < s->n_endpoints; i++) {
		bool overridden = false;
		for (size_t j = 0; t && j < t->n_endpoints; j++)
			overridden |= strcmp(t->endpoints[j].host, s->endpoints[i].host) == 0;
		if (!overridden)
			v[k++] = &s->endpoints[i];
	}
	for (size_t j = 0; t && j < t->n_endpoints; j++)
		if (t->endpoints[j].mappings)
			v[k++] = &t->endpoints[j];
	qsort(v, k, sizeof(*v), cmp_endpoint);
	*out = v;
	*n = k;
	return 0;
}

static int load_root(ctx *c, struct fy_node *root, dp_spec *s)
{
	static const char *const keys[] = { "version", "production", "tiers", "sync", "masking", "subset",
					    "endpoints", "synthetic", NULL };
	void *it = NULL;
	struct fy_node_pair *p;
	bool have_version = false, have_tiers = false;

	if (root == NULL || !fy_node_is_mapping(root))
		return bad(c, root, "doppel.yaml", "expected a mapping with version, production and tiers");
	while ((p = fy_node_mapping_iterate(root, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
		const char *key = scalar(k);

		if (key == NULL)
			return bad(c, k, "doppel.yaml", "keys must be plain words");
		if (strcmp(key, "version") == 0) {
			const char *val = scalar(v);
			if (val == NULL || strcmp(val, "1") != 0)
				return bad(c, v ? v : k, "version", "expected 1, got '%s'", val ? val : "");
			have_version = true;
		} else if (strcmp(key, "production") == 0) {
			if (load_production(c, k, v, s) < 0)
				return -1;
		} else if (strcmp(key, "tiers") == 0) {
			void *ti = NULL;
			struct fy_node_pair *tp;
			if (v == NULL || !fy_node_is_mapping(v) || fy_node_mapping_item_count(v) == 0)
				return bad(c, k, "tiers", "expected a mapping of tier names to settings, e.g. dev: {memory: 1G}");
			s->tiers = calloc((size_t)fy_node_mapping_item_count(v), sizeof(dp_tier));
			if (s->tiers == NULL)
				abort();
			while ((tp = fy_node_mapping_iterate(v, &ti)) != NULL) {
				const char *name = scalar(fy_node_pair_key(tp));
				if (name == NULL)
					return bad(c, fy_node_pair_key(tp), "tiers", "tier names must be plain words");
				if (load_tier(c, fy_node_pair_key(tp), name, fy_node_pair_value(tp), &s->tiers[s->n_tiers++]) < 0)
					return -1;
			}
			have_tiers = true;
		} else if (strcmp(key, "sync") == 0) {
			if (load_sync(c, k, v, s) < 0)
				return -1;
		} else if (strcmp(key, "masking") == 0) {
			if (load_masking(c, k, v, s) < 0)
				return -1;
		} else if (strcmp(key, "subset") == 0) {
			if (load_subset(c, k, v, s) < 0)
				return -1;
		} else if (strcmp(key, "endpoints") == 0) {
			if (s->endpoints != NULL)
				return bad(c, k, key, "given twice");
			if (load_endpoints(c, k, "endpoints", v, false, &s->endpoints, &s->n_endpoints) < 0)
				return -1;
		} else if (strcmp(key, "synthetic") == 0) {
			return bad(c, k, key, "not supported by this version of doppel yet; remove the section");
		} else {
			return unknown_key(c, k, "doppel.yaml", key, keys);
		}
	}
	if (!have_version)
		return bad(c, root, "version", "missing; the first line should be 'version: 1'");
	if (s->root == NULL)
		return bad(c, root, "production", "missing; describe production with at least 'root'");
	if (!have_tiers)
		dp_spec_default_tiers(&s->tiers, &s->n_tiers);
	if (check_endpoint_refs(c, s) < 0)
		return -1;
	return check_refs(c, s);
}

/* Blank lines and comments only (libfyaml then reports an internal error). */
static bool only_comments(const char *file)
{
	FILE *f = fopen(file, "re");
	bool in_comment = false, r = true;
	int ch;

	if (f == NULL)
		return false;
	while (r && (ch = fgetc(f)) != EOF) {
		if (ch == '\n')
			in_comment = false;
		else if (ch == '#')
			in_comment = true;
		else if (!in_comment && !isspace(ch))
			r = false;
	}
	fclose(f);
	return r;
}

int dp_spec_load(const char *file, dp_spec **out, dp_error **err)
{
	char first_error[DP_YAML_DIAG_MAX] = "";
	struct fy_diag *diag;
	struct fy_parse_cfg pcfg = { .flags = FYPCF_QUIET | FYPCF_DEFAULT_DOC };
	struct fy_document *doc;
	dp_spec *s;
	ctx c = { .file = file, .err = err };
	FILE *probe;

	probe = fopen(file, "re");
	if (probe == NULL) {
		if (errno == ENOENT)
			return dp_usage(err, "%s: not found; write one with 'doppel init'", file);
		return dp_fail_errno(err, "%s", file);
	}
	if (fgetc(probe) == EOF) {
		fclose(probe);
		return dp_usage(err, "%s: the file is empty; expected 'version: 1' and a production section", file);
	}
	fclose(probe);
	diag = dp_yaml_diag_new(first_error);
	if (diag == NULL)
		return dp_fail(err, ENOMEM, "%s: yaml diagnostics", file);
	pcfg.diag = diag;
	doc = fy_document_build_from_file(&pcfg, file);
	if (doc == NULL && only_comments(file)) {
		/* libfyaml says nothing useful about a file without a document */
		fy_diag_unref(diag);
		return dp_usage(err, "%s: empty; it needs at least 'version: 1' and production.root (see 'doppel init')",
				file);
	}
	if (doc == NULL) {
		int line = 0, col = 0, off = 0;
		size_t n = strlen(file);
		/* "FILE:L:C: error: msg" -> "FILE:L:C: not valid YAML: msg" */
		if (strncmp(first_error, file, n) == 0 &&
		    sscanf(first_error + n, ":%d:%d: error: %n", &line, &col, &off) == 2 && off > 0)
			dp_usage(err, "%s:%d:%d: not valid YAML: %s", file, line, col, first_error + n + off);
		else
			dp_usage(err, "%s: not valid YAML: %s", file, first_error[0] ? first_error : "parse error");
		fy_diag_unref(diag);
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		abort();
	s->file = xstrdup(file);
	s->mask_strict = true;
	if (load_root(&c, fy_document_root(doc), s) < 0) {
		fy_document_destroy(doc);
		fy_diag_unref(diag);
		dp_spec_free(s);
		return -1;
	}
	fy_document_destroy(doc);
	fy_diag_unref(diag);
	*out = s;
	return 0;
}

static void endpoints_free(dp_endpoint_spec *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].host);
		free(e[i].mappings);
	}
	free(e);
}

void dp_spec_free(dp_spec *s)
{
	if (s == NULL)
		return;
	free(s->file);
	free(s->root);
	for (size_t i = 0; i < s->n_exclude; i++)
		free(s->exclude[i]);
	free(s->exclude);
	for (size_t i = 0; i < s->n_dbs; i++) {
		free(s->dbs[i].name);
		free(s->dbs[i].sqlite);
		free(s->dbs[i].postgres);
		free(s->dbs[i].password_file);
		free(s->dbs[i].password_env);
	}
	free(s->dbs);
	for (size_t i = 0; i < s->n_secrets; i++) {
		free(s->secrets[i].name);
		free(s->secrets[i].value);
	}
	free(s->secrets);
	for (size_t i = 0; i < s->n_rules; i++) {
		free(s->rules[i].db);
		free(s->rules[i].table);
		free(s->rules[i].column);
		free(s->rules[i].json_path);
		free(s->rules[i].text);
	}
	free(s->rules);
	for (size_t i = 0; i < s->n_allow; i++)
		free(s->allow[i]);
	free(s->allow_lines);
	free(s->allow);
	for (size_t i = 0; i < s->n_subsets; i++) {
		free(s->subsets[i].tier);
		free(s->subsets[i].db);
		free(s->subsets[i].table);
		free(s->subsets[i].where);
	}
	free(s->subsets);
	for (size_t i = 0; i < s->n_tiers; i++) {
		free(s->tiers[i].name);
		endpoints_free(s->tiers[i].endpoints, s->tiers[i].n_endpoints);
	}
	free(s->tiers);
	endpoints_free(s->endpoints, s->n_endpoints);
	free(s);
}

const dp_tier *dp_spec_tier(const dp_spec *s, const char *name)
{
	for (size_t i = 0; i < s->n_tiers; i++)
		if (strcmp(s->tiers[i].name, name) == 0)
			return &s->tiers[i];
	return NULL;
}
