/* Response templating: the few Handlebars expressions WireMock stubs use
 * (see template.h), parsed by one function for both the load-time check and
 * rendering, so what passes the check is exactly what renders. Nothing is
 * HTML-escaped: WireMock JSON templates expect raw values, and {{{x}}}
 * renders like {{x}}. */
#include "endpoints/template.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "endpoints/jsonpath.h"

#define MAX_OUT (32u << 20)
#define MAX_RANDOM_LEN 10000
#define MAX_JSONPATH 1024

enum tag_kind {
	T_URL, T_PATH, T_PATH_SEGMENT, T_QUERY, T_HEADER, T_COOKIE, T_METHOD, T_HOST, T_SCHEME, T_BODY,
	T_JSONPATH, T_RANDOM, T_NOW,
};

enum random_type { R_UUID, R_ALPHANUMERIC, R_ALPHABETIC, R_NUMERIC, R_HEXADECIMAL };

typedef struct tag {
	enum tag_kind kind;
	const char *name;   /* query, header or cookie name */
	size_t name_len;
	size_t index;       /* the Nth value or path segment */
	char path[MAX_JSONPATH + 1];
	enum random_type rtype;
	size_t length;
	bool upper;
	char why[256];      /* room for a message that is not a constant */
} tag;

/* A token: a run of non-space bytes, quotes keeping spaces inside. */
static bool next_token(const char **p, const char *end, const char **tok, size_t *len)
{
	const char *s = *p;

	while (s < end && isspace((unsigned char)*s))
		s++;
	if (s == end)
		return false;
	*tok = s;
	while (s < end && !isspace((unsigned char)*s)) {
		if (*s == '\'' || *s == '"') {
			const char *q = memchr(s + 1, *s, (size_t)(end - s - 1));
			s = q ? q + 1 : end;
		} else {
			s++;
		}
	}
	*len = (size_t)(s - *tok);
	*p = s;
	return true;
}

static bool is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

/* 'text' or "text" without the quotes. */
static bool unquote(const char **s, size_t *n)
{
	if (*n < 2 || ((*s)[0] != '\'' && (*s)[0] != '"') || (*s)[*n - 1] != (*s)[0])
		return false;
	(*s)++;
	*n -= 2;
	return true;
}

/* The next '.'-separated segment of a request path expression; "[...]"
 * keeps dots and dashes inside ("headers.[X-Request-Id]"). */
static bool next_segment(const char **p, const char *end, const char **seg, size_t *len)
{
	const char *s = *p;

	if (s == end)
		return false;
	if (*s == '.')
		s++;
	if (s < end && *s == '[') {
		const char *close = memchr(s, ']', (size_t)(end - s));
		if (close == NULL)
			return false;
		*seg = s + 1;
		*len = (size_t)(close - s - 1);
		*p = close + 1;
		return true;
	}
	*seg = s;
	while (s < end && *s != '.')
		s++;
	*len = (size_t)(s - *seg);
	*p = s;
	return *len > 0;
}

