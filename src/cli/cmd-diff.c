/* `doppel diff NAME [--json]`: files the sandbox added, modified, deleted,
 * then the schema changes of each of its PostgreSQL databases against its
 * snapshot's template (data/pgschema.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "data/pgschema.h"
#include "sandbox/diff.h"

int cmd_diff(int argc, char **argv, dp_error **err)
{
	static const char *const schema_words[3] = { "added", "modified", "deleted" };
	const char *config = NULL, *name = NULL;
	bool json = false;
	dp_diff_entry *v = NULL;
	size_t n = 0;
	dp_pgschema_report *sv = NULL;
	size_t sn = 0;
	dp_sandbox sb;
	dp_cli cli;
	int r;

	const dp_cli_opt opts[] = { { "--json", &json, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, &name, 1, 1, "a sandbox NAME [--json]", err) < 0)
		return -1;
	if (dp_check_name("sandbox name", name, err) < 0 || dp_cli_open(config, &cli, err) < 0)
		return -1;
	r = dp_sandbox_get(cli.store, name, &sb, err);
	if (r == 0) {
		r = dp_sandbox_diff(cli.store, &sb, &v, &n, err);
		if (r == 0 && (r = dp_pgschema_sandbox(cli.store, sb.name, sb.snapshot, &sv, &sn, err)) < 0)
			dp_diff_free(v, n);
		dp_sandbox_clear(&sb);
	}
	if (r == 0) {
		static const char *const words[] = { ['A'] = "added", ['M'] = "modified", ['D'] = "deleted",
						     ['R'] = "replaced" };
		json_t *arr = json ? json_array() : NULL;
		for (size_t i = 0; i < n; i++) {
			if (json)
				json_array_append_new(arr, json_pack("{ss ss}", "path", v[i].path, "change",
								     words[(unsigned char)v[i].kind]));
			else
				printf("%c %s\n", v[i].kind, v[i].path);
		}
		/* after the files: one entry per PostgreSQL database */
		for (size_t d = 0; d < sn; d++) {
			json_t *sch = json ? json_array() : NULL;
			for (size_t i = 0; i < sv[d].n; i++) {
				if (json) {
					json_array_append_new(sch, dp_pgschema_change_json(&sv[d].v[i], schema_words));
				} else {
					char *line = dp_pgschema_line(sv[d].db, &sv[d].v[i]);
					printf("%s\n", line);
					free(line);
				}
			}
			if (json)
				json_array_append_new(arr, json_pack("{ss so}", "database", sv[d].db, "schema", sch));
		}
		if (json)
			dp_print_json(arr);
		dp_diff_free(v, n);
		dp_pgschema_reports_free(sv, sn);
	}
	dp_cli_close(&cli);
	return r < 0 ? -1 : 0;
}
