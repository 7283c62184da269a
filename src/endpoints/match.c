/* Request matching and near-miss distance; see match.h. This runs for every
 * mapping on every request, so string matchers work on the request as the
 * server stored it, without copies or allocation; only the JSON matchers
 * parse the body. Each part the pattern names (method, url, each query
 * parameter, header, cookie, body pattern, basic auth) counts once towards
 * the distance, so a near miss scores lower than a request that misses
 * everything. */
#include "endpoints/match.h"

#include <ctype.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "endpoints/jsonpath.h"

/* Unordered JSON array comparison is a bipartite matching; above this many
 * element pairs the request is refused rather than burning the CPU. */
#define MAX_ARRAY_PAIRS (1u << 20)

static bool regex_whole(const regex_t *re, const char *s, size_t len)
{
	/* REG_STARTEND: the value's own length, so NULs in a body neither end
	 * the match early nor need a copy */
	regmatch_t m = { .rm_so = 0, .rm_eo = (regoff_t)len };

	return regexec(re, s, 1, &m, REG_STARTEND) == 0;
}

static bool has_substring(const ep_pattern *p, const char *s, size_t len)
{
	size_t n = p->operand_len;

	if (n == 0)
		return true;
	if (n > len)
		return false;
	if (!p->case_insensitive)
		return memmem(s, len, p->operand, n) != NULL;
	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(s + i, p->operand, n) == 0) /* the operand has no NUL */
			return true;
	return false;
}

/* JSON equality as WireMock's equalToJson sees it: numbers by value
 * (1 == 1.0), extra object members and array items allowed on request,
 * array order ignored on request. */
static bool json_match(const json_t *e, const json_t *a, bool any_order, bool extra);

static bool kuhn(size_t i, size_t na, const unsigned char *ok, size_t *owner, unsigned char *seen)
{
	for (size_t j = 0; j < na; j++) {
		if (!ok[i * na + j] || seen[j])
			continue;
		seen[j] = 1;
		if (owner[j] == SIZE_MAX || kuhn(owner[j], na, ok, owner, seen)) {
			owner[j] = i;
			return true;
		}
	}
	return false;
}

static bool array_match_any_order(const json_t *e, const json_t *a, bool extra)
{
	size_t ne = json_array_size(e), na = json_array_size(a);
	unsigned char *ok, *seen;
	size_t *owner;
	bool all = true;

	if (ne == 0)
		return true;
	if (ne > MAX_ARRAY_PAIRS / na)
		return false;
	ok = calloc(ne * na, 1);
	seen = malloc(na);
	owner = malloc(na * sizeof(*owner));
	if (ok == NULL || seen == NULL || owner == NULL) {
		all = false;
		goto out;
	}
	for (size_t i = 0; i < ne; i++)
		for (size_t j = 0; j < na; j++)
			ok[i * na + j] = json_match(json_array_get(e, i), json_array_get(a, j), true, extra);
	for (size_t j = 0; j < na; j++)
		owner[j] = SIZE_MAX;
	for (size_t i = 0; i < ne && all; i++) {
		memset(seen, 0, na);
		all = kuhn(i, na, ok, owner, seen);
	}
out:
	free(ok);
	free(seen);
	free(owner);
	return all;
}

static bool json_match(const json_t *e, const json_t *a, bool any_order, bool extra)
{
	if (json_is_number(e) && json_is_number(a)) {
		if (json_is_integer(e) && json_is_integer(a))
			return json_integer_value(e) == json_integer_value(a);
		return json_number_value(e) == json_number_value(a);
	}
	if (json_typeof(e) != json_typeof(a))
		return false;
	if (json_is_object(e)) {
		const char *k;
		json_t *ev;
		if (!extra && json_object_size(e) != json_object_size(a))
			return false;
		json_object_foreach((json_t *)e, k, ev) {
			json_t *av = json_object_get(a, k);
			if (av == NULL || !json_match(ev, av, any_order, extra))
				return false;
		}
		return true;
	}
	if (json_is_array(e)) {
		size_t ne = json_array_size(e), na = json_array_size(a);
		if (ne > na || (!extra && ne != na))
			return false;
		if (any_order)
			return array_match_any_order(e, a, extra);
		for (size_t i = 0; i < ne; i++)
			if (!json_match(json_array_get(e, i), json_array_get(a, i), any_order, extra))
				return false;
		return true;
	}
	return json_equal((json_t *)e, (json_t *)a);
}

/* A selected value counts unless it is null or an empty array, as in
 * WireMock, where "$.items" on {"items": []} is no match. */
static bool selected(const json_t *v)
{
	return !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0);
}

