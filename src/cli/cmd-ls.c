/* `doppel ls [--json]`: the sandboxes the caller may list, with tier, owner,
 * snapshot, age, size of their own changes and checkpoints. */
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/remote.h"

static long long num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int cmd_ls(int argc, char **argv, dp_error **err)
{
	const char *config = NULL;
	bool json = false;
	json_t *arr = NULL, *s;
	size_t i;
	dp_remote *rem = NULL;
	dp_cli cli;
	int64_t now = (int64_t)time(NULL);
	int r;

	const dp_cli_opt opts[] = { { "--json", &json, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, NULL, 0, 0, "[--json] [--host HOST]", err) < 0 ||
	    dp_cli_remote(&rem, err) < 0)
		return -1;
	if (rem) {
		r = dp_remote_call(rem, "GET", "/v1/sandboxes", NULL, &arr, err);
		dp_remote_close(rem);
		if (r == 0 && !json_is_array(arr)) {
			json_decref(arr);
			return dp_fail(err, 0, "ls: the daemon's answer is not a list");
		}
	} else {
		if (dp_cli_open(config, &cli, err) < 0)
			return -1;
		r = dp_ops_list(&cli.ops, &cli.actor, &arr, err);
		dp_cli_close(&cli);
	}
	if (r < 0)
		return -1;
	if (json) {
		dp_print_json(arr);
		return 0;
	}
	printf("%-20s %-8s %-10s %8s %8s %12s %s\n", "NAME", "TIER", "OWNER", "SNAPSHOT", "AGE", "CHANGES", "CHECKPOINTS");
	json_array_foreach(arr, i, s)
		printf("%-20s %-8s %-10s %8lld %7llds %12lld %lld\n", str(s, "name"), str(s, "tier"), str(s, "owner"),
		       num(s, "snapshot"), (long long)now - num(s, "created"), num(s, "changes_bytes"),
		       num(s, "checkpoints"));
	json_decref(arr);
	return 0;
}
