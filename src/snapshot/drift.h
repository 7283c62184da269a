/* Drift: what production changed since a snapshot was taken (files added,
 * modified, removed), found by walking production read-only and comparing
 * with the snapshot's manifest; and what changed between two snapshots. */
#ifndef DOPPEL_SNAPSHOT_DRIFT_H
#define DOPPEL_SNAPSHOT_DRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "spec/spec.h"
#include "store/store.h"

typedef struct dp_drift_entry {
	char *path;
	char kind; /* 'A' added, 'M' modified, 'D' removed */
} dp_drift_entry;

int dp_drift_production(dp_store *st, const dp_spec *spec, int64_t snapshot, dp_drift_entry **out, size_t *n,
			dp_error **err);
int dp_drift_snapshots(dp_store *st, int64_t from, int64_t to, dp_drift_entry **out, size_t *n, dp_error **err);
void dp_drift_free(dp_drift_entry *v, size_t n);

#endif
