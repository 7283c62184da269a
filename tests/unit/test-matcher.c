/* Unit tests of src/data/matcher.h, the search behind `doppel scan`. A miss
 * here is a leak nobody sees, so besides the classic Aho-Corasick cases the
 * automaton is checked against a naive search on random patterns and text
 * (fixed seeds), whole and fed in random pieces, in both modes at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/matcher.h"

static uint32_t rnd(uint32_t n);
static uint64_t rng_state;

typedef struct hit {
	uint64_t off;
	uint32_t id;
} hit;

typedef struct hits {
	hit *v;
	size_t n, cap;
	size_t stop_at; /* nonzero: the stop_at-th hit stops the scan */
	int stop_with;
} hits;

static int on_match(void *user, uint32_t id, uint64_t offset)
{
	hits *h = user;

	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 64;
		h->v = realloc(h->v, h->cap * sizeof(hit));
		assert_non_null(h->v);
	}
	h->v[h->n++] = (hit){ offset, id };
	return h->stop_at && h->n == h->stop_at ? h->stop_with : 0;
}

static int cmp_hit(const void *x, const void *y)
{
	const hit *a = x, *b = y;

	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	return (a->id > b->id) - (a->id < b->id);
}

static void sort_hits(hits *h)
{
	if (h->n > 1)
		qsort(h->v, h->n, sizeof(hit), cmp_hit);
}

static void add(dp_matcher *m, const char *pat, enum dp_match_mode mode, uint32_t id)
{
	dp_error *err = NULL;

	if (dp_matcher_add(m, pat, strlen(pat), mode, id, &err) < 0)
		fail_msg("add '%s': %s", pat, err->msg);
	assert_null(err);
}

static void build(dp_matcher *m)
{
	dp_error *err = NULL;

	if (dp_matcher_build(m, &err) < 0)
		fail_msg("build: %s", err->msg);
}

/* Scans text fed in pieces of chunk bytes (0: all at once); sorted hits. */
static hits scan(const dp_matcher *m, const void *text, size_t n, size_t chunk)
{
	hits h = { 0 };
	dp_match_state *s = dp_match_state_new(m);
	const char *p = text;

	assert_non_null(s);
	if (chunk == 0)
		chunk = n ? n : 1;
	for (size_t i = 0; i < n; i += chunk)
		assert_int_equal(dp_matcher_feed(m, s, p + i, n - i < chunk ? n - i : chunk, on_match, &h), 0);
	dp_match_state_free(s);
	sort_hits(&h);
	return h;
}

/* want: sorted (offset, id) pairs. */
static void expect(const hits *got, const hit *want, size_t n)
{
	for (size_t i = 0; i < got->n && i < n; i++)
		if (got->v[i].off != want[i].off || got->v[i].id != want[i].id)
			fail_msg("hit %zu: id %u at %llu, want id %u at %llu", i, got->v[i].id,
				 (unsigned long long)got->v[i].off, want[i].id, (unsigned long long)want[i].off);
	if (got->n != n)
		fail_msg("%zu hits, want %zu", got->n, n);
}

/* The same hits whole, a byte at a time and in pieces of 3. */
static void check(const dp_matcher *m, const char *text, const hit *want, size_t n)
{
	static const size_t chunks[] = { 0, 1, 3 };

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		hits h = scan(m, text, strlen(text), chunks[i]);
		expect(&h, want, n);
		free(h.v);
	}
}

#define CHECK(m, text, ...)                                                       \
	do {                                                                      \
		static const hit want_[] = { __VA_ARGS__ };                         \
		check((m), (text), want_, sizeof(want_) / sizeof(want_[0]));        \
	} while (0)
#define CHECK_NONE(m, text) check((m), (text), NULL, 0)

