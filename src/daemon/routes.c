/* The route table and the checks on what clients send; see routes.h.
 * Paths are matched undecoded: a name is [a-z0-9-], which never needs
 * percent-encoding, so "%2e%2e" or "%2f" in a name is simply not a name. */
#include "daemon/routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/parse.h"

#define MAX_SEGMENTS 8
#define STR_MAX 4096 /* a free-form string field */

enum ftype {
	F_NAME,  /* dp_check_name */
	F_STR,   /* printable text up to STR_MAX */
	F_BOOL,
	F_UINT,  /* integer >= 0 */
	F_ARGV,  /* array of strings */
	F_B64,   /* base64 text */
};

typedef struct field {
	const char *key;
	enum ftype type;
	bool required;
	const char *what; /* for dp_check_name's message */
} field;

enum { Q_FORCE = 1, Q_ALL = 2, Q_SINCE = 4, Q_HOST = 8 };

typedef struct route {
	const char *method;
	const char *path; /* segments; "{}" is the name */
	dpd_op op;
	bool mutates;
	bool body;          /* takes a JSON body at all */
	unsigned query;     /* Q_* allowed */
	const char *name_what;
	const field *fields; /* NULL-key-terminated */
} route;

static const field f_none[] = { { NULL, 0, false, NULL } };
static const field f_sync[] = { { "verify", F_BOOL, false, NULL }, { NULL, 0, false, NULL } };
static const field f_create[] = {
	{ "name", F_NAME, true, "sandbox name" },
	{ "tier", F_STR, false, NULL },
	{ "from", F_UINT, false, NULL },
	{ NULL, 0, false, NULL },
};
static const field f_checkpoint[] = { { "label", F_NAME, true, "checkpoint label" }, { NULL, 0, false, NULL } };
static const field f_reset[] = {
	{ "to", F_NAME, false, "checkpoint label" },
	{ "force", F_BOOL, false, NULL },
	{ NULL, 0, false, NULL },
};
static const field f_rebase[] = {
	{ "keep_changes", F_BOOL, false, NULL },
	{ "force", F_BOOL, false, NULL },
	{ NULL, 0, false, NULL },
};
static const field f_run[] = {
	{ "argv", F_ARGV, true, NULL },
	{ "stdin", F_B64, false, NULL },
	{ NULL, 0, false, NULL },
};
static const field f_scan[] = { { "min_length", F_UINT, false, NULL }, { NULL, 0, false, NULL } };
static const field f_synth[] = {
	{ "table", F_STR, true, NULL },
	{ "rows", F_UINT, true, NULL },
	{ "seed", F_UINT, false, NULL },
	{ NULL, 0, false, NULL },
};
static const field f_scenario[] = {
	{ "host", F_STR, true, NULL },
	{ "scenario", F_STR, true, NULL },
	{ "state", F_STR, true, NULL },
	{ NULL, 0, false, NULL },
};
static const field f_token[] = {
	{ "name", F_NAME, true, "token name" },
	{ "user", F_STR, false, NULL },
	{ "expires", F_UINT, false, NULL },
	{ NULL, 0, false, NULL },
};

