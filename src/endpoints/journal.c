/* The bounded request journal of journal.h. An entry is one malloc'd block:
 * the header, an ep_request whose arrays and strings point into the same
 * block, so recording costs one allocation and one copy, eviction one free,
 * and the matcher can run over old entries (requests/count) unchanged. */
#include "endpoints/journal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "endpoints/faults.h"
#include "endpoints/match.h"

typedef struct jentry {
	uint64_t seq;
	int64_t logged_ms; /* wall clock, for loggedDate */
	unsigned status;
	enum ep_fault fault;
	bool truncated;    /* body cut at EP_JOURNAL_BODY_MAX */
	size_t bytes;
	char *stub_id;     /* NULL: unmatched */
	ep_request r;
} jentry;

struct ep_journal {
	pthread_mutex_t lock;
	jentry **ring;
	size_t cap, head, n; /* head: where the next entry goes */
	size_t bytes;
	uint64_t seq;
	uint64_t id_base; /* random half of the entry ids */
};

int ep_journal_new(size_t max_entries, ep_journal **out, dp_error **err)
{
	ep_journal *j = calloc(1, sizeof(*j));

	if (max_entries == 0)
		max_entries = 1;
	if (j == NULL || (j->ring = calloc(max_entries, sizeof(*j->ring))) == NULL) {
		free(j);
		return dp_fail(err, ENOMEM, "endpoints: journal of %zu entries", max_entries);
	}
	j->cap = max_entries;
	if (getrandom(&j->id_base, sizeof(j->id_base), GRND_NONBLOCK) != (ssize_t)sizeof(j->id_base))
		j->id_base = (uint64_t)time(NULL) * 2654435761u;
	pthread_mutex_init(&j->lock, NULL);
	*out = j;
	return 0;
}

static void drop_all(ep_journal *j)
{
	for (size_t i = 0; i < j->cap; i++) {
		free(j->ring[i]);
		j->ring[i] = NULL;
	}
	j->n = j->head = j->bytes = 0;
}

void ep_journal_free(ep_journal *j)
{
	if (j == NULL)
		return;
	drop_all(j);
	pthread_mutex_destroy(&j->lock);
	free(j->ring);
	free(j);
}

static size_t kv_bytes(const ep_kv *v, size_t n)
{
	size_t b = n * sizeof(ep_kv);

	for (size_t i = 0; i < n; i++)
		b += strlen(v[i].name) + strlen(v[i].value) + 2;
	return b;
}

static char *put(char **p, const char *s, size_t len)
{
	char *at = *p;

	memcpy(at, s, len);
	at[len] = '\0';
	*p += len + 1;
	return at;
}

static char *put_str(char **p, const char *s)
{
	return put(p, s ? s : "", s ? strlen(s) : 0);
}

static void put_kv(char **p, ep_kv *dst, const ep_kv *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		dst[i].name = put_str(p, src[i].name);
		dst[i].value = put_str(p, src[i].value);
	}
}

#define SLEN(s) ((s) ? strlen(s) + 1 : 1)

/* The packed copy of r. */
static jentry *pack(const ep_request *r, unsigned status, const char *stub_id, enum ep_fault fault)
{
	size_t body = r->body_len < EP_JOURNAL_BODY_MAX ? r->body_len : EP_JOURNAL_BODY_MAX;
	size_t size = sizeof(jentry) + kv_bytes(r->query, r->n_query) + kv_bytes(r->headers, r->n_headers) +
		      kv_bytes(r->cookies, r->n_cookies) + SLEN(r->method) + SLEN(r->url) + SLEN(r->path) +
		      SLEN(r->host) + SLEN(r->client) + SLEN(r->scheme) + SLEN(stub_id) + body + 1;
	jentry *e = malloc(size);
	struct timespec ts;
	char *p;

	if (e == NULL)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	e->logged_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	e->status = status;
	e->fault = fault;
	e->truncated = body < r->body_len;
	e->bytes = size;
	e->r.query = (ep_kv *)(e + 1);
	e->r.headers = e->r.query + r->n_query;
	e->r.cookies = e->r.headers + r->n_headers;
	e->r.n_query = r->n_query;
	e->r.n_headers = r->n_headers;
	e->r.n_cookies = r->n_cookies;
	p = (char *)(e->r.cookies + r->n_cookies);
	put_kv(&p, e->r.query, r->query, r->n_query);
	put_kv(&p, e->r.headers, r->headers, r->n_headers);
	put_kv(&p, e->r.cookies, r->cookies, r->n_cookies);
	e->r.method = put_str(&p, r->method);
	e->r.url = put_str(&p, r->url);
	e->r.path = put_str(&p, r->path);
	e->r.host = put_str(&p, r->host);
	e->r.client = put_str(&p, r->client);
	e->r.scheme = put_str(&p, r->scheme);
	e->stub_id = stub_id ? put_str(&p, stub_id) : NULL;
	e->r.body = put(&p, body ? r->body : "", body);
	e->r.body_len = body;
	return e;
}

