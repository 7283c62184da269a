/* The masking transformers behind dp_transform() (see transform.h).
 *
 * Randomness: a 16-byte seed per value from SipHash-2-4 with 128-bit output
 * (libsodium's crypto_shorthash_siphashx24), keyed by the store's key, over
 *     kind (1 byte) || attempt (4 bytes LE) || type tag (1 byte) || value
 * where the value is the TEXT/BLOB bytes, the INT as 8 bytes LE or the REAL's
 * 8 bytes of IEEE bits LE; a value over 250 bytes enters as tag 'L' and its
 * BLAKE2b-256 digest. Nothing else goes in (no table, column, row or clock),
 * which is what makes a fake repeat wherever its original does. BLOB shares
 * TEXT's tag: a hash of 'abc' and of x'616263' agree. Kinds that need more
 * than 16 bytes take further blocks PRF(seed || counter). SipHash rather than
 * keyed BLAKE2b: a PRF all the same, at a fraction of the cost per value
 * (a million rows with three masked columns are three million calls).
 *
 * Choices the brief left open:
 *  - redact writes one 'x' per code point (length is kept, the content is
 *    not; "REDACTED" would break columns with a length check). Values above
 *    64 Ki code points come out as 64 Ki x's rather than failing the sync.
 *  - partial: when keep_first + keep_last would show the whole value, only
 *    the last half (at most keep_last) is kept, so "1234" under the default
 *    keep_last 4 becomes "**34" and a one-character value becomes "*".
 *  - phone keeps whether the first national digit is 0, so trunk prefixes
 *    ("030 ...") stay trunk prefixes.
 *  - error messages never quote the value: they end up in logs.
 *
 * Speed: no allocation, one short PRF call per 16 bytes used; the work is
 * bounded by DP_TRANSFORM_BUF. */
#include "data/transform.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>

#include <sodium.h>

#include "data/checksum.h"
#include "data/dict.h"

#define POOL crypto_shorthash_siphashx24_BYTES /* 16 bytes per PRF call */
#define SMALL_MSG 256       /* messages up to this size are hashed in one call */
#define REDACT_MAX 65536    /* longest redacted value, in code points */
#define MAX_SHIFT_DAYS 3650000 /* keeps 2 * days in 32 bits; the spec allows 36500 */

/* ---- one-time setup -------------------------------------------------------- */

static once_flag init_once = ONCE_FLAG_INIT;
static int sodium_rc;
static char xs[REDACT_MAX]; /* redact's output, read-only once filled */

static void init(void)
{
	sodium_rc = sodium_init();
	memset(xs, 'x', sizeof(xs));
}

/* ---- the derived byte stream --------------------------------------------- */

typedef struct rng {
	unsigned char pool[POOL];
	unsigned char seed[POOL];
	size_t pos;
	uint32_t block;
	const dp_mask_key *key;
} rng;

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void rng_seed(rng *g, const dp_mask_key *key, enum dp_mask_kind kind, uint32_t attempt, const dp_val *in)
{
	unsigned char msg[SMALL_MSG], num[8];
	const unsigned char *p = num;
	size_t n = sizeof(num);
	char tag;

	switch (in->type) {
	case DP_VAL_INT:
		tag = 'i';
		put_le64(num, (uint64_t)in->i);
		break;
	case DP_VAL_REAL: {
		uint64_t bits;
		memcpy(&bits, &in->r, sizeof(bits));
		tag = 'r';
		put_le64(num, bits);
		break;
	}
	default:
		tag = 't';
		p = (const unsigned char *)in->p;
		n = in->p ? in->n : 0;
	}
	msg[0] = (unsigned char)kind;
	put_le32(msg + 1, attempt);
	msg[5] = (unsigned char)tag;
	if (n <= sizeof(msg) - 6) {
		if (n)
			memcpy(msg + 6, p, n);
	} else {
		/* a long value goes in as its BLAKE2b digest; the PRF sees a
		 * short message either way */
		msg[5] = 'L';
		crypto_generichash(msg + 6, 32, p, n, NULL, 0);
		n = 32;
	}
	/* SipHash-2-4 with a 128-bit output, keyed by the first half of the
	 * store's key: a PRF at a tenth of keyed BLAKE2b's cost per value */
	crypto_shorthash_siphashx24(g->seed, msg, 6 + n, key->k);
	memcpy(g->pool, g->seed, POOL);
	g->pos = 0;
	g->block = 0;
	g->key = key;
}

