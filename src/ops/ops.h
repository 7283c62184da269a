/* The service layer: one function per user action. Each takes the acting
 * identity, asks the policy, calls core, and appends one audit record with
 * the outcome (denied, failed or ok). The CLI (local mode) and doppeld call
 * exactly these, so neither front end can skip a rule or the log.
 *
 * Results that both front ends show are returned as core structs plus one
 * JSON builder each (the `--json` shape and the API's body are the same). */
#ifndef DOPPEL_OPS_OPS_H
#define DOPPEL_OPS_OPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "isolate/plan.h"
#include "ops/actor.h"
#include "ops/audit.h"
#include "ops/policy.h"
#include "snapshot/snapshot.h"
#include "spec/spec.h"
#include "store/store.h"
#include "util/error.h"

typedef struct dp_ops {
	const dp_spec *spec;
	dp_store *store;
	const dp_policy *policy;
} dp_ops;

/* The policy for a store: the file access (NULL: $DOPPEL_ACCESS, else
 * <store>/access.yaml when it exists, else the single-user policy of the
 * store root's owner). */
int dp_ops_load_policy(dp_store *st, const char *access, dp_policy **out, dp_error **err);

/* For the actions whose core has not moved under ops yet (check,
 * postgres): the check and the record, around code the
 * front end runs between them. dp_ops_begin fills t's tier and owner from
 * the sandbox when one is named. dp_ops_end records r's outcome (0 ok, -1
 * failed with e) and returns r. */
typedef struct dp_ops_guard {
	dp_ops *ops;
	const dp_actor *actor;
	dp_action action;
	char target[160];
	json_t *args; /* owned; may be NULL */
} dp_ops_guard;
int dp_ops_begin(dp_ops *o, const dp_actor *a, dp_action act, const char *sandbox, json_t *args, dp_ops_guard *g,
		 dp_error **err);
int dp_ops_end(dp_ops_guard *g, int r, dp_error **err);
/* dp_ops_begin for a target described by hand (create: the tier asked for,
 * the sandbox to be, owner the actor). */
int dp_ops_begin_target(dp_ops *o, const dp_actor *a, dp_action act, const dp_target *t, json_t *args,
			dp_ops_guard *g, dp_error **err);

/* sync: reads production. */
int dp_ops_sync(dp_ops *o, const dp_actor *a, const dp_sync_opts *opts, dp_sync_result *res, dp_error **err);
json_t *dp_ops_sync_json(const dp_sync_result *res);

/* snapshots: [{id, created, files, bytes, sandboxes, stale}] */
int dp_ops_snapshots(dp_ops *o, const dp_actor *a, json_t **out, dp_error **err);

/* create: tier NULL means dev, else the first tier; *tier_out (borrowed from
 * the spec) says which. The sandbox is the actor's. */
int dp_ops_create(dp_ops *o, const dp_actor *a, const char *name, const char *tier, int64_t from,
		  const char **tier_out, dp_error **err);

/* ls: the sandboxes the actor may list, [{name, tier, owner, snapshot,
 * created, changes_bytes, checkpoints}] by name. */
int dp_ops_list(dp_ops *o, const dp_actor *a, json_t **out, dp_error **err);

int dp_ops_checkpoint(dp_ops *o, const dp_actor *a, const char *name, const char *label, dp_error **err);
int dp_ops_reset(dp_ops *o, const dp_actor *a, const char *name, const char *label, bool force, dp_error **err);
int dp_ops_destroy(dp_ops *o, const dp_actor *a, const char *name, bool force, dp_error **err);

typedef struct dp_rebase_result {
	int64_t from, to;
	char **conflicts;
	size_t n_conflicts;
} dp_rebase_result;
int dp_ops_rebase(dp_ops *o, const dp_actor *a, const char *name, bool keep_changes, bool force,
		  dp_rebase_result *res, dp_error **err);
void dp_rebase_result_clear(dp_rebase_result *r);

/* rebase's result as JSON: {sandbox, from, to, keep_changes, conflicts: [path]} */
json_t *dp_ops_rebase_json(const char *name, bool keep_changes, const dp_rebase_result *res);

/* diff: [{path, change}..., {database, schema: [...]}...], as `diff --json`. */
int dp_ops_diff(dp_ops *o, const dp_actor *a, const char *name, json_t **out, dp_error **err);
/* drift: {snapshot, age_seconds, changes: [{path, change}], schema: [{database, schema}]} */
int dp_ops_drift(dp_ops *o, const dp_actor *a, const char *name, json_t **out, dp_error **err);

/* diff and drift as core results, for a front end that prints them as text;
 * dp_ops_diff and dp_ops_drift are these and their JSON builder. */
