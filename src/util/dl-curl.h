/* libcurl, the HTTP client of remote mode and of the stand-ins' admin calls:
 * loaded on first use (util/dl.h says why). Call dp_dl_curl() before the first
 * sym_ call on a path; it is cheap after the first time. */
#ifndef DOPPEL_UTIL_DL_CURL_H
#define DOPPEL_UTIL_DL_CURL_H

#include <curl/curl.h>

#include "util/dl.h"

#define DP_CURL_SYMS(X) \
	X(curl_easy_cleanup) \
	X(curl_easy_escape) \
	X(curl_easy_getinfo) \
	X(curl_easy_init) \
	X(curl_easy_perform) \
	X(curl_easy_reset) \
	X(curl_easy_setopt) \
	X(curl_easy_strerror) \
	X(curl_free) \
	X(curl_global_init) \
	X(curl_slist_append) \
	X(curl_slist_free_all)

DP_CURL_SYMS(DP_DLSYM_EXTERN)

int dp_dl_curl(dp_error **err);

#endif
