/* `doppel diff NAME [--json]`: files the sandbox added, modified, deleted,
 * then the schema changes of each of its PostgreSQL databases against its
 * snapshot's template (data/pgschema.h). Local or through doppeld, the text
 * is printed from the same JSON (ops/ops.h: dp_ops_diff_json). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/remote.h"

int cmd_diff(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *name = NULL;
	bool json = false;
	dp_remote *rem = NULL;
	json_t *j = NULL, *e, *c;
	size_t i, k;
	int r;

	const dp_cli_opt opts[] = { { "--json", &json, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, &name, 1, 1, "a sandbox NAME [--json] [--host HOST]", err) < 0)
		return -1;
	if (dp_check_name("sandbox name", name, err) < 0 || dp_cli_remote(&rem, err) < 0)
		return -1;
	if (rem) {
		char path[128];
		snprintf(path, sizeof(path), "/v1/sandboxes/%s/diff", name);
		r = dp_remote_call(rem, "GET", path, NULL, &j, err);
		dp_remote_close(rem);
	} else {
		dp_diff_result res;
		dp_cli cli;
		if (dp_cli_open(config, &cli, err) < 0)
			return -1;
		r = dp_ops_diff_result(&cli.ops, &cli.actor, name, &res, err);
		if (r == 0) {
			j = dp_ops_diff_json(&res);
			dp_diff_result_clear(&res);
		}
		dp_cli_close(&cli);
	}
	if (r < 0)
		return -1;
	if (!json_is_array(j)) {
		json_decref(j);
		return dp_fail(err, 0, "diff %s: no list of changes came back", name);
	}
	if (json) {
		dp_print_json(j);
		return 0;
	}
	/* the files, then each PostgreSQL database's schema changes */
	json_array_foreach(j, i, e) {
		const char *db = json_string_value(json_object_get(e, "database"));
		if (db == NULL)
			dp_print_change(NULL, e);
		else
			json_array_foreach(json_object_get(e, "schema"), k, c)
				dp_print_change(db, c);
	}
	json_decref(j);
	return 0;
}