/* The next 16 bytes: the seed and a counter through the PRF again. */
static void rng_refill(rng *g)
{
	unsigned char msg[POOL + 4];

	memcpy(msg, g->seed, POOL);
	put_le32(msg + POOL, ++g->block);
	crypto_shorthash_siphashx24(g->pool, msg, sizeof(msg), g->key->k);
	g->pos = 0;
}

/* n bytes of the stream, block after block. */
static void rng_bytes(rng *g, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (g->pos == POOL)
			rng_refill(g);
		out[i] = g->pool[g->pos++];
	}
}

static uint32_t rng_u32(rng *g)
{
	uint32_t v = 0;

	if (g->pos + 4 > POOL)
		rng_refill(g);
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)g->pool[g->pos + (size_t)i] << (8 * i);
	g->pos += 4;
	return v;
}

/* Uniform in [0, n) (n >= 1); the bias is n / 2^32, far below anything a
 * fake value could show. */
static uint32_t rng_below(rng *g, uint32_t n)
{
	return (uint32_t)(((uint64_t)rng_u32(g) * n) >> 32);
}

/* Uniform in [0, 1) with 53 bits. */
static double rng_unit(rng *g)
{
	uint64_t hi = rng_u32(g), v = hi << 32 | rng_u32(g); /* two statements: a fixed order */

	return (double)(v >> 11) * (1.0 / 9007199254740992.0);
}

static const char *rng_word(rng *g, const dp_dict *d)
{
	return d->words[rng_below(g, (uint32_t)d->n)];
}

static char rng_digit(rng *g)
{
	return (char)('0' + rng_below(g, 10));
}

/* ---- small helpers --------------------------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_alpha(char c)
{
	return is_upper(c) || is_lower(c);
}

static char to_lower(char c)
{
	return is_upper(c) ? (char)(c - 'A' + 'a') : c;
}

static void set_text(dp_val *out, const char *p, size_t n)
{
	memset(out, 0, sizeof(*out));
	out->type = DP_VAL_TEXT;
	out->p = p;
	out->n = n;
}

static void set_int(dp_val *out, int64_t i)
{
	memset(out, 0, sizeof(*out));
	out->type = DP_VAL_INT;
	out->i = i;
}

static void set_real(dp_val *out, double r)
{
	memset(out, 0, sizeof(*out));
	out->type = DP_VAL_REAL;
	out->r = r;
}

static int too_long(dp_error **err, size_t n, size_t bufsz)
{
	return dp_usage(err, "value too long to mask (%zu bytes; at most %zu)", n, bufsz - 1);
}

/* An snprintf into buf that must fit. */
static int fmt_done(dp_val *out, char *buf, size_t bufsz, int n, dp_error **err)
{
	if (n < 0 || (size_t)n >= bufsz)
		return dp_fail(err, 0, "masked value does not fit in %zu bytes", bufsz);
	set_text(out, buf, (size_t)n);
	return 0;
}

/* The value as text: TEXT and BLOB as they are, numbers in decimal (tmp holds
 * them). */
static void text_view(const dp_val *in, char *tmp, size_t tmpsz, const char **p, size_t *n)
{
	int k;

	switch (in->type) {
	case DP_VAL_INT:
		k = snprintf(tmp, tmpsz, "%" PRId64, in->i);
		break;
	case DP_VAL_REAL:
		k = snprintf(tmp, tmpsz, "%.15g", in->r);
		break;
	default:
		*p = in->p ? in->p : "";
		*n = in->p ? in->n : 0;
		return;
	}
	*p = tmp;
	*n = k < 0 ? 0 : (size_t)k < tmpsz ? (size_t)k : tmpsz - 1;
}

/* Code points of a UTF-8 string: every byte that is not a continuation byte
 * starts one (bad UTF-8 is counted byte by byte, never split further). */
static bool is_cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

static size_t utf8_len(const char *p, size_t n)
{
	size_t cps = 0;

	for (size_t i = 0; i < n; i++)
		cps += !is_cont((unsigned char)p[i]);
	return cps;
}

/* Byte offset of code point number cp (cp <= utf8_len). */
static size_t utf8_offset(const char *p, size_t n, size_t cp)
{
	size_t i = 0;

	if (cp == 0)
		return 0; /* stray continuation bytes at the start belong to the first one */
	for (; i < n; i++)
		if (!is_cont((unsigned char)p[i]) && cp-- == 0)
			break;
	return i;
}