static bool parse_index(const char *s, size_t n, size_t *out)
{
	size_t v = 0;

	if (n == 0 || n > 6)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (size_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

static int parse_request_expr(const char *s, size_t n, tag *t, const char **why)
{
	static const struct {
		const char *name;
		enum tag_kind kind;
	} simple[] = {
		{ "url", T_URL }, { "method", T_METHOD }, { "host", T_HOST },
		{ "scheme", T_SCHEME }, { "body", T_BODY },
	};
	const char *p = s + strlen("request"), *end = s + n, *seg, *arg;
	size_t len, alen;

	if (!next_segment(&p, end, &seg, &len)) {
		*why = "expected request.FIELD";
		return -1;
	}
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		if (is(seg, len, simple[i].name)) {
			t->kind = simple[i].kind;
			goto done;
		}
	if (is(seg, len, "path") || is(seg, len, "pathSegments")) {
		t->kind = T_PATH;
		if (next_segment(&p, end, &arg, &alen)) {
			if (!parse_index(arg, alen, &t->index)) {
				*why = "expected a segment number: request.path.[N]";
				return -1;
			}
			t->kind = T_PATH_SEGMENT;
		} else if (is(seg, len, "pathSegments")) {
			*why = "expected request.pathSegments.[N]";
			return -1;
		}
		goto done;
	}
	if (is(seg, len, "query") || is(seg, len, "headers") || is(seg, len, "cookies")) {
		t->kind = seg[0] == 'q' ? T_QUERY : seg[0] == 'h' ? T_HEADER : T_COOKIE;
		if (!next_segment(&p, end, &t->name, &t->name_len) || t->name_len == 0) {
			*why = "expected a name after it";
			return -1;
		}
		if (next_segment(&p, end, &arg, &alen) && (t->kind == T_COOKIE || !parse_index(arg, alen, &t->index))) {
			*why = "expected a value number: .[N]";
			return -1;
		}
		goto done;
	}
	*why = "unsupported request field (url, path, path.[N], query.NAME, headers.NAME, cookies.NAME, "
	       "method, host, scheme and body are supported)";
	return -1;
done:
	if (p != end) {
		*why = "unexpected text after the field";
		return -1;
	}
	return 0;
}

static int parse_random(const char *p, const char *end, tag *t, const char **why)
{
	static const struct {
		const char *name;
		enum random_type type;
	} types[] = {
		{ "UUID", R_UUID }, { "ALPHANUMERIC", R_ALPHANUMERIC }, { "ALPHABETIC", R_ALPHABETIC },
		{ "NUMERIC", R_NUMERIC }, { "HEXADECIMAL", R_HEXADECIMAL },
	};
	const char *tok;
	size_t len;
	bool has_type = false, has_length = false;

	while (next_token(&p, end, &tok, &len)) {
		const char *eq = memchr(tok, '=', len), *v;
		size_t vn;
		if (eq == NULL) {
			*why = "expected key=value arguments (type, length, uppercase)";
			return -1;
		}
		v = eq + 1;
		vn = len - (size_t)(v - tok);
		if (is(tok, (size_t)(eq - tok), "type")) {
			if (!unquote(&v, &vn)) {
				*why = "type must be quoted: type='UUID'";
				return -1;
			}
			for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
				if (is(v, vn, types[i].name)) {
					t->rtype = types[i].type;
					has_type = true;
				}
			if (!has_type) {
				*why = "unsupported type (UUID, ALPHANUMERIC, ALPHABETIC, NUMERIC, HEXADECIMAL)";
				return -1;
			}
		} else if (is(tok, (size_t)(eq - tok), "length")) {
			if (!parse_index(v, vn, &t->length) || t->length == 0 || t->length > MAX_RANDOM_LEN) {
				*why = "length must be 1 to 10000";
				return -1;
			}
			has_length = true;
		} else if (is(tok, (size_t)(eq - tok), "uppercase")) {
			if (!is(v, vn, "true") && !is(v, vn, "false")) {
				*why = "uppercase must be true or false";
				return -1;
			}
			t->upper = is(v, vn, "true");
		} else {
			*why = "unsupported argument (type, length and uppercase are supported)";
			return -1;
		}
	}
	if (!has_type) {
		*why = "expected type='...'";
		return -1;
	}
	if (t->rtype != R_UUID && !has_length) {
		*why = "expected length=N";
		return -1;
	}
	return 0;
}

static int parse_jsonpath(const char *p, const char *end, tag *t, const char **why)
{
	const char *src, *path;
	size_t sn, pn;
	dp_error *err = NULL;

	if (!next_token(&p, end, &src, &sn) || !is(src, sn, "request.body") || !next_token(&p, end, &path, &pn) ||
	    !unquote(&path, &pn)) {
		*why = "expected jsonPath request.body '$.path'";
		return -1;
	}
	if (next_token(&p, end, &src, &sn)) {
		*why = "unexpected argument after the path (default= is not supported)";
		return -1;
	}
	if (pn > MAX_JSONPATH) {
		*why = "JSON path is too long";
		return -1;
	}
	memcpy(t->path, path, pn);
	t->path[pn] = '\0';
	if (ep_jsonpath_check(t->path, &err) < 0) {
		snprintf(t->why, sizeof(t->why), "%s", err->msg);
		dp_error_free(&err);
		*why = t->why;
		return -1;
	}
	t->kind = T_JSONPATH;
	return 0;
}

/* One {{...}}'s inside, surrounding spaces included. */
static int parse_tag(const char *s, size_t n, tag *t, const char **why)
{
	const char *p = s, *end = s + n, *head;
	size_t hn;

	t->name = NULL;
	t->name_len = t->index = t->length = 0;
	t->path[0] = '\0';
	t->rtype = R_UUID;
	t->upper = false;
	if (!next_token(&p, end, &head, &hn)) {
		*why = "empty expression";
		return -1;
	}
	if (hn >= 7 && memcmp(head, "request", 7) == 0 && (hn == 7 || head[7] == '.')) {
		const char *rest;
		size_t rn;
		if (next_token(&p, end, &rest, &rn)) {
			*why = "unexpected text after the field";
			return -1;
		}
		return parse_request_expr(head, hn, t, why);
	}
	if (is(head, hn, "jsonPath"))
		return parse_jsonpath(p, end, t, why);
	if (is(head, hn, "randomValue")) {
		t->kind = T_RANDOM;
		return parse_random(p, end, t, why);
	}
	if (is(head, hn, "now")) {
		const char *rest;
		size_t rn;
		if (next_token(&p, end, &rest, &rn)) {
			*why = "now takes no arguments here (format and offset are not supported)";
			return -1;
		}
		t->kind = T_NOW;
		return 0;
	}
	if (head[0] == '#' || head[0] == '/' || head[0] == '^' || head[0] == '!' || head[0] == '>' ||
	    is(head, hn, "else"))
		*why = "block helpers, comments and partials are not supported";
	else
		*why = "unsupported helper or expression (see docs/endpoints.md)";
	return -1;
}

/* Finds the next tag from *pos: [open, close) is the whole {{...}} and
 * [in, in + in_len) its inside. 0: none left, 1: found, -1: unclosed. */
static int next_tag(const char *t, size_t len, size_t *pos, size_t *open, const char **in, size_t *in_len)
{
	const char *s = t + *pos, *end = t + len, *o, *c;
	bool triple;

	o = s < end ? memmem(s, (size_t)(end - s), "{{", 2) : NULL;
	if (o == NULL)
		return 0;
	triple = o + 2 < end && o[2] == '{';
	*open = (size_t)(o - t);
	*in = o + (triple ? 3 : 2);
	c = memmem(*in, (size_t)(end - *in), triple ? "}}}" : "}}", triple ? 3 : 2);
	if (c == NULL)
		return -1;
	*in_len = (size_t)(c - *in);
	*pos = (size_t)(c - t) + (triple ? 3 : 2);
	return 1;
}

static unsigned line_of(const char *t, size_t off)
{
	unsigned line = 1;

	for (size_t i = 0; i < off; i++)
		line += t[i] == '\n';
	return line;
}

int ep_template_check(const char *tmpl, size_t len, const char *where, dp_error **err)
{
	size_t pos = 0, open, in_len;
	const char *in, *why = NULL;
	tag t;
	int r;

	while ((r = next_tag(tmpl, len, &pos, &open, &in, &in_len)) != 0) {
		if (r < 0)
			return dp_usage(err, "%s, line %u: unclosed {{", where, line_of(tmpl, open));
		if (parse_tag(in, in_len, &t, &why) < 0)
			return dp_usage(err, "%s, line %u: {{%.*s}}: %s", where, line_of(tmpl, open),
					(int)(in_len > 200 ? 200 : in_len), in, why);
	}
	return 0;
}

/* ---- rendering ----------------------------------------------------------- */

typedef struct out {
	char *p;
	size_t len, cap;
	bool too_big;
} out;

static bool put(out *o, const char *s, size_t n)
{
	if (o->too_big || o->len + n > MAX_OUT) {
		o->too_big = true;
		return false;
	}
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		char *p;
		while (cap < o->len + n + 1)
			cap *= 2;
		if ((p = realloc(o->p, cap)) == NULL)
			return false;
		o->p = p;
		o->cap = cap;
	}
	if (n > 0)
		memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
	return true;
}

static bool put_str(out *o, const char *s)
{
	return s == NULL || put(o, s, strlen(s));
}

static const char *nth_kv(const ep_kv *kv, size_t n, const char *name, size_t name_len, size_t index, bool fold)
{
	for (size_t i = 0; i < n; i++) {
		const char *k = kv[i].name;
		if (k == NULL || strlen(k) != name_len ||
		    (fold ? strncasecmp(k, name, name_len) : strncmp(k, name, name_len)) != 0)
			continue;
		if (index-- == 0)
			return kv[i].value;
	}
	return NULL;
}

static bool put_path_segment(out *o, const char *path, size_t index)
{
	const char *s = path ? path : "";

	if (*s == '/')
		s++;
	for (;;) {
		const char *e = strchrnul(s, '/');
		if (index-- == 0)
			return put(o, s, (size_t)(e - s));
		if (*e == '\0')
			return true;
		s = e + 1;
	}
}

static bool put_jsonpath(out *o, const tag *t, const ep_request *r)
{
	json_t *doc, *sel;
	char *s = NULL;
	bool ok = true;

	if (r->body == NULL || (doc = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, NULL)) == NULL)
		return true; /* no JSON body: renders as nothing */
	sel = ep_jsonpath_eval(t->path, doc);
	json_decref(doc);
	if (sel == NULL)
		return true;
	if (json_array_size(sel) == 1 && json_is_string(json_array_get(sel, 0))) {
		json_t *v = json_array_get(sel, 0);
		ok = put(o, json_string_value(v), json_string_length(v));
	} else if (json_array_size(sel) > 0) {
		/* one value as itself, several as the array Jayway returns */
		json_t *v = json_array_size(sel) == 1 ? json_array_get(sel, 0) : sel;
		ok = (s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) != NULL && put_str(o, s);
	}
	free(s);
	json_decref(sel);
	return ok;
}

