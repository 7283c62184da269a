/* WireMock stub mappings: JSON to ep_mapping, validated once at load time so
 * the matcher never meets a bad regex, an unknown key or a hostile number.
 * Every object is checked against the keys we support at its level; anything
 * else is a usage error naming the file and the key path, with a did-you-mean
 * for typos. Regexes are written for Java (WireMock) and compiled by POSIX
 * regcomp, so the common Java escapes are translated and the rest refused
 * rather than silently meaning something else. */
#include "endpoints/mapping.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "endpoints/jsonpath.h"
#include "endpoints/template.h"
#include "util/cleanup.h"
#include "util/path.h"
#include "util/suggest.h"

#define MAX_FILE_BYTES (16u << 20)
#define MAX_MAPPINGS 100000
#define MAX_FILES 100000
#define MAX_DIR_DEPTH 16
#define MAX_DELAY_MS 60000
#define MAX_CHUNKS 10000
#define MAX_REGEX 4096
#define MAX_HEADERS 1000
#define MAX_PATTERNS 1000

/* Where we are while parsing: the file, and the key path inside it
 * ("mappings[2].request.bodyPatterns[0]") that every error names. */
typedef struct ctx {
	const char *source;
	const char *files_dir;
	bool stable_id; /* from a file: an id that survives a reload */
	dp_error **err;
	size_t len;
	char path[512];
} ctx;

/* Appends to the key path, truncating (a hostile key cannot overflow it) and
 * replacing control bytes so the error message stays one printable line. */
static size_t push(ctx *c, const char *sep, const char *key)
{
	size_t old = c->len;

	if (c->len > 0 || sep[0] == '[')
		for (const char *s = sep; *s && c->len + 1 < sizeof(c->path); s++)
			c->path[c->len++] = *s;
	for (const char *s = key; *s && c->len + 1 < sizeof(c->path); s++)
		c->path[c->len++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	c->path[c->len] = '\0';
	return old;
}

static size_t push_key(ctx *c, const char *key)
{
	return push(c, ".", key);
}

static size_t push_index(ctx *c, size_t i)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%zu]", i);
	return push(c, "[", buf);
}

static void pop(ctx *c, size_t old)
{
	c->len = old;
	c->path[old] = '\0';
}

static int bad(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(ctx *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->len == 0)
		return dp_usage(c->err, "%s: %s", c->source, msg);
	return dp_usage(c->err, "%s: %s: %s", c->source, c->path, msg);
}

static int oom(ctx *c)
{
	return dp_fail(c->err, ENOMEM, "%s", c->source);
}

static bool in_list(const char *const *list, const char *s)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

static const char *nearest(const char *key, const char *const *allowed)
{
	size_t limit = strlen(key) / 3 > 2 ? strlen(key) / 3 : 2;
	return dp_suggest(key, allowed, SIZE_MAX, limit);
}

/* Refuses any key of obj outside allowed; WireMock keys we know but do not
 * implement get a message saying so rather than "unknown". */
static int check_keys(ctx *c, json_t *obj, const char *const *allowed, const char *const *unsupported)
{
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v) {
		const char *near;

		if (in_list(allowed, k))
			continue;
		push_key(c, k);
		if (in_list(unsupported, k))
			return bad(c, "not supported by doppel (see docs/endpoints.md)");
		near = nearest(k, allowed);
		if (near != NULL)
			return bad(c, "unknown key (did you mean %s?)", near);
		return bad(c, "unknown key");
	}
	return 0;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* The string value of v, refusing other types and embedded NULs (which would
 * silently cut the value short). The key must already be on the path. */
static int want_string(ctx *c, json_t *v, const char **out)
{
	if (!json_is_string(v))
		return bad(c, "expected a string, got %s", type_name(v));
	if (strlen(json_string_value(v)) != json_string_length(v))
		return bad(c, "contains a NUL byte");
	*out = json_string_value(v);
	return 0;
}

/* obj[key] as a new string, or *out left NULL when the key is absent. */
static int opt_string(ctx *c, json_t *obj, const char *key, char **out)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	size_t old;

	if (v == NULL)
		return 0;
	old = push_key(c, key);
	if (want_string(c, v, &s) < 0)
		return -1;
	pop(c, old);
	if ((*out = strdup(s)) == NULL)
		return oom(c);
	return 0;
}

static int want_bool(ctx *c, json_t *obj, const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		push_key(c, key);
		return bad(c, "expected a boolean, got %s", type_name(v));
	}
	*out = json_is_true(v);
	return 0;
}

/* An integer in [lo, hi]: 1 when present, 0 when absent, -1 on error. */
static int opt_int(ctx *c, json_t *obj, const char *key, long long lo, long long hi, long long *out)
{
	json_t *v = json_object_get(obj, key);
	size_t old;
	long long n;

	if (v == NULL)
		return 0;
	old = push_key(c, key);
	if (!json_is_integer(v))
		return bad(c, "expected an integer, got %s", type_name(v));
	n = json_integer_value(v);
	if (n < lo || n > hi)
		return bad(c, "%lld is out of range (%lld to %lld)", n, lo, hi);
	pop(c, old);
	*out = n;
	return 1;
}

static int opt_number(ctx *c, json_t *obj, const char *key, double lo, double hi, double *out)
{
	json_t *v = json_object_get(obj, key);
	size_t old;
	double n;

	if (v == NULL)
		return 0;
	old = push_key(c, key);
	if (!json_is_number(v))
		return bad(c, "expected a number, got %s", type_name(v));
	n = json_number_value(v);
	if (!(n >= lo && n <= hi))
		return bad(c, "%g is out of range (%g to %g)", n, lo, hi);
	pop(c, old);
	*out = n;
	return 1;
}

/* ---- regexes ---------------------------------------------------------- */

/* Java escapes inside [...] become POSIX bracket items; ']', '-' and '^'
 * are moved to where POSIX reads them literally. */
