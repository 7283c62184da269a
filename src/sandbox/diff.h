/* What a sandbox changed relative to its snapshot, from its layers. */
#ifndef DOPPEL_SANDBOX_DIFF_H
#define DOPPEL_SANDBOX_DIFF_H

#include <stddef.h>

#include "sandbox/sandbox.h"

typedef struct dp_diff_entry {
	char *path; /* relative to production.root */
	char kind;  /* 'A' added, 'M' modified, 'D' deleted, 'R' directory replaced */
} dp_diff_entry;

int dp_sandbox_diff(dp_store *st, const dp_sandbox *sb, dp_diff_entry **out, size_t *n, dp_error **err);
void dp_diff_free(dp_diff_entry *v, size_t n);

#endif
