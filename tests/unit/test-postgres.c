/* The PostgreSQL copy's text formats: COPY text fields round trip through
 * unescape and escape, array literals keep their shape with each element
 * masked, json documents change only at the rule's paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "data/postgres-text.h"

static void copy_round_trip(void **state)
{
	static const char raw[] = "tab\there\nnew\\line\r\b\f\v end \x01 ü";
	dp_pgbuf esc = { 0 }, back = { 0 };

	(void)state;
	dp_copy_escape(&esc, raw, sizeof(raw) - 1);
	assert_null(memchr(esc.p, '\t', esc.n));
	assert_null(memchr(esc.p, '\n', esc.n));
	assert_string_equal(esc.p, "tab\\there\\nnew\\\\line\\r\\b\\f\\v end \x01 ü");
	dp_copy_unescape(esc.p, esc.n, &back);
	assert_int_equal(back.n, sizeof(raw) - 1);
	assert_memory_equal(back.p, raw, back.n);
	/* what COPY FROM also accepts: octal, hex, a backslash before anything */
	dp_copy_unescape("\\101\\x42\\q\\7", 12, &back);
	assert_int_equal(back.n, 4);
	assert_memory_equal(back.p, "ABq\a", 4);
	/* no escape at all (the copy's common case), and nothing */
	dp_copy_unescape("plain \x7f ü", 10, &back);
	assert_int_equal(back.n, 10);
	assert_string_equal(back.p, "plain \x7f ü");
	dp_copy_unescape("", 0, &back);
	assert_int_equal(back.n, 0);
	assert_string_equal(back.p, "");
	/* escape appends; DEL and bytes above 0x7f pass unchanged */
	esc.n = 0;
	dp_copy_escape(&esc, "a\x7f", 2);
	dp_copy_escape(&esc, "\x1f\xc3\xbc\\", 4);
	assert_string_equal(esc.p, "a\x7f\x1f\xc3\xbc\\\\");
	dp_pgbuf_free(&esc);
	dp_pgbuf_free(&back);
}

static int upper_fn(void *user, const char *s, size_t n, const char **out, size_t *outn, dp_error **err)
{
	static char buf[256];
	(void)user;
	(void)err;
	if (n == 4 && memcmp(s, "drop", 4) == 0) {
		*out = NULL; /* becomes NULL */
		return 0;
	}
	for (size_t i = 0; i < n && i < sizeof(buf); i++)
		buf[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
	*out = buf;
	*outn = n;
	return 0;
}

static void array_mask(void **state)
{
	dp_pgbuf out = { 0 }, scratch = { 0 };
	dp_error *err = NULL;

	(void)state;
	assert_int_equal(dp_pg_array_mask("{a, \"b \\\"q\\\" \\\\\",NULL,null,\"NULL\",drop}", 39, ',', upper_fn,
					  NULL, &scratch, &out, &err), 0);
	assert_string_equal(out.p, "{\"A\",\"B \\\"Q\\\" \\\\\",NULL,NULL,\"NULL\",NULL}");
	out.n = 0;
	assert_int_equal(dp_pg_array_mask("[0:1]={{x,y},{z,w}}", 19, ',', upper_fn, NULL, &scratch, &out, &err), 0);
	assert_string_equal(out.p, "[0:1]={{\"X\",\"Y\"},{\"Z\",\"W\"}}");
	out.n = 0;
	assert_int_equal(dp_pg_array_mask("{}", 2, ',', upper_fn, NULL, &scratch, &out, &err), 0);
	assert_string_equal(out.p, "{}");
	out.n = 0;
	assert_int_equal(dp_pg_array_mask("{\"open", 6, ',', upper_fn, NULL, &scratch, &out, &err), -1);
	assert_non_null(err);
	dp_error_free(&err);
	dp_pgbuf_free(&out);
	dp_pgbuf_free(&scratch);
}

static int json_fn(void *user, const void *rule, bool is_text, const char *s, size_t n, const char **out,
		   size_t *outn, bool *out_text, dp_error **err)
{
	(void)user;
	(void)err;
	(void)s;
	(void)n;
	*out = is_text ? (const char *)rule : "42";
	*outn = strlen(*out);
	*out_text = is_text;
	return 0;
}

static void json_mask(void **state)
{
	static const char doc[] = "{\"email\":\"a@real.org\",\"n\":7,\"address\":{\"city\":\"Berlin\",\"zip\":\"10115\"},"
				  "\"list\":[{\"email\":\"b@real.org\"},{\"other\":1}],\"keep\":\"x\"}";
	dp_json_target t[] = {
		{ .path = "$.email", .fn = json_fn, .rule = "FAKE" },
		{ .path = "$.address.city", .fn = json_fn, .rule = "CITY" },
		{ .path = "$.list.email", .fn = json_fn, .rule = "LFAKE" },
		{ .path = "$.n", .fn = json_fn, .rule = "" },
		{ .path = "$.missing.path", .fn = json_fn, .rule = "NO" },
	};
	dp_pgbuf out = { 0 };
	dp_error *err = NULL;

	(void)state;
	assert_int_equal(dp_pg_json_mask(doc, sizeof(doc) - 1, t, 5, NULL, &out, &err), 0);
	assert_string_equal(out.p, "{\"email\":\"FAKE\",\"n\":42,\"address\":{\"city\":\"CITY\",\"zip\":\"10115\"},"
				   "\"list\":[{\"email\":\"LFAKE\"},{\"other\":1}],\"keep\":\"x\"}");
	out.n = 0;
	/* a top-level array: every element gets the path */
	{
		static const char arr[] = "[{\"email\":\"x\"},{\"email\":null}]";
		assert_int_equal(dp_pg_json_mask(arr, sizeof(arr) - 1, t, 1, NULL, &out, &err), 0);
	}
	assert_string_equal(out.p, "[{\"email\":\"FAKE\"},{\"email\":null}]");
	out.n = 0;
	assert_int_equal(dp_pg_json_mask("{not json", 9, t, 1, NULL, &out, &err), -1);
	dp_error_free(&err);
	dp_pgbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(copy_round_trip),
		cmocka_unit_test(array_mask),
		cmocka_unit_test(json_mask),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
