/* Messages to the user on stderr, always prefixed "doppel: ", so a user can
 * tell doppel's words from the sandboxed command's. */
#ifndef DOPPEL_UTIL_LOG_H
#define DOPPEL_UTIL_LOG_H

#include <stdbool.h>

void dp_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dp_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Debug lines only when DOPPEL_DEBUG is set. */
void dp_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