static bool put_random(out *o, const tag *t)
{
	static const char *const sets[] = {
		[R_ALPHANUMERIC] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		[R_ALPHABETIC] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
		[R_NUMERIC] = "0123456789",
		[R_HEXADECIMAL] = "0123456789abcdef",
	};
	char buf[MAX_RANDOM_LEN];
	size_t n;

	if (t->rtype == R_UUID) {
		unsigned char b[16];
		randombytes_buf(b, sizeof(b));
		b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
		b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
		n = (size_t)snprintf(buf, sizeof(buf),
				     "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
				     b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
				     b[14], b[15]);
	} else {
		const char *set = sets[t->rtype];
		uint32_t size = (uint32_t)strlen(set);
		n = t->length;
		for (size_t i = 0; i < n; i++)
			buf[i] = set[randombytes_uniform(size)];
	}
	if (t->upper)
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)toupper((unsigned char)buf[i]);
	return put(o, buf, n);
}

static bool put_now(out *o)
{
	char buf[32];
	struct tm tm;
	time_t now = time(NULL);

	if (gmtime_r(&now, &tm) == NULL)
		return true;
	return put(o, buf, strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm));
}

static bool put_tag(out *o, const tag *t, const ep_request *r)
{
	switch (t->kind) {
	case T_URL: return put_str(o, r->url);
	case T_PATH: return put_str(o, r->path);
	case T_PATH_SEGMENT: return put_path_segment(o, r->path, t->index);
	case T_QUERY: return put_str(o, nth_kv(r->query, r->n_query, t->name, t->name_len, t->index, false));
	case T_HEADER: return put_str(o, nth_kv(r->headers, r->n_headers, t->name, t->name_len, t->index, true));
	case T_COOKIE: return put_str(o, nth_kv(r->cookies, r->n_cookies, t->name, t->name_len, 0, false));
	case T_METHOD: return put_str(o, r->method);
	case T_HOST: return put_str(o, r->host);
	case T_SCHEME: return put_str(o, r->scheme);
	case T_BODY: return r->body == NULL || put(o, r->body, r->body_len);
	case T_JSONPATH: return put_jsonpath(o, t, r);
	case T_RANDOM: return put_random(o, t);
	case T_NOW: return put_now(o);
	}
	return true;
}

