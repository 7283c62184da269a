/* Loading and validating doppel.yaml with libfyaml; see spec.h. Each section
 * has a table of the keys it accepts, so an unknown key is caught where it is
 * and answered with the closest known one. */
#include "spec/spec.h"

#include <ctype.h>
#include <errno.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse.h"
#include "util/path.h"

#define MAX_BYTES (1ull << 50)

typedef struct ctx {
	const char *file;
	dp_error **err;
} ctx;

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

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

static int unknown_key(ctx *c, struct fy_node *at, const char *section, const char *key,
		       const char *const *known)
{
	const char *best = NULL;
	size_t best_d = 3;
	char list[256] = "";

	for (const char *const *k = known; *k; k++) {
		size_t d = edit_distance(key, *k);
		if (d < best_d) {
			best_d = d;
			best = *k;
		}
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
	static const char *const keys[] = { "memory", "pids", "cpus", "disk", "network", "data", NULL };
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
			static const char *const dbkeys[] = { "name", "sqlite", "postgres", NULL };
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
					if (strcmp(dkey, "name") != 0 && strcmp(dkey, "sqlite") != 0 && strcmp(dkey, "postgres") != 0)
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
					} else {
						db->postgres = xstrdup(dval);
					}
				}
				if (db->name == NULL)
					return bad(c, e, "production.databases", "an entry has no 'name'");
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
		} else if (strcmp(key, "masking") == 0 || strcmp(key, "subset") == 0 || strcmp(key, "endpoints") == 0 ||
			   strcmp(key, "synthetic") == 0) {
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
	return 0;
}

/* libfyaml reports syntax errors through this; keep the first one. */
static void capture_diag(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	char *first = user;
	(void)diag;

	if (first[0] != '\0')
		return;
	if (len >= 511)
		len = 511;
	memcpy(first, buf, len);
	first[len] = '\0';
	first[strcspn(first, "\n")] = '\0';
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
	char first_error[512] = "";
	struct fy_diag_cfg dcfg;
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
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = capture_diag;
	dcfg.user = first_error;
	dcfg.level = FYET_ERROR;
	dcfg.colorize = false;
	dcfg.show_source = false;
	dcfg.show_position = true;
	dcfg.show_type = false;
	dcfg.show_module = false;
	dcfg.position_width = 0;
	diag = fy_diag_create(&dcfg);
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
	}
	free(s->dbs);
	for (size_t i = 0; i < s->n_secrets; i++) {
		free(s->secrets[i].name);
		free(s->secrets[i].value);
	}
	free(s->secrets);
	for (size_t i = 0; i < s->n_tiers; i++)
		free(s->tiers[i].name);
	free(s->tiers);
	free(s);
}

const dp_tier *dp_spec_tier(const dp_spec *s, const char *name)
{
	for (size_t i = 0; i < s->n_tiers; i++)
		if (strcmp(s->tiers[i].name, name) == 0)
			return &s->tiers[i];
	return NULL;
}
