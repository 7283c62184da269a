/* doppel.yaml: what production is (its root, what to leave out, its
 * databases and secrets), the sandbox tiers and the sync schedule. Loaded and
 * validated in full before anything acts on it; every error names the file,
 * line, column and key and says what was expected. */
#ifndef DOPPEL_SPEC_SPEC_H
#define DOPPEL_SPEC_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

enum dp_tier_net { DP_TIER_NET_LOOPBACK, DP_TIER_NET_NONE, DP_TIER_NET_ENDPOINTS };
enum dp_tier_data { DP_TIER_DATA_FULL, DP_TIER_DATA_SUBSET };

/* endpoints.HOST (or tiers.T.endpoints.HOST): a stand-in for an external
 * API host, served from WireMock-format mappings. */
typedef struct dp_endpoint_spec {
	char *host;      /* a DNS name, lower-cased; never an IP address or localhost */
	char *mappings;  /* absolute path of an existing directory; NULL: "none"
			  * (a tier override that removes the host) */
	int line;        /* in doppel.yaml */
} dp_endpoint_spec;

typedef struct dp_tier {
	char *name;
	uint64_t mem_bytes;  /* 0: unlimited */
	uint64_t pids;
	uint32_t millicpus;
	uint64_t disk_bytes;
	enum dp_tier_net network;
	enum dp_tier_data data;
	dp_endpoint_spec *endpoints; /* overrides of the top level's, by host */
	size_t n_endpoints;
} dp_tier;

typedef struct dp_db_spec {
	char *name;
	char *sqlite;   /* path relative to production.root, or NULL */
	char *postgres; /* conninfo, or NULL */
	char *password_file; /* postgres: as written (relative: to doppel.yaml's directory), or NULL */
	char *password_env;  /* postgres: an environment variable's name, or NULL */
	int line;            /* in doppel.yaml */
} dp_db_spec;

/* masking.rules: how one production column is masked on its way into a
 * snapshot (src/data/transform.h does the work). */
enum dp_mask_kind {
	DP_MASK_EMAIL, DP_MASK_NAME, DP_MASK_PHONE, DP_MASK_ADDRESS, DP_MASK_CITY, DP_MASK_POSTAL_CODE,
	DP_MASK_CARD, DP_MASK_IBAN, DP_MASK_IP, DP_MASK_DATE, DP_MASK_NUMBER, DP_MASK_PARTIAL, DP_MASK_HASH,
	DP_MASK_REDACT, DP_MASK_NULL, DP_MASK_CONSTANT, DP_MASK_UUID, DP_MASK_TEMPLATE, DP_MASK_SQL,
};
enum dp_name_part { DP_NAME_FULL, DP_NAME_FIRST, DP_NAME_LAST };

typedef struct dp_mask_rule {
	char *db, *table, *column; /* from the key DB.TABLE.COLUMN; PostgreSQL: TABLE may be SCHEMA.TABLE */
	char *json_path;           /* PostgreSQL json/jsonb: "$.a.b" from DB.[SCHEMA.]TABLE.COLUMN.$.a.b, or NULL */
	enum dp_mask_kind kind;
	enum dp_name_part part;          /* name: {name: first|last|full}, default full */
	uint32_t days;                   /* date: shift within +-days, default 30 */
	double percent;                  /* number: noise within +-percent, default 10 */
	uint32_t keep_first, keep_last;  /* partial: default 0 and 4 */
	uint32_t length;                 /* hash: hex digits, default 16 (max 64) */
	char *text;                      /* constant value, template text, sql expression */
	int line;                        /* in doppel.yaml, for errors found later */
} dp_mask_rule;

/* subset.TIER.DB.TABLE: "WHERE expression" */
typedef struct dp_subset_rule {
	char *tier, *db, *table, *where;
	int line;
} dp_subset_rule;

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
	bool mask_strict;      /* masking.strict, default true */
	dp_mask_rule *rules;
	size_t n_rules;
	char **allow;          /* masking.allow: DB.TABLE.COLUMN known to be impersonal */
	int *allow_lines;      /* where each is in doppel.yaml */
	size_t n_allow;
	dp_subset_rule *subsets;
	size_t n_subsets;
	dp_endpoint_spec *endpoints; /* top level, every tier's unless overridden */
	size_t n_endpoints;
	uint64_t sync_every_s; /* 0: no schedule */
	uint32_t sync_keep;    /* snapshots kept; 0: keep all */
} dp_spec;

int dp_spec_load(const char *file, dp_spec **out, dp_error **err);
void dp_spec_free(dp_spec *spec);
/* Is rel (relative to production.root) an SQLite database of production or
 * its -wal, -shm or -journal? Those never enter a snapshot as plain files. */
bool dp_spec_db_file(const dp_spec *spec, const char *rel);
/* The rule for DB.TABLE.COLUMN, or NULL. */
const dp_mask_rule *dp_spec_mask_rule(const dp_spec *spec, const char *db, const char *table, const char *column);
bool dp_spec_mask_allowed(const dp_spec *spec, const char *db, const char *table, const char *column);
/* Name of a transformer kind as written in doppel.yaml ("email", ...). */
const char *dp_mask_kind_name(enum dp_mask_kind kind);
const dp_tier *dp_spec_tier(const dp_spec *spec, const char *name);
/* A tier's endpoints: the top level's with the tier's overrides applied,
 * "none" ones left out, sorted by host. *out is a malloc'd array of pointers
 * into spec (free the array only); may be NULL when *n is 0. */
int dp_spec_tier_endpoints(const dp_spec *spec, const dp_tier *tier, const dp_endpoint_spec ***out, size_t *n,
			   dp_error **err);
/* Is host a name endpoints may stand in for (DNS name, not an IP address,
 * not localhost)? host must be lower case. */
bool dp_endpoint_host_valid(const char *host);
/* The tiers a new doppel.yaml starts with (dev, qa, staging). */
void dp_spec_default_tiers(dp_tier **tiers, size_t *n);

/* "7d", "12h", "30m", "45s": seconds, at most ten years. */
int dp_parse_duration(const char *what, const char *s, uint64_t *seconds, dp_error **err);

#endif