static void test_classic(void **state)
{
	dp_matcher *m = dp_matcher_new();

	(void)state;
	add(m, "he", DP_MATCH_TEXT, 0);
	add(m, "she", DP_MATCH_TEXT, 1);
	add(m, "his", DP_MATCH_TEXT, 2);
	add(m, "hers", DP_MATCH_TEXT, 3);
	assert_int_equal(dp_matcher_count(m), 4);
	build(m);
	CHECK(m, "ushers", { 1, 1 }, { 2, 0 }, { 2, 3 });
	CHECK(m, "ahishers", { 1, 2 }, { 3, 1 }, { 4, 0 }, { 4, 3 });
	CHECK_NONE(m, "hhsshiihr");
	CHECK_NONE(m, "");
	{
		/* unsorted: in the order of the matches' last bytes */
		hits h = { 0 };
		dp_match_state *s = dp_match_state_new(m);
		assert_int_equal(dp_matcher_feed(m, s, "ushers", 6, on_match, &h), 0);
		assert_int_equal(h.n, 3);
		assert_int_equal(h.v[2].id, 3);
		assert_int_equal(h.v[2].off, 2);
		free(h.v);
		dp_match_state_free(s);
	}
	dp_matcher_free(m);
}

static void test_overlapping(void **state)
{
	dp_matcher *m = dp_matcher_new();

	(void)state;
	add(m, "a", DP_MATCH_TEXT, 1);
	add(m, "aa", DP_MATCH_TEXT, 2);
	add(m, "aaa", DP_MATCH_TEXT, 3);
	add(m, "abab", DP_MATCH_TEXT, 4);
	build(m);
	CHECK(m, "aaaa", { 0, 1 }, { 0, 2 }, { 0, 3 }, { 1, 1 }, { 1, 2 }, { 1, 3 }, { 2, 1 }, { 2, 2 }, { 3, 1 });
	CHECK(m, "ababab", { 0, 1 }, { 0, 4 }, { 2, 1 }, { 2, 4 }, { 4, 1 });
	dp_matcher_free(m);
}

static void test_case_folding(void **state)
{
	dp_matcher *m = dp_matcher_new();

	(void)state;
	add(m, "John.Doe@Example.COM", DP_MATCH_TEXT, 5);
	add(m, "\xc3\xa9t\xc3\xa9", DP_MATCH_TEXT, 6); /* "été" */
	add(m, "\xc1", DP_MATCH_TEXT, 7);	       /* 'A' | 0x80: no letter */
	add(m, "[Z]", DP_MATCH_TEXT, 8);	       /* '[' and '{' differ by 0x20 too */
	build(m);
	CHECK(m, "mail: JOHN.DOE@example.com;", { 6, 5 });
	CHECK_NONE(m, "john.doe@example.co");
	CHECK(m, "\xc3\xa9T\xc3\xa9 \xc3\x89T\xc3\x89", { 0, 6 }); /* É is not folded */
	CHECK(m, "\xe1\xc1", { 1, 7 });
	CHECK(m, "{z}[z]", { 3, 8 });
	dp_matcher_free(m);
}

static void test_binary(void **state)
{
	static const char pat[] = { 'a', 0, (char)0xff, 'b' };
	static const char text[] = { 'x', 'A', 0, (char)0xff, 'B', 0, 'a', 0, (char)0xff, 'b' };
	dp_matcher *m = dp_matcher_new();
	dp_error *err = NULL;
	hits h;

	(void)state;
	assert_int_equal(dp_matcher_add(m, pat, sizeof(pat), DP_MATCH_TEXT, 9, &err), 0);
	build(m);
	h = scan(m, text, sizeof(text), 1);
	expect(&h, (const hit[]){ { 1, 9 }, { 6, 9 } }, 2);
	free(h.v);
	dp_matcher_free(m);
}

/* Patterns that are prefixes of others, added in every order: the build
 * sorts them, a prefix first, whatever the ids. */
