/* `doppel destroy NAME [--force]`: remove a sandbox and its layers. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "sandbox/sandbox.h"

int cmd_destroy(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *name = NULL;
	bool force = false;
	dp_cli cli;
	int r;

	for (int i = 1; i < argc; i++) {
		if (dp_opt_is(argv[i], "--force")) {
			force = true;
		} else if (dp_opt_is(argv[i], "--config")) {
			if (dp_opt_value(argc, argv, &i, &config, err) < 0)
				return -1;
		} else if (argv[i][0] == '-' || name) {
			return dp_usage(err, "destroy: unexpected argument '%s'; expected NAME [--force]", argv[i]);
		} else {
			name = argv[i];
		}
	}
	if (name == NULL)
		return dp_usage(err, "destroy: expected a sandbox NAME");
	if (dp_cli_open(config, &cli, err) < 0)
		return -1;
	r = dp_sandbox_destroy(cli.store, name, force, err);
	if (r == 0)
		printf("destroyed sandbox %s\n", name);
	dp_cli_close(&cli);
	return r < 0 ? -1 : 0;
}