static const route routes[] = {
	{ "GET", "/v1/version", DPD_OP_VERSION, false, false, 0, NULL, f_none },
	{ "GET", "/v1/whoami", DPD_OP_WHOAMI, false, false, 0, NULL, f_none },
	{ "GET", "/v1/snapshots", DPD_OP_SNAPSHOTS, false, false, 0, NULL, f_none },
	{ "POST", "/v1/sync", DPD_OP_SYNC, true, true, 0, NULL, f_sync },
	{ "GET", "/v1/sandboxes", DPD_OP_LIST, false, false, 0, NULL, f_none },
	{ "POST", "/v1/sandboxes", DPD_OP_CREATE, true, true, 0, NULL, f_create },
	{ "GET", "/v1/sandboxes/{}/diff", DPD_OP_DIFF, false, false, 0, "sandbox name", f_none },
	{ "GET", "/v1/sandboxes/{}/drift", DPD_OP_DRIFT, false, false, 0, "sandbox name", f_none },
	{ "POST", "/v1/sandboxes/{}/checkpoints", DPD_OP_CHECKPOINT, true, true, 0, "sandbox name", f_checkpoint },
	{ "POST", "/v1/sandboxes/{}/reset", DPD_OP_RESET, true, true, 0, "sandbox name", f_reset },
	{ "POST", "/v1/sandboxes/{}/rebase", DPD_OP_REBASE, true, true, 0, "sandbox name", f_rebase },
	{ "POST", "/v1/sandboxes/{}/run", DPD_OP_RUN, false, true, 0, "sandbox name", f_run },
	{ "POST", "/v1/sandboxes/{}/scan", DPD_OP_SCAN, false, true, 0, "sandbox name", f_scan },
	{ "POST", "/v1/sandboxes/{}/synth", DPD_OP_SYNTH, true, true, 0, "sandbox name", f_synth },
	{ "GET", "/v1/sandboxes/{}/endpoints", DPD_OP_ENDPOINTS, false, false, 0, "sandbox name", f_none },
	{ "GET", "/v1/sandboxes/{}/endpoints/journal", DPD_OP_ENDPOINTS_JOURNAL, false, false, Q_HOST, "sandbox name",
	  f_none },
	{ "POST", "/v1/sandboxes/{}/endpoints/scenario", DPD_OP_ENDPOINTS_SCENARIO, true, true, 0, "sandbox name",
	  f_scenario },
	{ "DELETE", "/v1/sandboxes/{}", DPD_OP_DESTROY, true, false, Q_FORCE, "sandbox name", f_none },
	{ "GET", "/v1/audit", DPD_OP_AUDIT, false, false, Q_SINCE, NULL, f_none },
	{ "GET", "/v1/audit/verify", DPD_OP_AUDIT_VERIFY, false, false, 0, NULL, f_none },
	{ "GET", "/v1/tokens", DPD_OP_TOKENS, false, false, Q_ALL, NULL, f_none },
	{ "POST", "/v1/tokens", DPD_OP_TOKEN_CREATE, true, true, 0, NULL, f_token },
	{ "DELETE", "/v1/tokens/{}", DPD_OP_TOKEN_REVOKE, true, false, 0, "token name", f_none },
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* Splits "/a/b/c" into at most MAX_SEGMENTS (start, length) pairs; -1 when
 * there are more, when it does not start with '/' or has an empty segment
 * (a trailing or doubled slash). */
static int split_path(const char *p, size_t len, const char **seg, size_t *seglen)
{
	int n = 0;
	size_t i = 0;

	if (len == 0 || p[0] != '/')
		return -1;
	while (i < len) {
		size_t start = ++i;
		while (i < len && p[i] != '/')
			i++;
		if (i == start || n == MAX_SEGMENTS)
			return -1;
		seg[n] = p + start;
		seglen[n++] = i - start;
	}
	return n;
}

/* Does the route's path match the segments? *name gets the {} segment. */
static bool path_matches(const route *r, const char **seg, const size_t *seglen, int n, const char **name,
			 size_t *namelen)
{
	const char *pseg[MAX_SEGMENTS];
	size_t plen[MAX_SEGMENTS];
	int pn = split_path(r->path, strlen(r->path), pseg, plen);

	if (pn != n)
		return false;
	for (int i = 0; i < n; i++) {
		if (plen[i] == 2 && memcmp(pseg[i], "{}", 2) == 0) {
			*name = seg[i];
			*namelen = seglen[i];
		} else if (plen[i] != seglen[i] || memcmp(pseg[i], seg[i], plen[i]) != 0) {
			return false;
		}
	}
	return true;
}

/* A query value of our kinds is plain [0-9a-z]: no decoding needed. */
static int query_bool(const char *key, const char *v, size_t n, bool *out, dp_error **err)
{
	if ((n == 1 && v[0] == '1') || (n == 4 && memcmp(v, "true", 4) == 0)) {
		*out = true;
		return 0;
	}
	if ((n == 1 && v[0] == '0') || (n == 5 && memcmp(v, "false", 5) == 0)) {
		*out = false;
		return 0;
	}
	return dp_usage(err, "query %s: expected 1, 0, true or false, got '%.*s'", key, (int)(n > 64 ? 64 : n), v);
}

/* A host name as it is: no percent-decoding, so only characters that
 * never need it. */
static int query_host(const char *v, size_t n, char *out, dp_error **err)
{
	if (n == 0 || n > DPD_HOST_MAX)
		return dp_usage(err, "query host: expected a host name of 1 to %d characters", DPD_HOST_MAX);
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= '0' && v[i] <= '9') ||
		      v[i] == '.' || v[i] == '-' || v[i] == '_'))
			return dp_usage(err, "query host: expected a host name (letters, digits, '.', '-', '_')");
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

