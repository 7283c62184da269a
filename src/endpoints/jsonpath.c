/* A small JSONPath evaluator (the Jayway subset WireMock stubs use; see
 * jsonpath.h). The path text is interpreted directly, one step at a time,
 * so nothing is compiled or allocated besides the result array. Request
 * bodies are hostile: recursion through '..' stops at a fixed depth, the
 * total work and the result count are capped, long paths are refused. */
#include "endpoints/jsonpath.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PATH_LEN 1024
#define MAX_DEPTH 256
#define MAX_WORK 1000000
#define MAX_RESULTS 100000

/* ---- one step of a path ----------------------------------------------- */

enum step_kind { S_NAME, S_WILD, S_INDEX, S_FILTER };

typedef struct step {
	enum step_kind kind;
	bool descent;         /* ".." before it */
	const char *name;     /* S_NAME (not NUL-terminated) */
	size_t name_len;
	long long index;      /* S_INDEX; negative counts from the end */
	const char *filter;   /* S_FILTER: the text inside [?( ... )] */
	size_t filter_len;
	const char *next;     /* the rest of the path */
} step;

static bool name_char(char c)
{
	/* operator characters end a name so "@.a=='x'" reads as a comparison */
	return c != '\0' && strchr(".[]()'\"=!<>&|,", c) == NULL && !isspace((unsigned char)c);
}

/* The bracket after '[': 'name', "name", *, N or ?( filter ). */
static int parse_bracket(const char *s, step *st, const char **why)
{
	if (*s == '\'' || *s == '"') {
		const char *end = strchr(s + 1, *s);
		if (end == NULL || end[1] != ']') {
			*why = "unterminated ['name']";
			return -1;
		}
		st->kind = S_NAME;
		st->name = s + 1;
		st->name_len = (size_t)(end - s - 1);
		st->next = end + 2;
		return 0;
	}
	if (s[0] == '*' && s[1] == ']') {
		st->kind = S_WILD;
		st->next = s + 2;
		return 0;
	}
	if (*s == '-' || isdigit((unsigned char)*s)) {
		char *end;
		errno = 0;
		st->index = strtoll(s, &end, 10);
		if (errno != 0 || end == s || (*s == '-' && end == s + 1) || *end != ']') {
			*why = *end == ':' ? "array slices [a:b] are not supported"
					   : *end == ',' ? "unions [a,b] are not supported" : "bad array index";
			return -1;
		}
		st->kind = S_INDEX;
		st->next = end + 1;
		return 0;
	}
	if (s[0] == '?' && s[1] == '(') {
		int depth = 1;
		char quote = 0;
		const char *p = s + 2;
		for (; *p && depth > 0; p++) {
			if (quote) {
				if (*p == quote)
					quote = 0;
			} else if (*p == '\'' || *p == '"') {
				quote = *p;
			} else if (*p == '(') {
				depth++;
			} else if (*p == ')') {
				depth--;
			}
		}
		if (depth != 0 || *p != ']') {
			*why = "unterminated filter [?(...)]";
			return -1;
		}
		st->kind = S_FILTER;
		st->filter = s + 2;
		st->filter_len = (size_t)(p - 1 - (s + 2));
		st->next = p + 1;
		return 0;
	}
	*why = "expected ['name'], [N], [*] or [?(...)]";
	return -1;
}

static int parse_step(const char *s, step *st, const char **why)
{
	*st = (step){ 0 };
	if (s[0] == '.' && s[1] == '.') {
		st->descent = true;
		s += 2;
		if (*s == '[')
			return parse_bracket(s + 1, st, why);
	} else if (s[0] == '.') {
		s++;
	} else if (s[0] == '[') {
		return parse_bracket(s + 1, st, why);
	} else {
		*why = "expected '.', '..' or '['";
		return -1;
	}
	if (*s == '*') {
		st->kind = S_WILD;
		st->next = s + 1;
		return 0;
	}
	st->kind = S_NAME;
	st->name = s;
	while (name_char(*s))
		s++;
	st->name_len = (size_t)(s - st->name);
	st->next = s;
	if (st->name_len == 0) {
		*why = "expected a name";
		return -1;
	}
	if (*s == '(') {
		*why = "functions such as length() are not supported";
		return -1;
	}
	return 0;
}

