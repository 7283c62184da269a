/* Errors as the API shows them; see reply.h. */
#include "daemon/reply.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

unsigned dpd_error_status(const dp_error *e)
{
	if (e == NULL)
		return 500;
	switch (e->errnum) {
	case EACCES:
		return 403;
	case ENOENT:
		return 404;
	case EBUSY:
		return 409;
	case EAGAIN: /* at capacity, or shutting down */
		return 503;
	default:
		break;
	}
	return e->status == DP_EXIT_USAGE ? 400 : 500;
}

json_t *dpd_error_json(const char *msg)
{
	json_t *s = json_string(msg ? msg : "unknown error");
	char *copy;

	if (s == NULL && msg) {
		copy = strdup(msg);
		if (copy == NULL)
			return NULL;
		for (char *p = copy; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		s = json_string(copy);
		free(copy);
	}
	return s ? json_pack("{s:o}", "error", s) : NULL;
}
