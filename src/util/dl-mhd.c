/* The libmicrohttpd.so.12 symbols doppel uses (util/dl-mhd.h). */
#include "util/dl-mhd.h"

DP_MHD_SYMS(DP_DLSYM_DEFINE)

static const dp_dlsym syms[] = { DP_MHD_SYMS(DP_DLSYM_ARG) };

static dp_dllib lib = { "libmicrohttpd.so.12", "libmicrohttpd12", syms, sizeof(syms) / sizeof(syms[0]), NULL };

int dp_dl_mhd(dp_error **err)
{
	return dp_dl_load(&lib, err);
}
