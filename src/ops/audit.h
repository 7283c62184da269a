/* The audit log: one record per action, allowed or denied, appended to
 * <store>/audit.log as a line of JSON. Records are hash-chained: each holds
 * the SHA-256 of the previous one, and the chain's head (sequence number and
 * hash of the last record) is also kept in the store database (table
 * audit_head), so editing, removing, reordering or truncating records is
 * detected by dp_audit_verify. */
#ifndef DOPPEL_OPS_AUDIT_H
#define DOPPEL_OPS_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "ops/actor.h"
#include "store/store.h"
#include "util/error.h"

typedef enum dp_audit_result { DP_AUDIT_OK, DP_AUDIT_DENIED, DP_AUDIT_FAILED } dp_audit_result;

/* Appends one record: time, actor (user, uid, source, token), action,
 * target ("tier/name", "name" or NULL), args (borrowed JSON object of the
 * arguments that matter, may be NULL), result, and the error message for
 * denied and failed. Safe against concurrent appenders (processes and
 * threads). */
int dp_audit_append(dp_store *st, const dp_actor *a, const char *action, const char *target, json_t *args,
		    dp_audit_result result, const char *message, dp_error **err);

/* The records with time >= since (unix seconds; 0 for all), oldest first, as
 * a new JSON array of the records' objects. */
int dp_audit_read(dp_store *st, int64_t since, json_t **out, dp_error **err);

typedef struct dp_audit_verdict {
	bool ok;
	int64_t records;   /* records read */
	int64_t first_bad; /* sequence number (1-based line) of the first bad record, 0 if ok */
	char *why;         /* what is wrong with it, NULL if ok */
	char head_hash[65]; /* when ok: SHA-256 of the last record's line ("" if none), to note elsewhere */
	char *note;        /* when ok, something worth knowing (records past the store's head), else NULL */
} dp_audit_verdict;

/* Walks the chain; a broken link, a bad hash, a gap or reorder in sequence
 * numbers, or a log that ends before the recorded head are reported in
 * *out (not as an error: -1 only when the log cannot be read). */
int dp_audit_verify(dp_store *st, dp_audit_verdict *out, dp_error **err);
void dp_audit_verdict_clear(dp_audit_verdict *v);
/* {"ok", "records", "first_bad"?, "why"?, "head"?, "note"?}: `doppel audit
 * verify --json` and the API's body. */
json_t *dp_audit_verdict_json(const dp_audit_verdict *v);

#endif
