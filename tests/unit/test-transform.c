/* Masking transformers and check digits: every kind is deterministic under
 * one key and changes with the key and the attempt, keeps NULL, and makes
 * values of the promised shape (valid Luhn and IBAN, reserved domains and
 * networks, shifted dates within range, numbers within the noise). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "data/checksum.h"
#include "data/dict.h"
#include "data/transform.h"

static dp_mask_key key1, key2;
static char buf[DP_TRANSFORM_BUF];

static dp_mask_rule rule(enum dp_mask_kind kind)
{
	dp_mask_rule r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.days = 30;
	r.percent = 10;
	r.keep_last = 4;
	r.length = 16;
	return r;
}

static dp_val text(const char *s)
{
	dp_val v = { .type = DP_VAL_TEXT, .p = s, .n = strlen(s) };
	return v;
}

static dp_val integer(int64_t i)
{
	dp_val v = { .type = DP_VAL_INT, .i = i };
	return v;
}

static dp_val real(double r)
{
	dp_val v = { .type = DP_VAL_REAL, .r = r };
	return v;
}

/* Masks and expects success; TEXT results come back NUL-terminated in s
 * (a copy, so two results can be compared). */
static dp_val mask_k(const dp_mask_rule *r, const dp_mask_key *k, dp_val in, uint32_t attempt, char *s, size_t ssz)
{
	dp_error *err = NULL;
	dp_val out;
	int rc = dp_transform(r, k, &in, attempt, &out, buf, sizeof(buf), &err);

	if (rc != 0)
		fail_msg("dp_transform(%s) failed: %s", dp_mask_kind_name(r->kind), err ? err->msg : "?");
	assert_null(err);
	if (s && (out.type == DP_VAL_TEXT || out.type == DP_VAL_BLOB)) {
		assert_true(out.n < ssz);
		memcpy(s, out.p, out.n);
		s[out.n] = '\0';
		assert_int_equal(strlen(s), out.n);
	}
	return out;
}

static dp_val mask(const dp_mask_rule *r, dp_val in, char *s, size_t ssz)
{
	return mask_k(r, &key1, in, 0, s, ssz);
}

static const char *mask_text(const dp_mask_rule *r, const char *in, char *s, size_t ssz)
{
	dp_val out = mask(r, text(in), s, ssz);
	assert_int_equal(out.type, DP_VAL_TEXT);
	return s;
}

/* Expects an error of the given status whose message contains needle. */
static void expect_fail(const dp_mask_rule *r, dp_val in, int status, const char *needle)
{
	dp_error *err = NULL;
	dp_val out;

	assert_int_equal(dp_transform(r, &key1, &in, 0, &out, buf, sizeof(buf), &err), -1);
	assert_non_null(err);
	assert_int_equal(err->status, status);
	if (strstr(err->msg, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err->msg, needle);
	dp_error_free(&err);
}

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < 32; i++) {
		key1.k[i] = (unsigned char)i;
		key2.k[i] = (unsigned char)(i + 100);
	}
	return 0;
}

static bool in_dict(const dp_dict *d, const char *w, size_t n)
{
	for (size_t i = 0; i < d->n; i++)
		if (strlen(d->words[i]) == n && memcmp(d->words[i], w, n) == 0)
			return true;
	return false;
}

/* ---- checksum.c ------------------------------------------------------------ */

static void luhn_checks(void **state)
{
	(void)state;
	assert_true(dp_luhn_valid("4111111111111111", 16));
	assert_false(dp_luhn_valid("4111111111111112", 16));
	assert_false(dp_luhn_valid("41111111a1111111", 16));
	assert_false(dp_luhn_valid("4", 1));
	assert_int_equal(dp_luhn_digit("411111111111111", 15), 1);
	assert_true(dp_luhn_valid("79927398713", 11));
}

static void iban_checks(void **state)
{
	(void)state;
	assert_true(dp_iban_valid("DE89370400440532013000", 22));
	assert_true(dp_iban_valid("GB82WEST12345698765432", 22));
	assert_true(dp_iban_valid("gb82west12345698765432", 22));
	assert_false(dp_iban_valid("DE89370400440532013001", 22));
	assert_false(dp_iban_valid("GB82WEST12345698765433", 22));
	assert_false(dp_iban_valid("GB28WEST12345698765432", 22));
	assert_false(dp_iban_valid("DE8937040044", 12));
	assert_int_equal(dp_iban_check("DE00370400440532013000", 22), 89);
}

/* ---- properties shared by all kinds ----------------------------------------- */

static void null_stays_null(void **state)
{
	dp_val in = { .type = DP_VAL_NULL };

	(void)state;
	for (int k = DP_MASK_EMAIL; k <= DP_MASK_SQL; k++) {
		dp_mask_rule r = rule((enum dp_mask_kind)k);
		dp_val out;
		dp_error *err = NULL;
		out.type = DP_VAL_TEXT;
		assert_int_equal(dp_transform(&r, &key1, &in, 0, &out, buf, sizeof(buf), &err), 0);
		assert_int_equal(out.type, DP_VAL_NULL);
		assert_null(err);
	}
}

