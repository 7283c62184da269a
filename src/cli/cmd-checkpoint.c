/* `doppel checkpoint NAME LABEL`: freeze a sandbox's current state. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/context.h"

int cmd_checkpoint(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *pos[2] = { NULL, NULL };
	dp_cli cli;
	int r;

	if (dp_cli_parse(argc, argv, NULL, &config, pos, 2, 2, "a sandbox NAME and a LABEL", err) < 0)
		return -1;
	if (dp_cli_open(config, &cli, err) < 0)
		return -1;
	r = dp_ops_checkpoint(&cli.ops, &cli.actor, pos[0], pos[1], err);
	if (r == 0)
		printf("sandbox %s: checkpoint %s\n", pos[0], pos[1]);
	dp_cli_close(&cli);
	return r < 0 ? -1 : 0;
}