static unsigned digits_u64(uint64_t v)
{
	unsigned d = 1;

	while (v >= 10) {
		v /= 10;
		d++;
	}
	return d;
}

static uint64_t abs_u64(int64_t v)
{
	return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

/* A number of `digits` digits (1..19), the first one non-zero so the length
 * survives, and the whole below INT64_MAX. */
static int64_t random_int_digits(rng *g, unsigned digits)
{
	uint64_t v = 1 + rng_below(g, digits == 19 ? 8 : 9);

	for (unsigned i = 1; i < digits; i++)
		v = v * 10 + rng_below(g, 10);
	return (int64_t)v;
}

/* ---- name, email, address, city ------------------------------------------- */

static void copy_lower(char *dst, const char *src, size_t *at)
{
	while (*src)
		dst[(*at)++] = to_lower(*src++);
}

/* Text built by hand (snprintf was a tenth of the masking time of a million
 * emails and names): s appended at *at, if it fits with its NUL. */
static bool put(char *buf, size_t bufsz, size_t *at, const char *s)
{
	size_t n = strlen(s);

	if (*at + n >= bufsz)
		return false;
	memcpy(buf + *at, s, n + 1);
	*at += n;
	return true;
}

/* v in decimal, as "%" PRIu32 writes it */
static bool put_u32(char *buf, size_t bufsz, size_t *at, uint32_t v)
{
	char d[11];
	size_t k = sizeof(d) - 1;

	d[k] = '\0';
	do
		d[--k] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return put(buf, bufsz, at, d + k);
}

static int put_done(dp_val *out, char *buf, size_t bufsz, size_t at, bool ok, dp_error **err)
{
	if (!ok)
		return dp_fail(err, 0, "masked value does not fit in %zu bytes", bufsz);
	set_text(out, buf, at);
	return 0;
}

static int mask_email(rng *g, dp_val *out, char *buf, size_t bufsz, dp_error **err)
{
	/* RFC 2606: reserved, can never reach a real mailbox */
	static const char *const domains[] = { "example.com", "example.net", "example.org" };
	const char *first = rng_word(g, &dp_dict_first_names), *last = rng_word(g, &dp_dict_last_names);
	uint32_t num = 1 + rng_below(g, 999);
	const char *domain = domains[rng_below(g, 3)];
	size_t at = 0;

	if (strlen(first) + strlen(last) + strlen(domain) + 8 > bufsz)
		return dp_fail(err, 0, "masked value does not fit in %zu bytes", bufsz);
	copy_lower(buf, first, &at);
	buf[at++] = '.';
	copy_lower(buf, last, &at);
	return put_done(out, buf, bufsz, at,
			put_u32(buf, bufsz, &at, num) && put(buf, bufsz, &at, "@") && put(buf, bufsz, &at, domain), err);
}

static int mask_name(const dp_mask_rule *r, rng *g, dp_val *out, char *buf, size_t bufsz, dp_error **err)
{
	/* both drawn always, so a FIRST column agrees with a FULL one */
	const char *first = rng_word(g, &dp_dict_first_names), *last = rng_word(g, &dp_dict_last_names);

	switch (r->part) {
	case DP_NAME_FIRST: set_text(out, first, strlen(first)); return 0;
	case DP_NAME_LAST: set_text(out, last, strlen(last)); return 0;
	default: {
		size_t at = 0;
		bool ok = put(buf, bufsz, &at, first) && put(buf, bufsz, &at, " ") && put(buf, bufsz, &at, last);
		return put_done(out, buf, bufsz, at, ok, err);
	}
	}
}

static int mask_address(rng *g, dp_val *out, char *buf, size_t bufsz, dp_error **err)
{
	uint32_t num = 1 + rng_below(g, 9999);
	const char *street = rng_word(g, &dp_dict_streets), *suffix = rng_word(g, &dp_dict_street_suffixes);

	size_t at = 0;
	bool ok = put_u32(buf, bufsz, &at, num) && put(buf, bufsz, &at, " ") && put(buf, bufsz, &at, street) &&
		  put(buf, bufsz, &at, " ") && put(buf, bufsz, &at, suffix);

	return put_done(out, buf, bufsz, at, ok, err);
}

static int mask_city(rng *g, dp_val *out)
{
	const char *city = rng_word(g, &dp_dict_cities);

	set_text(out, city, strlen(city));
	return 0;
}

/* ---- phone, postal code, card, IBAN: shape-preserving ---------------------- */

static int mask_phone(rng *g, const dp_val *in, dp_val *out, char *buf, size_t bufsz, dp_error **err)
{
	size_t i = 0;
	bool keep_next, first = true;

	if (in->type == DP_VAL_INT) {
		uint64_t a = abs_u64(in->i);
		int64_t v = random_int_digits(g, digits_u64(a));
		set_int(out, in->i < 0 ? -v : v);
		return 0;
	}
	if (in->type != DP_VAL_TEXT)
		return dp_usage(err, "not a phone number (expected TEXT or INTEGER)");
	if (in->n >= bufsz)
		return too_long(err, in->n, bufsz);
	while (i < in->n && in->p[i] == ' ')
		i++;
	/* "+44 ...": the first digit of the country code stays */
	keep_next = i < in->n && in->p[i] == '+';
	for (i = 0; i < in->n; i++) {
		char c = in->p[i];
		if (!is_digit(c)) {
			buf[i] = c;
			continue;
		}
		if (keep_next)
			buf[i] = c;
		else if (first)
			buf[i] = c == '0' ? '0' : (char)('1' + rng_below(g, 9));
		else
			buf[i] = rng_digit(g);
		keep_next = first = false;
	}
	buf[in->n] = '\0';
	set_text(out, buf, in->n);
	return 0;
}

static int mask_postal_code(rng *g, const dp_val *in, dp_val *out, char *buf, size_t bufsz, dp_error **err)
{
	if (in->type == DP_VAL_INT) {
		int64_t v = random_int_digits(g, digits_u64(abs_u64(in->i)));
		set_int(out, in->i < 0 ? -v : v);
		return 0;
	}
	if (in->type != DP_VAL_TEXT)
		return dp_usage(err, "not a postal code (expected TEXT or INTEGER)");
	if (in->n >= bufsz)
		return too_long(err, in->n, bufsz);
	for (size_t i = 0; i < in->n; i++) {
		char c = in->p[i];
		if (is_digit(c))
			c = rng_digit(g);
		else if (is_upper(c))
			c = (char)('A' + rng_below(g, 26));
		else if (is_lower(c))
			c = (char)('a' + rng_below(g, 26));
		buf[i] = c;
	}
	buf[in->n] = '\0';
	set_text(out, buf, in->n);
	return 0;
}

/* nd (13..19) digits: a test-range prefix, random middle, Luhn check digit. */
static void card_digits(rng *g, unsigned nd, char *d)
{
	static const char *const prefixes[] = { "4000", "5555" };

	memcpy(d, prefixes[rng_below(g, 2)], 4);
	for (unsigned i = 4; i + 1 < nd; i++)
		d[i] = rng_digit(g);
	d[nd - 1] = (char)('0' + dp_luhn_digit(d, nd - 1));
}

static int mask_card(rng *g, const dp_val *in, dp_val *out, char *buf, size_t bufsz, dp_error **err)
{
	char d[19];
	unsigned nd = 0;
	size_t k = 0;

	if (in->type == DP_VAL_INT) {
		int64_t v = 0;
		nd = digits_u64(abs_u64(in->i));
		if (nd < 13)
			nd = 16;
		card_digits(g, nd, d);
		for (unsigned i = 0; i < nd; i++)
			v = v * 10 + (d[i] - '0');
		set_int(out, v);
		return 0;
	}
	if (in->type != DP_VAL_TEXT)
		return dp_usage(err, "not a card number (expected TEXT or INTEGER)");
	for (size_t i = 0; i < in->n; i++)
		nd += is_digit(in->p[i]);
	if (nd < 13 || nd > 19 || in->n >= bufsz) {
		/* no card layout to keep: a plain 16-digit number */
		card_digits(g, 16, d);
		memcpy(buf, d, 16);
		buf[16] = '\0';
		set_text(out, buf, 16);
		return 0;
	}
	card_digits(g, nd, d);
	for (size_t i = 0; i < in->n; i++)
		buf[i] = is_digit(in->p[i]) ? d[k++] : in->p[i];
	buf[in->n] = '\0';
	set_text(out, buf, in->n);
	return 0;
}

static int mask_iban(rng *g, const dp_val *in, dp_val *out, char *buf, size_t bufsz, dp_error **err)
{
	char c[34];
	size_t n = 0;
	int check;

	if (in->type != DP_VAL_TEXT)
		return dp_usage(err, "not an IBAN (expected TEXT)");
	if (in->n >= bufsz)
		return too_long(err, in->n, bufsz);
	for (size_t i = 0; i < in->n; i++) {
		char ch = in->p[i];
		if (ch == ' ')
			continue;
		if (!is_alpha(ch) && !is_digit(ch))
			return dp_usage(err, "not an IBAN (only letters, digits and spaces allowed)");
		if (n == sizeof(c))
			return dp_usage(err, "not an IBAN (longer than 34 characters)");
		c[n++] = ch;
	}
	if (n < 15 || !is_alpha(c[0]) || !is_alpha(c[1]) || !is_digit(c[2]) || !is_digit(c[3]))
		return dp_usage(err, "not an IBAN (expected a country code, two check digits and 11-30 more)");
	for (size_t i = 4; i < n; i++)
		c[i] = is_digit(c[i]) ? rng_digit(g) : (char)((is_upper(c[i]) ? 'A' : 'a') + rng_below(g, 26));
	check = dp_iban_check(c, n);
	if (check < 0)
		return dp_fail(err, 0, "IBAN check digits could not be computed");
	c[2] = (char)('0' + check / 10);
	c[3] = (char)('0' + check % 10);
	n = 0;
	for (size_t i = 0; i < in->n; i++)
		buf[i] = in->p[i] == ' ' ? ' ' : c[n++];
	buf[in->n] = '\0';
	set_text(out, buf, in->n);
	return 0;
}

/* ---- ip -------------------------------------------------------------------- */

/* RFC 5737's three documentation networks; a host in 1..254 of one of them. */
static uint32_t test_net_v4(rng *g)
{
	static const uint32_t nets[] = { 0xC0000200u, 0xC6336400u, 0xCB007100u };

	return nets[rng_below(g, 3)] | (1 + rng_below(g, 254));
}

static int mask_ip(rng *g, const dp_val *in, dp_val *out, char *buf, size_t bufsz, dp_error **err)
{
	char addr[64];
	unsigned char b[16];
	const char *slash;
	size_t alen, suffix_len;

	if (in->type == DP_VAL_INT) {
		/* an IPv4 address stored as a 32-bit number */
		if (in->i < 0 || in->i > (int64_t)UINT32_MAX)
			return dp_usage(err, "not an IP address (an INTEGER must be an IPv4 address, 0..4294967295)");
		set_int(out, (int64_t)test_net_v4(g));
		return 0;
	}
	if (in->type != DP_VAL_TEXT)
		return dp_usage(err, "not an IP address (expected TEXT)");
	/* a "/prefix" (inet, cidr) is kept as it is */
	slash = memchr(in->p, '/', in->n);
	alen = slash ? (size_t)(slash - in->p) : in->n;
	suffix_len = in->n - alen;
	if (alen >= sizeof(addr) || suffix_len > 4)
		return dp_usage(err, "not an IP address");
	for (size_t i = 1; i < suffix_len; i++)
		if (!is_digit(slash[i]))
			return dp_usage(err, "not an IP address (bad /prefix)");
	if (suffix_len == 1)
		return dp_usage(err, "not an IP address (bad /prefix)");
	memcpy(addr, in->p, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, b) == 1) {
		uint32_t v = test_net_v4(g);
		struct in_addr a = { .s_addr = htonl(v) };
		if (!inet_ntop(AF_INET, &a, buf, (socklen_t)bufsz))
			return dp_fail(err, 0, "masked value does not fit in %zu bytes", bufsz);
	} else if (inet_pton(AF_INET6, addr, b) == 1) {
		/* RFC 3849: 2001:db8::/32 is for documentation */
		b[0] = 0x20, b[1] = 0x01, b[2] = 0x0d, b[3] = 0xb8;
		rng_bytes(g, b + 4, 12);
		if (!inet_ntop(AF_INET6, b, buf, (socklen_t)bufsz))
			return dp_fail(err, 0, "masked value does not fit in %zu bytes", bufsz);
	} else {
		return dp_usage(err, "not an IP address (expected IPv4 or IPv6 text)");
	}
	alen = strlen(buf);
	if (alen + suffix_len >= bufsz)
		return too_long(err, in->n, bufsz);
	memcpy(buf + alen, slash ? slash : "", suffix_len);
	buf[alen + suffix_len] = '\0';
	set_text(out, buf, alen + suffix_len);
	return 0;
}

