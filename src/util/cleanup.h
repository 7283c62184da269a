/* Scope-bound cleanup (bubblewrap's cleanup_free/cleanup_fd idea) so error
 * paths cannot leak fds or memory: declare with the attribute and return. */
#ifndef DOPPEL_UTIL_CLEANUP_H
#define DOPPEL_UTIL_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void dp_freep(void *p)
{
	free(*(void **)p);
}

static inline void dp_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void dp_fclosep(FILE **f)
{
	if (*f != NULL)
		fclose(*f);
}

#define cleanup_free __attribute__((cleanup(dp_freep)))
#define cleanup_close __attribute__((cleanup(dp_closep)))
#define cleanup_fclose __attribute__((cleanup(dp_fclosep)))

/* Hands ownership out of a cleanup variable. */
static inline int dp_steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

static inline void *dp_steal_ptr(void *pp)
{
	void **p = pp;
	void *r = *p;
	*p = NULL;
	return r;
}

#endif