static void test_prefixes(void **state)
{
	static const char zeros[] = { 'x', 'a', 'b', 0, 0, 'y' };
	dp_matcher *m = dp_matcher_new();
	dp_error *err = NULL;
	hits h;

	(void)state;
	add(m, "abcdefghijk", DP_MATCH_TEXT, 3); /* the same first 8 bytes */
	add(m, "abcdefghij", DP_MATCH_TEXT, 4);
	add(m, "abcdefghijl", DP_MATCH_TEXT, 5);
	add(m, "abcdefghijklmnop", DP_MATCH_TEXT, 2);
	/* trailing NULs: the same 8-byte sort keys as "ab" */
	assert_int_equal(dp_matcher_add(m, "ab\0", 3, DP_MATCH_TEXT, 7, &err), 0);
	assert_int_equal(dp_matcher_add(m, "ab", 2, DP_MATCH_TEXT, 8, &err), 0);
	assert_int_equal(dp_matcher_add(m, "ab\0\0", 4, DP_MATCH_TEXT, 9, &err), 0);
	build(m);
	CHECK(m, "ABCDEFGHIJK abcdefghijl abcdefghijklmnop", { 0, 3 }, { 0, 4 }, { 0, 8 }, { 12, 4 }, { 12, 5 },
	      { 12, 8 }, { 24, 2 }, { 24, 3 }, { 24, 4 }, { 24, 8 });
	h = scan(m, zeros, sizeof(zeros), 1);
	expect(&h, (const hit[]){ { 1, 7 }, { 1, 8 }, { 1, 9 } }, 3);
	free(h.v);
	dp_matcher_free(m);
}

static void test_feed_boundaries(void **state)
{
	dp_matcher *m = dp_matcher_new();
	dp_match_state *s;
	hits h = { 0 };

	(void)state;
	add(m, "secret", DP_MATCH_TEXT, 1);
	add(m, "5550109999", DP_MATCH_DIGITS, 2);
	build(m);
	s = dp_match_state_new(m);
	assert_non_null(s);
	/* pieces end inside both patterns; offsets count from the stream start */
	assert_int_equal(dp_matcher_feed(m, s, "xx sec", 6, on_match, &h), 0);
	assert_int_equal(dp_matcher_feed(m, s, "", 0, on_match, &h), 0);
	assert_int_equal(dp_matcher_feed(m, s, "re", 2, on_match, &h), 0);
	assert_int_equal(dp_matcher_feed(m, s, "t (555) 01", 10, on_match, &h), 0);
	assert_int_equal(dp_matcher_feed(m, s, "0-9999 SECRET", 13, on_match, &h), 0);
	sort_hits(&h);
	expect(&h, (const hit[]){ { 3, 1 }, { 11, 2 }, { 25, 1 } }, 3);
	/* a reset starts a new stream: offsets from 0, nothing carried over */
	h.n = 0;
	dp_match_state_reset(s);
	assert_int_equal(dp_matcher_feed(m, s, "ret 999", 7, on_match, &h), 0);
	assert_int_equal(dp_matcher_feed(m, s, "secret", 6, on_match, &h), 0);
	expect(&h, (const hit[]){ { 7, 1 } }, 1);
	free(h.v);
	dp_match_state_free(s);
	dp_matcher_free(m);
}

static void test_digits(void **state)
{
	dp_matcher *m = dp_matcher_new();

	(void)state;
	add(m, "15550109999", DP_MATCH_DIGITS, 1);
	add(m, "010-9999", DP_MATCH_DIGITS, 2);		 /* its digits only: 0109999 */
	add(m, "4111 1111 1111 1111", DP_MATCH_DIGITS, 3);
	build(m);
	CHECK(m, "+1 (555) 010-9999", { 1, 1 }, { 9, 2 });
	CHECK(m, "tel:15550109999.", { 4, 1 }, { 8, 2 });
	CHECK(m, "1.555.010.9999", { 0, 1 }, { 6, 2 });
	CHECK(m, "1/555/0109999", { 0, 1 }, { 6, 2 });
	CHECK(m, "1 -- (555) -- 010 - 9999", { 0, 1 }, { 14, 2 }); /* separator runs */
	CHECK(m, "1+(555)+010+9999", { 0, 1 }, { 8, 2 });
	CHECK(m, "card 4111-1111-1111-1111!", { 5, 3 });
	/* inside a longer run of digits: still the leaked number */
	CHECK(m, "0015550109999", { 2, 1 }, { 6, 2 });
	/* any other byte resets */
	CHECK(m, "1555x0109999", { 5, 2 });
	CHECK_NONE(m, "1 (555) 010_9999");
	CHECK_NONE(m, "1555010999\n9");
	/* the text automaton never sees DIGITS patterns */
	CHECK_NONE(m, "one five five five");
	dp_matcher_free(m);
}

/* Enough long numbers that deep DIGITS states have no dense row: separators
 * and resets there take the other path. */
