/* `doppel drift NAME [--json]`: what production changed since the sandbox's
 * snapshot (files, then the schema of each PostgreSQL database against the
 * snapshot's template: data/pgschema.h), and how old that snapshot is.
 * Reads production, writes nothing. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "data/pgschema.h"
#include "sandbox/sandbox.h"
#include "snapshot/drift.h"

int cmd_drift(int argc, char **argv, dp_error **err)
{
	static const char *const words[] = { ['A'] = "added", ['M'] = "modified", ['D'] = "removed" };
	static const char *const schema_words[3] = { "added", "modified", "removed" };
	dp_pgschema_report *sv = NULL;
	size_t sn = 0;
	const char *config = NULL, *name = NULL;
	bool json = false;
	dp_drift_entry *v = NULL;
	size_t n = 0;
	int64_t created = 0, snap = 0;
	dp_sandbox sb;
	dp_cli cli;
	int r;

	const dp_cli_opt opts[] = { { "--json", &json, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, &name, 1, 1, "a sandbox NAME [--json]", err) < 0)
		return -1;
	if (dp_check_name("sandbox name", name, err) < 0 || dp_cli_open_production(config, &cli, err) < 0)
		return -1;
	r = dp_sandbox_get(cli.store, name, &sb, err);
	if (r == 0) {
		sqlite3_stmt *q = NULL;
		snap = sb.snapshot;
		if (sqlite3_prepare_v2(cli.store->db, "SELECT created FROM snapshots WHERE id = ?1", -1, &q, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(q, 1, snap);
			if (sqlite3_step(q) == SQLITE_ROW)
				created = sqlite3_column_int64(q, 0);
		}
		sqlite3_finalize(q);
		dp_sandbox_clear(&sb);
		r = dp_drift_production(cli.store, cli.spec, snap, &v, &n, err);
		if (r == 0 && (r = dp_pgschema_drift(cli.store, cli.spec, snap, &sv, &sn, err)) < 0)
			dp_drift_free(v, n);
	}
	if (r == 0) {
		int64_t age = (int64_t)time(NULL) - created;
		if (json) {
			json_t *arr = json_array();
			for (size_t i = 0; i < n; i++)
				json_array_append_new(arr, json_pack("{ss ss}", "path", v[i].path, "change",
								     words[(unsigned char)v[i].kind]));
			json_t *schema = json_array();
			for (size_t d = 0; d < sn; d++) {
				json_t *ch = json_array();
				for (size_t i = 0; i < sv[d].n; i++)
					json_array_append_new(ch, dp_pgschema_change_json(&sv[d].v[i], schema_words));
				json_array_append_new(schema, json_pack("{ss so}", "database", sv[d].db, "schema", ch));
			}
			dp_print_json(json_pack("{sI sI so so}", "snapshot", (json_int_t)snap, "age_seconds", (json_int_t)age,
						"changes", arr, "schema", schema));
		} else {
			printf("sandbox %s is on snapshot %lld, taken %llds ago; production changed %zu path%s since:\n", name,
			       (long long)snap, (long long)age, n, n == 1 ? "" : "s");
			for (size_t i = 0; i < n; i++)
				printf("%c %s\n", v[i].kind, v[i].path);
			for (size_t d = 0; d < sn; d++) {
				printf("database %s: %zu schema change%s since:\n", sv[d].db, sv[d].n, sv[d].n == 1 ? "" : "s");
				for (size_t i = 0; i < sv[d].n; i++) {
					char *line = dp_pgschema_line(sv[d].db, &sv[d].v[i]);
					printf("%s\n", line);
					free(line);
				}
			}
		}
		dp_drift_free(v, n);
		dp_pgschema_reports_free(sv, sn);
	}
	dp_cli_close(&cli);
	return r < 0 ? -1 : 0;
}