static bool match_json_path(const ep_pattern *p, const char *value, size_t len)
{
	json_t *doc = json_loadb(value, len, JSON_DECODE_ANY, NULL), *sel, *v;
	bool ok = false;
	size_t i;

	if (doc == NULL)
		return false;
	sel = ep_jsonpath_eval(p->operand, doc);
	json_decref(doc);
	if (sel == NULL)
		return false;
	if (p->sub != NULL && p->sub->op == EP_OP_ABSENT) {
		ok = true;
		json_array_foreach(sel, i, v) ok = ok && !selected(v);
	} else {
		json_array_foreach(sel, i, v) {
			char *s;
			if (!selected(v))
				continue;
			if (p->sub == NULL) {
				ok = true;
				break;
			}
			if (json_is_string(v)) {
				ok = ep_match_value(p->sub, json_string_value(v), json_string_length(v));
			} else if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) != NULL) {
				ok = ep_match_value(p->sub, s, strlen(s));
				free(s);
			}
			if (ok)
				break;
		}
	}
	json_decref(sel);
	return ok;
}

bool ep_match_value(const ep_pattern *p, const char *value, size_t len)
{
	if (p->op == EP_OP_ANY)
		return true;
	if (p->op == EP_OP_ABSENT || value == NULL)
		return p->op == EP_OP_ABSENT && value == NULL;
	switch (p->op) {
	case EP_OP_EQUAL_TO:
		if (len != p->operand_len)
			return false;
		return p->case_insensitive ? strncasecmp(value, p->operand, len) == 0
					   : memcmp(value, p->operand, len) == 0;
	case EP_OP_CONTAINS:
		return has_substring(p, value, len);
	case EP_OP_DOES_NOT_CONTAIN:
		return !has_substring(p, value, len);
	case EP_OP_MATCHES:
		return regex_whole(&p->re, value, len);
	case EP_OP_DOES_NOT_MATCH:
		return !regex_whole(&p->re, value, len);
	case EP_OP_EQUAL_TO_JSON: {
		json_t *a = json_loadb(value, len, JSON_DECODE_ANY, NULL);
		bool ok = a != NULL && json_match(p->json, a, p->ignore_array_order, p->ignore_extra_elements);
		json_decref(a);
		return ok;
	}
	case EP_OP_MATCHES_JSON_PATH:
		return match_json_path(p, value, len);
	default:
		return false;
	}
}

/* ---- why a request missed --------------------------------------------- */

typedef struct why_buf {
	char *p;
	size_t cap, len;
} why_buf;