static void test_digits_deep(void **state)
{
	dp_matcher *m = dp_matcher_new();
	char num[17];

	(void)state;
	rng_state = 99;
	for (uint32_t i = 0; i < 5000; i++) {
		for (int k = 0; k < 16; k++)
			num[k] = (char)('0' + rnd(10));
		num[16] = '\0';
		add(m, num, DP_MATCH_DIGITS, 1000 + i);
	}
	add(m, "1234 5678 9012 3456", DP_MATCH_DIGITS, 1);
	build(m);
	CHECK(m, "1234-5678 9012.3456", { 0, 1 });
	CHECK(m, "x1234567890--(123)456x", { 1, 1 });
	CHECK_NONE(m, "12345678x90123456");
	CHECK_NONE(m, "123456789012_3456");
	CHECK_NONE(m, "1234567890123\n456");
	dp_matcher_free(m);
}

/* The digits ring must hold the longest pattern; a long prefix of digits
 * wraps it many times. */
static void test_digits_ring(void **state)
{
	dp_matcher *m = dp_matcher_new();
	char text[400];

	(void)state;
	add(m, "123456789012345678901234567890123", DP_MATCH_DIGITS, 1); /* 33 digits: ring of 64 */
	add(m, "90", DP_MATCH_DIGITS, 2);
	build(m);
	memset(text, '7', 300);
	strcpy(text + 300, "12-34-56-78-90-12-34-56-78-90-12-34-56-78-90-123");
	CHECK(m, text, { 300, 1 }, { 312, 2 }, { 327, 2 }, { 342, 2 });
	dp_matcher_free(m);
}

static void test_duplicates(void **state)
{
	dp_matcher *m = dp_matcher_new();
	dp_error *err = NULL;

	(void)state;
	add(m, "abc", DP_MATCH_TEXT, 2);
	add(m, "abc", DP_MATCH_TEXT, 1);
	add(m, "ABC", DP_MATCH_TEXT, 1); /* folds to the same string, same id */
	add(m, "abc", DP_MATCH_TEXT, 2);
	add(m, "555-0100", DP_MATCH_DIGITS, 3);
	add(m, "5550100", DP_MATCH_DIGITS, 3);
	add(m, "(555) 0100", DP_MATCH_DIGITS, 4);
	for (uint32_t id = 100; id < 200; id++)
		add(m, "many", DP_MATCH_TEXT, id);
	/* ignored: empty, or no digits in DIGITS mode */
	assert_int_equal(dp_matcher_add(m, "", 0, DP_MATCH_TEXT, 7, &err), 0);
	assert_int_equal(dp_matcher_add(m, NULL, 0, DP_MATCH_TEXT, 7, &err), 0);
	assert_int_equal(dp_matcher_add(m, "n/a", 3, DP_MATCH_DIGITS, 7, &err), 0);
	assert_null(err);
	assert_int_equal(dp_matcher_count(m), 107);
	build(m);
	CHECK(m, "xABCx", { 1, 1 }, { 1, 2 });
	CHECK(m, "555 0100", { 0, 3 }, { 0, 4 });
	{
		hits h = scan(m, "MANY", 4, 0);
		assert_int_equal(h.n, 100);
		for (size_t i = 0; i < h.n; i++) {
			assert_int_equal(h.v[i].off, 0);
			assert_int_equal(h.v[i].id, 100 + i);
		}
		free(h.v);
	}
	dp_matcher_free(m);
}

static void test_add_after_build(void **state)
{
	dp_matcher *m = dp_matcher_new();
	dp_error *err = NULL;

	(void)state;
	add(m, "abc", DP_MATCH_TEXT, 1);
	assert_null(dp_match_state_new(m)); /* not built yet */
	build(m);
	assert_int_equal(dp_matcher_add(m, "xyz", 3, DP_MATCH_TEXT, 2, &err), -1);
	assert_non_null(err);
	assert_int_equal(err->status, DP_EXIT_FAIL);
	assert_non_null(strstr(err->msg, "after the build"));
	dp_error_free(&err);
	assert_int_equal(dp_matcher_add(m, "123", 3, DP_MATCH_DIGITS, 2, &err), -1);
	dp_error_free(&err);
	assert_int_equal(dp_matcher_count(m), 1);
	build(m); /* a second build changes nothing */
	CHECK(m, "abc xyz 123", { 0, 1 });
	dp_matcher_free(m);
}