static int translate_bracket(const char **sp, char *o, size_t *on, const char **why)
{
	const char *s = *sp;
	char content[MAX_REGEX * 6];
	size_t n = 0;
	bool neg = false, rbr = false, dash = false, caret = false;

	if (*s == '^') {
		neg = true;
		s++;
	}
	if (*s == ']') {
		rbr = true;
		s++;
	}
	for (;; s++) {
		const char *add = NULL;
		char one[2] = { 0 };

		if (*s == '\0') {
			*why = "unterminated [";
			return -1;
		}
		if (*s == ']')
			break;
		if (*s == '[') {
			*why = "nested [...] classes are not supported (POSIX extended regex)";
			return -1;
		}
		if (*s == '&' && s[1] == '&') {
			*why = "&& in [...] is not supported (POSIX extended regex)";
			return -1;
		}
		if (*s == '\\') {
			s++;
			switch (*s) {
			case 'd': add = "0-9"; break;
			case 'w': add = "[:alnum:]_"; break;
			case 's': add = "[:space:]"; break;
			case 'n': add = "\n"; break;
			case 't': add = "\t"; break;
			case 'r': add = "\r"; break;
			case ']': rbr = true; continue;
			case '-': dash = true; continue;
			case '^': caret = true; continue;
			case '\0': *why = "trailing backslash"; return -1;
			default:
				if (isalnum((unsigned char)*s)) {
					*why = "this \\ escape is not supported inside [...] (POSIX extended regex)";
					return -1;
				}
				one[0] = *s;
				add = one;
			}
		} else if (*s == '-' && (n == 0 || s[1] == ']')) {
			dash = true;
			continue;
		} else if (*s == '^') {
			caret = true;
			continue;
		} else {
			one[0] = *s;
			add = one;
		}
		size_t k = strlen(add);
		memcpy(content + n, add, k);
		n += k;
	}
	*sp = s; /* at the closing ']' */
	if (n == 0 && !rbr && !neg && caret && !dash) {
		memcpy(o + *on, "\\^", 2);
		*on += 2;
		return 0;
	}
	o[(*on)++] = '[';
	if (neg)
		o[(*on)++] = '^';
	if (rbr)
		o[(*on)++] = ']';
	if (n == 0 && !rbr) {
		/* "[-^]": a leading '-' is literal, a '^' after it too */
		if (dash)
			o[(*on)++] = '-';
		if (caret)
			o[(*on)++] = '^';
	} else {
		memcpy(o + *on, content, n);
		*on += n;
		if (caret)
			o[(*on)++] = '^';
		if (dash)
			o[(*on)++] = '-';
	}
	o[(*on)++] = ']';
	return 0;
}

/* WireMock regexes are Java's. POSIX ERE reads "\d" as a plain 'd', which
 * would silently change what a stub matches, so the usual escapes are
 * translated and constructs without an equivalent ((?...), lazy and
 * possessive quantifiers, \p{..}) are refused. Writes "^(...)$": WireMock
 * matches the whole value. */
static int java_to_ere(const char *src, char *o, const char **why)
{
	size_t on = 0;

	memcpy(o, "^(", 2);
	on = 2;
	for (const char *s = src; *s; s++) {
		if (*s == '\\') {
			s++;
			switch (*s) {
			case 'd': memcpy(o + on, "[0-9]", 5); on += 5; continue;
			case 'D': memcpy(o + on, "[^0-9]", 6); on += 6; continue;
			case 'n': o[on++] = '\n'; continue;
			case 't': o[on++] = '\t'; continue;
			case 'r': o[on++] = '\r'; continue;
			case 'w': case 'W': case 's': case 'S': case 'b': case 'B':
			case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
				o[on++] = '\\';
				o[on++] = *s;
				continue;
			case '\0':
				*why = "trailing backslash";
				return -1;
			default:
				if (isalnum((unsigned char)*s)) {
					*why = "this \\ escape is not supported (POSIX extended regex)";
					return -1;
				}
				o[on++] = '\\';
				o[on++] = *s;
				continue;
			}
		}
		if (*s == '(' && s[1] == '?') {
			*why = "(?...) groups and flags are not supported (POSIX extended regex); "
			       "for (?i) use \"caseInsensitive\": true";
			return -1;
		}
		if ((*s == '*' || *s == '+' || *s == '?' || *s == '}') && (s[1] == '?' || s[1] == '+')) {
			*why = "lazy and possessive quantifiers are not supported (POSIX extended regex)";
			return -1;
		}
		if (*s == '[') {
			s++;
			if (translate_bracket(&s, o, &on, why) < 0)
				return -1;
			continue;
		}
		o[on++] = *s;
	}
	memcpy(o + on, ")$", 3);
	return 0;
}

