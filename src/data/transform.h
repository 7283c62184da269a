/* Masking transformers: one production value in, one fake value out.
 * Deterministic: the output depends only on the rule's kind and options, the
 * project's masking key and the input value (never on table, column, row or
 * time), so a value masked in two tables, two databases or two syncs comes out
 * the same and joins keep working. Format-preserving where the type needs it;
 * NULL stays NULL. Shared by every database backend (SQLite now, PostgreSQL
 * later); the backends own `template` and `sql`, which need the whole row. */
#ifndef DOPPEL_DATA_TRANSFORM_H
#define DOPPEL_DATA_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#include "spec/spec.h"
#include "util/error.h"

/* The project's secret; lives in the store (never in a snapshot). */
typedef struct dp_mask_key {
	unsigned char k[32];
} dp_mask_key;

typedef enum dp_val_type { DP_VAL_NULL, DP_VAL_INT, DP_VAL_REAL, DP_VAL_TEXT, DP_VAL_BLOB } dp_val_type;

/* A database value, borrowed: p/n for TEXT and BLOB (TEXT need not be
 * NUL-terminated), i for INT, r for REAL. */
typedef struct dp_val {
	dp_val_type type;
	int64_t i;
	double r;
	const char *p;
	size_t n;
} dp_val;

#define DP_TRANSFORM_BUF 1024

/* Masks `in` by rule `r` (any kind but TEMPLATE and SQL). `attempt` > 0 asks
 * for a different, equally deterministic output: the backends use it to
 * resolve a collision in a unique column. TEXT/BLOB results are written to
 * buf (bufsz >= DP_TRANSFORM_BUF) and out->p points there or at static
 * memory. Returns 0, or -1 with *err set when the value cannot be masked by
 * this kind (say, a date that is no date); the caller names the column. */
int dp_transform(const dp_mask_rule *r, const dp_mask_key *key, const dp_val *in, uint32_t attempt, dp_val *out,
		 char *buf, size_t bufsz, dp_error **err);

#endif
