/* `doppel rebase NAME [--keep-changes] [--force]`: move a sandbox to the
 * newest snapshot; with --keep-changes its own changes come along and paths
 * changed on both sides are reported as conflicts (exit 1 when there are). */
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "sandbox/sandbox.h"

int cmd_rebase(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *name = NULL;
	bool keep = false, force = false;
	char **conflicts = NULL;
	size_t n = 0;
	int64_t from = 0, to = 0;
	dp_cli cli;
	int r;

	for (int i = 1; i < argc; i++) {
		if (dp_opt_is(argv[i], "--keep-changes"))
			keep = true;
		else if (dp_opt_is(argv[i], "--force"))
			force = true;
		else if (dp_opt_is(argv[i], "--config")) {
			if (dp_opt_value(argc, argv, &i, &config, err) < 0)
				return -1;
		} else if (argv[i][0] == '-' || name)
			return dp_usage(err, "rebase: unexpected argument '%s'; expected NAME [--keep-changes] [--force]", argv[i]);
		else
			name = argv[i];
	}
	if (name == NULL)
		return dp_usage(err, "rebase: expected a sandbox NAME");
	if (dp_cli_open(config, &cli, err) < 0)
		return -1;
	r = dp_sandbox_rebase(cli.store, name, keep, force, &conflicts, &n, &from, &to, err);
	if (r == 0) {
		if (from == to)
			printf("sandbox %s is already on the newest snapshot (%lld)\n", name, (long long)to);
		else
			printf("sandbox %s: moved from snapshot %lld to %lld%s\n", name, (long long)from, (long long)to,
			       keep ? ", keeping its changes" : ", starting fresh");
		for (size_t i = 0; i < n; i++)
			printf("conflict: %s changed in production and in the sandbox; the sandbox's version is kept\n",
			       conflicts[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(conflicts[i]);
	free(conflicts);
	dp_cli_close(&cli);
	if (r < 0)
		return -1;
	return n ? 1 : 0;
}
