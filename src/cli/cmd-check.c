/* `doppel check [--dry-run]`: verify the store and repair what is safe. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "store/check.h"

int cmd_check(int argc, char **argv, dp_error **err)
{
	const char *config = NULL;
	bool repair = true;
	dp_check_report rep;
	dp_cli cli;
	int r;

	for (int i = 1; i < argc; i++) {
		if (dp_opt_is(argv[i], "--dry-run"))
			repair = false;
		else if (dp_opt_is(argv[i], "--config")) {
			if (dp_opt_value(argc, argv, &i, &config, err) < 0)
				return -1;
		} else
			return dp_usage(err, "check: unknown argument '%s'; expected --dry-run, --config FILE", argv[i]);
	}
	if (dp_cli_open(config, &cli, err) < 0)
		return -1;
	r = dp_store_check(cli.store, repair, &rep, err);
	if (r == 0)
		printf("store %s: %s (%zu repaired, %zu problem%s)\n", cli.store->root,
		       rep.problems ? "INCONSISTENT" : "consistent", rep.repaired, rep.problems,
		       rep.problems == 1 ? "" : "s");
	dp_cli_close(&cli);
	if (r < 0)
		return -1;
	return rep.problems ? 1 : 0;
}
