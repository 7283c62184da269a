/* A one-line progress display for long work (sync, copies): files, bytes,
 * rate and, when totals are known, an ETA. Drawn on stderr only when it is a
 * terminal; silent when piped, so scripts see clean output. */
#ifndef DOPPEL_UTIL_PROGRESS_H
#define DOPPEL_UTIL_PROGRESS_H

#include <stdint.h>

typedef struct dp_progress dp_progress;

/* NULL when stderr is not a terminal (callers need not check). */
dp_progress *dp_progress_new(const char *label, uint64_t total_files, uint64_t total_bytes);
void dp_progress_update(dp_progress *p, uint64_t files, uint64_t bytes);
/* Clears the line and frees. */
void dp_progress_done(dp_progress *p);

#endif
