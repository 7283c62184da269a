/* Unit tests of src/util/parse.h: sizes (suffixes, overflow, limits), CPU
 * counts, bounded integers and HOST:SANDBOX port pairs. Every refusal must be
 * a usage error (exit status 2) naming the option and the value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/error.h"
#include "util/parse.h"

/* the error must be a usage error mentioning both the option and the value */
static void assert_usage_error(dp_error **err, const char *what, const char *value)
{
	assert_non_null(*err);
	assert_int_equal((*err)->status, DP_EXIT_USAGE);
	assert_non_null((*err)->msg);
	assert_non_null(strstr((*err)->msg, what));
	if (value != NULL && value[0] != '\0')
		assert_non_null(strstr((*err)->msg, value));
	dp_error_free(err);
	assert_null(*err);
}

static uint64_t size_ok(const char *s)
{
	dp_error *err = NULL;
	uint64_t v = 0;

	if (dp_parse_size("--mem", s, UINT64_MAX, &v, &err) != 0)
		fail_msg("'%s' refused: %s", s, err ? err->msg : "?");
	assert_null(err);
	return v;
}

static void size_bad(const char *s, uint64_t max)
{
	dp_error *err = NULL;
	uint64_t v = 12345;

	if (dp_parse_size("--mem", s, max, &v, &err) != -1)
		fail_msg("'%s' accepted as %llu", s ? s : "(null)", (unsigned long long)v);
	assert_int_equal(v, 12345); /* output untouched on failure */
	assert_usage_error(&err, "--mem", s);
}

static void test_size_plain(void **state)
{
	(void)state;
	assert_int_equal(size_ok("1"), 1);
	assert_int_equal(size_ok("512"), 512);
	assert_int_equal(size_ok("007"), 7);
	assert_int_equal(size_ok("18446744073709551615"), UINT64_MAX);
}

static void test_size_suffixes(void **state)
{
	(void)state;
	assert_int_equal(size_ok("64K"), 64ull << 10);
	assert_int_equal(size_ok("64k"), 64ull << 10);
	assert_int_equal(size_ok("100M"), 100ull << 20);
	assert_int_equal(size_ok("100m"), 100ull << 20);
	assert_int_equal(size_ok("2G"), 2ull << 30);
	assert_int_equal(size_ok("1T"), 1ull << 40);
	assert_int_equal(size_ok("64KB"), 64ull << 10);
	assert_int_equal(size_ok("64KiB"), 64ull << 10);
	assert_int_equal(size_ok("3MiB"), 3ull << 20);
	assert_int_equal(size_ok("3mib"), 3ull << 20);
	assert_int_equal(size_ok("1GB"), 1ull << 30);
	assert_int_equal(size_ok("16777215T"), 16777215ull << 40);
}

/* parse.h: "optional trailing B" -- also on a plain byte count */
static void test_size_plain_bytes_suffix(void **state)
{
	(void)state;
	assert_int_equal(size_ok("512B"), 512);
	assert_int_equal(size_ok("67108864B"), 64ull << 20);
}

static void test_size_refused(void **state)
{
	(void)state;
	size_bad("0", UINT64_MAX);
	size_bad("0K", UINT64_MAX);
	size_bad("0G", UINT64_MAX);
	size_bad("-1", UINT64_MAX);
	size_bad("-1M", UINT64_MAX);
	size_bad("+1M", UINT64_MAX);
	size_bad("", UINT64_MAX);
	size_bad(" 1M", UINT64_MAX);
	size_bad("1M ", UINT64_MAX);
	size_bad("1 M", UINT64_MAX);
	size_bad("12Q", UINT64_MAX);
	size_bad("1.5G", UINT64_MAX);
	size_bad("1e6", UINT64_MAX);
	size_bad("0x10", UINT64_MAX);
	size_bad("M", UINT64_MAX);
	size_bad("1KK", UINT64_MAX);
	size_bad("1KiBB", UINT64_MAX);
	size_bad("1iB", UINT64_MAX);
	size_bad("1Bi", UINT64_MAX);
	size_bad("1P", UINT64_MAX);
	size_bad("64MQ", UINT64_MAX);
}

