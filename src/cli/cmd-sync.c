/* `doppel sync [--verify] [--json]`: take a new snapshot of production. */
#include <jansson.h>
#include <stdio.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "snapshot/snapshot.h"

int cmd_sync(int argc, char **argv, dp_error **err)
{
	const char *config = NULL;
	dp_sync_opts opts = { .progress = true };
	dp_sync_result res;
	bool json = false;
	dp_cli cli;
	int r;

	const dp_cli_opt table[] = { { "--verify", &opts.verify, NULL }, { "--json", &json, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, table, &config, NULL, 0, 0, "[--verify] [--json]", err) < 0)
		return -1;
	if (json)
		opts.progress = false;
	if (dp_cli_open_production(config, &cli, err) < 0)
		return -1;
	r = dp_ops_sync(&cli.ops, &cli.actor, &opts, &res, err);
	if (r == 0 && json) {
		dp_print_json(dp_ops_sync_json(&res));
	} else if (r == 0) {
		printf("snapshot %lld: %llu files, %llu dirs, %llu bytes (%llu copied, %llu unchanged and shared) in %.2fs\n",
		       (long long)res.id, (unsigned long long)res.files, (unsigned long long)res.dirs,
		       (unsigned long long)res.bytes, (unsigned long long)res.copied, (unsigned long long)res.linked,
		       res.seconds);
		if (res.databases)
			printf("%llu database%s copied consistently: %llu rows, %llu masked column%s\n",
			       (unsigned long long)res.databases, res.databases == 1 ? "" : "s",
			       (unsigned long long)res.db_rows, (unsigned long long)res.db_masked_columns,
			       res.db_masked_columns == 1 ? "" : "s");
		if (res.subsets)
			printf("%llu subset%s for partial-copy tiers (subset: in %s)\n", (unsigned long long)res.subsets,
			       res.subsets == 1 ? "" : "s", cli.spec->file);
		if (res.pruned)
			printf("pruned %llu old snapshot%s (sync.keep = %u)\n", (unsigned long long)res.pruned,
			       res.pruned == 1 ? "" : "s", cli.spec->sync_keep);
	}
	dp_cli_close(&cli);
	return r < 0 ? -1 : 0;
}
