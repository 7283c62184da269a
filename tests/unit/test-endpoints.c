/* Unit tests of src/endpoints/ below the server: WireMock mapping parsing and
 * its errors, the string and request matchers with their near-miss
 * distance, JSONPath and response templating. A mapping that loads but
 * means something else than in WireMock is a silent test failure for our
 * users, so behaviour is checked value by value, and every class of bad
 * input must fail with the file and the key in the message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "endpoints/jsonpath.h"
#include "endpoints/mapping.h"
#include "endpoints/match.h"
#include "endpoints/request.h"
#include "endpoints/template.h"

/* ---- helpers ----------------------------------------------------------- */

static ep_mapping *parse_in(const char *text, const char *files_dir)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	ep_mapping *m = NULL;
	dp_error *err = NULL;

	if (j == NULL)
		fail_msg("test JSON does not parse: %s: %s", je.text, text);
	if (ep_mapping_parse(j, "t.json", files_dir, &m, &err) < 0)
		fail_msg("parse failed: %s", err->msg);
	assert_null(err);
	json_decref(j);
	return m;
}

static ep_mapping *parse(const char *text)
{
	return parse_in(text, NULL);
}

/* Parsing must fail with a usage error whose message contains want. */
static void parse_fails_in(const char *text, const char *files_dir, const char *want)
{
	json_t *j = json_loads(text, 0, NULL);
	ep_mapping *m = NULL;
	dp_error *err = NULL;

	assert_non_null(j);
	if (ep_mapping_parse(j, "t.json", files_dir, &m, &err) == 0)
		fail_msg("parsed, expected an error containing '%s': %s", want, text);
	assert_null(m);
	assert_non_null(err);
	if (strstr(err->msg, want) == NULL)
		fail_msg("error '%s' does not contain '%s'", err->msg, want);
	assert_int_equal(err->status, DP_EXIT_USAGE);
	dp_error_free(&err);
	json_decref(j);
}

static void parse_fails(const char *text, const char *want)
{
	parse_fails_in(text, NULL, want);
}

/* A single-matcher pattern, as a body pattern, for ep_match_value. */
static ep_mapping *body_pattern(const char *matcher)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "{\"request\": {\"bodyPatterns\": [%s]}}", matcher);
	return parse(buf);
}

static bool value_matches(const char *matcher, const char *value)
{
	ep_mapping *m = body_pattern(matcher);
	bool r;

	assert_int_equal(m->req.n_body, 1);
	r = ep_match_value(&m->req.body[0], value, value ? strlen(value) : 0);
	ep_mapping_free(m);
	return r;
}

static bool header_matches(const char *matcher, const char *value)
{
	char buf[4096];
	ep_mapping *m;
	bool r;

	snprintf(buf, sizeof(buf), "{\"request\": {\"headers\": {\"X\": %s}}}", matcher);
	m = parse(buf);
	r = ep_match_value(&m->req.headers[0].p, value, value ? strlen(value) : 0);
	ep_mapping_free(m);
	return r;
}

/* A request on the stack; the tests never free it. */
typedef struct req {
	ep_request r;
	ep_kv query[8], headers[8], cookies[8];
} req;

static void req_init(req *q, const char *method, const char *url, const char *body)
{
	const char *qm = strchr(url, '?');

	memset(q, 0, sizeof(*q));
	q->r.method = (char *)method;
	q->r.url = (char *)url;
	q->r.path = qm ? strndup(url, (size_t)(qm - url)) : strdup(url);
	q->r.host = (char *)"api.example";
	q->r.scheme = (char *)"https";
	q->r.body = (char *)body;
	q->r.body_len = body ? strlen(body) : 0;
	q->r.query = q->query;
	q->r.headers = q->headers;
	q->r.cookies = q->cookies;
}

static void req_done(req *q)
{
	free(q->r.path);
}

static void add_query(req *q, const char *n, const char *v)
{
	q->query[q->r.n_query++] = (ep_kv){ (char *)n, (char *)v };
}

static void add_header(req *q, const char *n, const char *v)
{
	q->headers[q->r.n_headers++] = (ep_kv){ (char *)n, (char *)v };
}

static void add_cookie(req *q, const char *n, const char *v)
{
	q->cookies[q->r.n_cookies++] = (ep_kv){ (char *)n, (char *)v };
}