/* Adds e, dropping the oldest entries past the limits; returns what to free. */
static jentry *insert(ep_journal *j, jentry *e)
{
	jentry *old = j->ring[j->head];

	e->seq = ++j->seq;
	if (old) {
		j->bytes -= old->bytes;
		j->n--;
	}
	j->ring[j->head] = e;
	j->head = (j->head + 1) % j->cap;
	j->n++;
	j->bytes += e->bytes;
	/* over the byte budget: evict from the oldest end, keep the newest */
	while (j->bytes > EP_JOURNAL_BYTES_MAX && j->n > 1) {
		size_t tail = (j->head + j->cap - j->n) % j->cap;
		jentry *t = j->ring[tail];
		j->ring[tail] = NULL;
		j->bytes -= t->bytes;
		j->n--;
		free(t);
	}
	return old;
}

void ep_journal_record(ep_journal *j, const ep_request *r, unsigned status, const char *stub_id,
		       enum ep_fault fault)
{
	jentry *e = pack(r, status, stub_id, fault), *old;

	if (e == NULL)
		return; /* out of memory: the request is answered, not journalled */
	pthread_mutex_lock(&j->lock);
	old = insert(j, e);
	pthread_mutex_unlock(&j->lock);
	free(old);
}

void ep_journal_clear(ep_journal *j)
{
	pthread_mutex_lock(&j->lock);
	drop_all(j);
	pthread_mutex_unlock(&j->lock);
}

/* i-th entry, 0 the newest; under the lock. */
static jentry *nth_newest(ep_journal *j, size_t i)
{
	return j->ring[(j->head + j->cap - 1 - i) % j->cap];
}

size_t ep_journal_count(ep_journal *j, const ep_request_pattern *p)
{
	size_t count = 0;

	pthread_mutex_lock(&j->lock);
	for (size_t i = 0; i < j->n; i++)
		if (ep_request_matches(p, &nth_newest(j, i)->r))
			count++;
	pthread_mutex_unlock(&j->lock);
	return count;
}

/* {NAME: VALUE}, repeated names as an array of values (WireMock's form). */
static json_t *kv_json(const ep_kv *v, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < n; i++) {
		json_t *had = json_object_get(o, v[i].name), *val = json_string(v[i].value);
		if (val == NULL)
			continue; /* not UTF-8: left out rather than mangled */
		if (had == NULL) {
			json_object_set_new(o, v[i].name, val);
		} else if (json_is_array(had)) {
			json_array_append_new(had, val);
		} else {
			json_t *arr = json_pack("[O, o]", had, val);
			json_object_set_new(o, v[i].name, arr);
		}
	}
	return o;
}

static json_t *query_json(const ep_kv *v, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < n; i++) {
		json_t *q = json_object_get(o, v[i].name), *val = json_string(v[i].value);
		if (val == NULL)
			continue;
		if (q == NULL) {
			q = json_pack("{s:s, s:[]}", "key", v[i].name, "values");
			json_object_set_new(o, v[i].name, q);
		}
		json_array_append_new(json_object_get(q, "values"), val);
	}
	return o;
}

static void format_id(const ep_journal *j, uint64_t seq, char out[37])
{
	uint64_t b = j->id_base;

	snprintf(out, 37, "%08" PRIx32 "-%04" PRIx32 "-4%03" PRIx32 "-a%03" PRIx32 "-%012" PRIx64,
		 (uint32_t)(b >> 32), (uint32_t)(b >> 16) & 0xffff, (uint32_t)b & 0xfff,
		 (uint32_t)(seq >> 48) & 0xfff, seq & (uint64_t)0xffffffffffff);
}

