/* The one loader behind util/dl-*.c (see dl.h for why libraries are loaded
 * on first use). */
#include "util/dl.h"

#include <dlfcn.h>
#include <pthread.h>

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

int dp_dl_load(dp_dllib *lib, dp_error **err)
{
	void *h;
	int r = 0;

	if (__atomic_load_n(&lib->handle, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&load_lock);
	if (lib->handle)
		goto out;
	/* RTLD_NOW: a missing symbol fails here, not mid-operation */
	h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();

		r = dp_fail(err, 0, "load %s (Debian package %s): %s", lib->soname, lib->package,
			    why ? why : "unknown error");
		goto out;
	}
	for (size_t i = 0; i < lib->n_syms; i++) {
		void *p;

		dlerror();
		p = dlsym(h, lib->syms[i].name);
		if (!p) {
			const char *why = dlerror();

			/* the message first: dlclose frees dlerror's string */
			r = dp_fail(err, 0, "load %s: it has no %s (%s); doppel needs a newer %s", lib->soname,
				    lib->syms[i].name, why ? why : "not found", lib->package);
			/* leave no pointer half-set */
			for (size_t j = 0; j < i; j++)
				*lib->syms[j].ptr = NULL;
			dlclose(h);
			goto out;
		}
		*lib->syms[i].ptr = p;
	}
	__atomic_store_n(&lib->handle, h, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&load_lock);
	return r;
}
