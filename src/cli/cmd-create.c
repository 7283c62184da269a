/* `doppel create NAME [--tier T] [--from SNAP]`: a new sandbox on a snapshot
 * (the newest by default), in tier dev by default, owned by the caller. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/remote.h"
#include "util/parse.h"

int cmd_create(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *tier = NULL, *name = NULL, *from_s = NULL;
	uint64_t from = 0;
	dp_remote *rem = NULL;
	dp_cli cli;
	int r;

	const dp_cli_opt opts[] = { { "--tier", NULL, &tier }, { "--from", NULL, &from_s }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, &name, 1, 1, "a sandbox NAME [--tier T] [--from SNAP]", err) < 0 ||
	    (from_s && dp_parse_uint("--from", from_s, 1, INT64_MAX, &from, err) < 0))
		return -1;
	if (dp_check_name("sandbox name", name, err) < 0 || dp_cli_remote(&rem, err) < 0)
		return -1;
	if (rem) {
		json_t *body = json_pack("{ss}", "name", name), *j = NULL;
		if (tier)
			json_object_set_new(body, "tier", json_string(tier));
		if (from)
			json_object_set_new(body, "from", json_integer((json_int_t)from));
		r = dp_remote_call(rem, "POST", "/v1/sandboxes", body, &j, err);
		if (r == 0)
			printf("created sandbox %s (tier %s)\n", name, json_string_value(json_object_get(j, "tier")) ?: "?");
		json_decref(body);
		json_decref(j);
		dp_remote_close(rem);
		return r;
	}
	if (dp_cli_open(config, &cli, err) < 0)
		return -1;
	r = dp_ops_create(&cli.ops, &cli.actor, name, tier, (int64_t)from, &tier, err);
	if (r == 0)
		printf("created sandbox %s (tier %s)\n", name, tier);
	dp_cli_close(&cli);
	return r < 0 ? -1 : 0;
}