static int compile_re(ctx *c, const char *src, bool icase, regex_t *re)
{
	cleanup_free char *ere = NULL;
	const char *why = NULL;
	char msg[256];
	int rc;

	if (strlen(src) > MAX_REGEX)
		return bad(c, "regex is longer than %d bytes", MAX_REGEX);
	if ((ere = malloc(strlen(src) * 6 + 16)) == NULL)
		return oom(c);
	if (java_to_ere(src, ere, &why) < 0)
		return bad(c, "regex '%s': %s", src, why);
	rc = regcomp(re, ere, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
	if (rc != 0) {
		regerror(rc, re, msg, sizeof(msg));
		return bad(c, "regex does not compile: %s", msg);
	}
	return 0;
}

/* ---- string matchers -------------------------------------------------- */

enum where { IN_NAMED, IN_BODY, IN_JSONPATH };

static const char *const pattern_keys[] = {
	"equalTo", "contains", "doesNotContain", "matches", "doesNotMatch", "absent", "equalToJson",
	"matchesJsonPath", "caseInsensitive", "ignoreArrayOrder", "ignoreExtraElements", NULL,
};
static const char *const pattern_unsupported[] = {
	"equalToXml", "matchesXPath", "binaryEqualTo", "before", "after", "equalToDateTime", "and", "or",
	"not", "hasExactly", "includes", "enablePlaceholders", "xPathNamespaces", "actualFormat",
	"truncateExpected", "truncateActual", "expectedOffset", "expectedOffsetUnit", "equalToNumber",
	"greaterThanNumber", "lessThanNumber", NULL,
};
static const struct {
	const char *key;
	enum ep_op op;
} ops[] = {
	{ "equalTo", EP_OP_EQUAL_TO },
	{ "contains", EP_OP_CONTAINS },
	{ "doesNotContain", EP_OP_DOES_NOT_CONTAIN },
	{ "matches", EP_OP_MATCHES },
	{ "doesNotMatch", EP_OP_DOES_NOT_MATCH },
	{ "absent", EP_OP_ABSENT },
	{ "equalToJson", EP_OP_EQUAL_TO_JSON },
	{ "matchesJsonPath", EP_OP_MATCHES_JSON_PATH },
};

static void pattern_clear(ep_pattern *p)
{
	free(p->operand);
	if (p->has_re)
		regfree(&p->re);
	json_decref(p->json);
	if (p->sub != NULL) {
		pattern_clear(p->sub);
		free(p->sub);
	}
	*p = (ep_pattern){ 0 };
}

static int set_operand(ctx *c, ep_pattern *p, const char *s)
{
	if ((p->operand = strdup(s)) == NULL)
		return oom(c);
	p->operand_len = strlen(s);
	return 0;
}

static int parse_pattern(ctx *c, json_t *v, ep_pattern *p, enum where w);

static int parse_json_path_matcher(ctx *c, json_t *v, ep_pattern *p)
{
	json_t *expr, *rest = NULL;
	const char *s;
	dp_error *jerr = NULL;
	size_t old;
	int r;

	if (json_is_string(v)) {
		expr = v;
	} else if (json_is_object(v)) {
		if ((expr = json_object_get(v, "expression")) == NULL)
			return bad(c, "expected an \"expression\" key");
	} else {
		return bad(c, "expected a JSON path string or {\"expression\": ...}, got %s", type_name(v));
	}
	old = json_is_object(v) ? push_key(c, "expression") : c->len;
	if (want_string(c, expr, &s) < 0)
		return -1;
	if (ep_jsonpath_check(s, &jerr) < 0) {
		r = bad(c, "%s", jerr->msg);
		dp_error_free(&jerr);
		return r;
	}
	pop(c, old);
	if (set_operand(c, p, s) < 0)
		return -1;
	if (!json_is_object(v) || json_object_size(v) == 1)
		return 0;
	/* the other keys form the matcher applied to each selected value */
	if ((rest = json_copy(v)) == NULL)
		return oom(c);
	json_object_del(rest, "expression");
	if ((p->sub = calloc(1, sizeof(*p->sub))) == NULL) {
		json_decref(rest);
		return oom(c);
	}
	r = parse_pattern(c, rest, p->sub, IN_JSONPATH);
	json_decref(rest);
	return r;
}

static int parse_pattern(ctx *c, json_t *v, ep_pattern *p, enum where w)
{
	const char *found = NULL, *s;
	json_t *operand = NULL;
	size_t old;

	if (!json_is_object(v))
		return bad(c, "expected a matcher object such as {\"equalTo\": \"...\"}, got %s", type_name(v));
	if (w == IN_JSONPATH) {
		/* keys of the sub-matcher sit beside "expression" */
		static const char *const sub_keys[] = { "equalTo", "contains", "doesNotContain", "matches",
							 "doesNotMatch", "absent", "equalToJson",
							 "caseInsensitive", "ignoreArrayOrder",
							 "ignoreExtraElements", "expression", NULL };
		if (check_keys(c, v, sub_keys, pattern_unsupported) < 0)
			return -1;
	} else if (check_keys(c, v, pattern_keys, pattern_unsupported) < 0) {
		return -1;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		json_t *o = json_object_get(v, ops[i].key);
		if (o == NULL)
			continue;
		if (found != NULL)
			return bad(c, "more than one matcher (%s and %s)", found, ops[i].key);
		found = ops[i].key;
		operand = o;
		p->op = ops[i].op;
	}
	if (found == NULL)
		return bad(c, "no matcher: expected one of equalTo, contains, doesNotContain, matches, "
			      "doesNotMatch, absent, equalToJson, matchesJsonPath");
	if (want_bool(c, v, "caseInsensitive", &p->case_insensitive) < 0 ||
	    want_bool(c, v, "ignoreArrayOrder", &p->ignore_array_order) < 0 ||
	    want_bool(c, v, "ignoreExtraElements", &p->ignore_extra_elements) < 0)
		return -1;
	if (json_object_get(v, "caseInsensitive") != NULL && p->op != EP_OP_EQUAL_TO &&
	    p->op != EP_OP_CONTAINS && p->op != EP_OP_DOES_NOT_CONTAIN && p->op != EP_OP_MATCHES &&
	    p->op != EP_OP_DOES_NOT_MATCH) {
		push_key(c, "caseInsensitive");
		return bad(c, "applies to equalTo, contains, doesNotContain, matches and doesNotMatch only");
	}
	if ((json_object_get(v, "ignoreArrayOrder") != NULL || json_object_get(v, "ignoreExtraElements") != NULL) &&
	    p->op != EP_OP_EQUAL_TO_JSON) {
		push_key(c, json_object_get(v, "ignoreArrayOrder") ? "ignoreArrayOrder" : "ignoreExtraElements");
		return bad(c, "applies to equalToJson only");
	}
	old = push_key(c, found);
	switch (p->op) {
	case EP_OP_ABSENT:
		if (w == IN_BODY)
			return bad(c, "applies to headers, query parameters and cookies, not to the body");
		if (!json_is_true(operand))
			return bad(c, "expected true");
		break;
	case EP_OP_EQUAL_TO_JSON:
		if (json_is_string(operand)) {
			json_error_t je;
			p->json = json_loadb(json_string_value(operand), json_string_length(operand),
					     JSON_DECODE_ANY, &je);
			if (p->json == NULL)
				return bad(c, "not valid JSON (line %d, column %d): %s", je.line, je.column, je.text);
		} else if ((p->json = json_deep_copy(operand)) == NULL) {
			return oom(c);
		}
		if ((p->operand = json_dumps(p->json, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
			return oom(c);
		p->operand_len = strlen(p->operand);
		break;
	case EP_OP_MATCHES_JSON_PATH:
		if (w == IN_JSONPATH)
			return bad(c, "cannot be nested in another matchesJsonPath");
		if (parse_json_path_matcher(c, operand, p) < 0)
			return -1;
		break;
	default:
		if (want_string(c, operand, &s) < 0 || set_operand(c, p, s) < 0)
			return -1;
		if (p->op == EP_OP_MATCHES || p->op == EP_OP_DOES_NOT_MATCH) {
			if (compile_re(c, s, p->case_insensitive, &p->re) < 0)
				return -1;
			p->has_re = true;
		}
	}
	pop(c, old);
	return 0;
}

/* {"NAME": {matcher}, ...} for queryParameters, headers and cookies. */
static int parse_named(ctx *c, json_t *obj, const char *key, ep_named_pattern **out, size_t *n_out)
{
	json_t *v = json_object_get(obj, key), *pv;
	const char *name;
	size_t old;

	if (v == NULL)
		return 0;
	old = push_key(c, key);
	if (!json_is_object(v))
		return bad(c, "expected an object of NAME: matcher, got %s", type_name(v));
	if (json_object_size(v) > MAX_PATTERNS)
		return bad(c, "more than %d entries", MAX_PATTERNS);
	if (json_object_size(v) == 0) {
		pop(c, old);
		return 0;
	}
	if ((*out = calloc(json_object_size(v), sizeof(**out))) == NULL)
		return oom(c);
	json_object_foreach(v, name, pv) {
		ep_named_pattern *np = &(*out)[*n_out];
		size_t o2 = push_key(c, name);
		if (name[0] == '\0')
			return bad(c, "empty name");
		if ((np->name = strdup(name)) == NULL)
			return oom(c);
		(*n_out)++;
		if (parse_pattern(c, pv, &np->p, IN_NAMED) < 0)
			return -1;
		pop(c, o2);
	}
	pop(c, old);
	return 0;
}

/* ---- request ---------------------------------------------------------- */

static const char *const request_keys[] = {
	"method", "url", "urlPath", "urlPattern", "urlPathPattern", "queryParameters", "headers",
	"cookies", "bodyPatterns", "basicAuthCredentials", NULL,
};
static const char *const request_unsupported[] = {
	"host", "scheme", "port", "clientIp", "formParameters", "multipartPatterns", "customMatcher",
	"pathParameters", "urlPathTemplate", "basicAuth", NULL,
};

static int parse_request(ctx *c, json_t *v, ep_request_pattern *rp)
{
	static const struct {
		const char *key;
		enum ep_url_kind kind;
	} urls[] = {
		{ "url", EP_URL_EQUAL },
		{ "urlPath", EP_URL_PATH },
		{ "urlPattern", EP_URL_REGEX },
		{ "urlPathPattern", EP_URL_PATH_REGEX },
	};
	const char *url_key = NULL;
	json_t *bp, *ba;
	size_t old;

	if (!json_is_object(v))
		return bad(c, "expected an object, got %s", type_name(v));
	if (check_keys(c, v, request_keys, request_unsupported) < 0)
		return -1;
	if (opt_string(c, v, "method", &rp->method) < 0)
		return -1;
	if (rp->method != NULL && rp->method[0] == '\0') {
		push_key(c, "method");
		return bad(c, "empty method");
	}
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		if (json_object_get(v, urls[i].key) == NULL)
			continue;
		if (url_key != NULL)
			return bad(c, "both %s and %s given; use one", url_key, urls[i].key);
		url_key = urls[i].key;
		rp->url_kind = urls[i].kind;
		if (opt_string(c, v, urls[i].key, &rp->url) < 0)
			return -1;
	}
	if (rp->url_kind == EP_URL_REGEX || rp->url_kind == EP_URL_PATH_REGEX) {
		old = push_key(c, url_key);
		if (compile_re(c, rp->url, false, &rp->url_re) < 0)
			return -1;
		rp->has_url_re = true;
		pop(c, old);
	}
	if (parse_named(c, v, "queryParameters", &rp->query, &rp->n_query) < 0 ||
	    parse_named(c, v, "headers", &rp->headers, &rp->n_headers) < 0 ||
	    parse_named(c, v, "cookies", &rp->cookies, &rp->n_cookies) < 0)
		return -1;
	if ((bp = json_object_get(v, "bodyPatterns")) != NULL) {
		old = push_key(c, "bodyPatterns");
		if (!json_is_array(bp))
			return bad(c, "expected an array of matchers, got %s", type_name(bp));
		if (json_array_size(bp) > MAX_PATTERNS)
			return bad(c, "more than %d matchers", MAX_PATTERNS);
		if (json_array_size(bp) > 0 && (rp->body = calloc(json_array_size(bp), sizeof(*rp->body))) == NULL)
			return oom(c);
		for (size_t i = 0; i < json_array_size(bp); i++) {
			size_t o2 = push_index(c, i);
			rp->n_body++;
			if (parse_pattern(c, json_array_get(bp, i), &rp->body[i], IN_BODY) < 0)
				return -1;
			pop(c, o2);
		}
		pop(c, old);
	}
	if ((ba = json_object_get(v, "basicAuthCredentials")) != NULL) {
		static const char *const ba_keys[] = { "username", "password", NULL };
		old = push_key(c, "basicAuthCredentials");
		if (!json_is_object(ba))
			return bad(c, "expected {\"username\": ..., \"password\": ...}, got %s", type_name(ba));
		if (check_keys(c, ba, ba_keys, NULL) < 0 || opt_string(c, ba, "username", &rp->basic_user) < 0 ||
		    opt_string(c, ba, "password", &rp->basic_pass) < 0)
			return -1;
		if (rp->basic_user == NULL || rp->basic_pass == NULL)
			return bad(c, "expected both username and password");
		if (strchr(rp->basic_user, ':') != NULL)
			return bad(c, "username cannot contain ':' in Basic authentication");
		pop(c, old);
	}
	return 0;
}

/* ---- response --------------------------------------------------------- */

static const char *const response_keys[] = {
	"status", "statusMessage", "headers", "body", "jsonBody", "base64Body", "bodyFileName",
	"fixedDelayMilliseconds", "delayDistribution", "chunkedDribbleDelay", "fault", "transformers", NULL,
};
static const char *const response_unsupported[] = {
	"transformerParameters", "proxyBaseUrl", "proxyUrlPrefixToRemove", "additionalProxyRequestHeaders",
	"removeProxyRequestHeaders", "fromConfiguredStub", NULL,
};

static bool is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return false;
	return true;
}

/* No CR, LF or NUL: a header value must not start another header. */
static bool is_field_value(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

static int add_header(ctx *c, ep_response *r, const char *name, json_t *v)
{
	const char *s;

	if (want_string(c, v, &s) < 0)
		return -1;
	if (!is_field_value(s))
		return bad(c, "header value contains CR or LF");
	if (r->n_headers == MAX_HEADERS)
		return bad(c, "more than %d headers", MAX_HEADERS);
	ep_kv *kv = realloc(r->headers, (r->n_headers + 1) * sizeof(*kv));
	if (kv == NULL)
		return oom(c);
	r->headers = kv;
	kv[r->n_headers] = (ep_kv){ strdup(name), strdup(s) };
	r->n_headers++;
	if (kv[r->n_headers - 1].name == NULL || kv[r->n_headers - 1].value == NULL)
		return oom(c);
	return 0;
}

static int parse_response_headers(ctx *c, json_t *v, ep_response *r)
{
	const char *name;
	json_t *hv;

	if (!json_is_object(v))
		return bad(c, "expected an object of NAME: value, got %s", type_name(v));
	json_object_foreach(v, name, hv) {
		size_t old = push_key(c, name);
		if (!is_token(name))
			return bad(c, "not a valid header name");
		if (json_is_array(hv)) {
			for (size_t i = 0; i < json_array_size(hv); i++) {
				size_t o2 = push_index(c, i);
				if (add_header(c, r, name, json_array_get(hv, i)) < 0)
					return -1;
				pop(c, o2);
			}
		} else if (add_header(c, r, name, hv) < 0) {
			return -1;
		}
		pop(c, old);
	}
	return 0;
}

static int read_all(int fd, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	size_t n = 0;

	if (fstat(fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	if ((uint64_t)st.st_size > max) {
		errno = EFBIG;
		return -1;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		return -1;
	/* the file may grow under us; read what fits and no more */
	while (n < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;
			free(buf);
			errno = e;
			return -1;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* Opens rel below dirfd; '..', absolute paths and symlinks leaving dirfd
 * fail with EXDEV (RESOLVE_BENEATH). Kernels without openat2 get the
 * stricter no-symlinks-at-all walk of util/path.c. */
static int open_beneath(int dirfd, const char *rel)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
	long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS)
		return dp_open_in_root_nosym(dirfd, rel, O_RDONLY | O_NOCTTY, 0);
	return (int)fd;
}

static int load_body_file(ctx *c, const char *name, ep_response *r)
{
	cleanup_close int dirfd = -1;
	cleanup_close int fd = -1;
	size_t n = strlen(name);

	if (c->files_dir == NULL)
		return bad(c, "bodyFileName is not available here (no files directory); use body or jsonBody");
	if (n == 0 || n >= PATH_MAX)
		return bad(c, "expected a file name below __files");
	if (name[0] == '/')
		return bad(c, "'%s' is absolute; give it relative to __files", name);
	for (const char *p = name; *p;) {
		const char *end = strchrnul(p, '/');
		if (end - p == 2 && p[0] == '.' && p[1] == '.')
			return bad(c, "'%s' contains '..'; files must stay below __files", name);
		p = *end ? end + 1 : end;
	}
	if ((dirfd = open(c->files_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return bad(c, "'%s': cannot open the files directory %s: %s", name, c->files_dir, strerror(errno));
	if ((fd = open_beneath(dirfd, name)) < 0) {
		if (errno == EXDEV || errno == ELOOP)
			return bad(c, "'%s' leads outside %s (symlink); refused", name, c->files_dir);
		return bad(c, "'%s' in %s: %s", name, c->files_dir, strerror(errno));
	}
	if (read_all(fd, MAX_FILE_BYTES, &r->body, &r->body_len) < 0) {
		if (errno == EFBIG)
			return bad(c, "'%s' is larger than %u MiB", name, MAX_FILE_BYTES >> 20);
		if (errno == EINVAL)
			return bad(c, "'%s' is not a regular file", name);
		return bad(c, "'%s': %s", name, strerror(errno));
	}
	return 0;
}

static int parse_body(ctx *c, json_t *v, ep_response *r)
{
	static const char *const kinds[] = { "body", "jsonBody", "base64Body", "bodyFileName" };
	const char *kind = NULL, *s;
	json_t *b = NULL;
	size_t old;

	for (size_t i = 0; i < 4; i++) {
		if (json_object_get(v, kinds[i]) == NULL)
			continue;
		if (kind != NULL)
			return bad(c, "both %s and %s given; use one", kind, kinds[i]);
		kind = kinds[i];
		b = json_object_get(v, kinds[i]);
	}
	if (kind == NULL)
		return 0;
	old = push_key(c, kind);
	if (strcmp(kind, "jsonBody") == 0) {
		if ((r->body = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
			return oom(c);
		r->body_len = strlen(r->body);
	} else if (strcmp(kind, "body") == 0) {
		if (!json_is_string(b))
			return bad(c, "expected a string, got %s (use jsonBody for JSON)", type_name(b));
		r->body_len = json_string_length(b);
		if ((r->body = malloc(r->body_len + 1)) == NULL)
			return oom(c);
		memcpy(r->body, json_string_value(b), r->body_len + 1);
	} else if (strcmp(kind, "base64Body") == 0) {
		size_t n, cap;
		if (want_string(c, b, &s) < 0)
			return -1;
		n = strlen(s);
		cap = n / 4 * 3 + 3;
		if ((r->body = malloc(cap + 1)) == NULL)
			return oom(c);
		if (sodium_base642bin((unsigned char *)r->body, cap, s, n, "\r\n ", &r->body_len, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0)
			return bad(c, "not valid base64");
		r->body[r->body_len] = '\0';
	} else {
		if (want_string(c, b, &s) < 0 || load_body_file(c, s, r) < 0)
			return -1;
	}
	pop(c, old);
	return 0;
}

static int parse_delays(ctx *c, json_t *v, ep_response *r)
{
	json_t *d;
	long long n = 0;
	size_t old;
	int got;

	if ((got = opt_int(c, v, "fixedDelayMilliseconds", 0, MAX_DELAY_MS, &n)) < 0)
		return -1;
	r->fixed_delay_ms = (uint32_t)n;
	if ((d = json_object_get(v, "delayDistribution")) != NULL) {
		static const char *const uniform_keys[] = { "type", "lower", "upper", NULL };
		static const char *const lognormal_keys[] = { "type", "median", "sigma", NULL };
		const char *type;
		size_t o2;
		old = push_key(c, "delayDistribution");
		if (!json_is_object(d))
			return bad(c, "expected an object, got %s", type_name(d));
		if (json_object_get(d, "type") == NULL)
			return bad(c, "expected \"type\": \"uniform\" or \"lognormal\"");
		o2 = push_key(c, "type");
		if (want_string(c, json_object_get(d, "type"), &type) < 0)
			return -1;
		pop(c, o2);
		if (strcmp(type, "uniform") == 0) {
			r->delay = EP_DELAY_UNIFORM;
			if (check_keys(c, d, uniform_keys, NULL) < 0 ||
			    opt_number(c, d, "lower", 0, MAX_DELAY_MS, &r->delay_a) < 0 ||
			    opt_number(c, d, "upper", 0, MAX_DELAY_MS, &r->delay_b) < 0)
				return -1;
			if (!json_object_get(d, "lower") || !json_object_get(d, "upper"))
				return bad(c, "uniform needs lower and upper (milliseconds)");
			if (r->delay_a > r->delay_b)
				return bad(c, "lower is above upper");
		} else if (strcmp(type, "lognormal") == 0) {
			r->delay = EP_DELAY_LOGNORMAL;
			if (check_keys(c, d, lognormal_keys, NULL) < 0 ||
			    opt_number(c, d, "median", 0, MAX_DELAY_MS, &r->delay_a) < 0 ||
			    opt_number(c, d, "sigma", 0, 10, &r->delay_b) < 0)
				return -1;
			if (!json_object_get(d, "median") || !json_object_get(d, "sigma"))
				return bad(c, "lognormal needs median (milliseconds) and sigma");
		} else {
			push_key(c, "type");
			return bad(c, "'%s' is not supported (uniform or lognormal)", type);
		}
		pop(c, old);
	}
	if ((d = json_object_get(v, "chunkedDribbleDelay")) != NULL) {
		static const char *const keys[] = { "numberOfChunks", "totalDuration", NULL };
		old = push_key(c, "chunkedDribbleDelay");
		if (!json_is_object(d))
			return bad(c, "expected an object, got %s", type_name(d));
		if (check_keys(c, d, keys, NULL) < 0)
			return -1;
		if ((got = opt_int(c, d, "numberOfChunks", 1, MAX_CHUNKS, &n)) < 0)
			return -1;
		if (got == 0)
			return bad(c, "expected numberOfChunks and totalDuration");
		r->dribble_chunks = (uint32_t)n;
		if ((got = opt_int(c, d, "totalDuration", 0, MAX_DELAY_MS, &n)) < 0)
			return -1;
		if (got == 0)
			return bad(c, "expected numberOfChunks and totalDuration");
		r->dribble_total_ms = (uint32_t)n;
		pop(c, old);
	}
	return 0;
}

static int parse_fault_and_transformers(ctx *c, json_t *v, ep_response *r)
{
	static const struct {
		const char *name;
		enum ep_fault fault;
	} faults[] = {
		{ "CONNECTION_RESET_BY_PEER", EP_FAULT_CONNECTION_RESET_BY_PEER },
		{ "EMPTY_RESPONSE", EP_FAULT_EMPTY_RESPONSE },
		{ "MALFORMED_RESPONSE_CHUNK", EP_FAULT_MALFORMED_RESPONSE_CHUNK },
		{ "RANDOM_DATA_THEN_CLOSE", EP_FAULT_RANDOM_DATA_THEN_CLOSE },
	};
	json_t *f = json_object_get(v, "fault"), *t = json_object_get(v, "transformers");
	const char *s;
	size_t old;

	if (f != NULL) {
		old = push_key(c, "fault");
		if (want_string(c, f, &s) < 0)
			return -1;
		for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
			if (strcmp(s, faults[i].name) == 0)
				r->fault = faults[i].fault;
		if (r->fault == EP_FAULT_NONE)
			return bad(c, "'%s' is not supported (CONNECTION_RESET_BY_PEER, EMPTY_RESPONSE, "
				      "MALFORMED_RESPONSE_CHUNK or RANDOM_DATA_THEN_CLOSE)", s);
		pop(c, old);
	}
	if (t != NULL) {
		old = push_key(c, "transformers");
		if (!json_is_array(t))
			return bad(c, "expected an array, got %s", type_name(t));
		for (size_t i = 0; i < json_array_size(t); i++) {
			size_t o2 = push_index(c, i);
			if (want_string(c, json_array_get(t, i), &s) < 0)
				return -1;
			if (strcmp(s, "response-template") != 0)
				return bad(c, "'%s' is not supported (only response-template)", s);
			r->templated = true;
			pop(c, o2);
		}
		pop(c, old);
	}
	return 0;
}

/* Templates are checked now so a bad {{...}} fails the load, not a request. */
static int check_templates(ctx *c, ep_response *r)
{
	char where[1024];
	dp_error *terr = NULL;
	int rc;

	if (!r->templated)
		return 0;
	snprintf(where, sizeof(where), "%s%s%s", c->path, c->len ? "." : "", "body");
	if (r->body != NULL && ep_template_check(r->body, r->body_len, where, &terr) < 0)
		goto fail;
	for (size_t i = 0; i < r->n_headers; i++) {
		snprintf(where, sizeof(where), "%s%sheaders.%s", c->path, c->len ? "." : "", r->headers[i].name);
		if (ep_template_check(r->headers[i].value, strlen(r->headers[i].value), where, &terr) < 0)
			goto fail;
	}
	return 0;
fail:
	rc = dp_usage(c->err, "%s: %s", c->source, terr->msg);
	dp_error_free(&terr);
	return rc;
}

static int parse_response(ctx *c, json_t *v, ep_response *r)
{
	long long status = 200;
	json_t *h;
	size_t old;

	if (!json_is_object(v))
		return bad(c, "expected an object, got %s", type_name(v));
	if (check_keys(c, v, response_keys, response_unsupported) < 0)
		return -1;
	if (opt_int(c, v, "status", 100, 599, &status) < 0)
		return -1;
	r->status = (unsigned)status;
	if (opt_string(c, v, "statusMessage", &r->status_message) < 0)
		return -1;
	if (r->status_message != NULL && !is_field_value(r->status_message)) {
		push_key(c, "statusMessage");
		return bad(c, "contains CR or LF");
	}
	if ((h = json_object_get(v, "headers")) != NULL) {
		old = push_key(c, "headers");
		if (parse_response_headers(c, h, r) < 0)
			return -1;
		pop(c, old);
	}
	if (parse_body(c, v, r) < 0 || parse_delays(c, v, r) < 0 || parse_fault_and_transformers(c, v, r) < 0)
		return -1;
	return check_templates(c, r);
}

/* ---- mapping ---------------------------------------------------------- */

static const char *const mapping_keys[] = {
	"id", "uuid", "name", "priority", "scenarioName", "requiredScenarioState", "newScenarioState",
	"request", "response", "persistent", "metadata", NULL,
};
static const char *const mapping_unsupported[] = {
	"postServeActions", "serveEventListeners", NULL,
};

static int new_uuid(char out[37])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

/* A file's mapping without an id gets one derived from where it is and what
 * it says, so journals saved by one run still name their mappings in the
 * next (WireMock makes a random one per load). */
static int stable_uuid(ctx *c, json_t *j, char out[37])
{
	unsigned char b[16];
	crypto_generichash_state st;
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	if (text == NULL)
		return oom(c);
	crypto_generichash_init(&st, NULL, 0, sizeof(b));
	crypto_generichash_update(&st, (const unsigned char *)c->source, strlen(c->source) + 1);
	crypto_generichash_update(&st, (const unsigned char *)c->path, c->len + 1);
	crypto_generichash_update(&st, (const unsigned char *)text, strlen(text));
	crypto_generichash_final(&st, b, sizeof(b));
	free(text);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x80); /* version 8: custom */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

static int parse_ids(ctx *c, json_t *j, ep_mapping *m)
{
	char *uuid = NULL;
	char gen[37];

	if (opt_string(c, j, "id", &m->id) < 0 || opt_string(c, j, "uuid", &uuid) < 0) {
		free(uuid);
		return -1;
	}
	if (m->id != NULL && uuid != NULL && strcmp(m->id, uuid) != 0) {
		free(uuid);
		return bad(c, "id and uuid differ; give one");
	}
	if (m->id == NULL)
		m->id = uuid;
	else
		free(uuid);
	if (m->id == NULL) {
		if (!c->stable_id)
			new_uuid(gen);
		else if (stable_uuid(c, j, gen) < 0)
			return -1;
		if ((m->id = strdup(gen)) == NULL)
			return oom(c);
	}
	if (m->id[0] == '\0' || strlen(m->id) > 128) {
		push_key(c, "id");
		return bad(c, "expected 1 to 128 characters");
	}
	for (const char *p = m->id; *p; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f || *p == '/') {
			push_key(c, "id");
			return bad(c, "contains a space, a control character or '/'");
		}
	return 0;
}

static int parse_mapping(ctx *c, json_t *j, ep_mapping *m)
{
	long long prio = 5;
	size_t old;

	if (!json_is_object(j))
		return bad(c, "expected a mapping object, got %s", type_name(j));
	if (check_keys(c, j, mapping_keys, mapping_unsupported) < 0 || parse_ids(c, j, m) < 0 ||
	    opt_string(c, j, "name", &m->name) < 0 || opt_int(c, j, "priority", 1, INT32_MAX, &prio) < 0 ||
	    opt_string(c, j, "scenarioName", &m->scenario) < 0 ||
	    opt_string(c, j, "requiredScenarioState", &m->required_state) < 0 ||
	    opt_string(c, j, "newScenarioState", &m->new_state) < 0)
		return -1;
	m->priority = (int)prio;
	if (json_object_get(j, "persistent") != NULL && !json_is_boolean(json_object_get(j, "persistent"))) {
		push_key(c, "persistent");
		return bad(c, "expected a boolean");
	}
	if (json_object_get(j, "metadata") != NULL && !json_is_object(json_object_get(j, "metadata"))) {
		push_key(c, "metadata");
		return bad(c, "expected an object");
	}
	if (m->scenario == NULL && (m->required_state != NULL || m->new_state != NULL))
		return bad(c, "%s without scenarioName",
			   m->required_state ? "requiredScenarioState" : "newScenarioState");
	if (json_object_get(j, "request") == NULL)
		return bad(c, "missing \"request\"");
	old = push_key(c, "request");
	if (parse_request(c, json_object_get(j, "request"), &m->req) < 0)
		return -1;
	pop(c, old);
	m->resp.status = 200;
	if (json_object_get(j, "response") != NULL) {
		old = push_key(c, "response");
		if (parse_response(c, json_object_get(j, "response"), &m->resp) < 0)
			return -1;
		pop(c, old);
	}
	/* the admin API returns mappings as given, with the id we use */
	if ((m->json = json_deep_copy(j)) == NULL || json_object_set_new(m->json, "id", json_string(m->id)) < 0)
		return oom(c);
	if (json_object_get(m->json, "uuid") == NULL && json_object_set_new(m->json, "uuid", json_string(m->id)) < 0)
		return oom(c);
	return 0;
}

/* source names the file; prefix, if any, starts the key path
 * ("mappings[2]") so errors read "pay.json: mappings[2].request...". */
static int parse_one(json_t *j, const char *source, const char *prefix, const char *files_dir, bool stable_id,
		     ep_mapping **out, dp_error **err)
{
	ctx c = { .source = source, .files_dir = files_dir, .stable_id = stable_id, .err = err };
	ep_mapping *m;

	if (sodium_init() < 0)
		return dp_fail(err, 0, "libsodium does not initialise");
	if (prefix != NULL)
		push(&c, "", prefix);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return oom(&c);
	if (parse_mapping(&c, j, m) < 0 || (m->source = strdup(source)) == NULL) {
		if (m->source == NULL && err != NULL && *err == NULL)
			oom(&c);
		ep_mapping_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

int ep_mapping_parse(json_t *j, const char *source, const char *files_dir, ep_mapping **out, dp_error **err)
{
	return parse_one(j, source, NULL, files_dir, false, out, err);
}

static void free_named(ep_named_pattern *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		pattern_clear(&v[i].p);
	}
	free(v);
}

void ep_mapping_free(ep_mapping *m)
{
	if (m == NULL)
		return;
	free(m->id);
	free(m->name);
	free(m->scenario);
	free(m->required_state);
	free(m->new_state);
	free(m->req.method);
	free(m->req.url);
	if (m->req.has_url_re)
		regfree(&m->req.url_re);
	free_named(m->req.query, m->req.n_query);
	free_named(m->req.headers, m->req.n_headers);
	free_named(m->req.cookies, m->req.n_cookies);
	for (size_t i = 0; i < m->req.n_body; i++)
		pattern_clear(&m->req.body[i]);
	free(m->req.body);
	free(m->req.basic_user);
	free(m->req.basic_pass);
	free(m->resp.status_message);
	for (size_t i = 0; i < m->resp.n_headers; i++) {
		free(m->resp.headers[i].name);
		free(m->resp.headers[i].value);
	}
	free(m->resp.headers);
	free(m->resp.body);
	free(m->source);
	json_decref(m->json);
	free(m);
}

void ep_mappings_free(ep_mapping **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ep_mapping_free(v[i]);
	free(v);
}

/* ---- a directory of mapping files ------------------------------------- */

typedef struct names {
	char **v;
	size_t n, cap;
} names;

static void names_free(names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static bool ends_with_json(const char *s)
{
	size_t n = strlen(s);
	return n > 5 && strcmp(s + n - 5, ".json") == 0;
}

/* Collects rel/... *.json paths below dirfd/rel; dot files (editor
 * leftovers) and the top __files/ are skipped. A symlinked directory is
 * refused rather than skipped, so no mapping goes missing unnoticed. */
static int collect(const char *dir, int rootfd, const char *rel, int depth, names *out, dp_error **err)
{
	cleanup_close int fd = -1;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (depth > MAX_DIR_DEPTH)
		return dp_usage(err, "%s/%s: directories nested deeper than %d", dir, rel, MAX_DIR_DEPTH);
	fd = rel[0] ? dp_open_in_root_nosym(rootfd, rel, O_RDONLY | O_DIRECTORY, 0)
		    : openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return dp_fail_errno(err, "%s/%s", dir, rel);
	if ((d = fdopendir(fd)) == NULL)
		return dp_fail_errno(err, "%s/%s", dir, rel);
	fd = -1; /* the DIR owns it now */
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		cleanup_free char *sub = NULL;
		struct stat st;

		if (e->d_name[0] == '.' || (depth == 0 && strcmp(e->d_name, "__files") == 0))
			continue;
		if (asprintf(&sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name) < 0) {
			rc = dp_fail(err, ENOMEM, "%s", dir);
			break;
		}
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = dp_fail_errno(err, "%s/%s", dir, sub);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			rc = collect(dir, rootfd, sub, depth + 1, out, err);
			continue;
		}
		if (S_ISLNK(st.st_mode) && fstatat(dirfd(d), e->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode)) {
			rc = dp_usage(err, "%s/%s: a symlink to a directory is not followed; move the directory in",
				      dir, sub);
			break;
		}
		if (!ends_with_json(e->d_name) || S_ISDIR(st.st_mode))
			continue;
		if (out->n == MAX_FILES) {
			rc = dp_usage(err, "%s: more than %d mapping files", dir, MAX_FILES);
			break;
		}
		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 64;
			char **v = realloc(out->v, cap * sizeof(*v));
			if (v == NULL) {
				rc = dp_fail(err, ENOMEM, "%s", dir);
				break;
			}
			out->v = v;
			out->cap = cap;
		}
		out->v[out->n++] = dp_steal_ptr(&sub);
	}
	if (rc == 0 && errno != 0)
		rc = dp_fail_errno(err, "%s/%s", dir, rel);
	closedir(d);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct mlist {
	ep_mapping **v;
	size_t n, cap;
} mlist;

static int mlist_add(mlist *l, ep_mapping *m)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		ep_mapping **v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = m;
	return 0;
}

/* One file: a mapping, or {"mappings": [...]} (with WireMock's "meta"). */
static int load_file(int rootfd, const char *rel, const char *display, const char *files_dir, mlist *out,
		     dp_error **err)
{
	cleanup_close int fd = -1;
	cleanup_free char *buf = NULL;
	size_t len;
	json_error_t je;
	json_t *j, *arr;
	int rc = 0;

	if ((fd = open_beneath(rootfd, rel)) < 0) {
		if (errno == EXDEV || errno == ELOOP)
			return dp_usage(err, "%s: a symlink leading out of the mappings directory; refused", display);
		return dp_fail_errno(err, "%s", display);
	}
	if (read_all(fd, MAX_FILE_BYTES, &buf, &len) < 0) {
		if (errno == EFBIG)
			return dp_usage(err, "%s: larger than %u MiB", display, MAX_FILE_BYTES >> 20);
		if (errno == EINVAL)
			return dp_usage(err, "%s: not a regular file", display);
		return dp_fail_errno(err, "%s", display);
	}
	if ((j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return dp_usage(err, "%s: invalid JSON at line %d, column %d: %s", display, je.line, je.column,
				je.text);
	if (json_is_object(j) && (arr = json_object_get(j, "mappings")) != NULL) {
		static const char *const keys[] = { "mappings", "meta", NULL };
		ctx c = { .source = display, .err = err };
		if (check_keys(&c, j, keys, NULL) < 0) {
			rc = -1;
		} else if (!json_is_array(arr)) {
			push_key(&c, "mappings");
			rc = bad(&c, "expected an array, got %s", type_name(arr));
		}
		for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++) {
			char prefix[48];
			ep_mapping *m = NULL;
			if (out->n >= MAX_MAPPINGS) {
				rc = dp_usage(err, "%s: more than %d mappings", display, MAX_MAPPINGS);
				break;
			}
			snprintf(prefix, sizeof(prefix), "mappings[%zu]", i);
			rc = parse_one(json_array_get(arr, i), display, prefix, files_dir, true, &m, err);
			if (rc == 0 && (rc = mlist_add(out, m)) < 0) {
				ep_mapping_free(m);
				dp_fail(err, ENOMEM, "%s", display);
			}
		}
	} else {
		ep_mapping *m = NULL;
		if (out->n >= MAX_MAPPINGS)
			rc = dp_usage(err, "%s: more than %d mappings", display, MAX_MAPPINGS);
		else if ((rc = parse_one(j, display, NULL, files_dir, true, &m, err)) == 0 && (rc = mlist_add(out, m)) < 0) {
			ep_mapping_free(m);
			dp_fail(err, ENOMEM, "%s", display);
		}
	}
	json_decref(j);
	return rc;
}

int ep_mappings_load_dir(const char *dir, ep_mapping ***out, size_t *n_out, dp_error **err)
{
	cleanup_close int rootfd = -1;
	cleanup_free char *files_dir = NULL;
	struct stat st;
	names files = { 0 };
	mlist list = { 0 };
	const char *sub = "";
	int rc = 0;

	if ((rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return dp_usage(err, "%s: not a directory", dir);
		return dp_fail_errno(err, "%s", dir);
	}
	/* WireMock's layout (mappings/, __files/) or a plain directory of files */
	if (fstatat(rootfd, "mappings", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISDIR(st.st_mode))
			return dp_usage(err, "%s/mappings: not a directory (a symlink is refused)", dir);
		sub = "mappings";
	}
	if (asprintf(&files_dir, "%s/__files", dir) < 0)
		return dp_fail(err, ENOMEM, "%s", dir);
	if (collect(dir, rootfd, sub, 0, &files, err) < 0) {
		names_free(&files);
		return -1;
	}
	if (files.n > 0)
		qsort(files.v, files.n, sizeof(*files.v), cmp_names);
	for (size_t i = 0; rc == 0 && i < files.n; i++) {
		cleanup_free char *display = NULL;
		if (asprintf(&display, "%s/%s", dir, files.v[i]) < 0) {
			rc = dp_fail(err, ENOMEM, "%s", dir);
			break;
		}
		rc = load_file(rootfd, files.v[i], display, files_dir, &list, err);
	}
	names_free(&files);
	if (rc < 0) {
		ep_mappings_free(list.v, list.n);
		return -1;
	}
	for (size_t i = 0; i < list.n; i++)
		list.v[i]->seq = i;
	*out = list.v;
	*n_out = list.n;
	return 0;
}
