/* The libgnutls.so.30 symbols doppel uses (util/dl-gnutls.h). */
#include "util/dl-gnutls.h"

DP_GNUTLS_SYMS(DP_DLSYM_DEFINE)

static const dp_dlsym syms[] = { DP_GNUTLS_SYMS(DP_DLSYM_ARG) };

static dp_dllib lib = { "libgnutls.so.30", "libgnutls30", syms, sizeof(syms) / sizeof(syms[0]), NULL };

int dp_dl_gnutls(dp_error **err)
{
	return dp_dl_load(&lib, err);
}
