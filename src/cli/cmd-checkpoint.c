/* `doppel checkpoint NAME LABEL`: freeze a sandbox's current state. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "sandbox/sandbox.h"

int cmd_checkpoint(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *pos[2] = { NULL, NULL };
	int npos = 0, r;
	dp_cli cli;

	for (int i = 1; i < argc; i++) {
		if (dp_opt_is(argv[i], "--config")) {
			if (dp_opt_value(argc, argv, &i, &config, err) < 0)
				return -1;
		} else if (argv[i][0] == '-' || npos == 2) {
			return dp_usage(err, "checkpoint: unexpected argument '%s'; expected NAME LABEL", argv[i]);
		} else {
			pos[npos++] = argv[i];
		}
	}
	if (npos != 2)
		return dp_usage(err, "checkpoint: expected NAME LABEL");
	if (dp_cli_open(config, &cli, err) < 0)
		return -1;
	r = dp_sandbox_checkpoint(cli.store, pos[0], pos[1], err);
	if (r == 0)
		printf("sandbox %s: checkpoint %s\n", pos[0], pos[1]);
	dp_cli_close(&cli);
	return r < 0 ? -1 : 0;
}