static int parse_query(const route *r, const char *q, dpd_call *c, dp_error **err)
{
	bool seen_force = false, seen_all = false, seen_since = false, seen_host = false;

	while (q && *q) {
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		size_t klen = eq ? (size_t)(eq - q) : n;
		const char *v = eq ? eq + 1 : "";
		size_t vlen = eq ? n - klen - 1 : 0;

		if (n == 0) {
			q++;
			continue;
		}
		if ((r->query & Q_FORCE) && klen == 5 && memcmp(q, "force", 5) == 0 && !seen_force) {
			seen_force = true;
			if (query_bool("force", v, vlen, &c->force, err) < 0)
				return -1;
		} else if ((r->query & Q_ALL) && klen == 3 && memcmp(q, "all", 3) == 0 && !seen_all) {
			seen_all = true;
			if (query_bool("all", v, vlen, &c->all, err) < 0)
				return -1;
		} else if ((r->query & Q_SINCE) && klen == 5 && memcmp(q, "since", 5) == 0 && !seen_since) {
			char num[24];
			uint64_t s;
			seen_since = true;
			if (vlen == 0 || vlen >= sizeof(num))
				return dp_usage(err, "query since: expected unix seconds");
			memcpy(num, v, vlen);
			num[vlen] = '\0';
			if (dp_parse_uint("query since", num, 0, INT64_MAX, &s, err) < 0)
				return -1;
			c->since = (int64_t)s;
		} else if ((r->query & Q_HOST) && klen == 4 && memcmp(q, "host", 4) == 0 && !seen_host) {
			seen_host = true;
			if (query_host(v, vlen, c->host, err) < 0)
				return -1;
		} else {
			return dp_usage(err, "query parameter '%.*s' is unknown or repeated here", (int)(klen > 64 ? 64 : klen),
					q);
		}
		q += n;
		if (*q == '&')
			q++;
	}
	return 0;
}

/* Text a person could have typed: no control characters. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool base64_text(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '+' ||
		      *s == '/' || *s == '='))
			return false;
	return true;
}

static int check_argv(const char *key, json_t *v, bool empty_ok, dp_error **err)
{
	size_t i;
	json_t *w;

	if (!json_is_array(v))
		return dp_usage(err, "%s: expected an array of strings", key);
	if (json_array_size(v) == 0 && !empty_ok)
		return dp_usage(err, "%s: expected at least one word", key);
	if (json_array_size(v) > DPD_ARGV_MAX)
		return dp_usage(err, "%s: more than %u words", key, DPD_ARGV_MAX);
	json_array_foreach(v, i, w)
		if (!json_is_string(w))
			return dp_usage(err, "%s[%zu]: expected a string", key, i);
	return 0;
}

static int check_field(const field *f, json_t *v, dp_error **err)
{
	switch (f->type) {
	case F_NAME:
		if (!json_is_string(v))
			return dp_usage(err, "%s: expected a string", f->key);
		return dp_check_name(f->what, json_string_value(v), err);
	case F_STR:
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > STR_MAX ||
		    !printable(json_string_value(v)))
			return dp_usage(err, "%s: expected a non-empty string of printable characters", f->key);
		return 0;
	case F_BOOL:
		return json_is_boolean(v) ? 0 : dp_usage(err, "%s: expected true or false", f->key);
	case F_UINT:
		return json_is_integer(v) && json_integer_value(v) >= 0
			       ? 0
			       : dp_usage(err, "%s: expected a whole number >= 0", f->key);
	case F_ARGV:
		return check_argv(f->key, v, false, err);
	case F_B64:
		return json_is_string(v) && base64_text(json_string_value(v))
			       ? 0
			       : dp_usage(err, "%s: expected base64 text", f->key);
	}
	return dp_usage(err, "%s: unexpected", f->key);
}

/* Every key known, of the right type; required ones present. */
static int check_object(json_t *obj, const field *fields, dp_error **err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		const field *f = fields;
		while (f->key && strcmp(f->key, key) != 0)
			f++;
		if (f->key == NULL)
			return dp_usage(err, "unknown field '%.64s'", key);
		if (check_field(f, v, err) < 0)
			return -1;
	}
	for (const field *f = fields; f->key; f++)
		if (f->required && json_object_get(obj, f->key) == NULL)
			return dp_usage(err, "missing field '%s'", f->key);
	return 0;
}

