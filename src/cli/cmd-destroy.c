/* `doppel destroy NAME [--force]`: remove a sandbox and its layers. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/context.h"

int cmd_destroy(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *name = NULL;
	bool force = false;
	dp_cli cli;
	int r;

	const dp_cli_opt opts[] = { { "--force", &force, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, &name, 1, 1, "a sandbox NAME [--force]", err) < 0)
		return -1;
	if (dp_cli_open(config, &cli, err) < 0)
		return -1;
	r = dp_ops_destroy(&cli.ops, &cli.actor, name, force, err);
	if (r == 0)
		printf("destroyed sandbox %s\n", name);
	dp_cli_close(&cli);
	return r < 0 ? -1 : 0;
}