static void test_size_null(void **state)
{
	dp_error *err = NULL;
	uint64_t v = 0;
	(void)state;
	assert_int_equal(dp_parse_size("--disk", NULL, UINT64_MAX, &v, &err), -1);
	assert_usage_error(&err, "--disk", NULL);
}

static void test_size_overflow(void **state)
{
	(void)state;
	size_bad("18446744073709551616", UINT64_MAX);   /* 2^64: strtoull overflow */
	size_bad("99999999999999999999999", UINT64_MAX);
	size_bad("16777216T", UINT64_MAX);              /* 2^24 << 40 = 2^64 */
	size_bad("17179869184G", UINT64_MAX);           /* 2^34 << 30 = 2^64 */
	size_bad("18014398509481984K", UINT64_MAX);     /* 2^54 << 10 = 2^64 */
	size_bad("18446744073709551615K", UINT64_MAX);
}

static void test_size_max(void **state)
{
	dp_error *err = NULL;
	uint64_t v = 0;
	(void)state;
	assert_int_equal(dp_parse_size("--disk", "1G", 1ull << 30, &v, &err), 0);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(dp_parse_size("--disk", "1073741824", 1ull << 30, &v, &err), 0);
	size_bad("1073741825", 1ull << 30);
	size_bad("1025M", 1ull << 30);
	size_bad("2G", 1ull << 30);
	/* the refusal says it is too large */
	assert_int_equal(dp_parse_size("--disk", "2G", 1ull << 30, &v, &err), -1);
	assert_non_null(strstr(err->msg, "too large"));
	dp_error_free(&err);
}

/* --- cpus -------------------------------------------------------------------- */

static uint32_t cpus_ok(const char *s)
{
	dp_error *err = NULL;
	uint32_t m = 0;

	if (dp_parse_cpus("--cpus", s, &m, &err) != 0)
		fail_msg("'%s' refused: %s", s, err ? err->msg : "?");
	assert_null(err);
	return m;
}

static void cpus_bad(const char *s)
{
	dp_error *err = NULL;
	uint32_t m = 777;

	if (dp_parse_cpus("--cpus", s, &m, &err) != -1)
		fail_msg("'%s' accepted as %u millicpus", s ? s : "(null)", m);
	assert_int_equal(m, 777);
	assert_usage_error(&err, "--cpus", s);
}

static void test_cpus(void **state)
{
	(void)state;
	assert_int_equal(cpus_ok("1"), 1000);
	assert_int_equal(cpus_ok("0.5"), 500);
	assert_int_equal(cpus_ok("2.25"), 2250);
	assert_int_equal(cpus_ok("0.01"), 10);
	assert_int_equal(cpus_ok("0.010"), 10);
	assert_int_equal(cpus_ok("0.0109"), 10); /* thousandths: further digits dropped */
	assert_int_equal(cpus_ok("1.999"), 1999);
	assert_int_equal(cpus_ok("1024"), 1024000);
	assert_int_equal(cpus_ok("1024.0"), 1024000);
	assert_int_equal(cpus_ok("001"), 1000);
}

static void test_cpus_refused(void **state)
{
	(void)state;
	cpus_bad("0");
	cpus_bad("0.0");
	cpus_bad("0.009");
	cpus_bad("0.0099");
	cpus_bad("1024.001");
	cpus_bad("1025");
	cpus_bad("2000");
	cpus_bad("99999999999999999999999");
	cpus_bad("abc");
	cpus_bad("");
	cpus_bad("-1");
	cpus_bad("+1");
	cpus_bad(".5");
	cpus_bad("1.");
	cpus_bad("1..5");
	cpus_bad("1.5.");
	cpus_bad("1e3");
	cpus_bad(" 1");
	cpus_bad("1 ");
	cpus_bad("1,5");
	cpus_bad("0.5x");
	cpus_bad(NULL);
}

/* --- uint ---------------------------------------------------------------------- */

static void uint_bad(const char *s, uint64_t min, uint64_t max)
{
	dp_error *err = NULL;
	uint64_t v = 99;

	if (dp_parse_uint("--pids", s, min, max, &v, &err) != -1)
		fail_msg("'%s' accepted in [%llu, %llu]", s ? s : "(null)", (unsigned long long)min,
			 (unsigned long long)max);
	assert_int_equal(v, 99);
	assert_usage_error(&err, "--pids", s);
}

