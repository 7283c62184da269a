/* Libraries loaded on first use. Every doppel process pays for the shared
 * objects it maps: on the VMs doppel targets a page fault costs ~30 µs, and
 * libpq and libcurl each drag in Kerberos, LDAP and a TLS stack (~400 faults,
 * ~12 ms). Sandbox start-up and reset must not pay for PostgreSQL or HTTP they
 * do not use, so those libraries are dlopen'd by the code that needs them
 * (systemd's pattern): callers call through sym_<function> pointers, and
 * dp_dl_<lib>() loads the library once, before its first use. The build links
 * none of them, so a direct call cannot slip in unnoticed. */
#ifndef DOPPEL_UTIL_DL_H
#define DOPPEL_UTIL_DL_H

#include <stddef.h>

#include "util/error.h"

/* One symbol to resolve, and where its address goes. */
typedef struct dp_dlsym {
	const char *name;
	void **ptr;
} dp_dlsym;

/* A library: its soname, the Debian package that ships it (for the error),
 * its symbols, and the handle once loaded. */
typedef struct dp_dllib {
	const char *soname;
	const char *package;
	const dp_dlsym *syms;
	size_t n_syms;
	void *handle; /* atomic: set (release) after every pointer is written */
} dp_dllib;

/* Loads lib and resolves all its symbols, once per process; thread-safe.
 * Fails naming the library, the package and what is missing; then no
 * pointer is set and a later call tries again. */
int dp_dl_load(dp_dllib *lib, dp_error **err);

/* X-macro helpers for the per-library symbol lists (util/dl-*.h). */
#define DP_DLSYM_EXTERN(f) extern __typeof__(f) *sym_##f;
#define DP_DLSYM_DEFINE(f) __typeof__(f) *sym_##f;
#define DP_DLSYM_ARG(f) { #f, (void **)&sym_##f },

#endif
