/* The service layer's actions that read: sync (production into a new
 * snapshot), snapshots, list, diff and drift, and the JSON each is shown as.
 * The JSON builders are the one place those shapes are made: `--json` in the
 * CLI and the daemon's API bodies are the same. */
#include "ops/ops.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/pgschema.h"
#include "sandbox/diff.h"
#include "sandbox/sandbox.h"
#include "snapshot/drift.h"
#include "util/fs.h"

/* --- sync, snapshots ------------------------------------------------------ */

int dp_ops_sync(dp_ops *o, const dp_actor *a, const dp_sync_opts *opts, dp_sync_result *res, dp_error **err)
{
	dp_ops_guard g;

	memset(res, 0, sizeof(*res));
	if (dp_ops_begin(o, a, DP_ACT_SYNC, NULL, json_pack("{s:b}", "verify", opts->verify), &g, err) < 0)
		return -1;
	return dp_ops_end(&g, dp_snapshot_sync(o->store, o->spec, opts, res, err), err);
}

json_t *dp_ops_sync_json(const dp_sync_result *res)
{
	return json_pack("{sI sI sI sI sI sI sI sI sI sI sI sI sI sf}", "snapshot", (json_int_t)res->id, "databases",
			 (json_int_t)res->databases, "database_rows", (json_int_t)res->db_rows, "masked_columns",
			 (json_int_t)res->db_masked_columns, "subsets", (json_int_t)res->subsets, "files",
			 (json_int_t)res->files, "dirs", (json_int_t)res->dirs, "bytes", (json_int_t)res->bytes, "copied",
			 (json_int_t)res->copied, "linked", (json_int_t)res->linked, "copied_bytes",
			 (json_int_t)res->copied_bytes, "skipped_special", (json_int_t)res->skipped_special, "pruned",
			 (json_int_t)res->pruned, "seconds", res->seconds);
}

static int snapshots_json(dp_ops *o, json_t **out, dp_error **err)
{
	int64_t now = (int64_t)time(NULL);
	sqlite3_stmt *q = NULL;
	json_t *arr;
	int rc;

	if (dp_store_prepare(o->store,
			     "SELECT id, created, files, bytes, (SELECT count(*) FROM sandboxes WHERE snapshot = s.id)"
			     " FROM snapshots s ORDER BY id",
			     &q, err) < 0)
		return -1;
	arr = json_array();
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t created = sqlite3_column_int64(q, 1);
		bool stale = o->spec->sync_every_s && (uint64_t)(now - created) > o->spec->sync_every_s;
		json_array_append_new(arr, json_pack("{sI sI sI sI sI sb}", "id", (json_int_t)sqlite3_column_int64(q, 0),
						     "created", (json_int_t)created, "files",
						     (json_int_t)sqlite3_column_int64(q, 2), "bytes",
						     (json_int_t)sqlite3_column_int64(q, 3), "sandboxes",
						     (json_int_t)sqlite3_column_int64(q, 4), "stale", stale));
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return dp_store_sql_error(o->store, "read snapshots", err);
	}
	*out = arr;
	return 0;
}

int dp_ops_snapshots(dp_ops *o, const dp_actor *a, json_t **out, dp_error **err)
{
	dp_ops_guard g;

	*out = NULL;
	if (dp_ops_begin(o, a, DP_ACT_SNAPSHOTS, NULL, NULL, &g, err) < 0)
		return -1;
	return dp_ops_end(&g, snapshots_json(o, out, err), err);
}

/* --- list ----------------------------------------------------------------- */

/* The sandboxes the policy lets a list: the others are left out, not
 * refused one by one (one record for the whole listing). */