/* ---- filters ------------------------------------------------------------ */

/* One side of a comparison, without allocating: a JSON value found in the
 * document, or a literal from the path text. */
enum operand_kind { K_MISSING, K_STR, K_NUM, K_TRUE, K_FALSE, K_NULL, K_JSON };

typedef struct operand {
	enum operand_kind kind;
	const char *str;
	size_t len;
	double num;
	json_t *json;
} operand;

typedef struct filter {
	const char *s, *end;
	json_t *at, *root;  /* NULL when only checking syntax */
	const char *why;
} filter;

static void skip_ws(filter *f)
{
	while (f->s < f->end && isspace((unsigned char)*f->s))
		f->s++;
}

static bool take(filter *f, const char *tok)
{
	size_t n = strlen(tok);

	skip_ws(f);
	if ((size_t)(f->end - f->s) >= n && memcmp(f->s, tok, n) == 0) {
		f->s += n;
		return true;
	}
	return false;
}

static void from_json(operand *o, json_t *j)
{
	if (j == NULL)
		o->kind = K_MISSING;
	else if (json_is_string(j)) {
		o->kind = K_STR;
		o->str = json_string_value(j);
		o->len = json_string_length(j);
	} else if (json_is_number(j)) {
		o->kind = K_NUM;
		o->num = json_number_value(j);
	} else if (json_is_true(j))
		o->kind = K_TRUE;
	else if (json_is_false(j))
		o->kind = K_FALSE;
	else if (json_is_null(j))
		o->kind = K_NULL;
	else {
		o->kind = K_JSON;
		o->json = j;
	}
}

/* @.a.b, @['a'][0], $.x: single-valued steps only. */
static int rel_path(filter *f, json_t *node, operand *o)
{
	while (f->s < f->end && (*f->s == '.' || *f->s == '[')) {
		step st;
		const char *why = NULL;
		/* the step parser reads up to a NUL; a filter ends at ")]", which
		 * no step swallows */
		if (parse_step(f->s, &st, &why) < 0 || st.next > f->end) {
			f->why = why ? why : "bad path in filter";
			return -1;
		}
		if (st.descent || st.kind == S_WILD || st.kind == S_FILTER) {
			f->why = "only .name, ['name'] and [N] are supported inside a filter";
			return -1;
		}
		if (node != NULL && st.kind == S_NAME) {
			json_t *v = NULL;
			if (json_is_object(node)) {
				char key[256];
				if (st.name_len < sizeof(key)) {
					memcpy(key, st.name, st.name_len);
					key[st.name_len] = '\0';
					v = json_object_get(node, key);
				}
			}
			node = v;
		} else if (node != NULL) {
			long long n = (long long)json_array_size(node), i = st.index < 0 ? n + st.index : st.index;
			node = json_is_array(node) && i >= 0 && i < n ? json_array_get(node, (size_t)i) : NULL;
		}
		f->s = st.next;
	}
	from_json(o, node);
	return 0;
}

static int parse_operand(filter *f, operand *o)
{
	*o = (operand){ 0 };
	skip_ws(f);
	if (f->s >= f->end) {
		f->why = "expected a value in the filter";
		return -1;
	}
	if (*f->s == '@' || *f->s == '$') {
		json_t *start = *f->s == '@' ? f->at : f->root;
		f->s++;
		return rel_path(f, start, o);
	}
	if (*f->s == '\'' || *f->s == '"') {
		const char *q = memchr(f->s + 1, *f->s, (size_t)(f->end - f->s - 1));
		if (q == NULL) {
			f->why = "unterminated string in the filter";
			return -1;
		}
		o->kind = K_STR;
		o->str = f->s + 1;
		o->len = (size_t)(q - f->s - 1);
		f->s = q + 1;
		return 0;
	}
	if (*f->s == '-' || isdigit((unsigned char)*f->s)) {
		char buf[64], *end;
		size_t n = 0;
		while (f->s + n < f->end && n + 1 < sizeof(buf) && strchr("+-.eE0123456789", f->s[n]))
			n++;
		memcpy(buf, f->s, n);
		buf[n] = '\0';
		o->num = strtod(buf, &end);
		if (end != buf + n || n == 0) {
			f->why = "bad number in the filter";
			return -1;
		}
		o->kind = K_NUM;
		f->s += n;
		return 0;
	}
	if (take(f, "true")) {
		o->kind = K_TRUE;
		return 0;
	}
	if (take(f, "false")) {
		o->kind = K_FALSE;
		return 0;
	}
	if (take(f, "null")) {
		o->kind = K_NULL;
		return 0;
	}
	f->why = "expected @, $, a string, a number, true, false or null in the filter";
	return -1;
}

