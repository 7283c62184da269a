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

	const dp_cli_opt opts[] = { { "--keep-changes", &keep, NULL }, { "--force", &force, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, &name, 1, 1, "a sandbox NAME [--keep-changes] [--force]", err) < 0)
		return -1;
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