static void test_empty(void **state)
{
	dp_matcher *m = dp_matcher_new();
	dp_match_state *s;
	hits h = { 0 };

	(void)state;
	assert_non_null(m);
	assert_int_equal(dp_matcher_count(m), 0);
	build(m);
	s = dp_match_state_new(m);
	assert_non_null(s);
	assert_int_equal(dp_matcher_feed(m, s, "anything 555 0100", 17, on_match, &h), 0);
	assert_int_equal(dp_matcher_feed(m, s, NULL, 0, on_match, &h), 0);
	assert_int_equal(h.n, 0);
	dp_match_state_free(s);
	dp_matcher_free(m);
	dp_matcher_free(NULL);
	dp_match_state_free(NULL);
}

static void test_stop(void **state)
{
	dp_matcher *m = dp_matcher_new();
	dp_match_state *s;
	hits h = { .stop_at = 2, .stop_with = 7 };

	(void)state;
	add(m, "a", DP_MATCH_TEXT, 1);
	add(m, "12", DP_MATCH_DIGITS, 2);
	build(m);
	s = dp_match_state_new(m);
	assert_int_equal(dp_matcher_feed(m, s, "aaaa", 4, on_match, &h), 7);
	assert_int_equal(h.n, 2);
	/* from the digits side, with a negative value */
	dp_match_state_reset(s);
	h = (hits){ .v = h.v, .cap = h.cap, .stop_at = 1, .stop_with = -1 };
	assert_int_equal(dp_matcher_feed(m, s, "1-2 1-2 a", 9, on_match, &h), -1);
	expect(&h, (const hit[]){ { 0, 2 } }, 1);
	free(h.v);
	dp_match_state_free(s);
	dp_matcher_free(m);
}

/* Property test: the automaton against a naive search. */

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool is_sep(uint8_t c)
{
	return c != 0 && strchr(" -()./+", c) != NULL;
}

typedef struct pattern {
	char s[48];
	size_t n;
	enum dp_match_mode mode;
} pattern;

/* Where a DIGITS pattern (its digits d[0..nd)) starts at i: digits in order,
 * separators skipped between them, anything else breaks. */
static bool digits_at(const uint8_t *t, size_t n, size_t i, const char *d, size_t nd)
{
	size_t k = 0;

	if (!is_digit(t[i]))
		return false;
	for (size_t j = i; j < n && k < nd; j++) {
		if (is_digit(t[j])) {
			if (t[j] != (uint8_t)d[k++])
				return false;
		} else if (!is_sep(t[j])) {
			return false;
		}
	}
	return k == nd;
}

static hits naive(const pattern *p, size_t np, const uint8_t *t, size_t n)
{
	hits h = { 0 };

	for (size_t q = 0; q < np; q++) {
		char d[48];
		size_t nd = 0;
		if (p[q].mode == DP_MATCH_DIGITS) {
			for (size_t k = 0; k < p[q].n; k++)
				if (is_digit((uint8_t)p[q].s[k]))
					d[nd++] = p[q].s[k];
			if (nd == 0)
				continue;
		}
		for (size_t i = 0; i < n; i++) {
			bool ok;
			if (p[q].mode == DP_MATCH_DIGITS) {
				ok = digits_at(t, n, i, d, nd);
			} else {
				ok = i + p[q].n <= n;
				for (size_t k = 0; ok && k < p[q].n; k++)
					ok = lower(t[i + k]) == lower((uint8_t)p[q].s[k]);
			}
			if (ok)
				on_match(&h, (uint32_t)q, i);
		}
	}
	sort_hits(&h);
	return h;
}

typedef struct prop {
	uint64_t seed;
	const char *alphabet; /* of text patterns and of the text */
	size_t n_text, n_digits; /* patterns of each mode */
	size_t min_len, max_len;
	size_t text_len;
	unsigned plant; /* per mille: copy a pattern into the text here */
} prop;