static int list_json(dp_ops *o, const dp_actor *a, json_t **out, dp_error **err)
{
	sqlite3_stmt *q = NULL;
	json_t *arr;
	int rc;

	if (dp_store_prepare(o->store,
			     "SELECT name, tier, owner, snapshot, created, upper,"
			     " (SELECT count(*) FROM checkpoints c WHERE c.sandbox = s.name) FROM sandboxes s ORDER BY name",
			     &q, err) < 0)
		return -1;
	arr = json_array();
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(q, 0);
		const char *tier = (const char *)sqlite3_column_text(q, 1);
		uid_t owner = (uid_t)sqlite3_column_int64(q, 2);
		dp_target t = { .tier = tier, .sandbox = name, .owner = owner };
		dp_error *hidden = NULL;
		struct passwd pwbuf, *pw = NULL;
		char rel[256], ownbuf[32], pwtext[4096];
		int64_t size;

		if (dp_policy_check(o->policy, a, DP_ACT_LIST, &t, &hidden) < 0) {
			dp_error_free(&hidden);
			continue;
		}
		/* doppeld lists from several threads at once */
		pw = getpwuid_r(owner, &pwbuf, pwtext, sizeof(pwtext), &pw) == 0 ? pw : NULL;
		snprintf(rel, sizeof(rel), "sandboxes/%s/%s", name, (const char *)sqlite3_column_text(q, 5));
		size = dp_tree_usage_at(o->store->rootfd, rel);
		snprintf(ownbuf, sizeof(ownbuf), "%u", (unsigned)owner);
		json_array_append_new(arr, json_pack("{ss ss ss sI sI sI sI}", "name", name, "tier", tier, "owner",
						     pw ? pw->pw_name : ownbuf, "snapshot",
						     (json_int_t)sqlite3_column_int64(q, 3), "created",
						     (json_int_t)sqlite3_column_int64(q, 4), "changes_bytes",
						     (json_int_t)(size < 0 ? 0 : size), "checkpoints",
						     (json_int_t)sqlite3_column_int64(q, 6)));
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return dp_store_sql_error(o->store, "read sandboxes", err);
	}
	*out = arr;
	return 0;
}

int dp_ops_list(dp_ops *o, const dp_actor *a, json_t **out, dp_error **err)
{
	/* list on some tier, else nothing at all (deny by default, with the
	 * reason); what may be seen is then decided per sandbox */
	dp_target t = { 0 };
	dp_ops_guard g;

	*out = NULL;
	if (dp_ops_begin_target(o, a, DP_ACT_LIST, &t, NULL, &g, err) < 0)
		return -1;
	return dp_ops_end(&g, list_json(o, a, out, err), err);
}

/* --- diff ----------------------------------------------------------------- */

static int diff_core(dp_ops *o, const char *name, dp_diff_result *res, dp_error **err)
{
	dp_sandbox sb;
	int r;

	if (dp_sandbox_get(o->store, name, &sb, err) < 0)
		return -1;
	r = dp_sandbox_diff(o->store, &sb, &res->files, &res->n_files, err);
	if (r == 0)
		r = dp_pgschema_sandbox(o->store, sb.name, sb.snapshot, &res->dbs, &res->n_dbs, err);
	dp_sandbox_clear(&sb);
	if (r < 0)
		dp_diff_result_clear(res);
	return r;
}

int dp_ops_diff_result(dp_ops *o, const dp_actor *a, const char *name, dp_diff_result *res, dp_error **err)
{
	dp_ops_guard g;

	memset(res, 0, sizeof(*res));
	if (dp_ops_begin(o, a, DP_ACT_DIFF, name, NULL, &g, err) < 0)
		return -1;
	return dp_ops_end(&g, diff_core(o, name, res, err), err);
}

void dp_diff_result_clear(dp_diff_result *res)
{
	dp_diff_free(res->files, res->n_files);
	dp_pgschema_reports_free(res->dbs, res->n_dbs);
	memset(res, 0, sizeof(*res));
}

/* [{database, schema: [change]}] for the reports, each change worded by words. */
static json_t *schema_json(const dp_pgschema_report *v, size_t n, const char *const words[3], json_t *into)
{
	for (size_t d = 0; d < n; d++) {
		json_t *ch = json_array();
		for (size_t i = 0; i < v[d].n; i++)
			json_array_append_new(ch, dp_pgschema_change_json(&v[d].v[i], words));
		json_array_append_new(into, json_pack("{ss so}", "database", v[d].db, "schema", ch));
	}
	return into;
}

