/* Errors as values (crun style): a failing function fills *err and returns -1;
 * callers add context on the way up; only main() prints and picks the exit
 * status. DP_EXIT_USAGE marks bad input (exit 2), everything else exits 1. */
#ifndef DOPPEL_UTIL_ERROR_H
#define DOPPEL_UTIL_ERROR_H

#include <stdarg.h>

enum { DP_EXIT_OK = 0, DP_EXIT_FAIL = 1, DP_EXIT_USAGE = 2 };

typedef struct dp_error {
	int status;   /* process exit status main() should use */
	int errnum;   /* errno of the failing call, 0 if none */
	char *msg;    /* "what: why" */
} dp_error;

/* Sets *err to "fmt: strerror(errnum)" (errnum 0: no suffix); returns -1. */
int dp_fail(dp_error **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same, with errno as the cause. */
int dp_fail_errno(dp_error **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A usage error: bad argument or input. Exit status 2. */
int dp_usage(dp_error **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prepends "fmt: " to an existing error; returns -1. */
int dp_wrap(dp_error **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void dp_error_free(dp_error **err);

#endif