static void format_date(int64_t ms, char out[64])
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* clientIp: "1.2.3.4:5678" and "[::1]:5678" without the port. */
static json_t *client_ip(const char *client)
{
	const char *colon = strrchr(client, ':');
	size_t len = colon ? (size_t)(colon - client) : strlen(client);

	if (client[0] == '[' && len >= 2 && client[len - 1] == ']')
		return json_stringn(client + 1, len - 2);
	return json_stringn(client, len);
}

static void set_body(json_t *req, const jentry *e)
{
	json_t *body = json_stringn(e->r.body, e->r.body_len);
	size_t cap;
	char *b64;

	if (body) {
		json_object_set_new(req, "body", body);
		return;
	}
	/* not text: WireMock's bodyAsBase64 */
	json_object_set_new(req, "body", json_string(""));
	cap = sodium_base64_ENCODED_LEN(e->r.body_len, sodium_base64_VARIANT_ORIGINAL);
	b64 = malloc(cap);
	if (b64 == NULL)
		return;
	sodium_bin2base64(b64, cap, (const unsigned char *)e->r.body, e->r.body_len, sodium_base64_VARIANT_ORIGINAL);
	json_object_set_new(req, "bodyAsBase64", json_string(b64));
	free(b64);
}

static json_t *entry_json(const ep_journal *j, const jentry *e, ep_stubs *stubs)
{
	const char *host = ep_request_header(&e->r, "Host");
	char id[37], date[64];
	json_t *req, *out, *stub;
	char *abs = NULL;

	format_id(j, e->seq, id);
	format_date(e->logged_ms, date);
	if (asprintf(&abs, "%s://%s%s", e->r.scheme, host ? host : (e->r.host[0] ? e->r.host : "localhost"),
		     e->r.url) < 0)
		abs = NULL;
	req = json_pack("{s:s?, s:s?, s:s?, s:o?, s:o, s:o, s:o, s:I, s:s, s:s?, s:s?, s:b}", "url", e->r.url,
			"absoluteUrl", abs, "method", e->r.method, "clientIp", client_ip(e->r.client), "headers",
			kv_json(e->r.headers, e->r.n_headers), "cookies", kv_json(e->r.cookies, e->r.n_cookies),
			"queryParams", query_json(e->r.query, e->r.n_query), "loggedDate", (json_int_t)e->logged_ms,
			"loggedDateString", date, "host", e->r.host, "scheme", e->r.scheme, "bodyTruncated",
			e->truncated);
	free(abs);
	if (req == NULL)
		return NULL;
	set_body(req, e);
	out = json_pack("{s:s, s:o, s:{s:i, s:s*}, s:b}", "id", id, "request", req, "responseDefinition", "status",
			(int)e->status, "fault", e->fault ? ep_fault_name(e->fault) : NULL, "wasMatched",
			e->stub_id != NULL);
	if (out && e->stub_id) {
		stub = stubs ? ep_stubs_get_json(stubs, e->stub_id) : NULL;
		/* a mapping deleted since: its id is all we know */
		json_object_set_new(out, "stubMapping", stub ? stub : json_pack("{s:s}", "id", e->stub_id));
	}
	return out;
}

json_t *ep_journal_json(ep_journal *j, ep_stubs *stubs, size_t limit)
{
	json_t *arr = json_array();
	size_t total;

	if (arr == NULL)
		return NULL;
	pthread_mutex_lock(&j->lock);
	total = j->n;
	for (size_t i = 0; i < j->n && (limit == 0 || i < limit); i++) {
		json_t *e = entry_json(j, nth_newest(j, i), stubs);
		if (e)
			json_array_append_new(arr, e);
	}
	pthread_mutex_unlock(&j->lock);
	return json_pack("{s:o, s:{s:I}, s:b}", "requests", arr, "meta", "total", (json_int_t)total,
			 "requestJournalDisabled", 0);
}

json_t *ep_journal_export(ep_journal *j, ep_stubs *stubs)
{
	json_t *arr = json_array();

	if (arr == NULL)
		return NULL;
	pthread_mutex_lock(&j->lock);
	for (size_t i = j->n; i-- > 0;) {
		json_t *e = entry_json(j, nth_newest(j, i), stubs);
		if (e)
			json_array_append_new(arr, e);
	}
	pthread_mutex_unlock(&j->lock);
	return arr;
}