json_t *dp_ops_diff_json(const dp_diff_result *res)
{
	static const char *const words[] = { ['A'] = "added", ['M'] = "modified", ['D'] = "deleted",
					     ['R'] = "replaced" };
	static const char *const schema_words[3] = { "added", "modified", "deleted" };
	json_t *arr = json_array();

	for (size_t i = 0; i < res->n_files; i++)
		json_array_append_new(arr, json_pack("{ss ss}", "path", res->files[i].path, "change",
						     words[(unsigned char)res->files[i].kind]));
	/* after the files: one entry per PostgreSQL database */
	return schema_json(res->dbs, res->n_dbs, schema_words, arr);
}

int dp_ops_diff(dp_ops *o, const dp_actor *a, const char *name, json_t **out, dp_error **err)
{
	dp_diff_result res;

	*out = NULL;
	if (dp_ops_diff_result(o, a, name, &res, err) < 0)
		return -1;
	*out = dp_ops_diff_json(&res);
	dp_diff_result_clear(&res);
	return 0;
}

/* --- drift ---------------------------------------------------------------- */

static int drift_core(dp_ops *o, const char *name, dp_drift_result *res, dp_error **err)
{
	sqlite3_stmt *q = NULL;
	dp_sandbox sb;

	if (dp_sandbox_get(o->store, name, &sb, err) < 0)
		return -1;
	res->snapshot = sb.snapshot;
	dp_sandbox_clear(&sb);
	if (dp_store_prepare(o->store, "SELECT created FROM snapshots WHERE id = ?1", &q, err) < 0)
		return -1;
	sqlite3_bind_int64(q, 1, res->snapshot);
	if (sqlite3_step(q) == SQLITE_ROW)
		res->created = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	res->age_seconds = (int64_t)time(NULL) - res->created;
	if (dp_drift_production(o->store, o->spec, res->snapshot, &res->files, &res->n_files, err) < 0 ||
	    dp_pgschema_drift(o->store, o->spec, res->snapshot, &res->dbs, &res->n_dbs, err) < 0) {
		dp_drift_result_clear(res);
		return -1;
	}
	return 0;
}

int dp_ops_drift_result(dp_ops *o, const dp_actor *a, const char *name, dp_drift_result *res, dp_error **err)
{
	dp_ops_guard g;

	memset(res, 0, sizeof(*res));
	if (dp_ops_begin(o, a, DP_ACT_DRIFT, name, NULL, &g, err) < 0)
		return -1;
	return dp_ops_end(&g, drift_core(o, name, res, err), err);
}

void dp_drift_result_clear(dp_drift_result *res)
{
	dp_drift_free(res->files, res->n_files);
	dp_pgschema_reports_free(res->dbs, res->n_dbs);
	memset(res, 0, sizeof(*res));
}

json_t *dp_ops_drift_json(const dp_drift_result *res)
{
	static const char *const words[] = { ['A'] = "added", ['M'] = "modified", ['D'] = "removed" };
	static const char *const schema_words[3] = { "added", "modified", "removed" };
	json_t *arr = json_array();

	for (size_t i = 0; i < res->n_files; i++)
		json_array_append_new(arr, json_pack("{ss ss}", "path", res->files[i].path, "change",
						     words[(unsigned char)res->files[i].kind]));
	return json_pack("{sI sI so so}", "snapshot", (json_int_t)res->snapshot, "age_seconds",
			 (json_int_t)res->age_seconds, "changes", arr, "schema",
			 schema_json(res->dbs, res->n_dbs, schema_words, json_array()));
}

int dp_ops_drift(dp_ops *o, const dp_actor *a, const char *name, json_t **out, dp_error **err)
{
	dp_drift_result res;

	*out = NULL;
	if (dp_ops_drift_result(o, a, name, &res, err) < 0)
		return -1;
	*out = dp_ops_drift_json(&res);
	dp_drift_result_clear(&res);
	return 0;
}