static int parse_body(const route *r, const char *body, size_t len, json_t **out, dp_error **err)
{
	json_error_t je;
	json_t *j;

	if (len == 0) {
		j = json_object();
		if (j == NULL)
			return dp_fail(err, ENOMEM, "request body");
		if (check_object(j, r->fields, err) < 0) {
			json_decref(j);
			return dp_wrap(err, "request body");
		}
		*out = j;
		return 0;
	}
	if (!r->body)
		return dp_usage(err, "%s %s takes no body", r->method, r->path);
	if (len > DPD_BODY_MAX)
		return dp_usage(err, "request body over %u bytes", DPD_BODY_MAX);
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		return dp_usage(err, "request body: line %d column %d: %s", je.line, je.column, je.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return dp_usage(err, "request body: expected a JSON object");
	}
	if (check_object(j, r->fields, err) < 0) {
		json_decref(j);
		return dp_wrap(err, "request body");
	}
	*out = j;
	return 0;
}

int dpd_route(const char *method, const char *raw_url, const char *body, size_t body_len, dpd_call *out,
	      dpd_refusal *why, dp_error **err)
{
	const char *seg[MAX_SEGMENTS], *name = NULL, *query;
	size_t seglen[MAX_SEGMENTS], namelen = 0, plen;
	const route *hit = NULL;
	int n;

	memset(out, 0, sizeof(*out));
	memset(why, 0, sizeof(*why));
	query = strchr(raw_url, '?');
	plen = query ? (size_t)(query - raw_url) : strlen(raw_url);
	n = split_path(raw_url, plen, seg, seglen);
	if (n < 0) {
		why->status = 404;
		return dp_usage(err, "no such route: %.*s", (int)(plen > 200 ? 200 : plen), raw_url);
	}
	for (size_t i = 0; i < N_ROUTES; i++) {
		const char *nm = NULL;
		size_t nl = 0;
		if (!path_matches(&routes[i], seg, seglen, n, &nm, &nl))
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			hit = &routes[i];
			name = nm;
			namelen = nl;
			break;
		}
		/* the methods this path takes, for 405's Allow */
		if (why->allow[0])
			strncat(why->allow, ", ", sizeof(why->allow) - strlen(why->allow) - 1);
		strncat(why->allow, routes[i].method, sizeof(why->allow) - strlen(why->allow) - 1);
	}
	if (hit == NULL && why->allow[0]) {
		why->status = 405;
		return dp_usage(err, "method %.16s is not allowed here; this path takes %s", method, why->allow);
	}
	if (hit == NULL) {
		why->status = 404;
		return dp_usage(err, "no such route: %.*s", (int)(plen > 200 ? 200 : plen), raw_url);
	}
	why->allow[0] = '\0';
	why->status = 400;
	out->op = hit->op;
	out->mutates = hit->mutates;
	if (name) {
		char nm[64];
		if (namelen >= sizeof(nm))
			return dp_usage(err, "%s '%.32s...': longer than 63 characters", hit->name_what, name);
		memcpy(nm, name, namelen);
		nm[namelen] = '\0';
		if (dp_check_name(hit->name_what, nm, err) < 0)
			return -1;
		memcpy(out->name, nm, namelen + 1);
	}
	if (parse_query(hit, query ? query + 1 : NULL, out, err) < 0)
		return -1;
	if (body_len > DPD_BODY_MAX) {
		why->status = 413;
		return dp_usage(err, "request body over %u bytes", DPD_BODY_MAX);
	}
	if (parse_body(hit, body, body_len, &out->body, err) < 0)
		return -1;
	why->status = 0;
	return 0;
}