static void run_prop(const prop *c)
{
	static const char digit_alphabet[] = "0011223 -(";
	size_t np = c->n_text + c->n_digits, na = strlen(c->alphabet);
	pattern *p = calloc(np, sizeof(*p));
	uint8_t *t = malloc(c->text_len);
	dp_matcher *m = dp_matcher_new();
	hits want;

	assert_non_null(p);
	assert_non_null(t);
	rng_state = c->seed;
	for (size_t q = 0; q < np; q++) {
		bool digits = q >= c->n_text;
		const char *a = digits ? digit_alphabet : c->alphabet;
		size_t an = digits ? sizeof(digit_alphabet) - 1 : na;
		p[q].mode = digits ? DP_MATCH_DIGITS : DP_MATCH_TEXT;
		p[q].n = c->min_len + rnd((uint32_t)(c->max_len - c->min_len + 1));
		for (size_t k = 0; k < p[q].n; k++)
			p[q].s[k] = a[rnd((uint32_t)an)];
		assert_int_equal(dp_matcher_add(m, p[q].s, p[q].n, p[q].mode, (uint32_t)q, NULL), 0);
	}
	build(m);
	for (size_t i = 0; i < c->text_len;) {
		if (rnd(1000) < c->plant) {
			const pattern *q = &p[rnd((uint32_t)np)];
			for (size_t k = 0; k < q->n && i < c->text_len; k++, i++) {
				uint8_t b = (uint8_t)q->s[k];
				t[i] = rnd(2) && b >= 'a' && b <= 'z' ? (uint8_t)(b - 32) : b;
			}
		} else {
			t[i++] = (uint8_t)c->alphabet[rnd((uint32_t)na)];
		}
	}
	want = naive(p, np, t, c->text_len);
	assert_true(want.n > 0); /* the test tests something */
	for (int round = 0; round < 4; round++) {
		/* whole, byte by byte, then random pieces */
		hits got = { 0 };
		dp_match_state *s = dp_match_state_new(m);
		for (size_t i = 0; i < c->text_len;) {
			size_t k = round == 0 ? c->text_len : round == 1 ? 1 : 1 + rnd(round == 2 ? 7 : 300);
			if (k > c->text_len - i)
				k = c->text_len - i;
			assert_int_equal(dp_matcher_feed(m, s, t + i, k, on_match, &got), 0);
			i += k;
		}
		sort_hits(&got);
		expect(&got, want.v, want.n);
		free(got.v);
		dp_match_state_free(s);
	}
	free(want.v);
	free(p);
	free(t);
	dp_matcher_free(m);
}

/* Few letters: deep overlaps and long fail chains, both modes at once. */
static void test_random_small_alphabet(void **state)
{
	static const prop c = { .seed = 0x5eed1234abcdULL,
				.alphabet = "aAbB01 -x\xc1\xe1",
				.n_text = 150,
				.n_digits = 60,
				.min_len = 1,
				.max_len = 6,
				.text_len = 6000,
				.plant = 20 };
	(void)state;
	run_prop(&c);
}

/* Many letters and patterns: long child lists, and more nodes than get
 * dense rows. */
static void test_random_large_alphabet(void **state)
{
	static const prop c = { .seed = 42,
				.alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@.-_ ()\xc3\xa9",
				.n_text = 3000,
				.n_digits = 500,
				.min_len = 2,
				.max_len = 12,
				.text_len = 40000,
				.plant = 30 };
	(void)state;
	run_prop(&c);
}

/* Many long numbers: more DIGITS nodes than get dense rows, so separators
 * and resets are also taken from states without one. */
static void test_random_many_numbers(void **state)
{
	static const prop c = { .seed = 7,
				.alphabet = "0123 -(x.",
				.n_text = 200,
				.n_digits = 3000,
				.min_len = 6,
				.max_len = 16,
				.text_len = 20000,
				.plant = 20 };
	(void)state;
	run_prop(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classic),
		cmocka_unit_test(test_overlapping),
		cmocka_unit_test(test_case_folding),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_feed_boundaries),
		cmocka_unit_test(test_digits),
		cmocka_unit_test(test_digits_deep),
		cmocka_unit_test(test_digits_ring),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_add_after_build),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_random_small_alphabet),
		cmocka_unit_test(test_random_large_alphabet),
		cmocka_unit_test(test_random_many_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
