/* `doppel reset NAME [--to LABEL] [--force]`: back to the snapshot or a
 * checkpoint, in constant time. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/context.h"

int cmd_reset(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *name = NULL, *label = NULL;
	bool force = false;
	dp_cli cli;
	int r;

	const dp_cli_opt opts[] = { { "--to", NULL, &label }, { "--force", &force, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, &name, 1, 1, "a sandbox NAME [--to LABEL] [--force]", err) < 0)
		return -1;
	if (dp_cli_open(config, &cli, err) < 0)
		return -1;
	r = dp_ops_reset(&cli.ops, &cli.actor, name, label, force, err);
	if (r == 0)
		printf("sandbox %s: reset to %s%s\n", name, label ? "checkpoint " : "its snapshot", label ? label : "");
	dp_cli_close(&cli);
	return r < 0 ? -1 : 0;
}