void dpd_call_clear(dpd_call *c)
{
	json_decref(c->body);
	memset(c, 0, sizeof(*c));
}

/* --- the run socket's request -------------------------------------------- */

static char **string_array(json_t *a, size_t *n)
{
	size_t i, k = json_array_size(a);
	json_t *w;
	char **v = calloc(k + 1, sizeof(char *));

	if (v == NULL)
		return NULL;
	json_array_foreach(a, i, w) {
		v[i] = strdup(json_string_value(w));
		if (v[i] == NULL) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return NULL;
		}
	}
	if (n)
		*n = k;
	return v;
}

static void free_strings(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

/* A size as "256M" text or a number of bytes. */
static int run_size(json_t *v, uint64_t *out, dp_error **err)
{
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v))
		return dp_parse_size("mem", json_string_value(v), 1ull << 50, out, err);
	return dp_usage(err, "mem: expected a size such as \"512M\" or a number of bytes");
}

static int run_pids(json_t *v, uint64_t *out, dp_error **err)
{
	if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 4194304) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v))
		return dp_parse_uint("pids", json_string_value(v), 1, 4194304, out, err);
	return dp_usage(err, "pids: expected a whole number from 1 to 4194304");
}

static int run_cpus(json_t *v, uint32_t *out, dp_error **err)
{
	char num[32];

	if (json_is_string(v))
		return dp_parse_cpus("cpus", json_string_value(v), out, err);
	if (json_is_number(v)) {
		snprintf(num, sizeof(num), "%.3f", json_number_value(v));
		return dp_parse_cpus("cpus", num, out, err);
	}
	return dp_usage(err, "cpus: expected a number of CPUs such as \"1.5\"");
}

static int check_env(json_t *a, dp_error **err)
{
	size_t i;
	json_t *w;

	if (check_argv("env", a, true, err) < 0)
		return -1;
	if (json_array_size(a) > DPD_ENV_MAX)
		return dp_usage(err, "env: more than %u entries", DPD_ENV_MAX);
	json_array_foreach(a, i, w) {
		const char *s = json_string_value(w), *eq = strchr(s, '=');
		if (eq == NULL || eq == s)
			return dp_usage(err, "env[%zu]: expected NAME=VALUE", i);
	}
	return 0;
}

static const char *const run_keys[] = { "sandbox", "argv", "tty", "env", "chdir", "mem", "pids", "cpus", "net", NULL };