static void why_raw(why_buf *w, const char *s, size_t n)
{
	if (w->p == NULL || w->cap == 0)
		return;
	for (size_t i = 0; i < n && w->len + 1 < w->cap; i++)
		w->p[w->len++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	w->p[w->len] = '\0';
}

static void why_fmt(why_buf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why_fmt(why_buf *w, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	if (w->p == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		why_raw(w, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A value quoted and cut short, so one long header cannot crowd out the
 * other reasons. */
static void why_value(why_buf *w, const char *s, size_t n)
{
	why_raw(w, "'", 1);
	why_raw(w, s, n > 60 ? 60 : n);
	why_raw(w, n > 60 ? "...'" : "'", n > 60 ? 4 : 1);
}

static void why_next(why_buf *w)
{
	if (w->p != NULL && w->len > 0)
		why_raw(w, "; ", 2);
}

static const char *op_name(enum ep_op op)
{
	static const char *const names[] = {
		[EP_OP_ANY] = "anything",
		[EP_OP_EQUAL_TO] = "equalTo",
		[EP_OP_CONTAINS] = "contains",
		[EP_OP_DOES_NOT_CONTAIN] = "doesNotContain",
		[EP_OP_MATCHES] = "matches",
		[EP_OP_DOES_NOT_MATCH] = "doesNotMatch",
		[EP_OP_ABSENT] = "absent",
		[EP_OP_EQUAL_TO_JSON] = "equalToJson",
		[EP_OP_MATCHES_JSON_PATH] = "matchesJsonPath",
	};
	return (unsigned)op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

static void why_pattern(why_buf *w, const ep_pattern *p)
{
	why_fmt(w, "%s", op_name(p->op));
	if (p->op != EP_OP_ABSENT && p->operand != NULL) {
		why_raw(w, " ", 1);
		why_value(w, p->operand, p->operand_len);
	}
}

/* ---- the parts of a request ------------------------------------------- */

/* A named pattern matches when any value of that name does; a name not
 * present is the absent value. */
static bool match_named(const ep_named_pattern *np, const ep_kv *kv, size_t n, bool fold_names,
			const char **first)
{
	bool seen = false;

	for (size_t i = 0; i < n; i++) {
		const char *v = kv[i].value ? kv[i].value : "";
		if (kv[i].name == NULL ||
		    (fold_names ? strcasecmp(kv[i].name, np->name) : strcmp(kv[i].name, np->name)) != 0)
			continue;
		if (!seen)
			*first = v;
		seen = true;
		if (ep_match_value(&np->p, v, strlen(v)))
			return true;
	}
	return !seen && ep_match_value(&np->p, NULL, 0);
}

static void check_named(const char *what, const ep_named_pattern *v, size_t n, const ep_kv *kv, size_t nkv,
			bool fold_names, why_buf *w, unsigned *failed)
{
	for (size_t i = 0; i < n; i++) {
		const char *first = NULL;
		if (match_named(&v[i], kv, nkv, fold_names, &first))
			continue;
		(*failed)++;
		if (w->p == NULL)
			continue;
		why_next(w);
		why_fmt(w, "%s %s: ", what, v[i].name);
		if (first == NULL) {
			why_fmt(w, "absent, expected ");
			why_pattern(w, &v[i].p);
		} else {
			why_value(w, first, strlen(first));
			why_fmt(w, " is not ");
			why_pattern(w, &v[i].p);
		}
	}
}

static bool match_basic_auth(const ep_request_pattern *p, const ep_request *r)
{
	const char *h = ep_request_header(r, "Authorization");
	unsigned char buf[1024];
	size_t n, len, ul, pl;

	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return false;
	for (h += 6; *h == ' '; h++)
		;
	for (len = strlen(h); len > 0 && h[len - 1] == ' '; len--)
		;
	if (sodium_base642bin(buf, sizeof(buf), h, len, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	ul = strlen(p->basic_user);
	pl = strlen(p->basic_pass);
	return n == ul + 1 + pl && memcmp(buf, p->basic_user, ul) == 0 && buf[ul] == ':' &&
	       memcmp(buf + ul + 1, p->basic_pass, pl) == 0;
}

static bool match_url(const ep_request_pattern *p, const ep_request *r)
{
	const char *url = r->url ? r->url : "", *path = r->path ? r->path : "";

	switch (p->url_kind) {
	case EP_URL_EQUAL: return strcmp(url, p->url) == 0;
	case EP_URL_PATH: return strcmp(path, p->url) == 0;
	case EP_URL_REGEX: return regex_whole(&p->url_re, url, strlen(url));
	case EP_URL_PATH_REGEX: return regex_whole(&p->url_re, path, strlen(path));
	default: return true;
	}
}

static bool method_ok(const ep_request_pattern *p, const ep_request *r)
{
	return p->method == NULL || strcmp(p->method, "ANY") == 0 ||
	       (r->method != NULL && strcmp(p->method, r->method) == 0);
}

static bool all_named(const ep_named_pattern *v, size_t n, const ep_kv *kv, size_t nkv, bool fold_names)
{
	for (size_t i = 0; i < n; i++) {
		const char *first = NULL;
		if (!match_named(&v[i], kv, nkv, fold_names, &first))
			return false;
	}
	return true;
}

bool ep_request_matches(const ep_request_pattern *p, const ep_request *r)
{
	if (!method_ok(p, r) || !match_url(p, r) || !all_named(p->headers, p->n_headers, r->headers, r->n_headers, true) ||
	    !all_named(p->query, p->n_query, r->query, r->n_query, false) ||
	    !all_named(p->cookies, p->n_cookies, r->cookies, r->n_cookies, false) ||
	    (p->basic_user != NULL && !match_basic_auth(p, r)))
		return false;
	for (size_t i = 0; i < p->n_body; i++)
		if (!ep_match_value(&p->body[i], r->body ? r->body : "", r->body ? r->body_len : 0))
			return false;
	return true;
}

double ep_match_request(const ep_request_pattern *p, const ep_request *r, char *why, size_t why_len)
{
	why_buf w = { .p = why, .cap = why_len };
	unsigned parts = 0, failed = 0;

	if (why != NULL && why_len > 0)
		why[0] = '\0';
	if (p->method != NULL && strcmp(p->method, "ANY") != 0) {
		parts++;
		if (!method_ok(p, r)) {
			failed++;
			why_next(&w);
			why_fmt(&w, "method: expected %s, got %s", p->method, r->method ? r->method : "none");
		}
	}
	if (p->url_kind != EP_URL_ANY) {
		parts++;
		if (!match_url(p, r)) {
			static const char *const kind[] = { "", "url", "urlPath", "urlPattern", "urlPathPattern" };
			const char *got = p->url_kind == EP_URL_EQUAL || p->url_kind == EP_URL_REGEX ? r->url : r->path;
			failed++;
			why_next(&w);
			why_fmt(&w, "%s: ", kind[p->url_kind]);
			why_value(&w, got ? got : "", got ? strlen(got) : 0);
			why_fmt(&w, " is not ");
			why_value(&w, p->url, strlen(p->url));
		}
	}
	parts += (unsigned)(p->n_query + p->n_headers + p->n_cookies + p->n_body);
	check_named("query", p->query, p->n_query, r->query, r->n_query, false, &w, &failed);
	check_named("header", p->headers, p->n_headers, r->headers, r->n_headers, true, &w, &failed);
	check_named("cookie", p->cookies, p->n_cookies, r->cookies, r->n_cookies, false, &w, &failed);
	for (size_t i = 0; i < p->n_body; i++) {
		if (ep_match_value(&p->body[i], r->body ? r->body : "", r->body ? r->body_len : 0))
			continue;
		failed++;
		why_next(&w);
		why_fmt(&w, "body: not ");
		why_pattern(&w, &p->body[i]);
	}
	if (p->basic_user != NULL) {
		parts++;
		if (!match_basic_auth(p, r)) {
			failed++;
			why_next(&w);
			why_fmt(&w, "basic auth: expected user '%s'", p->basic_user);
		}
	}
	return parts == 0 ? 0.0 : (double)failed / parts;
}
