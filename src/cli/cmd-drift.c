/* `doppel drift NAME [--json]`: what production changed since the sandbox's
 * snapshot (files, then the schema of each PostgreSQL database against the
 * snapshot's template: data/pgschema.h), and how old that snapshot is.
 * Reads production, writes nothing. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "data/pgschema.h"
#include "snapshot/drift.h"

int cmd_drift(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *name = NULL;
	bool json = false;
	dp_drift_result res;
	dp_cli cli;
	int r;

	const dp_cli_opt opts[] = { { "--json", &json, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, &name, 1, 1, "a sandbox NAME [--json]", err) < 0)
		return -1;
	if (dp_check_name("sandbox name", name, err) < 0 || dp_cli_open_production(config, &cli, err) < 0)
		return -1;
	r = dp_ops_drift_result(&cli.ops, &cli.actor, name, &res, err);
	if (r == 0 && json) {
		dp_print_json(dp_ops_drift_json(&res));
	} else if (r == 0) {
		size_t n = res.n_files;
		printf("sandbox %s is on snapshot %lld, taken %llds ago; production changed %zu path%s since:\n", name,
		       (long long)res.snapshot, (long long)res.age_seconds, n, n == 1 ? "" : "s");
		for (size_t i = 0; i < n; i++)
			printf("%c %s\n", res.files[i].kind, res.files[i].path);
		for (size_t d = 0; d < res.n_dbs; d++) {
			const dp_pgschema_report *db = &res.dbs[d];
			printf("database %s: %zu schema change%s since:\n", db->db, db->n, db->n == 1 ? "" : "s");
			for (size_t i = 0; i < db->n; i++) {
				char *line = dp_pgschema_line(db->db, &db->v[i]);
				printf("%s\n", line);
				free(line);
			}
		}
	}
	if (r == 0)
		dp_drift_result_clear(&res);
	dp_cli_close(&cli);
	return r < 0 ? -1 : 0;
}
