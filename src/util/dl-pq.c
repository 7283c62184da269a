/* The libpq.so.5 symbols doppel uses (util/dl-pq.h). */
#include "util/dl-pq.h"

DP_PQ_SYMS(DP_DLSYM_DEFINE)

static const dp_dlsym syms[] = { DP_PQ_SYMS(DP_DLSYM_ARG) };

static dp_dllib lib = { "libpq.so.5", "libpq5", syms, sizeof(syms) / sizeof(syms[0]), NULL };

int dp_dl_pq(dp_error **err)
{
	return dp_dl_load(&lib, err);
}