/* The kinds whose output is drawn from the key. */
static const enum dp_mask_kind keyed[] = {
	DP_MASK_EMAIL, DP_MASK_NAME,   DP_MASK_PHONE,  DP_MASK_ADDRESS, DP_MASK_POSTAL_CODE,
	DP_MASK_CARD,  DP_MASK_IBAN,   DP_MASK_IP,     DP_MASK_DATE,    DP_MASK_NUMBER,
	DP_MASK_HASH,  DP_MASK_UUID,
};

static const char *sample(enum dp_mask_kind k)
{
	switch (k) {
	case DP_MASK_PHONE: return "+44 20 7946 0958 12 34";
	case DP_MASK_POSTAL_CODE: return "SW1A 1AA 90210-1234";
	case DP_MASK_CARD: return "4111 1111 1111 1111";
	case DP_MASK_IBAN: return "GB82 WEST 1234 5698 7654 32";
	case DP_MASK_IP: return "2001:db8:1234::1";
	case DP_MASK_DATE: return "1984-06-15";
	case DP_MASK_NUMBER: return "123456789.25";
	default: return "ada.lovelace@analytical.engine";
	}
}

static void deterministic(void **state)
{
	char a[256], b[256];

	(void)state;
	for (size_t i = 0; i < sizeof(keyed) / sizeof(keyed[0]); i++) {
		dp_mask_rule r = rule(keyed[i]);
		mask_k(&r, &key1, text(sample(keyed[i])), 0, a, sizeof(a));
		mask_k(&r, &key1, text(sample(keyed[i])), 0, b, sizeof(b));
		if (strcmp(a, b) != 0)
			fail_msg("%s: '%s' then '%s'", dp_mask_kind_name(keyed[i]), a, b);
	}
}

/* Differs with the key / attempt: for some of 8 inputs at least (a city or
 * a date shift can coincide for one input, not for all). */
static void changes_with(bool by_key)
{
	static const char *suffix[] = { "", "1", "22", "333", "x", "yy", "zzz", "0" };
	char a[256], b[256], in[128];

	for (size_t i = 0; i < sizeof(keyed) / sizeof(keyed[0]); i++) {
		dp_mask_rule r = rule(keyed[i]);
		int differ = 0;
		for (size_t j = 0; j < 8; j++) {
			const char *s = sample(keyed[i]);
			if (keyed[i] == DP_MASK_EMAIL || keyed[i] == DP_MASK_NAME || keyed[i] == DP_MASK_ADDRESS ||
			    keyed[i] == DP_MASK_HASH || keyed[i] == DP_MASK_UUID)
				snprintf(in, sizeof(in), "%s%s", s, suffix[j]);
			else if (keyed[i] == DP_MASK_DATE)
				snprintf(in, sizeof(in), "1984-06-1%zu", j);
			else if (keyed[i] == DP_MASK_NUMBER)
				snprintf(in, sizeof(in), "12345678%zu.25", j);
			else
				snprintf(in, sizeof(in), "%s", s); /* shape kinds: only one input, all digits change */
			mask_k(&r, &key1, text(in), 0, a, sizeof(a));
			if (by_key)
				mask_k(&r, &key2, text(in), 0, b, sizeof(b));
			else
				mask_k(&r, &key1, text(in), 1 + (uint32_t)j, b, sizeof(b));
			differ += strcmp(a, b) != 0;
		}
		if (differ < 6)
			fail_msg("%s: only %d of 8 outputs changed with the %s", dp_mask_kind_name(keyed[i]), differ,
				 by_key ? "key" : "attempt");
	}
}

static void key_changes_output(void **state)
{
	(void)state;
	changes_with(true);
}

static void attempt_changes_output(void **state)
{
	(void)state;
	changes_with(false);
}

/* Hash of an INT and of its decimal TEXT are different values; a BLOB and a
 * TEXT of the same bytes hash alike. */
static void hash_input_types(void **state)
{
	dp_mask_rule r = rule(DP_MASK_HASH);
	dp_val blob = { .type = DP_VAL_BLOB, .p = "abc", .n = 3 };
	char a[80], b[80];

	(void)state;
	mask(&r, integer(42), a, sizeof(a));
	mask(&r, text("42"), b, sizeof(b));
	assert_string_not_equal(a, b);
	mask(&r, blob, a, sizeof(a));
	mask(&r, text("abc"), b, sizeof(b));
	assert_string_equal(a, b);
	mask(&r, real(42.0), a, sizeof(a));
	mask(&r, integer(42), b, sizeof(b));
	assert_string_not_equal(a, b);
}

/* The derivation is the documented one: BLAKE2b-512 keyed with the project
 * key over kind || attempt (LE) || type tag || value, for short values (one
 * call) and long ones alike. Pinned because changing it changes every fake
 * in every snapshot. */
/* The documented stream: seed = SipHash-2-4-128(key[0..15], kind || attempt
 * || tag || value), a value over 250 bytes entering as 'L' and its BLAKE2b-256
 * digest; then blocks PRF(seed || counter LE). */