struct dp_diff_entry;
struct dp_drift_entry;
struct dp_pgschema_report;
typedef struct dp_diff_result {
	struct dp_diff_entry *files; /* sorted by path */
	size_t n_files;
	struct dp_pgschema_report *dbs; /* one per PostgreSQL database */
	size_t n_dbs;
} dp_diff_result;
int dp_ops_diff_result(dp_ops *o, const dp_actor *a, const char *name, dp_diff_result *res, dp_error **err);
json_t *dp_ops_diff_json(const dp_diff_result *res);
void dp_diff_result_clear(dp_diff_result *res);

typedef struct dp_drift_result {
	int64_t snapshot, created, age_seconds; /* the sandbox's snapshot, when it was taken, how long ago */
	struct dp_drift_entry *files;
	size_t n_files;
	struct dp_pgschema_report *dbs;
	size_t n_dbs;
} dp_drift_result;
int dp_ops_drift_result(dp_ops *o, const dp_actor *a, const char *name, dp_drift_result *res, dp_error **err);
json_t *dp_ops_drift_json(const dp_drift_result *res);
void dp_drift_result_clear(dp_drift_result *res);

/* run and shell: runs argv in the sandbox with this process's stdin,
 * stdout and stderr (the daemon forks a runner whose stdio is the client's
 * stream). tighten: limits that may only lower the tier's. *status is the
 * command's exit status. The record is written before the command starts
 * (so a long run is in the log while it runs) and a second one with the
 * exit status when it ends. */
int dp_ops_run(dp_ops *o, const dp_actor *a, const char *name, const dp_plan *tighten, char **argv, bool tty,
	       int *status, dp_error **err);
/* The audit args of a run: {argv, tty}, argv cut to DP_OPS_ARGV_MAX words
 * of DP_OPS_ARG_MAX bytes each (a cut is marked), bytes that are not UTF-8
 * shown as '?'. */
#define DP_OPS_ARGV_MAX 32
#define DP_OPS_ARG_MAX 256
json_t *dp_ops_run_args(char **argv, bool tty);

/* scan (ops-data.c): is a value of a masked production column anywhere in
 * the sandbox? min_length 0 means DP_OPS_SCAN_MIN_LENGTH. *out is
 * {sandbox, columns: [db.table.column], leaks: [{layer, path, column,
 * offset, file}], values, values_too_short, files, bytes, unreadable}; a
 * leak names where it is, never the value. Leaks found are a result (0),
 * not a failure: the front end decides the exit status. */
#define DP_OPS_SCAN_MIN_LENGTH 5
#define DP_OPS_SCAN_MIN_LENGTH_MAX 4096
int dp_ops_scan(dp_ops *o, const dp_actor *a, const char *name, uint64_t min_length, json_t **out, dp_error **err);

/* synth (ops-data.c): rows generated rows in table ("DB.TABLE", DB an
 * SQLite database of production.databases) of the sandbox's copy; seed
 * NULL picks a random one. *out is {sandbox, table, rows, seed}. */
int dp_ops_synth(dp_ops *o, const dp_actor *a, const char *name, const char *table, uint64_t rows,
		 const uint64_t *seed, json_t **out, dp_error **err);

/* endpoints (ops-endpoints.c): a sandbox's API stand-ins, live through
 * their admin socket while it runs, else their saved state. One policy
 * action, "endpoints", for all three.
 * list: {sandbox, tier, running, endpoints: [{host, address, mappings_dir,
 *   count, mappings: [{method, url, status, fault?, name?, id?,
 *   scenario?}], scenarios: {NAME: STATE}}]}
 * journal: the calls made to them (to host only, unless NULL), oldest
 *   first: {sandbox, running, requests: [{time, logged_ms, host, method,
 *   path, status, matched, mapping?}]}
 * scenario: puts one scenario of host's mappings in state (live at once,
 *   else from the next run on): {sandbox, host, scenario, state, running} */
int dp_ops_endpoints_list(dp_ops *o, const dp_actor *a, const char *name, json_t **out, dp_error **err);
int dp_ops_endpoints_journal(dp_ops *o, const dp_actor *a, const char *name, const char *host, json_t **out,
			     dp_error **err);
int dp_ops_endpoints_scenario(dp_ops *o, const dp_actor *a, const char *name, const char *host,
			      const char *scenario, const char *state, json_t **out, dp_error **err);

/* audit: records since (unix seconds) as a JSON array; verify. */
int dp_ops_audit(dp_ops *o, const dp_actor *a, int64_t since, json_t **out, dp_error **err);
int dp_ops_audit_verify(dp_ops *o, const dp_actor *a, dp_audit_verdict *v, dp_error **err);

/* tokens: for uid (the actor's own need only some role; another user's need
 * the token grant). list with uid (uid_t)-1 lists all (token grant). */
int dp_ops_token_create(dp_ops *o, const dp_actor *a, const char *name, uid_t uid, int64_t expires, char **secret,
			dp_error **err);
int dp_ops_token_list(dp_ops *o, const dp_actor *a, uid_t uid, json_t **out, dp_error **err);
int dp_ops_token_revoke(dp_ops *o, const dp_actor *a, const char *name, dp_error **err);

#endif