static bool equal(const operand *a, const operand *b)
{
	if (a->kind != b->kind || a->kind == K_MISSING)
		return false;
	switch (a->kind) {
	case K_STR: return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
	case K_NUM: return a->num == b->num;
	case K_JSON: return json_equal(a->json, b->json);
	default: return true;
	}
}

/* <0, 0, >0, or 2 when the two cannot be ordered */
static int order(const operand *a, const operand *b)
{
	if (a->kind == K_NUM && b->kind == K_NUM)
		return (a->num > b->num) - (a->num < b->num);
	if (a->kind == K_STR && b->kind == K_STR) {
		int c = memcmp(a->str, b->str, a->len < b->len ? a->len : b->len);
		return c != 0 ? (c > 0) - (c < 0) : (a->len > b->len) - (a->len < b->len);
	}
	return 2;
}

static int comparison(filter *f, bool *out)
{
	static const char *const ops[] = { "==", "!=", "<=", ">=", "<", ">" };
	operand a, b;
	const char *start;
	int op = -1, c;

	skip_ws(f);
	start = f->s;
	if (parse_operand(f, &a) < 0)
		return -1;
	for (int i = 0; i < 6 && op < 0; i++)
		if (take(f, ops[i]))
			op = i;
	if (op < 0) {
		skip_ws(f);
		if (f->s < f->end && (*f->s == '=' || *f->s == '!' || isalpha((unsigned char)*f->s))) {
			f->why = "unsupported operator in the filter (==, !=, <, <=, >, >= are)";
			return -1;
		}
		if (*start != '@' && *start != '$') {
			f->why = "a filter term must be a path (@.name) or a comparison";
			return -1;
		}
		*out = a.kind != K_MISSING; /* [?(@.name)]: the member exists */
		return 0;
	}
	if (parse_operand(f, &b) < 0)
		return -1;
	c = order(&a, &b);
	switch (op) {
	case 0: *out = equal(&a, &b); break;
	case 1: *out = !equal(&a, &b); break;
	case 2: *out = c != 2 && c <= 0; break;
	case 3: *out = c != 2 && c >= 0; break;
	case 4: *out = c != 2 && c < 0; break;
	default: *out = c != 2 && c > 0; break;
	}
	return 0;
}

static int conjunction(filter *f, bool *out)
{
	bool v;

	if (comparison(f, out) < 0)
		return -1;
	while (take(f, "&&")) {
		if (comparison(f, &v) < 0)
			return -1;
		*out = *out && v;
	}
	return 0;
}

static int filter_eval(const char *s, size_t n, json_t *at, json_t *root, bool *out, const char **why)
{
	filter f = { .s = s, .end = s + n, .at = at, .root = root };
	bool v;

	if (conjunction(&f, out) < 0)
		goto fail;
	while (take(&f, "||")) {
		if (conjunction(&f, &v) < 0)
			goto fail;
		*out = *out || v;
	}
	skip_ws(&f);
	if (f.s != f.end) {
		f.why = "unexpected text in the filter";
		goto fail;
	}
	return 0;
fail:
	*why = f.why;
	return -1;
}

/* ---- the path ------------------------------------------------------------ */

