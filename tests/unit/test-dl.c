/* Libraries loaded on first use (util/dl.h): each of the four loads on this
 * machine with every symbol doppel calls; a missing library or symbol is an
 * error naming the library, the package and the symbol, and leaves no
 * pointer set; a second load is a no-op. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/dl-curl.h"
#include "util/dl-gnutls.h"
#include "util/dl-mhd.h"
#include "util/dl-pq.h"

#define CHECK_SET(f) assert_non_null(sym_##f);

static void test_all_load(void **state)
{
	dp_error *err = NULL;

	(void)state;
	assert_int_equal(dp_dl_pq(&err), 0);
	assert_int_equal(dp_dl_curl(&err), 0);
	assert_int_equal(dp_dl_mhd(&err), 0);
	assert_int_equal(dp_dl_gnutls(&err), 0);
	assert_null(err);
	DP_PQ_SYMS(CHECK_SET)
	DP_CURL_SYMS(CHECK_SET)
	DP_MHD_SYMS(CHECK_SET)
	DP_GNUTLS_SYMS(CHECK_SET)
	/* the pointers reach the real library */
	assert_true(sym_PQserverVersion(NULL) == 0);
	assert_non_null(sym_MHD_get_version());
	assert_string_equal(sym_curl_easy_strerror(CURLE_OK), "No error");
	/* loaded once: a second call changes nothing */
	void *before = (void *)sym_PQexec;
	assert_int_equal(dp_dl_pq(&err), 0);
	assert_ptr_equal(before, (void *)sym_PQexec);
}

static void *sym_a, *sym_b;

static void test_missing_library(void **state)
{
	static const dp_dlsym syms[] = { { "x", &sym_a } };
	dp_dllib lib = { "libdoppel-no-such.so.9", "libdoppel-no-such9", syms, 1, NULL };
	dp_error *err = NULL;

	(void)state;
	assert_int_equal(dp_dl_load(&lib, &err), -1);
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "libdoppel-no-such.so.9"));
	assert_non_null(strstr(err->msg, "Debian package libdoppel-no-such9"));
	assert_null(lib.handle);
	dp_error_free(&err);
}

static void test_missing_symbol(void **state)
{
	/* libpq has PQexec but not the second name: nothing may stay set */
	static const dp_dlsym syms[] = { { "PQexec", &sym_a }, { "PQdoesNotExist", &sym_b } };
	dp_dllib lib = { "libpq.so.5", "libpq5", syms, 2, NULL };
	dp_error *err = NULL;

	(void)state;
	sym_a = sym_b = NULL;
	assert_int_equal(dp_dl_load(&lib, &err), -1);
	assert_non_null(strstr(err->msg, "PQdoesNotExist"));
	assert_non_null(strstr(err->msg, "libpq.so.5"));
	assert_null(sym_a);
	assert_null(sym_b);
	assert_null(lib.handle);
	dp_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_load),
		cmocka_unit_test(test_missing_library),
		cmocka_unit_test(test_missing_symbol),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
