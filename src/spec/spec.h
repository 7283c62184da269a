/* doppel.yaml: what production is (its root, what to leave out, its
 * databases and secrets), the sandbox tiers and the sync schedule. Loaded and
 * validated in full before anything acts on it; every error names the file,
 * line, column and key and says what was expected. */
#ifndef DOPPEL_SPEC_SPEC_H
#define DOPPEL_SPEC_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

enum dp_tier_net { DP_TIER_NET_LOOPBACK, DP_TIER_NET_NONE, DP_TIER_NET_ENDPOINTS };
enum dp_tier_data { DP_TIER_DATA_FULL, DP_TIER_DATA_SUBSET };

typedef struct dp_tier {
	char *name;
	uint64_t mem_bytes;  /* 0: unlimited */
	uint64_t pids;
	uint32_t millicpus;
	uint64_t disk_bytes;
	enum dp_tier_net network;
	enum dp_tier_data data;
} dp_tier;

typedef struct dp_db_spec {
	char *name;
	char *sqlite;   /* path relative to production.root, or NULL */
	char *postgres; /* conninfo, or NULL */
} dp_db_spec;

typedef struct dp_secret {
	char *name, *value;
} dp_secret;

typedef struct dp_spec {
	char *file;          /* where it was loaded from */
	char *root;          /* production.root: absolute, no symlinks */
	char **exclude;      /* glob patterns relative to root */
	size_t n_exclude;
	dp_db_spec *dbs;
	size_t n_dbs;
	dp_secret *secrets;
	size_t n_secrets;
	dp_tier *tiers;
	size_t n_tiers;
	uint64_t sync_every_s; /* 0: no schedule */
	uint32_t sync_keep;    /* snapshots kept; 0: keep all */
} dp_spec;

int dp_spec_load(const char *file, dp_spec **out, dp_error **err);
void dp_spec_free(dp_spec *spec);
const dp_tier *dp_spec_tier(const dp_spec *spec, const char *name);
/* The tiers a new doppel.yaml starts with (dev, qa, staging). */
void dp_spec_default_tiers(dp_tier **tiers, size_t *n);

/* "7d", "12h", "30m", "45s": seconds, at most ten years. */
int dp_parse_duration(const char *what, const char *s, uint64_t *seconds, dp_error **err);

#endif
