/* `doppel check [--dry-run]`: verify the store and repair what is safe,
 * inside the ops frame (policy check and audit record; the "check" action). */
#include <jansson.h>
#include <stdio.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "sandbox/pgsandbox.h"
#include "store/check.h"

int cmd_check(int argc, char **argv, dp_error **err)
{
	const char *config = NULL;
	bool dry_run = false, repair;
	const dp_cli_opt opts[] = { { "--dry-run", &dry_run, NULL }, { NULL, NULL, NULL } };
	dp_check_report rep;
	dp_ops_guard g;
	dp_cli cli;
	int r;

	if (dp_cli_parse(argc, argv, opts, &config, NULL, 0, 0, "[--dry-run]", err) < 0)
		return -1;
	repair = !dry_run;
	if (dp_cli_open(config, &cli, err) < 0)
		return -1;
	if (dp_ops_begin(&cli.ops, &cli.actor, DP_ACT_CHECK, NULL, json_pack("{s:b}", "dry_run", dry_run), &g, err) < 0) {
		dp_cli_close(&cli);
		return -1;
	}
	r = dp_store_check(cli.store, repair, &rep, err);
	/* the sandbox PostgreSQL cluster's databases and roles */
	if (r == 0)
		r = dp_pgsb_check(cli.store, repair, &rep, err);
	if (r == 0)
		printf("store %s: %s (%zu repaired, %zu problem%s)\n", cli.store->root,
		       rep.problems ? "INCONSISTENT" : "consistent", rep.repaired, rep.problems,
		       rep.problems == 1 ? "" : "s");
	r = dp_ops_end(&g, r, err);
	dp_cli_close(&cli);
	if (r < 0)
		return -1;
	return rep.problems ? 1 : 0;
}
