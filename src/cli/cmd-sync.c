/* `doppel sync [--verify] [--json]`: take a new snapshot of production. */
#include <jansson.h>
#include <stdio.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/remote.h"
#include "snapshot/snapshot.h"

/* The summary, from the JSON both modes have; the hints name doppel.yaml's
 * settings when it was read here (local mode). */
static void print_summary(json_t *j, const dp_spec *spec)
{
#define U(k) ((unsigned long long)json_integer_value(json_object_get(j, k)))
	unsigned long long dbs = U("databases"), masked = U("masked_columns"), subsets = U("subsets"),
			   pruned = U("pruned");

	printf("snapshot %llu: %llu files, %llu dirs, %llu bytes (%llu copied, %llu unchanged and shared) in %.2fs\n",
	       U("snapshot"), U("files"), U("dirs"), U("bytes"), U("copied"), U("linked"),
	       json_number_value(json_object_get(j, "seconds")));
	if (dbs)
		printf("%llu database%s copied consistently: %llu rows, %llu masked column%s\n", dbs, dbs == 1 ? "" : "s",
		       U("database_rows"), masked, masked == 1 ? "" : "s");
	if (subsets && spec)
		printf("%llu subset%s for partial-copy tiers (subset: in %s)\n", subsets, subsets == 1 ? "" : "s",
		       spec->file);
	else if (subsets)
		printf("%llu subset%s for partial-copy tiers\n", subsets, subsets == 1 ? "" : "s");
	if (pruned && spec)
		printf("pruned %llu old snapshot%s (sync.keep = %u)\n", pruned, pruned == 1 ? "" : "s", spec->sync_keep);
	else if (pruned)
		printf("pruned %llu old snapshot%s\n", pruned, pruned == 1 ? "" : "s");
#undef U
}

int cmd_sync(int argc, char **argv, dp_error **err)
{
	const char *config = NULL;
	dp_sync_opts opts = { .progress = true };
	dp_sync_result res;
	bool json = false;
	dp_remote *rem = NULL;
	json_t *j = NULL;
	dp_cli cli = { 0 };
	int r;

	const dp_cli_opt table[] = { { "--verify", &opts.verify, NULL }, { "--json", &json, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, table, &config, NULL, 0, 0, "[--verify] [--json] [--host HOST]", err) < 0 ||
	    dp_cli_remote(&rem, err) < 0)
		return -1;
	if (json)
		opts.progress = false;
	if (rem) {
		json_t *body = json_pack("{sb}", "verify", opts.verify);
		r = dp_remote_call(rem, "POST", "/v1/sync", body, &j, err);
		json_decref(body);
		dp_remote_close(rem);
	} else {
		if (dp_cli_open_production(config, &cli, err) < 0)
			return -1;
		r = dp_ops_sync(&cli.ops, &cli.actor, &opts, &res, err);
		if (r == 0)
			j = dp_ops_sync_json(&res);
	}
	if (r == 0 && !json_is_object(j))
		r = dp_fail(err, 0, "sync: no summary came back");
	if (r == 0 && json)
		dp_print_json(json_incref(j));
	else if (r == 0)
		print_summary(j, cli.spec);
	json_decref(j);
	dp_cli_close(&cli);
	return r < 0 ? -1 : 0;
}