static void expect_stream(unsigned char *msg, size_t n, char *want)
{
	unsigned char d[32], blk[20];

	crypto_shorthash_siphashx24(d, msg, n, key1.k);
	memcpy(blk, d, 16);
	blk[16] = 1, blk[17] = blk[18] = blk[19] = 0;
	crypto_shorthash_siphashx24(d + 16, blk, 20, key1.k);
	sodium_bin2hex(want, 80, d, 32);
}

static void hash_is_documented_siphash(void **state)
{
	static const size_t lens[] = { 0, 5, 250, 251, 5000 };
	dp_mask_rule r = rule(DP_MASK_HASH);
	unsigned char *msg = malloc(6 + 5000);
	char *value = malloc(5000), out[80], want[80];

	(void)state;
	assert_true(sodium_init() >= 0);
	r.length = 64;
	for (size_t i = 0; i < 5000; i++)
		value[i] = (char)('a' + i % 26);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		dp_val in = { .type = DP_VAL_TEXT, .p = value, .n = lens[i] };
		size_t n = lens[i];
		msg[0] = DP_MASK_HASH;
		msg[1] = 3, msg[2] = 0, msg[3] = 0, msg[4] = 0; /* attempt 3 */
		msg[5] = 't';
		if (n > 250) {
			msg[5] = 'L';
			crypto_generichash(msg + 6, 32, (const unsigned char *)value, n, NULL, 0);
			n = 32;
		} else {
			memcpy(msg + 6, value, n);
		}
		expect_stream(msg, 6 + n, want);
		mask_k(&r, &key1, in, 3, out, sizeof(out));
		assert_string_equal(out, want);
	}
	/* an INT as 8 bytes little-endian */
	msg[1] = 0;
	msg[5] = 'i';
	for (int i = 0; i < 8; i++)
		msg[6 + i] = (unsigned char)((uint64_t)-2 >> (8 * i));
	expect_stream(msg, 14, want);
	mask(&r, integer(-2), out, sizeof(out));
	assert_string_equal(out, want);
	free(msg);
	free(value);
}

/* ---- email, name, address, city --------------------------------------------- */

static void email_format(void **state)
{
	dp_mask_rule r = rule(DP_MASK_EMAIL);
	char out[256], in[64], prev[256] = "";
	int distinct = 0;

	(void)state;
	for (int i = 0; i < 500; i++) {
		const char *at, *dot, *p;
		snprintf(in, sizeof(in), "user%d@corp.example", i);
		mask_text(&r, in, out, sizeof(out));
		at = strchr(out, '@');
		assert_non_null(at);
		assert_true(strcmp(at, "@example.com") == 0 || strcmp(at, "@example.net") == 0 ||
			    strcmp(at, "@example.org") == 0);
		dot = strchr(out, '.');
		assert_true(dot != NULL && dot < at && dot > out);
		for (p = out; p < at; p++)
			assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.');
		assert_true(at[-1] >= '0' && at[-1] <= '9');
		distinct += strcmp(out, prev) != 0;
		strcpy(prev, out);
	}
	assert_true(distinct >= 495);
	/* INT and REAL inputs give TEXT too */
	assert_int_equal(mask(&r, integer(7), out, sizeof(out)).type, DP_VAL_TEXT);
	assert_int_equal(mask(&r, real(7.5), out, sizeof(out)).type, DP_VAL_TEXT);
}

static void name_parts(void **state)
{
	dp_mask_rule full = rule(DP_MASK_NAME), first = rule(DP_MASK_NAME), last = rule(DP_MASK_NAME);
	char f[128], a[128], b[128], in[32];

	(void)state;
	first.part = DP_NAME_FIRST;
	last.part = DP_NAME_LAST;
	for (int i = 0; i < 100; i++) {
		const char *sp;
		snprintf(in, sizeof(in), "Person %d", i);
		mask_text(&full, in, f, sizeof(f));
		sp = strchr(f, ' ');
		assert_non_null(sp);
		assert_null(strchr(sp + 1, ' '));
		assert_true(in_dict(&dp_dict_first_names, f, (size_t)(sp - f)));
		assert_true(in_dict(&dp_dict_last_names, sp + 1, strlen(sp + 1)));
		/* the parts agree with the full name of the same input */
		mask_text(&first, in, a, sizeof(a));
		mask_text(&last, in, b, sizeof(b));
		assert_int_equal(strlen(a), (size_t)(sp - f));
		assert_memory_equal(a, f, strlen(a));
		assert_string_equal(b, sp + 1);
	}
}

static void address_format(void **state)
{
	dp_mask_rule r = rule(DP_MASK_ADDRESS);
	char out[256], in[32];

	(void)state;
	for (int i = 0; i < 200; i++) {
		char *end, *last_sp;
		long num;
		snprintf(in, sizeof(in), "%d Main St", i);
		mask_text(&r, in, out, sizeof(out));
		num = strtol(out, &end, 10);
		assert_true(num >= 1 && num <= 9999);
		assert_true(*end == ' ');
		last_sp = strrchr(out, ' ');
		assert_true(last_sp > end);
		assert_true(in_dict(&dp_dict_street_suffixes, last_sp + 1, strlen(last_sp + 1)));
		assert_true(in_dict(&dp_dict_streets, end + 1, (size_t)(last_sp - end - 1)));
	}
}

