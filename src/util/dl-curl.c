/* The libcurl-gnutls.so.4 symbols doppel uses (util/dl-curl.h). */
#include "util/dl-curl.h"

DP_CURL_SYMS(DP_DLSYM_DEFINE)

static const dp_dlsym syms[] = { DP_CURL_SYMS(DP_DLSYM_ARG) };

static dp_dllib lib = { "libcurl-gnutls.so.4", "libcurl3-gnutls", syms, sizeof(syms) / sizeof(syms[0]), NULL };

int dp_dl_curl(dp_error **err)
{
	return dp_dl_load(&lib, err);
}
