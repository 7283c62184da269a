/* The unique-key map: a fake belongs to one original; an original that moved
 * to a later attempt is found again; many entries survive growing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "data/keymap.h"

static dp_val text(const char *s)
{
	return (dp_val){ .type = DP_VAL_TEXT, .p = s, .n = strlen(s) };
}

static void claim_and_move(void **state)
{
	dp_keymap *m = dp_keymap_new();
	dp_val a = text("alice@real.example.org"), b = text("bob@real.example.org"), f = text("fake1@example.com"),
	       g = text("fake2@example.com"), out;

	(void)state;
	assert_non_null(m);
	assert_int_equal(dp_keymap_claim(m, 0, &a, &f), 1);
	assert_int_equal(dp_keymap_claim(m, 0, &a, &f), 1); /* a's already */
	assert_int_equal(dp_keymap_claim(m, 0, &b, &f), 0); /* taken */
	assert_int_equal(dp_keymap_claim(m, 1, &b, &f), 1); /* another rule, another space */
	assert_false(dp_keymap_get(m, 0, &b, &out));
	assert_int_equal(dp_keymap_claim(m, 0, &b, &g), 1);
	assert_int_equal(dp_keymap_put(m, 0, &b, &g), 0);
	assert_true(dp_keymap_get(m, 0, &b, &out));
	assert_int_equal(out.type, DP_VAL_TEXT);
	assert_int_equal(out.n, g.n);
	assert_memory_equal(out.p, g.p, g.n);
	assert_false(dp_keymap_get(m, 0, &a, &out)); /* never moved */
	/* INT and TEXT "1" are different values */
	{
		dp_val i = { .type = DP_VAL_INT, .i = 1 }, t = text("1"), fi = { .type = DP_VAL_INT, .i = 99 };
		assert_int_equal(dp_keymap_claim(m, 2, &i, &fi), 1);
		assert_int_equal(dp_keymap_claim(m, 2, &t, &fi), 0);
	}
	dp_keymap_free(m);
}

static void many(void **state)
{
	dp_keymap *m = dp_keymap_new();
	char o[32], f[32];

	(void)state;
	assert_non_null(m);
	for (int i = 0; i < 200000; i++) {
		dp_val ov, fv;
		snprintf(o, sizeof(o), "orig-%d", i);
		snprintf(f, sizeof(f), "fake-%d", i);
		ov = text(o);
		fv = text(f);
		assert_int_equal(dp_keymap_claim(m, 0, &ov, &fv), 1);
		if (i % 7 == 0)
			assert_int_equal(dp_keymap_put(m, 0, &ov, &fv), 0);
	}
	for (int i = 0; i < 200000; i++) {
		dp_val ov, fv, out;
		snprintf(o, sizeof(o), "orig-%d", i);
		snprintf(f, sizeof(f), "fake-%d", i);
		ov = text(o);
		fv = text(f);
		assert_int_equal(dp_keymap_claim(m, 0, &ov, &fv), 1);
		assert_int_equal(dp_keymap_get(m, 0, &ov, &out), i % 7 == 0);
		snprintf(o, sizeof(o), "other-%d", i);
		ov = text(o);
		assert_int_equal(dp_keymap_claim(m, 0, &ov, &fv), 0);
	}
	dp_keymap_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(claim_and_move), cmocka_unit_test(many) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