/* ---- date ------------------------------------------------------------------ */

/* A shift in [-days, -1] or [1, days]: never 0, so every date moves. */
static int64_t date_shift(rng *g, uint32_t days)
{
	uint32_t d = days > MAX_SHIFT_DAYS ? MAX_SHIFT_DAYS : days, u;

	if (d == 0)
		return 0;
	u = rng_below(g, 2 * d);
	return u < d ? (int64_t)u - d : (int64_t)u - d + 1;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* n digits at p as a number, or -1. */
static int num_at(const char *p, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* [ T]HH:MM[:SS[.f+]][Z|±HH:MM] after the date, or nothing. */
static bool time_ok(const char *p, size_t n)
{
	size_t i = 6;

	if (n == 0)
		return true;
	if (n < 6 || (p[0] != ' ' && p[0] != 'T') || num_at(p + 1, 2) < 0 || num_at(p + 1, 2) > 23 ||
	    p[3] != ':' || num_at(p + 4, 2) < 0 || num_at(p + 4, 2) > 59)
		return false;
	if (i < n && p[i] == ':') {
		if (n < i + 3 || num_at(p + i + 1, 2) < 0 || num_at(p + i + 1, 2) > 60)
			return false;
		i += 3;
		if (i < n && p[i] == '.') {
			size_t f = ++i;
			while (i < n && is_digit(p[i]))
				i++;
			if (i == f)
				return false;
		}
	}
	if (i < n && p[i] == 'Z')
		i++;
	else if (i < n && (p[i] == '+' || p[i] == '-')) {
		if (n < i + 6 || num_at(p + i + 1, 2) < 0 || num_at(p + i + 1, 2) > 23 || p[i + 3] != ':' ||
		    num_at(p + i + 4, 2) < 0 || num_at(p + i + 4, 2) > 59)
			return false;
		i += 6;
	}
	return i == n;
}

/* v (0 <= v < 10^width) as exactly width digits. */
static void put_num(char *p, int v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
}

static int shift_date_text(const dp_val *in, int64_t shift, dp_val *out, char *buf, size_t bufsz, dp_error **err)
{
	const char *p = in->p;
	int y, m, d;
	struct tm tm;
	time_t t;

	if (in->n >= bufsz)
		return too_long(err, in->n, bufsz);
	if (in->n < 10 || p[4] != '-' || p[7] != '-' || (y = num_at(p, 4)) < 0 || (m = num_at(p + 5, 2)) < 1 ||
	    m > 12 || (d = num_at(p + 8, 2)) < 1 || d > month_days(y, m) || !time_ok(p + 10, in->n - 10))
		return dp_usage(err, "not a date (expected YYYY-MM-DD, optionally followed by a time)");
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	t = timegm(&tm) + (time_t)shift * 86400;
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return dp_usage(err, "date shifted out of the years 0000-9999");
	put_num(buf, tm.tm_year + 1900, 4);
	buf[4] = '-';
	put_num(buf + 5, tm.tm_mon + 1, 2);
	buf[7] = '-';
	put_num(buf + 8, tm.tm_mday, 2);
	memcpy(buf + 10, p + 10, in->n - 10); /* the time part, exactly as it was */
	buf[in->n] = '\0';
	set_text(out, buf, in->n);
	return 0;
}

static int mask_date(const dp_mask_rule *r, rng *g, const dp_val *in, dp_val *out, char *buf, size_t bufsz,
		     dp_error **err)
{
	int64_t shift = date_shift(g, r->days), v;

	switch (in->type) {
	case DP_VAL_TEXT:
		return shift_date_text(in, shift, out, buf, bufsz, err);
	case DP_VAL_INT: /* unix seconds */
		if (__builtin_add_overflow(in->i, shift * 86400, &v))
			return dp_usage(err, "date shifted out of range");
		set_int(out, v);
		return 0;
	case DP_VAL_REAL: /* julian day number, SQLite's julianday() */
		if (!(in->r == in->r) || in->r > 1e300 || in->r < -1e300)
			return dp_usage(err, "not a date (a REAL must be a julian day number)");
		set_real(out, in->r + (double)shift);
		return 0;
	default:
		return dp_usage(err, "not a date");
	}
}

/* ---- number ---------------------------------------------------------------- */

/* Noise as a fraction in [-percent, +percent] / 100. */
static double noise(rng *g, double percent)
{
	return (2.0 * rng_unit(g) - 1.0) * percent / 100.0;
}

/* Toward zero, so |result| never exceeds |x| (the noise bound holds). */
static double trunc_d(double x)
{
	if (x >= 9.2e18 || x <= -9.2e18)
		return x;
	return (double)(int64_t)x;
}

/* v + d, d truncated toward zero, saturating at the int64 range. */
static int64_t add_noise_i64(int64_t v, double d)
{
	int64_t r;

	if (d >= 9.2e18 || d <= -9.2e18 || __builtin_add_overflow(v, (int64_t)d, &r))
		return d < 0 ? INT64_MIN : INT64_MAX;
	return r;
}

/* [+-]digits[.digits] or [+-].digits; sets the number of decimals. */
static bool parse_decimal(const char *p, size_t n, int *decimals)
{
	size_t i = 0, int_digits = 0, frac_digits = 0;

	if (i < n && (p[i] == '+' || p[i] == '-'))
		i++;
	while (i < n && is_digit(p[i]))
		i++, int_digits++;
	if (i < n && p[i] == '.') {
		i++;
		while (i < n && is_digit(p[i]))
			i++, frac_digits++;
	}
	*decimals = (int)frac_digits;
	return i == n && int_digits + frac_digits > 0;
}

static int number_text(double f, const dp_val *in, dp_val *out, char *buf, size_t bufsz, dp_error **err)
{
	char num[64];
	double v, scale = 1.0;
	int decimals;

	if (in->n >= sizeof(num) || !parse_decimal(in->p, in->n, &decimals))
		return dp_usage(err, "not a number (expected digits with an optional sign and decimal point)");
	memcpy(num, in->p, in->n);
	num[in->n] = '\0';
	v = strtod(num, NULL);
	for (int i = 0; i < decimals; i++)
		scale *= 10.0;
	/* the noise in whole units of the last decimal place */
	v += trunc_d(v * f * scale) / scale;
	if (v > -0.5 / scale && v < 0.5 / scale)
		v = 0.0; /* no "-0.00" */
	return fmt_done(out, buf, bufsz, snprintf(buf, bufsz, "%.*f", decimals, v), err);
}

static int mask_number(const dp_mask_rule *r, rng *g, const dp_val *in, dp_val *out, char *buf, size_t bufsz,
		       dp_error **err)
{
	double f = noise(g, r->percent);

	switch (in->type) {
	case DP_VAL_INT:
		set_int(out, add_noise_i64(in->i, (double)in->i * f));
		return 0;
	case DP_VAL_REAL:
		set_real(out, in->r + in->r * f); /* NaN and infinities stay what they are */
		return 0;
	case DP_VAL_TEXT:
		return number_text(f, in, out, buf, bufsz, err);
	default:
		return dp_usage(err, "not a number");
	}
}

/* ---- partial, hash, redact, uuid ------------------------------------------ */

static int mask_partial(const dp_mask_rule *r, const dp_val *in, dp_val *out, char *buf, size_t bufsz,
			dp_error **err)
{
	char tmp[64];
	const char *p;
	size_t n, cps, kf = r->keep_first, kl = r->keep_last, head, tail, stars, len;

	text_view(in, tmp, sizeof(tmp), &p, &n);
	cps = utf8_len(p, n);
	if (kf + kl >= cps) {
		/* keeping both ends would show it all: keep at most the last half */
		kf = 0;
		kl = kl < cps / 2 ? kl : cps / 2;
	}
	head = utf8_offset(p, n, kf);
	tail = n - utf8_offset(p, n, cps - kl);
	stars = cps - kf - kl;
	len = head + stars + tail;
	if (len >= bufsz)
		return too_long(err, n, bufsz);
	memcpy(buf, p, head);
	memset(buf + head, '*', stars);
	memcpy(buf + head + stars, p + n - tail, tail);
	buf[len] = '\0';
	set_text(out, buf, len);
	return 0;
}

static int mask_hash(const dp_mask_rule *r, rng *g, dp_val *out, char *buf, size_t bufsz, dp_error **err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[32];

	if (r->length < 1 || r->length > 64)
		return dp_usage(err, "hash length must be 1..64 hex digits, not %" PRIu32, r->length);
	if (r->length >= bufsz)
		return too_long(err, r->length, bufsz);
	rng_bytes(g, d, (r->length + 1) / 2);
	for (uint32_t i = 0; i < r->length; i++)
		buf[i] = hex[(d[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	buf[r->length] = '\0';
	set_text(out, buf, r->length);
	return 0;
}

static int mask_redact(const dp_val *in, dp_val *out)
{
	char tmp[64];
	const char *p;
	size_t n, cps;

	text_view(in, tmp, sizeof(tmp), &p, &n);
	cps = utf8_len(p, n);
	set_text(out, xs, cps < sizeof(xs) ? cps : sizeof(xs));
	return 0;
}

static int mask_uuid(rng *g, dp_val *out, char *buf, size_t bufsz, dp_error **err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	size_t at = 0;

	if (bufsz < 37)
		return dp_fail(err, 0, "masked value does not fit in %zu bytes", bufsz);
	rng_bytes(g, b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[at++] = '-';
		buf[at++] = hex[b[i] >> 4];
		buf[at++] = hex[b[i] & 0xf];
	}
	buf[at] = '\0';
	set_text(out, buf, at);
	return 0;
}

/* ---- dispatch -------------------------------------------------------------- */

/* Kinds that only look at bytes (or not at all) take BLOBs too. */
static bool takes_blob(enum dp_mask_kind k)
{
	return k == DP_MASK_HASH || k == DP_MASK_REDACT || k == DP_MASK_NULL || k == DP_MASK_CONSTANT;
}

int dp_transform(const dp_mask_rule *r, const dp_mask_key *key, const dp_val *in, uint32_t attempt, dp_val *out,
		 char *buf, size_t bufsz, dp_error **err)
{
	rng g;

	memset(out, 0, sizeof(*out));
	out->type = DP_VAL_NULL;
	if (in->type == DP_VAL_NULL || r->kind == DP_MASK_NULL)
		return 0;
	if (r->kind == DP_MASK_TEMPLATE || r->kind == DP_MASK_SQL)
		return dp_fail(err, 0, "%s masking is applied by the database backend, not dp_transform() (a bug)",
			       dp_mask_kind_name(r->kind));
	if (in->type == DP_VAL_BLOB && !takes_blob(r->kind))
		return dp_usage(err, "BLOB values cannot be masked as %s", dp_mask_kind_name(r->kind));
	switch (r->kind) {
	case DP_MASK_CONSTANT:
		set_text(out, r->text ? r->text : "", r->text ? strlen(r->text) : 0);
		return 0;
	case DP_MASK_PARTIAL:
		return mask_partial(r, in, out, buf, bufsz, err);
	default:
		break;
	}
	call_once(&init_once, init);
	if (sodium_rc < 0)
		return dp_fail(err, 0, "libsodium could not be initialised");
	if (r->kind == DP_MASK_REDACT)
		return mask_redact(in, out);
	rng_seed(&g, key, r->kind, attempt, in);
	switch (r->kind) {
	case DP_MASK_EMAIL: return mask_email(&g, out, buf, bufsz, err);
	case DP_MASK_NAME: return mask_name(r, &g, out, buf, bufsz, err);
	case DP_MASK_PHONE: return mask_phone(&g, in, out, buf, bufsz, err);
	case DP_MASK_ADDRESS: return mask_address(&g, out, buf, bufsz, err);
	case DP_MASK_CITY: return mask_city(&g, out);
	case DP_MASK_POSTAL_CODE: return mask_postal_code(&g, in, out, buf, bufsz, err);
	case DP_MASK_CARD: return mask_card(&g, in, out, buf, bufsz, err);
	case DP_MASK_IBAN: return mask_iban(&g, in, out, buf, bufsz, err);
	case DP_MASK_IP: return mask_ip(&g, in, out, buf, bufsz, err);
	case DP_MASK_DATE: return mask_date(r, &g, in, out, buf, bufsz, err);
	case DP_MASK_NUMBER: return mask_number(r, &g, in, out, buf, bufsz, err);
	case DP_MASK_HASH: return mask_hash(r, &g, out, buf, bufsz, err);
	case DP_MASK_UUID: return mask_uuid(&g, out, buf, bufsz, err);
	default: return dp_fail(err, 0, "unknown masking kind %d", (int)r->kind);
	}
}