static void city_from_dict(void **state)
{
	dp_mask_rule r = rule(DP_MASK_CITY);
	char out[128];

	(void)state;
	mask_text(&r, "Springfield", out, sizeof(out));
	assert_true(in_dict(&dp_dict_cities, out, strlen(out)));
	assert_true(dp_dict_first_names.n >= 150 && dp_dict_last_names.n >= 150 && dp_dict_streets.n >= 80 &&
		    dp_dict_street_suffixes.n >= 10 && dp_dict_cities.n >= 80);
}

/* ---- phone, postal code, card, IBAN ----------------------------------------- */

static void phone_shape(void **state)
{
	static const char *in[] = { "+44 20 7946 0958", "(555) 010-9999", "030 1234567", "+1-202-555-0143 ext. 12",
				    "  +49 (0)30 901820", "0", "n/a" };
	dp_mask_rule r = rule(DP_MASK_PHONE);
	char out[128];
	int changed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		const char *s = in[i], *plus = strchr(s, '+');
		mask_text(&r, s, out, sizeof(out));
		assert_int_equal(strlen(out), strlen(s));
		for (size_t j = 0; s[j]; j++) {
			bool d = s[j] >= '0' && s[j] <= '9';
			assert_int_equal(d, out[j] >= '0' && out[j] <= '9');
			if (!d)
				assert_int_equal(out[j], s[j]);
		}
		if (plus) /* '+' and the first digit after it stay */
			assert_int_equal(out[plus - s + 1], plus[1]);
		changed += strcmp(out, s) != 0;
	}
	assert_true(changed >= 5);
	/* a trunk prefix stays a zero */
	mask_text(&r, "030 1234567", out, sizeof(out));
	assert_int_equal(out[0], '0');
}

static void phone_integer(void **state)
{
	dp_mask_rule r = rule(DP_MASK_PHONE);
	static const int64_t in[] = { 4420794609, 5550109999, 7, 1000000000000000000, 9223372036854775807 };

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		char a[32], b[32];
		dp_val out = mask(&r, integer(in[i]), NULL, 0);
		assert_int_equal(out.type, DP_VAL_INT);
		assert_true(out.i > 0);
		snprintf(a, sizeof(a), "%lld", (long long)in[i]);
		snprintf(b, sizeof(b), "%lld", (long long)out.i);
		assert_int_equal(strlen(a), strlen(b));
	}
	/* every width keeps its width: the first digit is never 0 */
	for (int64_t v = 1; v < 1000000000000000000; v = v * 10 + 3) {
		char a[32], b[32];
		dp_val out = mask(&r, integer(v), NULL, 0);
		snprintf(a, sizeof(a), "%lld", (long long)v);
		snprintf(b, sizeof(b), "%lld", (long long)out.i);
		assert_int_equal(strlen(a), strlen(b));
		out = mask(&r, integer(-v), NULL, 0);
		assert_true(out.i < 0);
	}
	expect_fail(&r, real(1.5), DP_EXIT_USAGE, "phone");
}

static void postal_code_shape(void **state)
{
	static const char *in[] = { "SW1A 1AA", "90210-1234", "75008", "k1a 0b1", "1234 AB", "Ü-12" };
	dp_mask_rule r = rule(DP_MASK_POSTAL_CODE);
	char out[64];
	dp_val o;

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		const char *s = in[i];
		mask_text(&r, s, out, sizeof(out));
		assert_int_equal(strlen(out), strlen(s));
		for (size_t j = 0; s[j]; j++) {
			char c = s[j], m = out[j];
			if (c >= '0' && c <= '9')
				assert_true(m >= '0' && m <= '9');
			else if (c >= 'A' && c <= 'Z')
				assert_true(m >= 'A' && m <= 'Z');
			else if (c >= 'a' && c <= 'z')
				assert_true(m >= 'a' && m <= 'z');
			else
				assert_int_equal(m, c);
		}
	}
	mask_text(&r, "90210-1234", out, sizeof(out));
	assert_string_not_equal(out, "90210-1234");
	o = mask(&r, integer(2134), NULL, 0);
	assert_int_equal(o.type, DP_VAL_INT);
	assert_true(o.i >= 1000 && o.i <= 9999);
}

static bool card_ok(const char *s, const char *shape)
{
	char d[32];
	size_t n = 0;

	if (strlen(s) != strlen(shape))
		return false;
	for (size_t i = 0; s[i]; i++) {
		bool digit = s[i] >= '0' && s[i] <= '9', shape_digit = shape[i] >= '0' && shape[i] <= '9';
		if (digit != shape_digit || (!digit && s[i] != shape[i]) || n >= sizeof(d))
			return false;
		if (digit)
			d[n++] = s[i];
	}
	return dp_luhn_valid(d, n) && (memcmp(d, "4000", 4) == 0 || memcmp(d, "5555", 4) == 0);
}