static int check(const char *path, const char **why)
{
	const char *s = path;

	if (strlen(path) > MAX_PATH_LEN) {
		*why = "path is longer than 1024 bytes";
		return -1;
	}
	if (*s != '$') {
		*why = "a JSON path starts with $";
		return -1;
	}
	for (s++; *s;) {
		step st;
		bool ignored;
		if (parse_step(s, &st, why) < 0)
			return -1;
		if (st.kind == S_FILTER && filter_eval(st.filter, st.filter_len, NULL, NULL, &ignored, why) < 0)
			return -1;
		s = st.next;
	}
	return 0;
}

int ep_jsonpath_check(const char *path, dp_error **err)
{
	const char *why = NULL;

	if (check(path, &why) < 0)
		return dp_usage(err, "JSON path '%.100s': %s", path, why);
	return 0;
}

typedef struct eval {
	json_t *root, *out;
	size_t work;
} eval;

static void walk(eval *e, const char *rest, json_t *node, int depth);

static void then(eval *e, const step *st, json_t *node, int depth)
{
	if (json_array_size(e->out) < MAX_RESULTS)
		walk(e, st->next, node, depth + 1);
}

static void apply(eval *e, const step *st, json_t *node, int depth)
{
	const char *k;
	json_t *v;
	size_t i;

	switch (st->kind) {
	case S_NAME:
		if (json_is_object(node)) {
			/* names are short; a longer one cannot be in a bounded request */
			char key[1024];
			if (st->name_len < sizeof(key)) {
				memcpy(key, st->name, st->name_len);
				key[st->name_len] = '\0';
				if ((v = json_object_get(node, key)) != NULL)
					then(e, st, v, depth);
			}
		}
		break;
	case S_WILD:
		if (json_is_object(node))
			json_object_foreach(node, k, v) then(e, st, v, depth);
		else if (json_is_array(node))
			json_array_foreach(node, i, v) then(e, st, v, depth);
		break;
	case S_INDEX:
		if (json_is_array(node)) {
			long long n = (long long)json_array_size(node), idx = st->index < 0 ? n + st->index : st->index;
			if (idx >= 0 && idx < n)
				then(e, st, json_array_get(node, (size_t)idx), depth);
		}
		break;
	case S_FILTER: {
		const char *why;
		bool ok;
		if (json_is_array(node)) {
			json_array_foreach(node, i, v) {
				if (filter_eval(st->filter, st->filter_len, v, e->root, &ok, &why) == 0 && ok)
					then(e, st, v, depth);
			}
		} else if (json_is_object(node) && !st->descent) {
			/* Jayway: a filter on an object tests the object itself */
			if (filter_eval(st->filter, st->filter_len, node, e->root, &ok, &why) == 0 && ok)
				then(e, st, node, depth);
		}
		break;
	}
	}
}

/* '..': the step applied at node and at every value below it. */
static void descend(eval *e, const step *st, json_t *node, int depth)
{
	const char *k;
	json_t *v;
	size_t i;

	if (depth > MAX_DEPTH || ++e->work > MAX_WORK)
		return;
	apply(e, st, node, depth);
	if (json_is_object(node))
		json_object_foreach(node, k, v) descend(e, st, v, depth + 1);
	else if (json_is_array(node))
		json_array_foreach(node, i, v) descend(e, st, v, depth + 1);
}

static void walk(eval *e, const char *rest, json_t *node, int depth)
{
	const char *why;
	step st;

	if (depth > MAX_DEPTH || ++e->work > MAX_WORK)
		return;
	if (*rest == '\0') {
		if (json_array_size(e->out) < MAX_RESULTS)
			json_array_append(e->out, node);
		return;
	}
	if (parse_step(rest, &st, &why) < 0)
		return;
	if (st.descent)
		descend(e, &st, node, depth);
	else
		apply(e, &st, node, depth);
}

json_t *ep_jsonpath_eval(const char *path, json_t *doc)
{
	const char *why;
	eval e = { .root = doc };

	if (path == NULL || doc == NULL || check(path, &why) < 0)
		return NULL;
	if ((e.out = json_array()) == NULL)
		return NULL;
	walk(&e, path + 1, doc, 0);
	return e.out;
}
