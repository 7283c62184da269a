/* `doppel rebase NAME [--keep-changes] [--force]`: move a sandbox to the
 * newest snapshot; with --keep-changes its own changes come along and paths
 * changed on both sides are reported as conflicts (exit 1 when there are). */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/context.h"

int cmd_rebase(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *name = NULL;
	bool keep = false, force = false;
	dp_rebase_result res = { 0 };
	size_t n;
	dp_cli cli;
	int r;

	const dp_cli_opt opts[] = { { "--keep-changes", &keep, NULL }, { "--force", &force, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, &name, 1, 1, "a sandbox NAME [--keep-changes] [--force]", err) < 0)
		return -1;
	if (dp_cli_open(config, &cli, err) < 0)
		return -1;
	r = dp_ops_rebase(&cli.ops, &cli.actor, name, keep, force, &res, err);
	if (r == 0) {
		if (res.from == res.to)
			printf("sandbox %s is already on the newest snapshot (%lld)\n", name, (long long)res.to);
		else
			printf("sandbox %s: moved from snapshot %lld to %lld%s\n", name, (long long)res.from,
			       (long long)res.to, keep ? ", keeping its changes" : ", starting fresh");
		for (size_t i = 0; i < res.n_conflicts; i++)
			printf("conflict: %s changed in production and in the sandbox; the sandbox's version is kept\n",
			       res.conflicts[i]);
	}
	n = res.n_conflicts;
	dp_rebase_result_clear(&res);
	dp_cli_close(&cli);
	if (r < 0)
		return -1;
	return n ? 1 : 0;
}