static void card_valid(void **state)
{
	static const char *in[] = { "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111",
				    "378282246310005", "6011 0009 9013 9424", "4222222222222", "6304000000000000000" };
	dp_mask_rule r = rule(DP_MASK_CARD);
	char out[64], in2[32];
	dp_val o;

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		mask_text(&r, in[i], out, sizeof(out));
		if (!card_ok(out, in[i]))
			fail_msg("card '%s' -> '%s'", in[i], out);
	}
	for (int i = 0; i < 200; i++) {
		snprintf(in2, sizeof(in2), "4111 1111 1111 %04d", i);
		mask_text(&r, in2, out, sizeof(out));
		if (!card_ok(out, in2))
			fail_msg("card '%s' -> '%s'", in2, out);
	}
	/* too few digits for a layout: a plain 16-digit number */
	mask_text(&r, "XXXX-1234", out, sizeof(out));
	assert_true(card_ok(out, "0000000000000000"));
	o = mask(&r, integer(4111111111111111), NULL, 0);
	assert_int_equal(o.type, DP_VAL_INT);
	snprintf(out, sizeof(out), "%lld", (long long)o.i);
	assert_true(card_ok(out, "0000000000000000"));
	o = mask(&r, integer(6304000000000000000), NULL, 0);
	snprintf(out, sizeof(out), "%lld", (long long)o.i);
	assert_true(card_ok(out, "0000000000000000000"));
}

static void iban_valid(void **state)
{
	static const char *in[] = { "DE89370400440532013000", "GB82WEST12345698765432", "GB82 WEST 1234 5698 7654 32",
				    "NL91ABNA0417164300", "fr1420041010050500013m02606" };
	dp_mask_rule r = rule(DP_MASK_IBAN);
	char out[64], compact[64];

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		const char *s = in[i];
		size_t n = 0;
		mask_text(&r, s, out, sizeof(out));
		assert_int_equal(strlen(out), strlen(s));
		assert_memory_equal(out, s, 2); /* country */
		assert_string_not_equal(out, s);
		for (size_t j = 0; s[j]; j++) {
			char c = s[j], m = out[j];
			if (c == ' ')
				assert_int_equal(m, ' ');
			else if (c >= '0' && c <= '9')
				assert_true(m >= '0' && m <= '9');
			else if (c >= 'A' && c <= 'Z')
				assert_true(m >= 'A' && m <= 'Z');
			else
				assert_true(m >= 'a' && m <= 'z');
			if (m != ' ')
				compact[n++] = m;
		}
		if (!dp_iban_valid(compact, n))
			fail_msg("IBAN '%s' -> '%s' does not validate", s, out);
	}
	expect_fail(&r, text("DE89-3704-0044"), DP_EXIT_USAGE, "IBAN");
	expect_fail(&r, text("12345678901234567"), DP_EXIT_USAGE, "IBAN");
	expect_fail(&r, text("DE8937040044053201300012345678901234"), DP_EXIT_USAGE, "IBAN");
	expect_fail(&r, integer(12), DP_EXIT_USAGE, "IBAN");
}

/* ---- ip --------------------------------------------------------------------- */

static void ip_families(void **state)
{
	static const char *v4[] = { "10.0.0.1", "192.168.1.20", "8.8.8.8", "255.255.255.255" };
	static const char *v6[] = { "fe80::1", "2a00:1450:4001:82b::200e", "::1", "::ffff:10.0.0.1" };
	dp_mask_rule r = rule(DP_MASK_IP);
	char out[128];
	unsigned char b[16];
	dp_val o;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		mask_text(&r, v4[i], out, sizeof(out));
		assert_int_equal(inet_pton(AF_INET, out, b), 1);
		assert_true((b[0] == 192 && b[1] == 0 && b[2] == 2) || (b[0] == 198 && b[1] == 51 && b[2] == 100) ||
			    (b[0] == 203 && b[1] == 0 && b[2] == 113));
		mask_text(&r, v6[i], out, sizeof(out));
		assert_int_equal(inet_pton(AF_INET6, out, b), 1);
		assert_true(b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8);
	}
	mask_text(&r, "10.1.2.0/24", out, sizeof(out));
	assert_non_null(strstr(out, "/24"));
	assert_int_equal(strlen(strstr(out, "/24")), 3);
	o = mask(&r, integer(0x0A000001), NULL, 0);
	assert_int_equal(o.type, DP_VAL_INT);
	assert_true((o.i >> 8) == 0xC00002 || (o.i >> 8) == 0xC63364 || (o.i >> 8) == 0xCB0071);
	expect_fail(&r, text("localhost"), DP_EXIT_USAGE, "IP");
	expect_fail(&r, text("10.0.0"), DP_EXIT_USAGE, "IP");
	expect_fail(&r, text("10.0.0.1/"), DP_EXIT_USAGE, "IP");
	expect_fail(&r, integer(-1), DP_EXIT_USAGE, "IP");
}

