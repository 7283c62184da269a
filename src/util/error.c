/* Building and wrapping error values; see error.h for the convention. */
#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_error(dp_error **err, int status, int errnum, const char *fmt, va_list ap)
{
	char *what = NULL;
	dp_error *e;

	if (err == NULL)
		return -1;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		abort();
	if (vasprintf(&what, fmt, ap) < 0)
		abort();
	if (errnum != 0) {
		if (asprintf(&e->msg, "%s: %s", what, strerror(errnum)) < 0)
			abort();
		free(what);
	} else {
		e->msg = what;
	}
	e->status = status;
	e->errnum = errnum;
	if (*err != NULL)  /* keep the first error; it is the cause */
		dp_error_free(&e);
	else
		*err = e;
	return -1;
}

int dp_fail(dp_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_error(err, DP_EXIT_FAIL, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int dp_fail_errno(dp_error **err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	set_error(err, DP_EXIT_FAIL, saved, fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}

int dp_usage(dp_error **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_error(err, DP_EXIT_USAGE, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int dp_wrap(dp_error **err, const char *fmt, ...)
{
	char *ctx = NULL, *joined = NULL;
	va_list ap;

	if (err == NULL || *err == NULL)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&ctx, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (asprintf(&joined, "%s: %s", ctx, (*err)->msg) < 0)
		abort();
	free(ctx);
	free((*err)->msg);
	(*err)->msg = joined;
	return -1;
}

void dp_error_free(dp_error **err)
{
	if (err == NULL || *err == NULL)
		return;
	free((*err)->msg);
	free(*err);
	*err = NULL;
}