int ep_template_render(const char *tmpl, size_t len, const ep_request *r, char **result, size_t *result_len,
		       dp_error **err)
{
	out o = { 0 };
	size_t pos = 0, last = 0, open, in_len;
	const char *in, *why = NULL;
	tag t;
	int rc;

	while ((rc = next_tag(tmpl, len, &pos, &open, &in, &in_len)) != 0) {
		if (rc < 0) {
			free(o.p);
			return dp_usage(err, "template, line %u: unclosed {{", line_of(tmpl, open));
		}
		if (parse_tag(in, in_len, &t, &why) < 0) {
			free(o.p);
			return dp_usage(err, "template, line %u: {{%.*s}}: %s", line_of(tmpl, open),
					(int)(in_len > 200 ? 200 : in_len), in, why);
		}
		if (!put(&o, tmpl + last, open - last) || !put_tag(&o, &t, r))
			goto fail;
		last = pos;
	}
	if (!put(&o, tmpl + last, len - last) || (o.p == NULL && !put(&o, "", 0)))
		goto fail;
	*result = o.p;
	*result_len = o.len;
	return 0;
fail:
	free(o.p);
	if (o.too_big)
		return dp_fail(err, 0, "rendered response is larger than %u MiB", MAX_OUT >> 20);
	return dp_fail(err, ENOMEM, "rendering a response");
}