/* ---- date ------------------------------------------------------------------- */

/* Days since 1970 of a valid YYYY-MM-DD at s, or fails. */
static long day_number(const char *s)
{
	struct tm tm;
	int y, m, d;
	time_t t;

	assert_int_equal(sscanf(s, "%4d-%2d-%2d", &y, &m, &d), 3);
	assert_true(s[4] == '-' && s[7] == '-');
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	t = timegm(&tm);
	/* valid: timegm did not normalise it into another day */
	assert_int_equal(tm.tm_year, y - 1900);
	assert_int_equal(tm.tm_mon, m - 1);
	assert_int_equal(tm.tm_mday, d);
	return (long)(t / 86400);
}

static void date_text_formats(void **state)
{
	static const char *in[] = { "1984-06-15",
				    "2024-02-29",
				    "2000-01-01 00:00:00",
				    "2019-12-31 23:59:59.123",
				    "2021-03-28T02:30:00Z",
				    "2021-03-28T02:30:00.5+02:00",
				    "1999-12-31T23:59:59-05:30",
				    "2010-10-10 10:10" };
	dp_mask_rule r = rule(DP_MASK_DATE);
	char out[64];

	(void)state;
	for (int days = 1; days <= 400; days += 133) {
		r.days = (uint32_t)days;
		for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
			long shift;
			mask_text(&r, in[i], out, sizeof(out));
			assert_int_equal(strlen(out), strlen(in[i]));
			assert_string_equal(out + 10, in[i] + 10); /* time part untouched */
			shift = day_number(out) - day_number(in[i]);
			if (shift == 0 || shift < -days || shift > days)
				fail_msg("'%s' -> '%s': shift %ld outside +-%d", in[i], out, shift, days);
		}
	}
}

static void date_shift_spread(void **state)
{
	dp_mask_rule r = rule(DP_MASK_DATE);
	char out[32], in[32];
	bool neg = false, pos = false;

	(void)state;
	r.days = 1;
	for (int i = 1; i <= 28; i++) {
		long shift;
		snprintf(in, sizeof(in), "2023-02-%02d", i);
		mask_text(&r, in, out, sizeof(out));
		shift = day_number(out) - day_number(in);
		assert_true(shift == 1 || shift == -1);
		neg |= shift < 0;
		pos |= shift > 0;
	}
	assert_true(neg && pos);
}

static void date_numbers_and_errors(void **state)
{
	dp_mask_rule r = rule(DP_MASK_DATE);
	dp_val o;

	(void)state;
	o = mask(&r, integer(1700000000), NULL, 0);
	assert_int_equal(o.type, DP_VAL_INT);
	assert_int_equal((o.i - 1700000000) % 86400, 0);
	assert_true(o.i != 1700000000 && o.i >= 1700000000 - 30 * 86400 && o.i <= 1700000000 + 30 * 86400);
	o = mask(&r, real(2460000.25), NULL, 0);
	assert_int_equal(o.type, DP_VAL_REAL);
	assert_true(o.r != 2460000.25 && o.r >= 2460000.25 - 30 && o.r <= 2460000.25 + 30);
	assert_true(o.r - (double)(long)o.r == 0.25);
	expect_fail(&r, text("2023-02-30"), DP_EXIT_USAGE, "not a date");
	expect_fail(&r, text("2023-13-01"), DP_EXIT_USAGE, "not a date");
	expect_fail(&r, text("15/06/1984"), DP_EXIT_USAGE, "not a date");
	expect_fail(&r, text("1984-06-15 25:00:00"), DP_EXIT_USAGE, "not a date");
	expect_fail(&r, text("1984-06-15T10:00:00+0200"), DP_EXIT_USAGE, "not a date");
	expect_fail(&r, text("1984-06-15 junk"), DP_EXIT_USAGE, "not a date");
	expect_fail(&r, text("1984-06-15 10:00:00xyz"), DP_EXIT_USAGE, "not a date");
	expect_fail(&r, text("1984-06-15T10:00:00."), DP_EXIT_USAGE, "not a date");
	expect_fail(&r, text("1984-06-15T10:00:00ZZ"), DP_EXIT_USAGE, "not a date");
}

/* ---- number ----------------------------------------------------------------- */

static void number_within_percent(void **state)
{
	dp_mask_rule r = rule(DP_MASK_NUMBER);
	int changed = 0;

	(void)state;
	for (int64_t i = 1000; i < 1100; i++) {
		dp_val o = mask(&r, integer(i * 97), NULL, 0);
		assert_int_equal(o.type, DP_VAL_INT);
		assert_true(o.i >= i * 97 * 90 / 100 && o.i <= i * 97 * 110 / 100);
		changed += o.i != i * 97;
	}
	assert_true(changed > 90);
	for (int i = 1; i < 100; i++) {
		double v = -12.5 * i;
		dp_val o = mask(&r, real(v), NULL, 0);
		assert_int_equal(o.type, DP_VAL_REAL);
		assert_true(o.r <= v * 0.9 - v * 1e-12 && o.r >= v * 1.1 + v * 1e-12);
	}
	r.percent = 50;
	{
		dp_val o = mask(&r, integer(0), NULL, 0);
		assert_int_equal(o.i, 0);
		o = mask(&r, integer(INT64_MAX), NULL, 0);
		assert_int_equal(o.type, DP_VAL_INT);
	}
}

