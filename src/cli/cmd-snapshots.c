/* `doppel snapshots [--json]`: list snapshots with their age; those older
 * than sync.every are marked stale. */
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/remote.h"

static void age(char *buf, size_t n, int64_t secs)
{
	if (secs < 120)
		snprintf(buf, n, "%llds", (long long)secs);
	else if (secs < 7200)
		snprintf(buf, n, "%lldm", (long long)secs / 60);
	else if (secs < 172800)
		snprintf(buf, n, "%lldh", (long long)secs / 3600);
	else
		snprintf(buf, n, "%lldd", (long long)secs / 86400);
}

static long long num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

int cmd_snapshots(int argc, char **argv, dp_error **err)
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
		r = dp_remote_call(rem, "GET", "/v1/snapshots", NULL, &arr, err);
		dp_remote_close(rem);
		if (r == 0 && !json_is_array(arr)) {
			json_decref(arr);
			return dp_fail(err, 0, "snapshots: the daemon's answer is not a list");
		}
	} else {
		if (dp_cli_open(config, &cli, err) < 0)
			return -1;
		r = dp_ops_snapshots(&cli.ops, &cli.actor, &arr, err);
		dp_cli_close(&cli);
	}
	if (r < 0)
		return -1;
	if (json) {
		dp_print_json(arr);
		return 0;
	}
	printf("%-8s %-8s %10s %14s %9s %s\n", "ID", "AGE", "FILES", "BYTES", "SANDBOXES", "");
	json_array_foreach(arr, i, s) {
		char a[32];
		age(a, sizeof(a), now - num(s, "created"));
		printf("%-8lld %-8s %10lld %14lld %9lld %s\n", num(s, "id"), a, num(s, "files"), num(s, "bytes"),
		       num(s, "sandboxes"), json_is_true(json_object_get(s, "stale")) ? "stale: older than sync.every" : "");
	}
	json_decref(arr);
	return 0;
}
