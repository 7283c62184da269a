/* `doppel check`: proves the store consistent (metadata <-> directories) and
 * repairs what it safely can: unrecorded directories left by an interrupted
 * operation are removed; records whose bytes are gone are reported. */
#ifndef DOPPEL_STORE_CHECK_H
#define DOPPEL_STORE_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

typedef struct dp_check_report {
	size_t repaired;  /* garbage removed */
	size_t problems;  /* inconsistencies left */
	bool busy_skipped;
} dp_check_report;

/* Prints one line per finding on stdout ("repaired: ...", "problem: ..."). */
int dp_store_check(dp_store *st, bool repair, dp_check_report *rep, dp_error **err);

#endif
