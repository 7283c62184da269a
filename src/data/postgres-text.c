/* COPY text fields, array literals and json paths; see postgres-text.h.
 * The escapes are those of PostgreSQL's CopyReadAttributesText and
 * CopyAttributeOutText, the array syntax that of array_in; json is jansson's. */
#include "data/postgres-text.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void dp_pgbuf_reserve(dp_pgbuf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->n + more + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap < b->n + more + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL)
		abort();
	b->p = p;
	b->cap = cap;
}

void dp_pgbuf_add(dp_pgbuf *b, const void *s, size_t n)
{
	dp_pgbuf_reserve(b, n);
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

void dp_pgbuf_free(dp_pgbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void dp_copy_unescape(const char *s, size_t n, dp_pgbuf *out)
{
	char *o;

	out->n = 0;
	dp_pgbuf_reserve(out, n);
	o = out->p;
	/* most fields hold no escape: one memchr and one memcpy */
	if (memchr(s, '\\', n) == NULL) {
		memcpy(o, s, n);
		out->n = n;
		out->p[n] = '\0';
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c != '\\' || i + 1 == n) {
			*o++ = c;
			continue;
		}
		c = s[++i];
		switch (c) {
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'v': *o++ = '\v'; break;
		case 'x':
			if (i + 1 < n && hexval(s[i + 1]) >= 0) {
				int v = hexval(s[++i]);
				if (i + 1 < n && hexval(s[i + 1]) >= 0)
					v = v * 16 + hexval(s[++i]);
				*o++ = (char)v;
			} else {
				*o++ = 'x';
			}
			break;
		default:
			if (c >= '0' && c <= '7') {
				int v = c - '0';
				for (int k = 0; k < 2 && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '7'; k++)
					v = v * 8 + (s[++i] - '0');
				*o++ = (char)(v & 0xff);
			} else {
				*o++ = c;
			}
		}
	}
	out->n = (size_t)(o - out->p);
	out->p[out->n] = '\0';
}

void dp_copy_escape(dp_pgbuf *out, const char *s, size_t n)
{
	char *o;

	dp_pgbuf_reserve(out, 2 * n);
	o = out->p + out->n;
	for (size_t i = 0; i < n; i++) {
		char c = s[i], e = 0;
		/* only '\\' and control characters are escaped */
		if ((unsigned char)c > 0x1f && c != '\\') {
			*o++ = c;
			continue;
		}
		switch (c) {
		case '\\': e = '\\'; break;
		case '\b': e = 'b'; break;
		case '\f': e = 'f'; break;
		case '\n': e = 'n'; break;
		case '\r': e = 'r'; break;
		case '\t': e = 't'; break;
		case '\v': e = 'v'; break;
		}
		if (e) {
			*o++ = '\\';
			*o++ = e;
		} else {
			*o++ = c;
		}
	}
	out->n = (size_t)(o - out->p);
	out->p[out->n] = '\0';
}

/* ---- array literals ------------------------------------------------------- */

static void add_quoted(dp_pgbuf *out, const char *s, size_t n)
{
	dp_pgbuf_reserve(out, 2 * n + 2);
	out->p[out->n++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			out->p[out->n++] = '\\';
		out->p[out->n++] = s[i];
	}
	out->p[out->n++] = '"';
	out->p[out->n] = '\0';
}

int dp_pg_array_mask(const char *lit, size_t n, char delim, dp_pg_elem_fn fn, void *user, dp_pgbuf *scratch,
		     dp_pgbuf *out, dp_error **err)
{
	size_t i = 0;
	int depth = 0;

	if (n && lit[0] == '[') {
		const char *eq = memchr(lit, '=', n);
		if (eq == NULL)
			return dp_usage(err, "not an array literal (dimensions without '=')");
		i = (size_t)(eq - lit) + 1;
		dp_pgbuf_add(out, lit, i);
	}
	while (i < n && isspace((unsigned char)lit[i]))
		i++;
	if (i == n || lit[i] != '{')
		return dp_usage(err, "not an array literal (expected '{')");
	while (i < n) {
		char c = lit[i];
		bool quoted = false;
		const char *res;
		size_t resn;

		if (c == '{' || c == '}' || c == delim) {
			depth += c == '{' ? 1 : c == '}' ? -1 : 0;
			dp_pgbuf_add(out, &c, 1);
			i++;
			if (depth == 0)
				break;
			continue;
		}
		if (isspace((unsigned char)c)) {
			i++;
			continue;
		}
		scratch->n = 0;
		dp_pgbuf_reserve(scratch, n - i);
		if (c == '"') {
			quoted = true;
			for (i++; i < n && lit[i] != '"'; i++) {
				if (lit[i] == '\\' && i + 1 < n)
					i++;
				scratch->p[scratch->n++] = lit[i];
			}
			if (i == n)
				return dp_usage(err, "not an array literal (unterminated quotes)");
			i++;
		} else {
			size_t keep = 0; /* up to the last escaped or non-space character */
			for (; i < n && lit[i] != delim && lit[i] != '}' && lit[i] != '{'; i++) {
				if (lit[i] == '\\' && i + 1 < n) {
					scratch->p[scratch->n++] = lit[++i];
					keep = scratch->n;
					continue;
				}
				scratch->p[scratch->n++] = lit[i];
				if (!isspace((unsigned char)lit[i]))
					keep = scratch->n;
			}
			scratch->n = keep;
		}
		scratch->p[scratch->n] = '\0';
		if (!quoted && scratch->n == 4 && strncasecmp(scratch->p, "NULL", 4) == 0) {
			dp_pgbuf_add(out, "NULL", 4);
			continue;
		}
		if (fn(user, scratch->p, scratch->n, &res, &resn, err) < 0)
			return -1;
		if (res == NULL)
			dp_pgbuf_add(out, "NULL", 4);
		else
			add_quoted(out, res, resn);
	}
	if (depth != 0)
		return dp_usage(err, "not an array literal (unbalanced braces)");
	return 0;
}

/* ---- json ----------------------------------------------------------------- */

typedef struct jctx {
	const dp_json_target *t;
	void *user;
	dp_error **err;
} jctx;

static int replace_leaf(jctx *x, json_t *v, json_t **repl)
{
	char num[64];
	const char *s, *res = NULL;
	size_t n, resn = 0;
	bool is_text, out_text = true;

	*repl = NULL;
	if (json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
		is_text = true;
	} else if (json_is_integer(v)) {
		n = (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		s = num;
		is_text = false;
	} else if (json_is_real(v)) {
		n = (size_t)snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		s = num;
		is_text = false;
	} else {
		return 0; /* objects, arrays, booleans, null: nothing personal to shape */
	}
	if (x->t->fn(x->user, x->t->rule, is_text, s, n, &res, &resn, &out_text, x->err) < 0)
		return -1;
	if (res == NULL)
		*repl = json_null();
	else if (out_text)
		*repl = json_stringn(res, resn);
	else
		*repl = json_loadb(res, resn, JSON_DECODE_ANY, NULL);
	if (*repl == NULL)
		*repl = json_stringn(res, resn);
	if (*repl == NULL)
		return dp_fail(x->err, ENOMEM, "json value");
	return 0;
}

/* p: the rest of the path, "" or ".key..." */
static int walk(jctx *x, json_t *v, const char *p, json_t **repl)
{
	*repl = NULL;
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			json_t *r;
			if (walk(x, e, p, &r) < 0)
				return -1;
			if (r && json_array_set_new(v, i, r) < 0)
				return dp_fail(x->err, ENOMEM, "json value");
		}
		return 0;
	}
	if (*p == '\0')
		return replace_leaf(x, v, repl);
	if (json_is_object(v)) {
		const char *k = p + 1;
		size_t kn = strcspn(k, ".");
		char key[512];
		json_t *child, *r;
		if (kn >= sizeof(key))
			return 0;
		memcpy(key, k, kn);
		key[kn] = '\0';
		child = json_object_get(v, key);
		if (child == NULL)
			return 0;
		if (walk(x, child, k + kn, &r) < 0)
			return -1;
		if (r && json_object_set_new(v, key, r) < 0)
			return dp_fail(x->err, ENOMEM, "json value");
	}
	return 0;
}

int dp_pg_json_mask(const char *s, size_t n, const dp_json_target *t, size_t nt, void *user, dp_pgbuf *out,
		    dp_error **err)
{
	json_error_t je;
	json_t *root = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	size_t need;
	int r = 0;

	if (root == NULL)
		return dp_usage(err, "not a JSON document jansson can read (%s)", je.text);
	for (size_t i = 0; i < nt && r == 0; i++) {
		jctx x = { .t = &t[i], .user = user, .err = err };
		json_t *repl;
		/* the rule key's "$" is the root: the path walked starts after it */
		r = walk(&x, root, t[i].path + 1, &repl);
		if (r == 0 && repl) {
			json_decref(root);
			root = repl;
		}
	}
	if (r == 0) {
		need = json_dumpb(root, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
		dp_pgbuf_reserve(out, need);
		if (need == 0 || json_dumpb(root, out->p + out->n, need, JSON_COMPACT | JSON_ENCODE_ANY) != need)
			r = dp_fail(err, 0, "cannot write the masked JSON document");
		else
			out->n += need;
		out->p[out->n] = '\0';
	}
	json_decref(root);
	return r;
}