/* Reading saved entries back: the WireMock shape entry_json writes. */

typedef struct kvlist {
	ep_kv *v;
	size_t n, cap;
} kvlist;

static int kv_push(kvlist *l, const char *name, const char *value)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		ep_kv *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (ep_kv){ .name = (char *)name, .value = (char *)value };
	return 0;
}

/* {NAME: "v"} or {NAME: ["v", ...]}; query: {NAME: {"values": [...]}}. */
static int kv_read(json_t *o, bool query, kvlist *l)
{
	const char *name;
	json_t *v, *x;
	size_t i;

	json_object_foreach(o, name, v) {
		if (query)
			v = json_object_get(v, "values");
		if (json_is_string(v) && kv_push(l, name, json_string_value(v)) < 0)
			return -1;
		if (json_is_array(v))
			json_array_foreach(v, i, x)
				if (json_is_string(x) && kv_push(l, name, json_string_value(x)) < 0)
					return -1;
	}
	return 0;
}

static int import_one(ep_journal *j, json_t *e, const char *where, size_t idx, dp_error **err)
{
	json_t *req = json_object_get(e, "request"), *stub = json_object_get(e, "stubMapping");
	kvlist h = { 0 }, c = { 0 }, q = { 0 };
	const char *url, *body = json_string_value(json_object_get(req, "body"));
	const char *stub_id = json_string_value(json_object_get(stub, "id"));
	ep_request r = { 0 };
	json_t *def;
	jentry *ne, *old;
	char *path = NULL;
	int rc = -1;

	url = json_string_value(json_object_get(req, "url"));
	if (url == NULL || json_string_value(json_object_get(req, "method")) == NULL)
		return dp_usage(err, "%s: requests[%zu]: expected request.url and request.method", where, idx);
	if (kv_read(json_object_get(req, "headers"), false, &h) < 0 ||
	    kv_read(json_object_get(req, "cookies"), false, &c) < 0 ||
	    kv_read(json_object_get(req, "queryParams"), true, &q) < 0 ||
	    (path = strndup(url, strcspn(url, "?"))) == NULL) {
		dp_fail(err, ENOMEM, "%s", where);
		goto out;
	}
	r = (ep_request){ .method = (char *)json_string_value(json_object_get(req, "method")),
			  .url = (char *)url,
			  .path = path,
			  .host = (char *)json_string_value(json_object_get(req, "host")),
			  .client = (char *)json_string_value(json_object_get(req, "clientIp")),
			  .scheme = (char *)json_string_value(json_object_get(req, "scheme")),
			  .headers = h.v, .n_headers = h.n, .cookies = c.v, .n_cookies = c.n,
			  .query = q.v, .n_query = q.n,
			  .body = (char *)(body ? body : ""),
			  .body_len = body ? json_string_length(json_object_get(req, "body")) : 0 };
	if (r.scheme == NULL)
		r.scheme = "http";
	def = json_object_get(e, "responseDefinition");
	ne = pack(&r, (unsigned)json_integer_value(json_object_get(def, "status")),
		  json_is_true(json_object_get(e, "wasMatched")) ? (stub_id ? stub_id : "") : NULL,
		  ep_fault_parse(json_string_value(json_object_get(def, "fault"))));
	if (ne == NULL) {
		dp_fail(err, ENOMEM, "%s", where);
		goto out;
	}
	if (json_is_integer(json_object_get(req, "loggedDate")))
		ne->logged_ms = json_integer_value(json_object_get(req, "loggedDate"));
	pthread_mutex_lock(&j->lock);
	old = insert(j, ne);
	pthread_mutex_unlock(&j->lock);
	free(old);
	rc = 0;
out:
	free(h.v);
	free(c.v);
	free(q.v);
	free(path);
	return rc;
}

int ep_journal_import(ep_journal *j, json_t *requests, const char *where, dp_error **err)
{
	json_t *e;
	size_t i;

	if (requests == NULL)
		return 0;
	if (!json_is_array(requests))
		return dp_usage(err, "%s: requests: expected an array", where);
	json_array_foreach(requests, i, e)
		if (import_one(j, e, where, i, err) < 0)
			return -1;
	return 0;
}