static char *tmpdir_make(void)
{
	char *d = strdup("/tmp/test-endpoints-XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static void write_file(const char *dir, const char *rel, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void sub_dir(const char *dir, const char *rel)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void rm_rf(const char *dir)
{
	char cmd[1100];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- parsing ----------------------------------------------------------- */

static void test_parse_full(void **state)
{
	(void)state;
	ep_mapping *m = parse(
		"{\"id\": \"charge-1\", \"name\": \"create\", \"priority\": 2, \"scenarioName\": \"s\","
		" \"requiredScenarioState\": \"Started\", \"newScenarioState\": \"two\", \"persistent\": true,"
		" \"metadata\": {\"team\": \"pay\"},"
		" \"request\": {\"method\": \"POST\", \"urlPathPattern\": \"/v1/charges/[a-z]+\","
		"   \"queryParameters\": {\"limit\": {\"equalTo\": \"3\"}},"
		"   \"headers\": {\"Authorization\": {\"matches\": \"Bearer .*\"}},"
		"   \"cookies\": {\"session\": {\"absent\": true}},"
		"   \"bodyPatterns\": [{\"equalToJson\": {\"a\": 1}, \"ignoreExtraElements\": true},"
		"                      {\"matchesJsonPath\": {\"expression\": \"$.a\", \"equalTo\": \"1\"}}],"
		"   \"basicAuthCredentials\": {\"username\": \"u\", \"password\": \"p\"}},"
		" \"response\": {\"status\": 201, \"statusMessage\": \"Made\","
		"   \"headers\": {\"Content-Type\": \"application/json\", \"Set-Cookie\": [\"a=1\", \"b=2\"]},"
		"   \"jsonBody\": {\"ok\": true}, \"fixedDelayMilliseconds\": 100,"
		"   \"delayDistribution\": {\"type\": \"lognormal\", \"median\": 80, \"sigma\": 0.4},"
		"   \"chunkedDribbleDelay\": {\"numberOfChunks\": 5, \"totalDuration\": 1000},"
		"   \"transformers\": [\"response-template\"]}}");

	assert_string_equal(m->id, "charge-1");
	assert_string_equal(m->name, "create");
	assert_int_equal(m->priority, 2);
	assert_string_equal(m->scenario, "s");
	assert_string_equal(m->required_state, "Started");
	assert_string_equal(m->new_state, "two");
	assert_string_equal(m->req.method, "POST");
	assert_int_equal(m->req.url_kind, EP_URL_PATH_REGEX);
	assert_true(m->req.has_url_re);
	assert_int_equal(m->req.n_query, 1);
	assert_string_equal(m->req.query[0].name, "limit");
	assert_int_equal(m->req.query[0].p.op, EP_OP_EQUAL_TO);
	assert_int_equal(m->req.headers[0].p.op, EP_OP_MATCHES);
	assert_int_equal(m->req.cookies[0].p.op, EP_OP_ABSENT);
	assert_int_equal(m->req.n_body, 2);
	assert_int_equal(m->req.body[0].op, EP_OP_EQUAL_TO_JSON);
	assert_true(m->req.body[0].ignore_extra_elements);
	assert_false(m->req.body[0].ignore_array_order);
	assert_int_equal(m->req.body[1].op, EP_OP_MATCHES_JSON_PATH);
	assert_non_null(m->req.body[1].sub);
	assert_int_equal(m->req.body[1].sub->op, EP_OP_EQUAL_TO);
	assert_string_equal(m->req.basic_user, "u");
	assert_int_equal(m->resp.status, 201);
	assert_string_equal(m->resp.status_message, "Made");
	assert_int_equal(m->resp.n_headers, 3);
	assert_string_equal(m->resp.headers[1].name, "Set-Cookie");
	assert_string_equal(m->resp.headers[2].value, "b=2");
	assert_string_equal(m->resp.body, "{\"ok\":true}");
	assert_int_equal(m->resp.body_len, 11);
	assert_int_equal(m->resp.fixed_delay_ms, 100);
	assert_int_equal(m->resp.delay, EP_DELAY_LOGNORMAL);
	assert_true(m->resp.delay_a == 80 && m->resp.delay_b == 0.4);
	assert_int_equal(m->resp.dribble_chunks, 5);
	assert_int_equal(m->resp.dribble_total_ms, 1000);
	assert_true(m->resp.templated);
	assert_string_equal(m->source, "t.json");
	assert_string_equal(json_string_value(json_object_get(m->json, "id")), "charge-1");
	ep_mapping_free(m);
}

static void test_parse_defaults(void **state)
{
	(void)state;
	ep_mapping *m = parse("{\"request\": {}}"), *m2 = parse("{\"request\": {}}");

	assert_int_equal(m->priority, 5);
	assert_int_equal(m->resp.status, 200);
	assert_null(m->req.method);
	assert_int_equal(m->req.url_kind, EP_URL_ANY);
	assert_null(m->resp.body);
	/* a generated version-4 UUID, different each time, also in the JSON */
	assert_int_equal(strlen(m->id), 36);
	assert_int_equal(m->id[14], '4');
	assert_int_equal(m->id[8], '-');
	assert_string_not_equal(m->id, m2->id);
	assert_string_equal(json_string_value(json_object_get(m->json, "id")), m->id);
	assert_string_equal(json_string_value(json_object_get(m->json, "uuid")), m->id);
	ep_mapping_free(m);
	ep_mapping_free(m2);

	m = parse("{\"uuid\": \"abc\", \"request\": {\"url\": \"/x?a=1\"}, \"response\": {\"body\": \"hi\","
		  " \"delayDistribution\": {\"type\": \"uniform\", \"lower\": 10, \"upper\": 20}, \"fault\": "
		  "\"EMPTY_RESPONSE\"}}");
	assert_string_equal(m->id, "abc");
	assert_int_equal(m->req.url_kind, EP_URL_EQUAL);
	assert_string_equal(m->resp.body, "hi");
	assert_int_equal(m->resp.delay, EP_DELAY_UNIFORM);
	assert_true(m->resp.delay_a == 10 && m->resp.delay_b == 20);
	assert_int_equal(m->resp.fault, EP_FAULT_EMPTY_RESPONSE);
	assert_false(m->resp.templated);
	ep_mapping_free(m);

	m = parse("{\"request\": {}, \"response\": {\"base64Body\": \"aGVsbG8AYnl0ZXM=\"}}");
	assert_int_equal(m->resp.body_len, 11);
	assert_memory_equal(m->resp.body, "hello\0bytes", 11);
	ep_mapping_free(m);
}

static void test_parse_unknown_keys(void **state)
{
	(void)state;
	parse_fails("{\"request\": {\"bodyPaterns\": []}}",
		    "t.json: request.bodyPaterns: unknown key (did you mean bodyPatterns?)");
	parse_fails("{\"request\": {}, \"respons\": {}}", "t.json: respons: unknown key (did you mean response?)");
	parse_fails("{\"request\": {\"headers\": {\"A\": {\"equalsTo\": \"x\"}}}}",
		    "request.headers.A.equalsTo: unknown key (did you mean equalTo?)");
	parse_fails("{\"request\": {\"zzzzzzzz\": 1}}", "request.zzzzzzzz: unknown key");
	parse_fails("{\"request\": {}, \"postServeActions\": []}", "postServeActions: not supported");
	parse_fails("{\"request\": {}, \"response\": {\"transformerParameters\": {}}}",
		    "response.transformerParameters: not supported");
	parse_fails("{\"request\": {\"bodyPatterns\": [{\"equalToXml\": \"<a/>\"}]}}",
		    "request.bodyPatterns[0].equalToXml: not supported");
	parse_fails("{\"request\": {}, \"response\": {\"delayDistribution\": {\"type\": \"uniform\", \"lower\": 1,"
		    " \"upper\": 2, \"median\": 3}}}",
		    "response.delayDistribution.median: unknown key");
	parse_fails("{\"request\": {}, \"response\": {\"transformers\": [\"other\"]}}",
		    "response.transformers[0]: 'other' is not supported");
	parse_fails("{\"request\": {}, \"response\": {\"fault\": \"BOOM\"}}", "response.fault: 'BOOM' is not supported");
	parse_fails("{\"response\": {}}", "missing \"request\"");
}

static void test_parse_wrong_types(void **state)
{
	(void)state;
	parse_fails("{\"request\": {}, \"response\": {\"status\": \"200\"}}",
		    "t.json: response.status: expected an integer, got a string");
	parse_fails("{\"request\": {\"method\": 1}}", "request.method: expected a string, got an integer");
	parse_fails("{\"request\": {\"headers\": []}}", "request.headers: expected an object");
	parse_fails("{\"request\": {\"bodyPatterns\": {}}}", "request.bodyPatterns: expected an array");
	parse_fails("{\"request\": {\"bodyPatterns\": [\"x\"]}}", "request.bodyPatterns[0]: expected a matcher object");
	parse_fails("{\"request\": {\"headers\": {\"A\": {\"equalTo\": \"x\", \"caseInsensitive\": \"yes\"}}}}",
		    "request.headers.A.caseInsensitive: expected a boolean");
	parse_fails("{\"request\": {}, \"response\": {\"body\": {\"a\": 1}}}",
		    "response.body: expected a string, got an object (use jsonBody for JSON)");
	parse_fails("{\"request\": {}, \"response\": {\"headers\": {\"A\": [1]}}}",
		    "response.headers.A[0]: expected a string, got an integer");
	parse_fails("{\"request\": {}, \"priority\": 1.5}", "priority: expected an integer, got a number");
	parse_fails("[]", "t.json: expected a mapping object, got an array");
}

static void test_parse_bad_values(void **state)
{
	(void)state;
	parse_fails("{\"request\": {}, \"response\": {\"status\": 700}}", "response.status: 700 is out of range (100 to 599)");
	parse_fails("{\"request\": {}, \"response\": {\"status\": 99}}", "response.status: 99 is out of range");
	parse_fails("{\"request\": {}, \"response\": {\"fixedDelayMilliseconds\": 100000000000}}",
		    "response.fixedDelayMilliseconds: 100000000000 is out of range (0 to 60000)");
	parse_fails("{\"request\": {}, \"response\": {\"chunkedDribbleDelay\": {\"numberOfChunks\": 20000,"
		    " \"totalDuration\": 10}}}",
		    "response.chunkedDribbleDelay.numberOfChunks: 20000 is out of range");
	parse_fails("{\"request\": {}, \"response\": {\"delayDistribution\": {\"type\": \"uniform\", \"lower\": 30,"
		    " \"upper\": 20}}}",
		    "lower is above upper");
	parse_fails("{\"request\": {}, \"response\": {\"delayDistribution\": {\"type\": \"lognormal\", \"median\": 1e300,"
		    " \"sigma\": 1}}}",
		    "response.delayDistribution.median: 1e+300 is out of range");
	parse_fails("{\"request\": {\"url\": \"/a\", \"urlPath\": \"/a\"}}", "request: both url and urlPath given");
	parse_fails("{\"request\": {}, \"response\": {\"body\": \"a\", \"jsonBody\": {}}}", "both body and jsonBody");
	parse_fails("{\"request\": {\"headers\": {\"A\": {\"equalTo\": \"x\", \"contains\": \"y\"}}}}",
		    "request.headers.A: more than one matcher (equalTo and contains)");
	parse_fails("{\"request\": {\"headers\": {\"A\": {}}}}", "request.headers.A: no matcher");
	parse_fails("{\"request\": {\"headers\": {\"A\": {\"absent\": false}}}}", "request.headers.A.absent: expected true");
	parse_fails("{\"request\": {\"bodyPatterns\": [{\"absent\": true}]}}", "not to the body");
	parse_fails("{\"request\": {\"bodyPatterns\": [{\"equalToJson\": \"{bad\"}]}}",
		    "request.bodyPatterns[0].equalToJson: not valid JSON");
	parse_fails("{\"request\": {\"bodyPatterns\": [{\"matchesJsonPath\": \"$.a[\"}]}}",
		    "request.bodyPatterns[0].matchesJsonPath: JSON path '$.a['");
	parse_fails("{\"request\": {\"bodyPatterns\": [{\"contains\": \"x\", \"ignoreArrayOrder\": true}]}}",
		    "ignoreArrayOrder: applies to equalToJson only");
	parse_fails("{\"request\": {}, \"response\": {\"headers\": {\"A\": \"x\\r\\nInjected: 1\"}}}",
		    "response.headers.A: header value contains CR or LF");
	parse_fails("{\"request\": {}, \"response\": {\"headers\": {\"Bad Name\": \"x\"}}}", "not a valid header name");
	parse_fails("{\"request\": {}, \"response\": {\"base64Body\": \"!!!\"}}", "response.base64Body: not valid base64");
	parse_fails("{\"request\": {}, \"newScenarioState\": \"x\"}", "newScenarioState without scenarioName");
	parse_fails("{\"id\": \"a\", \"uuid\": \"b\", \"request\": {}}", "id and uuid differ");
	parse_fails("{\"request\": {\"basicAuthCredentials\": {\"username\": \"u\"}}}", "expected both username and password");
	parse_fails("{\"request\": {}, \"response\": {\"body\": \"{{request.nope}}\", \"transformers\": "
		    "[\"response-template\"]}}",
		    "t.json: response.body, line 1: {{request.nope}}: unsupported request field");
	parse_fails("{\"request\": {}, \"response\": {\"bodyFileName\": \"x.json\"}}", "no files directory");
}

static void test_parse_regex(void **state)
{
	(void)state;
	parse_fails("{\"request\": {\"urlPattern\": \"/a(\"}}", "request.urlPattern: regex does not compile: ");
	parse_fails("{\"request\": {\"headers\": {\"A\": {\"matches\": \"[a-\"}}}}",
		    "request.headers.A.matches: regex");
	parse_fails("{\"request\": {\"headers\": {\"A\": {\"matches\": \"(?i)abc\"}}}}",
		    "(?...) groups and flags are not supported");
	parse_fails("{\"request\": {\"headers\": {\"A\": {\"matches\": \"a+?\"}}}}", "lazy and possessive");
	parse_fails("{\"request\": {\"headers\": {\"A\": {\"matches\": \"\\\\p{Alpha}\"}}}}", "escape is not supported");

	/* Java escapes mean in POSIX what they meant in WireMock */
	assert_true(value_matches("{\"matches\": \"ch_\\\\d+\"}", "ch_123"));
	assert_false(value_matches("{\"matches\": \"ch_\\\\d+\"}", "ch_ddd"));
	assert_true(value_matches("{\"matches\": \"[\\\\w\\\\-]+\"}", "a-b_c9"));
	assert_false(value_matches("{\"matches\": \"[\\\\w\\\\-]+\"}", "a b"));
	assert_true(value_matches("{\"matches\": \"[\\\\d.]+\"}", "1.50"));
	assert_false(value_matches("{\"matches\": \"[\\\\d.]+\"}", "d"));
	assert_true(value_matches("{\"matches\": \"[\\\\s]\"}", " "));
	assert_true(value_matches("{\"matches\": \"[-a]+\"}", "-a-"));
	assert_true(value_matches("{\"matches\": \"[\\\\]x]+\"}", "]x]"));
	assert_true(value_matches("{\"matches\": \"[\\\\^]\"}", "^"));
	assert_false(value_matches("{\"matches\": \"[\\\\^]\"}", "a"));
	assert_true(value_matches("{\"matches\": \"a\\\\.b\"}", "a.b"));
	assert_false(value_matches("{\"matches\": \"a\\\\.b\"}", "axb"));
	assert_true(value_matches("{\"matches\": \"\\\\D\\\\s\\\\w\"}", "x 1"));
	/* anchored to the whole value, alternation included */
	assert_false(value_matches("{\"matches\": \"abc\"}", "xabcx"));
	assert_false(value_matches("{\"matches\": \"a|b\"}", "ab"));
	assert_true(value_matches("{\"matches\": \"a|b\"}", "b"));
	/* anchors written by the user still work inside ours */
	assert_true(value_matches("{\"matches\": \"^/a$\"}", "/a"));
	assert_false(value_matches("{\"matches\": \"^/a$\"}", "/ab"));
}

static void test_body_file(void **state)
{
	(void)state;
	char *dir = tmpdir_make(), files[1100], outside[1100], link[1100];
	ep_mapping *m;

	sub_dir(dir, "__files");
	sub_dir(dir, "__files/sub");
	write_file(dir, "__files/sub/balance.json", "{\"available\": 100}");
	write_file(dir, "secret.txt", "secret");
	snprintf(files, sizeof(files), "%s/__files", dir);
	snprintf(outside, sizeof(outside), "%s/secret.txt", dir);
	snprintf(link, sizeof(link), "%s/__files/leak", dir);
	assert_int_equal(symlink(outside, link), 0);
	snprintf(link, sizeof(link), "%s/__files/leak2", dir);
	assert_int_equal(symlink("../secret.txt", link), 0);
	snprintf(link, sizeof(link), "%s/__files/inside", dir);
	assert_int_equal(symlink("sub/balance.json", link), 0);

	m = parse_in("{\"request\": {}, \"response\": {\"bodyFileName\": \"sub/balance.json\"}}", files);
	assert_string_equal(m->resp.body, "{\"available\": 100}");
	assert_int_equal(m->resp.body_len, 18);
	ep_mapping_free(m);
	m = parse_in("{\"request\": {}, \"response\": {\"bodyFileName\": \"inside\"}}", files);
	assert_string_equal(m->resp.body, "{\"available\": 100}");
	ep_mapping_free(m);

	parse_fails_in("{\"request\": {}, \"response\": {\"bodyFileName\": \"../secret.txt\"}}", files,
		       "response.bodyFileName: '../secret.txt' contains '..'");
	parse_fails_in("{\"request\": {}, \"response\": {\"bodyFileName\": \"sub/../../secret.txt\"}}", files,
		       "contains '..'");
	parse_fails_in("{\"request\": {}, \"response\": {\"bodyFileName\": \"/etc/passwd\"}}", files, "is absolute");
	parse_fails_in("{\"request\": {}, \"response\": {\"bodyFileName\": \"leak\"}}", files, "leads outside");
	parse_fails_in("{\"request\": {}, \"response\": {\"bodyFileName\": \"leak2\"}}", files, "leads outside");
	parse_fails_in("{\"request\": {}, \"response\": {\"bodyFileName\": \"nope.json\"}}", files,
		       "'nope.json' in ");
	parse_fails_in("{\"request\": {}, \"response\": {\"bodyFileName\": \"sub\"}}", files, "not a regular file");
	rm_rf(dir);
	free(dir);
}

static void test_load_dir(void **state)
{
	(void)state;
	char *dir = tmpdir_make(), path[1100], msg[2048];
	ep_mapping **v = NULL, **keep = (ep_mapping **)&v;
	size_t n = 0;
	dp_error *err = NULL;

	sub_dir(dir, "mappings");
	sub_dir(dir, "mappings/nested");
	sub_dir(dir, "__files");
	write_file(dir, "__files/b.txt", "file body");
	write_file(dir, "mappings/b.json",
		   "{\"mappings\": [{\"name\": \"b0\", \"request\": {}},"
		   " {\"name\": \"b1\", \"request\": {}, \"response\": {\"bodyFileName\": \"b.txt\"}}],"
		   " \"meta\": {\"total\": 2}}");
	write_file(dir, "mappings/a.json", "{\"name\": \"a\", \"request\": {}}");
	write_file(dir, "mappings/nested/c.json", "{\"name\": \"c\", \"request\": {}}");
	write_file(dir, "mappings/notes.txt", "ignored");
	write_file(dir, "mappings/.swap.json", "not json, ignored");

	assert_int_equal(ep_mappings_load_dir(dir, &v, &n, &err), 0);
	assert_null(err);
	assert_int_equal(n, 4);
	assert_string_equal(v[0]->name, "a");
	assert_string_equal(v[1]->name, "b0");
	assert_string_equal(v[2]->name, "b1");
	assert_string_equal(v[3]->name, "c");
	assert_string_equal(v[2]->resp.body, "file body");
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i]->seq, i);
	snprintf(path, sizeof(path), "%s/mappings/b.json", dir);
	assert_string_equal(v[1]->source, path);
	/* ids of mappings without one are stable across loads (saved journals
	 * name them), and differ between mappings */
	{
		ep_mapping **w = NULL;
		size_t nw = 0;
		assert_int_equal(ep_mappings_load_dir(dir, &w, &nw, &err), 0);
		assert_int_equal(nw, n);
		for (size_t i = 0; i < n; i++) {
			assert_string_equal(w[i]->id, v[i]->id);
			for (size_t k = 0; k < i; k++)
				assert_string_not_equal(v[i]->id, v[k]->id);
		}
		ep_mappings_free(w, nw);
	}
	ep_mappings_free(v, n);

	/* an error in a later mapping names file and index; nothing is returned */
	write_file(dir, "mappings/b.json",
		   "{\"mappings\": [{\"request\": {}}, {\"request\": {\"bodyPaterns\": []}}]}");
	v = (ep_mapping **)keep;
	n = 77;
	assert_int_equal(ep_mappings_load_dir(dir, &v, &n, &err), -1);
	snprintf(msg, sizeof(msg),
		 "%s/mappings/b.json: mappings[1].request.bodyPaterns: unknown key (did you mean bodyPatterns?)", dir);
	assert_string_equal(err->msg, msg);
	assert_int_equal(err->status, DP_EXIT_USAGE);
	assert_ptr_equal(v, keep);
	assert_int_equal(n, 77);
	dp_error_free(&err);

	/* invalid JSON: line and column */
	write_file(dir, "mappings/b.json", "{\n  \"request\": {\n    \"method\": \"GET\",\n  }\n}");
	assert_int_equal(ep_mappings_load_dir(dir, &v, &n, &err), -1);
	snprintf(msg, sizeof(msg), "%s/mappings/b.json: invalid JSON at line 4", dir);
	if (strstr(err->msg, msg) == NULL || strstr(err->msg, "column") == NULL)
		fail_msg("unexpected: %s", err->msg);
	dp_error_free(&err);

	/* a symlinked directory is refused, not skipped */
	snprintf(path, sizeof(path), "%s/mappings/linked", dir);
	assert_int_equal(symlink("nested", path), 0);
	assert_int_equal(ep_mappings_load_dir(dir, &v, &n, &err), -1);
	assert_non_null(strstr(err->msg, "mappings/linked: a symlink to a directory is not followed"));
	dp_error_free(&err);
	assert_int_equal(unlink(path), 0);

	/* a symlink out of the directory */
	snprintf(path, sizeof(path), "%s/mappings/b.json", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/hostname", path), 0);
	assert_int_equal(ep_mappings_load_dir(dir, &v, &n, &err), -1);
	assert_non_null(strstr(err->msg, "a symlink leading out of the mappings directory"));
	dp_error_free(&err);
	assert_int_equal(unlink(path), 0);

	/* a plain directory of files, without mappings/ */
	rm_rf(dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	sub_dir(dir, "__files");
	write_file(dir, "__files/x.json", "{\"not\": \"a mapping\"}");
	write_file(dir, "one.json", "{\"request\": {\"url\": \"/1\"}}");
	assert_int_equal(ep_mappings_load_dir(dir, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->req.url, "/1");
	ep_mappings_free(v, n);

	assert_int_equal(ep_mappings_load_dir("/nonexistent/doppel", &v, &n, &err), -1);
	dp_error_free(&err);
	rm_rf(dir);
	free(dir);
}

/* The stand-ins shipped in examples/ load (when the tree is at hand). */
static void test_load_examples(void **state)
{
	(void)state;
	static const char *const names[] = { "payments", "social" };
	char dir[4200], root[4096];
	const char *src = getenv("DOPPEL_SRC");

	/* DOPPEL_SRC, or the source tree this file was compiled from (meson
	 * names it relative to the build directory, where tests run) */
	snprintf(root, sizeof(root), "%s", src ? src : __FILE__);
	if (src == NULL && strstr(root, "tests/unit/") != NULL) {
		*strstr(root, "tests/unit/") = '\0';
		if (root[0] == '\0')
			strcpy(root, ".");
	}
	for (size_t i = 0; i < 2; i++) {
		ep_mapping **v = NULL;
		size_t n = 0;
		dp_error *err = NULL;
		struct stat st;

		snprintf(dir, sizeof(dir), "%s/examples/endpoints/%s", root, names[i]);
		if (stat(dir, &st) < 0)
			skip();
		if (ep_mappings_load_dir(dir, &v, &n, &err) < 0)
			fail_msg("%s", err->msg);
		assert_true(n > 0);
		ep_mappings_free(v, n);
	}
}

/* ---- string matchers --------------------------------------------------- */

static void test_match_strings(void **state)
{
	(void)state;
	assert_true(value_matches("{\"equalTo\": \"abc\"}", "abc"));
	assert_false(value_matches("{\"equalTo\": \"abc\"}", "ABC"));
	assert_false(value_matches("{\"equalTo\": \"abc\"}", "abcd"));
	assert_true(value_matches("{\"equalTo\": \"abc\", \"caseInsensitive\": true}", "ABC"));
	assert_false(value_matches("{\"equalTo\": \"abc\", \"caseInsensitive\": true}", "ABD"));
	assert_true(value_matches("{\"contains\": \"card\"}", "a card here"));
	assert_false(value_matches("{\"contains\": \"card\"}", "a CARD here"));
	assert_true(value_matches("{\"contains\": \"card\", \"caseInsensitive\": true}", "a CARD here"));
	assert_false(value_matches("{\"doesNotContain\": \"card\"}", "a card here"));
	assert_true(value_matches("{\"doesNotContain\": \"card\"}", "a cart here"));
	assert_true(value_matches("{\"matches\": \"[a-z]+\"}", "abc"));
	assert_false(value_matches("{\"matches\": \"[a-z]+\"}", "ABC"));
	assert_true(value_matches("{\"matches\": \"[a-z]+\", \"caseInsensitive\": true}", "ABC"));
	assert_true(value_matches("{\"doesNotMatch\": \"[0-9]+\"}", "12a"));
	assert_false(value_matches("{\"doesNotMatch\": \"[0-9]+\"}", "12"));

	/* the length given is the value, for regexes too (no copy to terminate it) */
	ep_mapping *m = body_pattern("{\"matches\": \"ab\"}");
	assert_true(ep_match_value(&m->req.body[0], "abc", 2));
	assert_false(ep_match_value(&m->req.body[0], "abc", 3));
	ep_mapping_free(m);
	m = body_pattern("{\"contains\": \"c\"}");
	assert_true(ep_match_value(&m->req.body[0], "a\0c", 3));
	assert_false(ep_match_value(&m->req.body[0], "a\0c", 2));
	ep_mapping_free(m);
	m = body_pattern("{\"equalTo\": \"ab\"}");
	assert_true(ep_match_value(&m->req.body[0], "abXYZ", 2));
	ep_mapping_free(m);
}

static void test_match_absent(void **state)
{
	(void)state;
	assert_true(header_matches("{\"absent\": true}", NULL));
	assert_false(header_matches("{\"absent\": true}", ""));
	assert_false(header_matches("{\"absent\": true}", "x"));
	/* a missing value matches nothing but absent */
	assert_false(header_matches("{\"equalTo\": \"\"}", NULL));
	assert_false(header_matches("{\"doesNotContain\": \"x\"}", NULL));
	assert_false(header_matches("{\"doesNotMatch\": \"x\"}", NULL));
	assert_true(header_matches("{\"doesNotMatch\": \"x\"}", "y"));
}

static void test_match_equal_to_json(void **state)
{
	(void)state;
	const char *exact = "{\"equalToJson\": {\"a\": 1, \"b\": [1, 2]}}";
	const char *as_string = "{\"equalToJson\": \"{\\\"a\\\": 1, \\\"b\\\": [1, 2]}\"}";
	const char *order = "{\"equalToJson\": {\"a\": 1, \"b\": [1, 2]}, \"ignoreArrayOrder\": true}";
	const char *extra = "{\"equalToJson\": {\"a\": 1, \"b\": [1, 2]}, \"ignoreExtraElements\": true}";
	const char *both = "{\"equalToJson\": {\"a\": 1, \"b\": [1, 2]}, \"ignoreArrayOrder\": true,"
			   " \"ignoreExtraElements\": true}";

	assert_true(value_matches(exact, "{\"b\": [1, 2], \"a\": 1}"));
	assert_true(value_matches(exact, " {\"a\": 1.0, \"b\": [1, 2.0]} "));
	assert_true(value_matches(as_string, "{\"a\": 1, \"b\": [1, 2]}"));
	assert_false(value_matches(exact, "{\"a\": 1, \"b\": [2, 1]}"));
	assert_false(value_matches(exact, "{\"a\": 1, \"b\": [1, 2], \"c\": 3}"));
	assert_false(value_matches(exact, "{\"a\": 1, \"b\": [1, 2, 3]}"));
	assert_false(value_matches(order, "{\"a\": 1, \"b\": [2, 1, 3]}"));
	assert_false(value_matches(exact, "{\"a\": \"1\", \"b\": [1, 2]}"));
	assert_false(value_matches(exact, "not json"));
	assert_false(value_matches(exact, ""));

	assert_true(value_matches(order, "{\"a\": 1, \"b\": [2, 1]}"));
	assert_false(value_matches(order, "{\"a\": 1, \"b\": [2, 2]}"));
	assert_false(value_matches(order, "{\"a\": 1, \"b\": [2, 1], \"c\": 0}"));

	assert_true(value_matches(extra, "{\"a\": 1, \"b\": [1, 2, 3], \"c\": {\"d\": 4}}"));
	assert_false(value_matches(extra, "{\"a\": 1, \"b\": [2, 1, 3]}"));
	assert_false(value_matches(extra, "{\"b\": [1, 2]}"));

	assert_true(value_matches(both, "{\"c\": 0, \"b\": [3, 2, 1], \"a\": 1}"));
	assert_false(value_matches(both, "{\"b\": [3, 2], \"a\": 1}"));
	/* unordered matching pairs each expected element with its own actual one */
	assert_true(value_matches("{\"equalToJson\": [{\"k\": 1}, {\"k\": 1, \"x\": 2}], \"ignoreArrayOrder\": true,"
				  " \"ignoreExtraElements\": true}",
				  "[{\"k\": 1, \"x\": 2}, {\"k\": 1}]"));
	assert_false(value_matches("{\"equalToJson\": [1, 1], \"ignoreArrayOrder\": true}", "[1, 2]"));
}

static void test_match_json_path(void **state)
{
	(void)state;
	const char *body = "{\"amount\": 1500, \"currency\": \"eur\", \"card\": {\"number\": \"4000000000000002\"},"
			   " \"items\": [{\"sku\": \"a\", \"qty\": 1}, {\"sku\": \"b\", \"qty\": 5}], \"none\": null,"
			   " \"empty\": []}";

	assert_true(value_matches("{\"matchesJsonPath\": \"$.amount\"}", body));
	assert_false(value_matches("{\"matchesJsonPath\": \"$.missing\"}", body));
	assert_false(value_matches("{\"matchesJsonPath\": \"$.none\"}", body));
	assert_false(value_matches("{\"matchesJsonPath\": \"$.empty\"}", body));
	assert_false(value_matches("{\"matchesJsonPath\": \"$.amount\"}", "not json"));
	assert_true(value_matches("{\"matchesJsonPath\": \"$.items[?(@.qty > 3)]\"}", body));
	assert_false(value_matches("{\"matchesJsonPath\": \"$.items[?(@.qty > 9)]\"}", body));
	assert_true(value_matches("{\"matchesJsonPath\": \"$[?(@.amount >= 1500)]\"}", body));
	assert_false(value_matches("{\"matchesJsonPath\": \"$[?(@.amount > 1500)]\"}", body));
	assert_true(value_matches("{\"matchesJsonPath\": \"$[?(@.currency == 'eur' && @.amount < 2000)]\"}", body));
	assert_true(value_matches("{\"matchesJsonPath\": {\"expression\": \"$.card.number\","
				  " \"equalTo\": \"4000000000000002\"}}",
				  body));
	assert_false(value_matches("{\"matchesJsonPath\": {\"expression\": \"$.card.number\","
				   " \"equalTo\": \"4242\"}}",
				   body));
	/* non-string values are compared as compact JSON */
	assert_true(value_matches("{\"matchesJsonPath\": {\"expression\": \"$.amount\", \"equalTo\": \"1500\"}}", body));
	assert_true(value_matches("{\"matchesJsonPath\": {\"expression\": \"$.card\", \"contains\": \"number\"}}", body));
	/* any selected value may match */
	assert_true(value_matches("{\"matchesJsonPath\": {\"expression\": \"$.items[*].sku\", \"equalTo\": \"b\"}}", body));
	assert_true(value_matches("{\"matchesJsonPath\": {\"expression\": \"$.currency\", \"matches\": \"[a-z]{3}\"}}",
				  body));
	assert_true(value_matches("{\"matchesJsonPath\": {\"expression\": \"$.missing\", \"absent\": true}}", body));
	assert_false(value_matches("{\"matchesJsonPath\": {\"expression\": \"$.amount\", \"absent\": true}}", body));
	assert_true(value_matches("{\"matchesJsonPath\": {\"expression\": \"$.currency\", \"equalTo\": \"EUR\","
				  " \"caseInsensitive\": true}}",
				  body));
	parse_fails("{\"request\": {\"bodyPatterns\": [{\"matchesJsonPath\": {\"expression\": \"$.a\","
		    " \"equalsTo\": \"x\"}}]}}",
		    "request.bodyPatterns[0].matchesJsonPath.equalsTo: unknown key (did you mean equalTo?)");
	parse_fails("{\"request\": {\"bodyPatterns\": [{\"matchesJsonPath\": {\"equalTo\": \"x\"}}]}}",
		    "expected an \"expression\" key");
}

/* ---- request matching -------------------------------------------------- */

/* The distance, checking on the way that the fast path agrees with it. */
static double distance(ep_mapping *m, const ep_request *r, char *why, size_t n)
{
	double d = ep_match_request(&m->req, r, why, n);

	assert_int_equal(ep_request_matches(&m->req, r), d == 0.0);
	return d;
}

static void test_match_method_url(void **state)
{
	(void)state;
	req q;
	char why[512];
	ep_mapping *any = parse("{\"request\": {\"method\": \"ANY\"}}");
	ep_mapping *url = parse("{\"request\": {\"method\": \"GET\", \"url\": \"/v1/charges?limit=3\"}}");
	ep_mapping *path = parse("{\"request\": {\"urlPath\": \"/v1/charges\"}}");
	ep_mapping *re = parse("{\"request\": {\"urlPattern\": \"/v1/charges\\\\?limit=[0-9]+\"}}");
	ep_mapping *pre = parse("{\"request\": {\"urlPathPattern\": \"/v1/charges/ch_[a-z0-9]+\"}}");

	req_init(&q, "GET", "/v1/charges?limit=3", NULL);
	assert_true(distance(any, &q.r, NULL, 0) == 0.0);
	assert_true(distance(url, &q.r, why, sizeof(why)) == 0.0);
	assert_string_equal(why, "");
	assert_true(distance(path, &q.r, NULL, 0) == 0.0);
	assert_true(distance(re, &q.r, NULL, 0) == 0.0);
	assert_true(distance(pre, &q.r, NULL, 0) > 0.0);
	req_done(&q);

	req_init(&q, "get", "/v1/charges?limit=4", NULL);
	assert_true(distance(url, &q.r, why, sizeof(why)) == 1.0);
	assert_string_equal(why, "method: expected GET, got get; url: '/v1/charges?limit=4' is not '/v1/charges?limit=3'");
	assert_true(distance(path, &q.r, NULL, 0) == 0.0);
	req_done(&q);

	req_init(&q, "POST", "/v1/charges/ch_abc9?x=1", NULL);
	assert_true(distance(pre, &q.r, NULL, 0) == 0.0);
	assert_true(distance(path, &q.r, why, sizeof(why)) == 1.0);
	assert_string_equal(why, "urlPath: '/v1/charges/ch_abc9' is not '/v1/charges'");
	req_done(&q);

	ep_mapping_free(any);
	ep_mapping_free(url);
	ep_mapping_free(path);
	ep_mapping_free(re);
	ep_mapping_free(pre);
}

static void test_match_query_headers_cookies(void **state)
{
	(void)state;
	req q;
	char why[512];
	ep_mapping *m = parse(
		"{\"request\": {\"queryParameters\": {\"tag\": {\"equalTo\": \"b\"}, \"debug\": {\"absent\": true}},"
		" \"headers\": {\"content-type\": {\"contains\": \"json\"}, \"X-Trace\": {\"absent\": true}},"
		" \"cookies\": {\"session\": {\"matches\": \"s[0-9]+\"}}}}");

	req_init(&q, "GET", "/x?tag=a&tag=b", NULL);
	add_query(&q, "tag", "a");
	add_query(&q, "tag", "b");
	add_header(&q, "Content-Type", "application/json");
	add_cookie(&q, "session", "s42");
	assert_true(distance(m, &q.r, why, sizeof(why)) == 0.0);

	/* 5 parts; one query parameter fails, then it and the cookie */
	q.query[1].value = (char *)"c";
	assert_true(distance(m, &q.r, NULL, 0) == 1.0 / 5);
	q.query[1].value = (char *)"c";
	q.cookies[0].value = (char *)"x42";
	assert_true(distance(m, &q.r, why, sizeof(why)) == 2.0 / 5);
	assert_string_equal(why, "query tag: 'a' is not equalTo 'b'; cookie session: 'x42' is not matches 's[0-9]+'");

	q.query[1].value = (char *)"b";
	q.cookies[0].value = (char *)"s1";
	add_query(&q, "debug", "1");
	add_header(&q, "x-trace", "t");
	assert_true(distance(m, &q.r, why, sizeof(why)) == 2.0 / 5);
	assert_string_equal(why, "query debug: '1' is not absent; header X-Trace: 't' is not absent");

	/* header names fold case, cookie names do not */
	req_done(&q);
	req_init(&q, "GET", "/x", NULL);
	add_query(&q, "tag", "b");
	add_header(&q, "CONTENT-TYPE", "text/json");
	add_cookie(&q, "Session", "s1");
	assert_true(distance(m, &q.r, why, sizeof(why)) == 1.0 / 5);
	assert_string_equal(why, "cookie session: absent, expected matches 's[0-9]+'");
	req_done(&q);
	ep_mapping_free(m);
}

static void test_match_body_and_basic_auth(void **state)
{
	(void)state;
	req q;
	char why[512];
	ep_mapping *m = parse("{\"request\": {\"method\": \"POST\", \"bodyPatterns\": [{\"contains\": \"amount\"},"
			      " {\"matchesJsonPath\": \"$.amount\"}],"
			      " \"basicAuthCredentials\": {\"username\": \"sk_test\", \"password\": \"p:w\"}}}");

	req_init(&q, "POST", "/", "{\"amount\": 5}");
	add_header(&q, "authorization", "Basic c2tfdGVzdDpwOnc="); /* sk_test:p:w */
	assert_true(distance(m, &q.r, why, sizeof(why)) == 0.0);
	q.headers[0].value = (char *)"Basic c2tfdGVzdDpwOng="; /* sk_test:p:x */
	assert_true(distance(m, &q.r, why, sizeof(why)) == 1.0 / 4);
	assert_string_equal(why, "basic auth: expected user 'sk_test'");
	q.headers[0].value = (char *)"Basic !!!";
	assert_true(distance(m, &q.r, NULL, 0) == 1.0 / 4);
	q.headers[0].value = (char *)"Bearer c2tfdGVzdDpwOnc=";
	assert_true(distance(m, &q.r, NULL, 0) == 1.0 / 4);
	req_done(&q);

	req_init(&q, "POST", "/", "{\"total\": 5}");
	add_header(&q, "Authorization", "basic c2tfdGVzdDpwOnc=");
	assert_true(distance(m, &q.r, why, sizeof(why)) == 2.0 / 4);
	assert_string_equal(why, "body: not contains 'amount'; body: not matchesJsonPath '$.amount'");
	req_done(&q);

	req_init(&q, "POST", "/", NULL);
	assert_true(distance(m, &q.r, NULL, 0) == 3.0 / 4);
	req_done(&q);
	ep_mapping_free(m);
}

static void test_match_distance_order(void **state)
{
	(void)state;
	req q;
	ep_mapping *m = parse("{\"request\": {\"method\": \"POST\", \"urlPath\": \"/v1/charges\","
			      " \"headers\": {\"Authorization\": {\"matches\": \"Bearer .+\"}},"
			      " \"bodyPatterns\": [{\"matchesJsonPath\": \"$.amount\"}]}}");
	double exact, near, far, nothing;
	char why[256];

	req_init(&q, "POST", "/v1/charges", "{\"amount\": 1}");
	add_header(&q, "Authorization", "Bearer x");
	exact = distance(m, &q.r, NULL, 0);
	q.r.body = (char *)"{}";
	q.r.body_len = 2;
	near = distance(m, &q.r, NULL, 0);
	q.headers[0].value = (char *)"Basic x";
	far = distance(m, &q.r, NULL, 0);
	req_done(&q);
	req_init(&q, "GET", "/elsewhere", NULL);
	nothing = distance(m, &q.r, why, sizeof(why));
	req_done(&q);

	assert_true(exact == 0.0);
	assert_true(near > 0.0 && near < far);
	assert_true(far < nothing);
	assert_true(nothing == 1.0);
	/* why is cut to the buffer given, always terminated */
	req_init(&q, "GET", "/elsewhere", NULL);
	distance(m, &q.r, why, 10);
	assert_int_equal(strlen(why), 9);
	req_done(&q);
	ep_mapping_free(m);
}

/* ---- JSONPath ----------------------------------------------------------- */

/* The selection as compact JSON, for one comparison per case. */
static void path_is(const char *doc_text, const char *path, const char *want)
{
	json_t *doc = json_loads(doc_text, JSON_DECODE_ANY, NULL), *sel;
	char *got;

	assert_non_null(doc);
	sel = ep_jsonpath_eval(path, doc);
	if (sel == NULL)
		fail_msg("'%s' did not evaluate", path);
	got = json_dumps(sel, JSON_COMPACT | JSON_ENCODE_ANY);
	if (strcmp(got, want) != 0)
		fail_msg("%s on %s: got %s, want %s", path, doc_text, got, want);
	free(got);
	json_decref(sel);
	json_decref(doc);
}

static void path_bad(const char *path, const char *want)
{
	dp_error *err = NULL;
	json_t *doc = json_object();

	assert_int_equal(ep_jsonpath_check(path, &err), -1);
	if (strstr(err->msg, want) == NULL)
		fail_msg("'%s': error '%s' lacks '%s'", path, err->msg, want);
	dp_error_free(&err);
	assert_null(ep_jsonpath_eval(path, doc));
	json_decref(doc);
}

static void test_jsonpath(void **state)
{
	(void)state;
	const char *d = "{\"a\": {\"b\": 1, \"c\": [10, 20, 30]}, \"n-m\": \"x\", \"list\": [{\"id\": 1, \"t\": \"x\"},"
			" {\"id\": 2, \"t\": \"y\", \"ok\": true}, {\"id\": 3}]}";

	path_is(d, "$", "[{\"a\":{\"b\":1,\"c\":[10,20,30]},\"n-m\":\"x\",\"list\":[{\"id\":1,\"t\":\"x\"},"
			"{\"id\":2,\"t\":\"y\",\"ok\":true},{\"id\":3}]}]");
	path_is(d, "$.a.b", "[1]");
	path_is(d, "$['a']['b']", "[1]");
	path_is(d, "$[\"n-m\"]", "[\"x\"]");
	path_is(d, "$.n-m", "[\"x\"]");
	path_is(d, "$.a.c[1]", "[20]");
	path_is(d, "$.a.c[-1]", "[30]");
	path_is(d, "$.a.c[3]", "[]");
	path_is(d, "$.a.c[*]", "[10,20,30]");
	path_is(d, "$.a.*", "[1,[10,20,30]]");
	path_is(d, "$..id", "[1,2,3]");
	path_is(d, "$..b", "[1]");
	path_is(d, "$.list[*].id", "[1,2,3]");
	path_is(d, "$.missing.deeper", "[]");
	path_is(d, "$.a.b.c", "[]");
	path_is(d, "$.list[?(@.id == 2)].t", "[\"y\"]");
	path_is(d, "$.list[?(@.id > 1)].id", "[2,3]");
	path_is(d, "$.list[?(@.id >= 1 && @.id < 3)].id", "[1,2]");
	path_is(d, "$.list[?(@.id == 1 || @.id == 3)].id", "[1,3]");
	path_is(d, "$.list[?(@.t)].id", "[1,2]");
	path_is(d, "$.list[?(@.t != 'x')].id", "[2,3]");
	path_is(d, "$.list[?(@.t == \"x\")].id", "[1]");
	path_is(d, "$.list[?(@.ok == true)].id", "[2]");
	path_is(d, "$.list[?(@.id == $.a.b)].id", "[1]");
	path_is(d, "$.list[?(@.t < 'y')].id", "[1]");
	path_is(d, "$.list[?(@.t=='y')].id", "[2]");
	path_is(d, "$..[?(@.id == 3)]", "[{\"id\":3}]");
	path_is("[1, 2]", "$[0]", "[1]");
	path_is("\"s\"", "$.a", "[]");

	path_bad("a.b", "starts with $");
	path_bad("$.a[", "");
	path_bad("$.a[1:2]", "slices");
	path_bad("$.a[0,1]", "unions");
	path_bad("$.a.length()", "functions");
	path_bad("$.a[?(@.b =~ /x/)]", "unsupported operator");
	path_bad("$.a[?(@.b == )]", "expected a value");
	path_bad("$.a[?(@.b == 'x)]", "");
	path_bad("$.a[?(1)]", "must be a path");
	path_bad("$..", "expected a name");
	path_bad("$.a b", "expected '.'");
}

static void test_jsonpath_hostile(void **state)
{
	(void)state;
	char *path = malloc(4096), *deep;
	json_t *doc, *sel;
	size_t n = 0;

	/* a long path is refused */
	memcpy(path, "$", 2);
	for (int i = 0; i < 600; i++)
		strcat(path, ".a");
	path_bad(path, "longer than 1024");
	free(path);

	/* deep nesting: '..' stops at the depth bound instead of the stack */
	deep = malloc(2 * 2000 + 16);
	for (int i = 0; i < 2000; i++)
		deep[n++] = '[';
	for (int i = 0; i < 2000; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	doc = json_loads(deep, JSON_DECODE_ANY, NULL);
	free(deep);
	assert_non_null(doc);
	sel = ep_jsonpath_eval("$..*", doc);
	assert_non_null(sel);
	assert_true(json_array_size(sel) > 100 && json_array_size(sel) < 2000);
	json_decref(sel);
	sel = ep_jsonpath_eval("$..[?(@.x)]..*..*", doc);
	assert_non_null(sel);
	json_decref(sel);
	json_decref(doc);

	/* a wide document cannot blow the result up past the cap */
	doc = json_array();
	for (int i = 0; i < 1000; i++)
		json_array_append_new(doc, json_integer(i));
	sel = ep_jsonpath_eval("$..*..*..*", doc);
	assert_non_null(sel);
	json_decref(sel);
	json_decref(doc);
}

/* ---- templates ----------------------------------------------------------- */

static char *render(const char *tmpl, const ep_request *r)
{
	char *out = NULL;
	size_t len = 0;
	dp_error *err = NULL;

	if (ep_template_check(tmpl, strlen(tmpl), "t", &err) < 0)
		fail_msg("check '%s': %s", tmpl, err->msg);
	if (ep_template_render(tmpl, strlen(tmpl), r, &out, &len, &err) < 0)
		fail_msg("render '%s': %s", tmpl, err->msg);
	assert_int_equal(strlen(out), len);
	return out;
}

static void render_is(const char *tmpl, const ep_request *r, const char *want)
{
	char *got = render(tmpl, r);

	if (strcmp(got, want) != 0)
		fail_msg("'%s' rendered '%s', want '%s'", tmpl, got, want);
	free(got);
}

static void check_fails(const char *tmpl, const char *want)
{
	dp_error *err = NULL;
	char *out = NULL;
	size_t len;
	req q;

	assert_int_equal(ep_template_check(tmpl, strlen(tmpl), "pay.json: response.body", &err), -1);
	if (strstr(err->msg, want) == NULL)
		fail_msg("'%s': error '%s' lacks '%s'", tmpl, err->msg, want);
	assert_int_equal(err->status, DP_EXIT_USAGE);
	dp_error_free(&err);
	req_init(&q, "GET", "/", NULL);
	assert_int_equal(ep_template_render(tmpl, strlen(tmpl), &q.r, &out, &len, &err), -1);
	assert_null(out);
	dp_error_free(&err);
	req_done(&q);
}

static bool all_in(const char *s, const char *set)
{
	return strspn(s, set) == strlen(s);
}

static void test_template_request(void **state)
{
	(void)state;
	req q;

	req_init(&q, "POST", "/v1/charges/ch_1/refunds?limit=3&tag=a&tag=b",
		 "{\"amount\": 1500, \"currency\": \"eur\", \"meta\": {\"k\": [1, \"x\"]}, \"items\": [1, 2]}");
	add_query(&q, "limit", "3");
	add_query(&q, "tag", "a");
	add_query(&q, "tag", "b");
	add_header(&q, "X-Request-Id", "rid-7");
	add_header(&q, "Accept", "a/1");
	add_header(&q, "accept", "a/2");
	add_cookie(&q, "session", "s1");

	render_is("{{request.url}}", &q.r, "/v1/charges/ch_1/refunds?limit=3&tag=a&tag=b");
	render_is("{{request.path}}", &q.r, "/v1/charges/ch_1/refunds");
	render_is("{{request.path.[0]}}|{{request.path.[2]}}|{{request.path.[3]}}|{{request.path.[9]}}", &q.r,
		  "v1|ch_1|refunds|");
	render_is("{{request.pathSegments.[1]}}", &q.r, "charges");
	render_is("{{request.query.limit}} {{request.query.tag}} {{request.query.tag.[1]}} [{{request.query.no}}]",
		  &q.r, "3 a b []");
	render_is("{{request.headers.X-Request-Id}} {{request.headers.[x-request-id]}}", &q.r, "rid-7 rid-7");
	render_is("{{request.headers.Accept.[1]}}", &q.r, "a/2");
	render_is("{{request.cookies.session}}{{request.cookies.none}}", &q.r, "s1");
	render_is("{{request.method}} {{request.host}} {{request.scheme}}", &q.r, "POST api.example https");
	render_is("<{{{request.method}}}>", &q.r, "<POST>");
	render_is("{{ request.method }}", &q.r, "POST");
	render_is("{{request.body}}", &q.r, q.r.body);
	render_is("{\"amount\": {{jsonPath request.body '$.amount'}}, \"c\": \"{{jsonPath request.body '$.currency'}}\"}",
		  &q.r, "{\"amount\": 1500, \"c\": \"eur\"}");
	render_is("{{jsonPath request.body '$.meta'}}", &q.r, "{\"k\":[1,\"x\"]}");
	render_is("{{jsonPath request.body '$.items[*]'}}", &q.r, "[1,2]");
	render_is("[{{jsonPath request.body '$.nope'}}]", &q.r, "[]");
	render_is("no tags at all } {", &q.r, "no tags at all } {");
	render_is("", &q.r, "");
	/* no HTML escaping anywhere */
	q.headers[0].value = (char *)"<a href=\"x\">&";
	render_is("{{request.headers.X-Request-Id}}", &q.r, "<a href=\"x\">&");
	req_done(&q);

	/* a body that is not JSON renders jsonPath as nothing */
	req_init(&q, "GET", "/", "not json");
	render_is("[{{jsonPath request.body '$.a'}}]", &q.r, "[]");
	req_done(&q);
}

static void test_template_random_now(void **state)
{
	(void)state;
	req q;
	char *a, *b;

	req_init(&q, "GET", "/", NULL);
	a = render("{{randomValue type='UUID'}}", &q.r);
	b = render("{{randomValue type='UUID'}}", &q.r);
	assert_int_equal(strlen(a), 36);
	assert_int_equal(a[14], '4');
	assert_true(all_in(a, "0123456789abcdef-"));
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	a = render("{{randomValue type='UUID' uppercase=true}}", &q.r);
	assert_true(all_in(a, "0123456789ABCDEF-"));
	free(a);
	a = render("{{randomValue length=33 type='ALPHANUMERIC'}}", &q.r);
	assert_int_equal(strlen(a), 33);
	assert_true(all_in(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"));
	free(a);
	a = render("{{randomValue length=40 type='ALPHABETIC' uppercase=true}}", &q.r);
	assert_int_equal(strlen(a), 40);
	assert_true(all_in(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
	free(a);
	a = render("{{randomValue length=12 type=\"NUMERIC\"}}", &q.r);
	assert_int_equal(strlen(a), 12);
	assert_true(all_in(a, "0123456789"));
	free(a);
	a = render("{{randomValue length=64 type='HEXADECIMAL'}}", &q.r);
	assert_int_equal(strlen(a), 64);
	assert_true(all_in(a, "0123456789abcdef"));
	free(a);
	a = render("{{now}}", &q.r);
	assert_int_equal(strlen(a), 20);
	assert_true(a[4] == '-' && a[10] == 'T' && a[19] == 'Z');
	assert_memory_equal(a, "20", 2);
	free(a);
	req_done(&q);
}

static void test_template_check(void **state)
{
	(void)state;
	check_fails("a {{request.nope}}", "pay.json: response.body, line 1: {{request.nope}}: unsupported request field");
	check_fails("line\nline\n{{#if x}}y{{/if}}", "line 3: {{#if x}}: block helpers");
	check_fails("{{upper request.method}}", "{{upper request.method}}: unsupported helper");
	check_fails("{{request.path.[x]}}", "request.path.[N]");
	check_fails("{{request.method", "line 1: unclosed {{");
	check_fails("{{{request.method}}", "unclosed {{");
	check_fails("{{}}", "empty expression");
	check_fails("{{request.method extra}}", "unexpected text");
	check_fails("{{jsonPath request.headers '$.a'}}", "expected jsonPath request.body '$.path'");
	check_fails("{{jsonPath request.body $.a}}", "expected jsonPath request.body");
	check_fails("{{jsonPath request.body '$.a[1:2]'}}", "slices");
	check_fails("{{jsonPath request.body '$.a' default='x'}}", "default= is not supported");
	check_fails("{{randomValue}}", "expected type=");
	check_fails("{{randomValue type='ALPHANUMERIC'}}", "expected length=N");
	check_fails("{{randomValue length=100000 type='NUMERIC'}}", "length must be 1 to 10000");
	check_fails("{{randomValue length=5 type='EMOJI'}}", "unsupported type");
	check_fails("{{randomValue length=5 type=NUMERIC}}", "type must be quoted");
	check_fails("{{now format='yyyy'}}", "format and offset are not supported");
	check_fails("{{request.cookies.a.[1]}}", "expected a value number");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_defaults),
		cmocka_unit_test(test_parse_unknown_keys),
		cmocka_unit_test(test_parse_wrong_types),
		cmocka_unit_test(test_parse_bad_values),
		cmocka_unit_test(test_parse_regex),
		cmocka_unit_test(test_body_file),
		cmocka_unit_test(test_load_dir),
		cmocka_unit_test(test_load_examples),
		cmocka_unit_test(test_match_strings),
		cmocka_unit_test(test_match_absent),
		cmocka_unit_test(test_match_equal_to_json),
		cmocka_unit_test(test_match_json_path),
		cmocka_unit_test(test_match_method_url),
		cmocka_unit_test(test_match_query_headers_cookies),
		cmocka_unit_test(test_match_body_and_basic_auth),
		cmocka_unit_test(test_match_distance_order),
		cmocka_unit_test(test_jsonpath),
		cmocka_unit_test(test_jsonpath_hostile),
		cmocka_unit_test(test_template_request),
		cmocka_unit_test(test_template_random_now),
		cmocka_unit_test(test_template_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
