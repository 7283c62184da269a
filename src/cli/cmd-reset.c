/* `doppel reset NAME [--to LABEL] [--force]`: back to the snapshot or a
 * checkpoint, in constant time. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "sandbox/sandbox.h"

int cmd_reset(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *name = NULL, *label = NULL;
	bool force = false;
	dp_cli cli;
	int r;

	for (int i = 1; i < argc; i++) {
		if (dp_opt_is(argv[i], "--to")) {
			if (dp_opt_value(argc, argv, &i, &label, err) < 0)
				return -1;
		} else if (dp_opt_is(argv[i], "--force")) {
			force = true;
		} else if (dp_opt_is(argv[i], "--config")) {
			if (dp_opt_value(argc, argv, &i, &config, err) < 0)
				return -1;
		} else if (argv[i][0] == '-' || name) {
			return dp_usage(err, "reset: unexpected argument '%s'; expected NAME [--to LABEL] [--force]", argv[i]);
		} else {
			name = argv[i];
		}
	}
	if (name == NULL)
		return dp_usage(err, "reset: expected a sandbox NAME");
	if (dp_cli_open(config, &cli, err) < 0)
		return -1;
	r = dp_sandbox_reset(cli.store, name, label, force, err);
	if (r == 0)
		printf("sandbox %s: reset to %s%s\n", name, label ? "checkpoint " : "its snapshot", label ? label : "");
	dp_cli_close(&cli);
	return r < 0 ? -1 : 0;
}