static void test_uint(void **state)
{
	dp_error *err = NULL;
	uint64_t v = 0;
	(void)state;
	assert_int_equal(dp_parse_uint("--pids", "1", 1, 10, &v, &err), 0);
	assert_int_equal(v, 1);
	assert_int_equal(dp_parse_uint("--pids", "10", 1, 10, &v, &err), 0);
	assert_int_equal(v, 10);
	assert_int_equal(dp_parse_uint("--pids", "0", 0, 10, &v, &err), 0);
	assert_int_equal(v, 0);
	assert_int_equal(dp_parse_uint("--pids", "4194304", 1, 4194304, &v, &err), 0);
	assert_int_equal(v, 4194304);
	assert_int_equal(dp_parse_uint("--n", "18446744073709551615", 0, UINT64_MAX, &v, &err), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_null(err);
}

static void test_uint_refused(void **state)
{
	(void)state;
	uint_bad("0", 1, 10);
	uint_bad("11", 1, 10);
	uint_bad("4194305", 1, 4194304);
	uint_bad("-1", 0, 10);
	uint_bad("+1", 0, 10);
	uint_bad("", 0, 10);
	uint_bad(" 1", 0, 10);
	uint_bad("1 ", 0, 10);
	uint_bad("1x", 0, 10);
	uint_bad("0x1", 0, 10);
	uint_bad("1.0", 0, 10);
	uint_bad("18446744073709551616", 0, UINT64_MAX);
	uint_bad("99999999999999999999999", 0, UINT64_MAX);
	uint_bad(NULL, 0, 10);
}

/* --- publish ------------------------------------------------------------------- */

static void publish_ok(const char *s, uint16_t want_host, uint16_t want_sandbox)
{
	dp_error *err = NULL;
	uint16_t h = 0, b = 0;

	if (dp_parse_publish("--publish", s, &h, &b, &err) != 0)
		fail_msg("'%s' refused: %s", s, err ? err->msg : "?");
	assert_null(err);
	assert_int_equal(h, want_host);
	assert_int_equal(b, want_sandbox);
}

static void publish_bad(const char *s)
{
	dp_error *err = NULL;
	uint16_t h = 7, b = 7;

	if (dp_parse_publish("--publish", s, &h, &b, &err) != -1)
		fail_msg("'%s' accepted as %u:%u", s ? s : "(null)", h, b);
	assert_int_equal(h, 7);
	assert_int_equal(b, 7);
	assert_usage_error(&err, "--publish", s);
}

static void test_publish(void **state)
{
	(void)state;
	publish_ok("8080:80", 8080, 80);
	publish_ok("1:65535", 1, 65535);
	publish_ok("65535:1", 65535, 1);
	publish_ok("00080:0080", 80, 80);
}

static void test_publish_refused(void **state)
{
	(void)state;
	publish_bad("80");
	publish_bad("0:80");
	publish_bad("80:0");
	publish_bad("65536:80");
	publish_bad("80:65536");
	publish_bad(":80");
	publish_bad("80:");
	publish_bad(":");
	publish_bad("");
	publish_bad("a:b");
	publish_bad("8080:80:1");
	publish_bad("-1:80");
	publish_bad("80:-1");
	publish_bad(" 80:80");
	publish_bad("80:80 ");
	publish_bad("1234567:80");
	publish_bad("99999999999999999999:80");
	publish_bad("80:99999999999999999999");
	publish_bad("127.0.0.1:80:80");
	publish_bad(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_plain),
		cmocka_unit_test(test_size_suffixes),
		cmocka_unit_test(test_size_plain_bytes_suffix),
		cmocka_unit_test(test_size_refused),
		cmocka_unit_test(test_size_null),
		cmocka_unit_test(test_size_overflow),
		cmocka_unit_test(test_size_max),
		cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_cpus_refused),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_uint_refused),
		cmocka_unit_test(test_publish),
		cmocka_unit_test(test_publish_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
