/* `doppel rebase NAME [--keep-changes] [--force]`: move a sandbox to the
 * newest snapshot; with --keep-changes its own changes come along and paths
 * changed on both sides are reported as conflicts (exit 1 when there are). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <stdio.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/remote.h"

/* The daemon's answer as the result ops gives locally. */
static int remote_rebase(dp_remote *rem, const char *name, bool keep, bool force, dp_rebase_result *res,
			 dp_error **err)
{
	json_t *body = json_pack("{sb sb}", "keep_changes", keep, "force", force), *j = NULL, *c;
	char path[128];
	size_t i;
	int r;

	if (dp_check_name("sandbox name", name, err) < 0) {
		json_decref(body);
		return -1;
	}
	snprintf(path, sizeof(path), "/v1/sandboxes/%s/rebase", name);
	r = dp_remote_call(rem, "POST", path, body, &j, err);
	json_decref(body);
	if (r < 0)
		return -1;
	res->from = json_integer_value(json_object_get(j, "from"));
	res->to = json_integer_value(json_object_get(j, "to"));
	c = json_object_get(j, "conflicts");
	res->conflicts = calloc(json_array_size(c) + 1, sizeof(char *));
	if (res->conflicts == NULL) {
		json_decref(j);
		return dp_fail(err, ENOMEM, "rebase");
	}
	for (i = 0; i < json_array_size(c); i++)
		if ((res->conflicts[res->n_conflicts] = strdup(json_string_value(json_array_get(c, i)) ?: "?")))
			res->n_conflicts++;
	json_decref(j);
	return 0;
}

int cmd_rebase(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *name = NULL;
	bool keep = false, force = false;
	dp_rebase_result res = { 0 };
	size_t n;
	dp_remote *rem = NULL;
	dp_cli cli;
	int r;

	const dp_cli_opt opts[] = { { "--keep-changes", &keep, NULL }, { "--force", &force, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, &name, 1, 1, "a sandbox NAME [--keep-changes] [--force]", err) < 0)
		return -1;
	if (dp_cli_remote(&rem, err) < 0)
		return -1;
	if (rem) {
		r = remote_rebase(rem, name, keep, force, &res, err);
		dp_remote_close(rem);
	} else {
		if (dp_cli_open(config, &cli, err) < 0)
			return -1;
		r = dp_ops_rebase(&cli.ops, &cli.actor, name, keep, force, &res, err);
		dp_cli_close(&cli);
	}
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
	if (r < 0)
		return -1;
	return n ? 1 : 0;
}