int dpd_run_from_json(json_t *j, dpd_run_req *out, dp_error **err)
{
	const char *key;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j))
		return dp_usage(err, "run request: expected a JSON object");
	json_object_foreach(j, key, v) {
		const char *const *k = run_keys;
		while (*k && strcmp(*k, key) != 0)
			k++;
		if (*k == NULL)
			return dp_usage(err, "run request: unknown field '%.64s'", key);
	}
	v = json_object_get(j, "sandbox");
	if (v == NULL)
		return dp_usage(err, "run request: missing field 'sandbox'");
	if (!json_is_string(v))
		return dp_usage(err, "run request: sandbox: expected a string");
	if (dp_check_name("sandbox name", json_string_value(v), err) < 0)
		return -1;
	snprintf(out->sandbox, sizeof(out->sandbox), "%s", json_string_value(v));
	if ((v = json_object_get(j, "tty")) && !json_is_boolean(v))
		return dp_usage(err, "run request: tty: expected true or false");
	out->tty = json_is_true(v);
	v = json_object_get(j, "argv");
	if (v && check_argv("argv", v, true, err) < 0)
		goto fail;
	if (v && json_array_size(v) > 0) {
		out->argv = string_array(v, NULL);
	} else {
		/* what `doppel run NAME` and `doppel shell NAME` run */
		bool bash = out->tty && access("/bin/bash", X_OK) == 0;
		const char *sh[] = { bash ? "/bin/bash" : "/bin/sh", bash ? "-l" : NULL, NULL };
		out->argv = calloc(3, sizeof(char *));
		if (out->argv && (out->argv[0] = strdup(sh[0])) && sh[1])
			out->argv[1] = strdup(sh[1]);
		if (out->argv && (out->argv[0] == NULL || (sh[1] && out->argv[1] == NULL))) {
			free_strings(out->argv);
			out->argv = NULL;
		}
	}
	if (out->argv == NULL) {
		dp_fail(err, ENOMEM, "run request");
		goto fail;
	}
	if ((v = json_object_get(j, "env"))) {
		if (check_env(v, err) < 0)
			goto fail;
		if ((out->env = string_array(v, &out->n_env)) == NULL) {
			dp_fail(err, ENOMEM, "run request");
			goto fail;
		}
	}
	if ((v = json_object_get(j, "chdir"))) {
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > STR_MAX ||
		    json_string_value(v)[0] != '/' || !printable(json_string_value(v))) {
			dp_usage(err, "run request: chdir: expected an absolute path");
			goto fail;
		}
		if ((out->chdir = strdup(json_string_value(v))) == NULL) {
			dp_fail(err, ENOMEM, "run request");
			goto fail;
		}
	}
	if ((v = json_object_get(j, "mem")) && run_size(v, &out->mem_bytes, err) < 0)
		goto fail;
	if ((v = json_object_get(j, "pids")) && run_pids(v, &out->pids, err) < 0)
		goto fail;
	if ((v = json_object_get(j, "cpus")) && run_cpus(v, &out->millicpus, err) < 0)
		goto fail;
	if ((v = json_object_get(j, "net"))) {
		if (!json_is_string(v) || strcmp(json_string_value(v), "none") != 0) {
			dp_usage(err, "run request: net: only \"none\" can be asked for (the tier sets the rest)");
			goto fail;
		}
		out->net_none = true;
	}
	return 0;
fail:
	dpd_run_clear(out);
	return dp_wrap(err, "run request");
}

int dpd_run_parse(const char *buf, size_t len, dpd_run_req *out, dp_error **err)
{
	json_error_t je;
	json_t *j;
	int r;

	memset(out, 0, sizeof(*out));
	if (len > DPD_BODY_MAX)
		return dp_usage(err, "run request over %u bytes", DPD_BODY_MAX);
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		return dp_usage(err, "run request: line %d column %d: %s", je.line, je.column, je.text);
	r = dpd_run_from_json(j, out, err);
	json_decref(j);
	return r;
}

json_t *dpd_run_to_json(const dpd_run_req *r)
{
	json_t *argv = json_array(), *env = json_array(), *j;
	bool ok = argv && env;

	for (char **a = r->argv; ok && a && *a; a++)
		ok = json_array_append_new(argv, json_string(*a)) == 0;
	for (size_t i = 0; ok && i < r->n_env; i++)
		ok = json_array_append_new(env, json_string(r->env[i])) == 0;
	if (!ok) {
		json_decref(argv);
		json_decref(env);
		return NULL;
	}
	/* "o" takes argv and env, also when packing fails */
	j = json_pack("{s:s, s:o, s:o, s:b}", "sandbox", r->sandbox, "argv", argv, "env", env, "tty", r->tty);
	if (j && r->chdir)
		ok = json_object_set_new(j, "chdir", json_string(r->chdir)) == 0;
	if (j && ok && r->mem_bytes)
		ok = json_object_set_new(j, "mem", json_integer((json_int_t)r->mem_bytes)) == 0;
	if (j && ok && r->pids)
		ok = json_object_set_new(j, "pids", json_integer((json_int_t)r->pids)) == 0;
	if (j && ok && r->millicpus) {
		char num[32];
		snprintf(num, sizeof(num), "%u.%03u", r->millicpus / 1000, r->millicpus % 1000);
		ok = json_object_set_new(j, "cpus", json_string(num)) == 0;
	}
	if (j && ok && r->net_none)
		ok = json_object_set_new(j, "net", json_string("none")) == 0;
	if (!ok) {
		json_decref(j);
		return NULL;
	}
	return j;
}

void dpd_run_clear(dpd_run_req *r)
{
	free_strings(r->argv);
	for (size_t i = 0; i < r->n_env; i++)
		free(r->env[i]);
	free(r->env);
	free(r->chdir);
	memset(r, 0, sizeof(*r));
}
