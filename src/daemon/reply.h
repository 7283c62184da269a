/* Errors as the API shows them (docs/api.md): a status from the error's
 * kind and a JSON body {"error": message} that is always valid UTF-8, since
 * a message may quote what a client sent. */
#ifndef DOPPEL_DAEMON_REPLY_H
#define DOPPEL_DAEMON_REPLY_H

#include <jansson.h>

#include "util/error.h"

/* errnum EACCES 403, ENOENT 404, EBUSY 409, EAGAIN 503 (at capacity or
 * shutting down), a usage error 400, else 500. */
unsigned dpd_error_status(const dp_error *e);
/* {"error": msg}; a message that is not valid UTF-8 has its non-ASCII
 * bytes shown as '?'. NULL only when out of memory. */
json_t *dpd_error_json(const char *msg);

#endif