static void number_text_decimals(void **state)
{
	static const char *in[] = { "1234.56", "-0.5", "100", "19.990", ".75", "+42.1" };
	dp_mask_rule r = rule(DP_MASK_NUMBER);
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		const char *dot = strchr(in[i], '.'), *odot;
		double v = strtod(in[i], NULL), m, lim;
		size_t dec = dot ? strlen(dot + 1) : 0;
		mask_text(&r, in[i], out, sizeof(out));
		odot = strchr(out, '.');
		assert_int_equal(odot ? strlen(odot + 1) : 0, dec);
		m = strtod(out, NULL);
		lim = (v < 0 ? -v : v) * 0.1 + 1e-9;
		assert_true(m >= v - lim && m <= v + lim);
	}
	expect_fail(&r, text("12abc"), DP_EXIT_USAGE, "not a number");
	expect_fail(&r, text("1e5"), DP_EXIT_USAGE, "not a number");
	expect_fail(&r, text(""), DP_EXIT_USAGE, "not a number");
	expect_fail(&r, text("-"), DP_EXIT_USAGE, "not a number");
}

/* ---- partial, hash, redact, constant, uuid ---------------------------------- */

static void partial_keeps_ends(void **state)
{
	dp_mask_rule r = rule(DP_MASK_PARTIAL);
	char out[128];
	dp_val o;

	(void)state;
	mask_text(&r, "4111111111111111", out, sizeof(out));
	assert_string_equal(out, "************1111");
	r.keep_first = 2;
	r.keep_last = 3;
	mask_text(&r, "abcdefgh", out, sizeof(out));
	assert_string_equal(out, "ab***fgh");
	/* code points, not bytes: "é" and "€" stay whole, each star one code point */
	mask_text(&r, "éa€bcd€é", out, sizeof(out));
	assert_string_equal(out, "éa***d€é");
	/* too short to keep both ends: never shown in full */
	r.keep_first = 0;
	r.keep_last = 4;
	mask_text(&r, "1234", out, sizeof(out));
	assert_string_equal(out, "**34");
	mask_text(&r, "ab", out, sizeof(out));
	assert_string_equal(out, "*b");
	mask_text(&r, "x", out, sizeof(out));
	assert_string_equal(out, "*");
	mask_text(&r, "", out, sizeof(out));
	assert_string_equal(out, "");
	r.keep_first = 3;
	r.keep_last = 3;
	mask_text(&r, "abcdef", out, sizeof(out));
	assert_string_equal(out, "***def");
	o = mask(&r, integer(123456789), out, sizeof(out));
	assert_int_equal(o.type, DP_VAL_TEXT);
	assert_string_equal(out, "123***789");
}

static void hash_length(void **state)
{
	dp_mask_rule r = rule(DP_MASK_HASH);
	char out[128];

	(void)state;
	for (uint32_t len = 1; len <= 64; len++) {
		r.length = len;
		mask_text(&r, "secret", out, sizeof(out));
		assert_int_equal(strlen(out), len);
		for (uint32_t i = 0; i < len; i++)
			assert_true((out[i] >= '0' && out[i] <= '9') || (out[i] >= 'a' && out[i] <= 'f'));
	}
	/* longer hashes extend shorter ones (same derived bytes) */
	{
		char a[80];
		r.length = 8;
		mask_text(&r, "secret", a, sizeof(a));
		assert_memory_equal(a, out, 8);
	}
	r.length = 0;
	expect_fail(&r, text("x"), DP_EXIT_USAGE, "length");
}

static void redact_and_constant(void **state)
{
	dp_mask_rule r = rule(DP_MASK_REDACT);
	dp_val blob = { .type = DP_VAL_BLOB, .p = "\x01\x02\x03", .n = 3 };
	char out[128];
	char *big = malloc(5000);
	dp_val o;

	(void)state;
	mask_text(&r, "Ada Lovelace", out, sizeof(out));
	assert_string_equal(out, "xxxxxxxxxxxx");
	mask_text(&r, "Zoë €", out, sizeof(out));
	assert_string_equal(out, "xxxxx");
	mask(&r, blob, out, sizeof(out));
	assert_string_equal(out, "xxx");
	mask(&r, integer(-123), out, sizeof(out));
	assert_string_equal(out, "xxxx");
	/* longer than the buffer: still redacted, not an error */
	memset(big, 'a', 4999);
	big[4999] = '\0';
	o = mask(&r, text(big), NULL, 0);
	assert_int_equal(o.type, DP_VAL_TEXT);
	assert_int_equal(o.n, 4999);
	assert_true(o.p[0] == 'x' && o.p[4998] == 'x');
	free(big);

	r = rule(DP_MASK_CONSTANT);
	r.text = "n/a";
	mask_text(&r, "anything", out, sizeof(out));
	assert_string_equal(out, "n/a");
	mask(&r, blob, out, sizeof(out));
	assert_string_equal(out, "n/a");
	r = rule(DP_MASK_NULL);
	assert_int_equal(mask(&r, text("x"), NULL, 0).type, DP_VAL_NULL);
	assert_int_equal(mask(&r, blob, NULL, 0).type, DP_VAL_NULL);
}

