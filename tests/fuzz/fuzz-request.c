/* libFuzzer target for the stand-in's request path: the input is a mapping
 * and a request, and every parser and matcher a hostile file or client can
 * reach runs on it: ep_mapping_parse (regexes, JSON matchers, templates,
 * delays), ep_match_request with its near-miss text, ep_template_render,
 * ep_jsonpath_eval on the body. Built with clang -fsanitize=fuzzer by
 * bench/fuzz; run-corpus.c replays the corpus in `meson test`.
 *
 * Input: fields separated by NUL bytes, missing ones empty:
 *   mapping JSON \0 method \0 url \0 headers ("Name: value" lines) \0 body */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "endpoints/jsonpath.h"
#include "endpoints/mapping.h"
#include "endpoints/match.h"
#include "endpoints/request.h"
#include "endpoints/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_KV 64

typedef struct fields {
	const char *f[5];
	size_t len[5];
} fields;

static void split(const uint8_t *data, size_t size, fields *out)
{
	size_t k = 0, start = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i <= size && k < 5; i++)
		if (i == size || (data[i] == 0 && k < 4)) {
			out->f[k] = (const char *)data + start;
			out->len[k++] = i - start;
			start = i + 1;
		}
}

/* "a=1&b" into kv pairs, in place (s is a private copy). */
static size_t parse_pairs(char *s, char sep, char eq, ep_kv *kv, size_t max)
{
	size_t n = 0;

	for (char *tok = s, *next; tok && *tok && n < max; tok = next) {
		next = strchr(tok, sep);
		if (next)
			*next++ = '\0';
		while (*tok == ' ')
			tok++;
		char *v = strchr(tok, eq);
		if (v)
			*v++ = '\0';
		kv[n++] = (ep_kv){ .name = tok, .value = v ? v : (char *)"" };
	}
	return n;
}

static size_t parse_headers(char *s, ep_kv *kv, size_t max)
{
	size_t n = 0;

	for (char *line = s, *next; line && *line && n < max; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *colon = strchr(line, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		for (colon++; *colon == ' '; colon++)
			;
		kv[n++] = (ep_kv){ .name = line, .value = colon };
	}
	return n;
}

static void exercise(ep_mapping *m, const ep_request *r)
{
	char why[512];
	char *out = NULL;
	size_t out_len = 0;
	dp_error *err = NULL;

	ep_match_request(&m->req, r, why, sizeof(why));
	ep_match_request(&m->req, r, NULL, 0);
	for (size_t i = 0; i < m->req.n_body; i++)
		ep_match_value(&m->req.body[i], r->body, r->body_len);
	for (size_t i = 0; i < m->req.n_headers; i++)
		ep_match_value(&m->req.headers[i].p, ep_request_header(r, m->req.headers[i].name),
			       ep_request_header(r, m->req.headers[i].name)
				       ? strlen(ep_request_header(r, m->req.headers[i].name))
				       : 0);
	if (m->resp.templated && m->resp.body) {
		if (ep_template_render(m->resp.body, m->resp.body_len, r, &out, &out_len, &err) < 0)
			dp_error_free(&err);
		free(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fields f;
	char *url, *hdrs, *body, *method, *query;
	ep_kv query_kv[MAX_KV], hdr_kv[MAX_KV], cookie_kv[MAX_KV];
	ep_request r = { 0 };
	json_t *j;
	ep_mapping *m = NULL;
	dp_error *err = NULL;
	char *out = NULL;
	size_t out_len = 0;

	split(data, size, &f);
	method = strndup(f.f[1] ? f.f[1] : "", f.len[1]);
	url = strndup(f.f[2] ? f.f[2] : "", f.len[2]);
	hdrs = strndup(f.f[3] ? f.f[3] : "", f.len[3]);
	body = malloc(f.len[4] + 1);
	if (method == NULL || url == NULL || hdrs == NULL || body == NULL)
		goto out;
	memcpy(body, f.f[4] ? f.f[4] : "", f.len[4]);
	body[f.len[4]] = '\0';
	query = strchr(url, '?');
	r.method = method[0] ? method : (char *)"GET";
	r.url = url;
	r.path = strndup(url, query ? (size_t)(query - url) : strlen(url));
	if (r.path == NULL)
		goto out;
	r.host = (char *)"fuzz.example";
	r.client = (char *)"127.0.0.1:1";
	r.scheme = (char *)"http";
	r.body = body;
	r.body_len = f.len[4];
	r.headers = hdr_kv;
	r.n_headers = parse_headers(hdrs, hdr_kv, MAX_KV);
	if (query) {
		char *q = strdup(query + 1);
		if (q) {
			r.query = query_kv;
			r.n_query = parse_pairs(q, '&', '=', query_kv, MAX_KV);
			/* kv point into q: freed below, after use */
		}
		query = q;
	}
	const char *cookie = ep_request_header(&r, "Cookie");
	char *cookies = cookie ? strdup(cookie) : NULL;
	if (cookies) {
		r.cookies = cookie_kv;
		r.n_cookies = parse_pairs(cookies, ';', '=', cookie_kv, MAX_KV);
	}

	j = json_loadb(f.f[0] ? f.f[0] : "", f.len[0], JSON_DECODE_ANY, NULL);
	if (j && ep_mapping_parse(j, "fuzz.json", NULL, &m, &err) == 0) {
		exercise(m, &r);
		ep_mapping_free(m);
	}
	dp_error_free(&err);
	json_decref(j);

	/* the mapping text as a template and the body's JSON under a path */
	if (ep_template_check(f.f[0] ? f.f[0] : "", f.len[0], "fuzz", &err) == 0 &&
	    ep_template_render(f.f[0] ? f.f[0] : "", f.len[0], &r, &out, &out_len, &err) == 0)
		free(out);
	dp_error_free(&err);
	j = json_loadb(body, r.body_len, JSON_DECODE_ANY, NULL);
	if (j && r.path[0] == '$' && ep_jsonpath_check(r.path, &err) == 0)
		json_decref(ep_jsonpath_eval(r.path, j));
	dp_error_free(&err);
	json_decref(j);
	free(cookies);
	free(query);
out:
	free(r.path);
	free(method);
	free(url);
	free(hdrs);
	free(body);
	return 0;
}
