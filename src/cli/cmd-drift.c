/* `doppel drift NAME [--json]`: what production changed since the sandbox's
 * snapshot (files, then the schema of each PostgreSQL database against the
 * snapshot's template: data/pgschema.h), and how old that snapshot is.
 * Reads production, writes nothing. Local or through doppeld, the text is
 * printed from the same JSON (ops/ops.h: dp_ops_drift_json). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/remote.h"

int cmd_drift(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *name = NULL;
	bool json = false;
	dp_remote *rem = NULL;
	json_t *j = NULL, *files, *e, *c;
	size_t i, k, n;
	int r;

	const dp_cli_opt opts[] = { { "--json", &json, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, &name, 1, 1, "a sandbox NAME [--json] [--host HOST]", err) < 0)
		return -1;
	if (dp_check_name("sandbox name", name, err) < 0 || dp_cli_remote(&rem, err) < 0)
		return -1;
	if (rem) {
		char path[128];
		snprintf(path, sizeof(path), "/v1/sandboxes/%s/drift", name);
		r = dp_remote_call(rem, "GET", path, NULL, &j, err);
		dp_remote_close(rem);
	} else {
		dp_drift_result res;
		dp_cli cli;
		if (dp_cli_open_production(config, &cli, err) < 0)
			return -1;
		r = dp_ops_drift_result(&cli.ops, &cli.actor, name, &res, err);
		if (r == 0) {
			j = dp_ops_drift_json(&res);
			dp_drift_result_clear(&res);
		}
		dp_cli_close(&cli);
	}
	if (r < 0)
		return -1;
	files = json_object_get(j, "changes");
	if (!json_is_array(files)) {
		json_decref(j);
		return dp_fail(err, 0, "drift %s: no list of changes came back", name);
	}
	if (json) {
		dp_print_json(j);
		return 0;
	}
	n = json_array_size(files);
	printf("sandbox %s is on snapshot %lld, taken %llds ago; production changed %zu path%s since:\n", name,
	       (long long)json_integer_value(json_object_get(j, "snapshot")),
	       (long long)json_integer_value(json_object_get(j, "age_seconds")), n, n == 1 ? "" : "s");
	json_array_foreach(files, i, e)
		dp_print_change(NULL, e);
	json_array_foreach(json_object_get(j, "schema"), i, e) {
		const char *db = json_string_value(json_object_get(e, "database"));
		json_t *sch = json_object_get(e, "schema");
		size_t m = json_array_size(sch);
		printf("database %s: %zu schema change%s since:\n", db ? db : "?", m, m == 1 ? "" : "s");
		json_array_foreach(sch, k, c)
			dp_print_change(db ? db : "?", c);
	}
	json_decref(j);
	return 0;
}