static void uuid_shape(void **state)
{
	dp_mask_rule r = rule(DP_MASK_UUID);
	char out[64], in[16];

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(in, sizeof(in), "id-%d", i);
		mask_text(&r, in, out, sizeof(out));
		assert_int_equal(strlen(out), 36);
		for (int j = 0; j < 36; j++) {
			if (j == 8 || j == 13 || j == 18 || j == 23)
				assert_int_equal(out[j], '-');
			else
				assert_true((out[j] >= '0' && out[j] <= '9') || (out[j] >= 'a' && out[j] <= 'f'));
		}
		assert_int_equal(out[14], '4');
		assert_true(strchr("89ab", out[19]) != NULL);
	}
}

/* ---- errors ----------------------------------------------------------------- */

static void backend_kinds_and_blobs(void **state)
{
	dp_val blob = { .type = DP_VAL_BLOB, .p = "abc", .n = 3 };
	dp_mask_rule r;

	(void)state;
	r = rule(DP_MASK_TEMPLATE);
	expect_fail(&r, text("x"), DP_EXIT_FAIL, "database backend");
	r = rule(DP_MASK_SQL);
	expect_fail(&r, text("x"), DP_EXIT_FAIL, "database backend");
	for (size_t i = 0; i < sizeof(keyed) / sizeof(keyed[0]); i++) {
		char needle[64];
		r = rule(keyed[i]);
		if (keyed[i] == DP_MASK_HASH)
			continue;
		snprintf(needle, sizeof(needle), "BLOB values cannot be masked as %s", dp_mask_kind_name(keyed[i]));
		expect_fail(&r, blob, DP_EXIT_USAGE, needle);
	}
	r = rule(DP_MASK_PARTIAL);
	expect_fail(&r, blob, DP_EXIT_USAGE, "BLOB values cannot be masked as partial");
	r = rule(DP_MASK_CITY);
	expect_fail(&r, blob, DP_EXIT_USAGE, "BLOB values cannot be masked as city");
}

static void too_long_is_an_error(void **state)
{
	char *big = malloc(DP_TRANSFORM_BUF + 10);
	dp_mask_rule r;

	(void)state;
	memset(big, '5', DP_TRANSFORM_BUF + 9);
	big[DP_TRANSFORM_BUF + 9] = '\0';
	r = rule(DP_MASK_PHONE);
	expect_fail(&r, text(big), DP_EXIT_USAGE, "too long");
	r = rule(DP_MASK_POSTAL_CODE);
	expect_fail(&r, text(big), DP_EXIT_USAGE, "too long");
	r = rule(DP_MASK_PARTIAL);
	expect_fail(&r, text(big), DP_EXIT_USAGE, "too long");
	r = rule(DP_MASK_NUMBER);
	expect_fail(&r, text(big), DP_EXIT_USAGE, "not a number");
	/* long values still hash (one streamed pass), the same every time */
	{
		char a[32], b[32];
		r = rule(DP_MASK_HASH);
		mask_text(&r, big, a, sizeof(a));
		mask_text(&r, big, b, sizeof(b));
		assert_string_equal(a, b);
		big[0] = '6';
		mask_text(&r, big, b, sizeof(b));
		assert_string_not_equal(a, b);
	}
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(luhn_checks),
		cmocka_unit_test(iban_checks),
		cmocka_unit_test(null_stays_null),
		cmocka_unit_test(deterministic),
		cmocka_unit_test(key_changes_output),
		cmocka_unit_test(attempt_changes_output),
		cmocka_unit_test(hash_input_types),
		cmocka_unit_test(hash_is_documented_siphash),
		cmocka_unit_test(email_format),
		cmocka_unit_test(name_parts),
		cmocka_unit_test(address_format),
		cmocka_unit_test(city_from_dict),
		cmocka_unit_test(phone_shape),
		cmocka_unit_test(phone_integer),
		cmocka_unit_test(postal_code_shape),
		cmocka_unit_test(card_valid),
		cmocka_unit_test(iban_valid),
		cmocka_unit_test(ip_families),
		cmocka_unit_test(date_text_formats),
		cmocka_unit_test(date_shift_spread),
		cmocka_unit_test(date_numbers_and_errors),
		cmocka_unit_test(number_within_percent),
		cmocka_unit_test(number_text_decimals),
		cmocka_unit_test(partial_keeps_ends),
		cmocka_unit_test(hash_length),
		cmocka_unit_test(redact_and_constant),
		cmocka_unit_test(uuid_shape),
		cmocka_unit_test(backend_kinds_and_blobs),
		cmocka_unit_test(too_long_is_an_error),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
