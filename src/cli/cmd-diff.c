/* `doppel diff NAME [--json]`: files the sandbox added, modified, deleted,
 * then the schema changes of each of its PostgreSQL databases against its
 * snapshot's template (data/pgschema.h). */
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "data/pgschema.h"
#include "sandbox/diff.h"

int cmd_diff(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *name = NULL;
	bool json = false;
	dp_diff_result res;
	dp_cli cli;
	int r;

	const dp_cli_opt opts[] = { { "--json", &json, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, &name, 1, 1, "a sandbox NAME [--json]", err) < 0)
		return -1;
	if (dp_check_name("sandbox name", name, err) < 0 || dp_cli_open(config, &cli, err) < 0)
		return -1;
	r = dp_ops_diff_result(&cli.ops, &cli.actor, name, &res, err);
	if (r == 0 && json) {
		dp_print_json(dp_ops_diff_json(&res));
	} else if (r == 0) {
		for (size_t i = 0; i < res.n_files; i++)
			printf("%c %s\n", res.files[i].kind, res.files[i].path);
		/* after the files: each PostgreSQL database's schema changes */
		for (size_t d = 0; d < res.n_dbs; d++)
			for (size_t i = 0; i < res.dbs[d].n; i++) {
				char *line = dp_pgschema_line(res.dbs[d].db, &res.dbs[d].v[i]);
				printf("%s\n", line);
				free(line);
			}
	}
	if (r == 0)
		dp_diff_result_clear(&res);
	dp_cli_close(&cli);
	return r < 0 ? -1 : 0;
}
