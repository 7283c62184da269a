/* `doppel scan NAME [--json] [--min-length N]`: prove that no value of a
 * masked production column is inside a sandbox (ops/ops-data.c does the
 * search: every value of every masked column, in every byte of every layer
 * of the sandbox). Leaks are reported by file, offset and column, never the
 * value itself. Exit 1 when anything is found. Local or through doppeld
 * (POST /v1/sandboxes/NAME/scan), the text is printed from the same JSON. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/remote.h"
#include "util/parse.h"

static void print_text(const char *name, json_t *j, uint64_t min_len)
{
	json_t *leaks = json_object_get(j, "leaks"), *l;
	size_t n = json_array_size(leaks), cols = json_array_size(json_object_get(j, "columns")), i;
	unsigned long long short_skipped = (unsigned long long)json_integer_value(json_object_get(j, "values_too_short"));
	unsigned long long unreadable = (unsigned long long)json_integer_value(json_object_get(j, "unreadable"));

	json_array_foreach(leaks, i, l)
		printf("LEAK  %s  offset %llu  value of %s  (layer %s)\n", json_string_value(json_object_get(l, "file")),
		       (unsigned long long)json_integer_value(json_object_get(l, "offset")),
		       json_string_value(json_object_get(l, "column")), json_string_value(json_object_get(l, "layer")));
	printf("%s: %zu leak%s; searched %llu values of %zu masked column%s in %llu files (%llu bytes)", name, n,
	       n == 1 ? "" : "s", (unsigned long long)json_integer_value(json_object_get(j, "values")), cols,
	       cols == 1 ? "" : "s", (unsigned long long)json_integer_value(json_object_get(j, "files")),
	       (unsigned long long)json_integer_value(json_object_get(j, "bytes")));
	if (short_skipped)
		printf("; %llu values too short to prove anything (under %llu characters, or numbers under 7 "
		       "digits) not searched", short_skipped, (unsigned long long)min_len);
	if (unreadable)
		printf("; %llu entries unreadable", unreadable);
	printf("\n");
}

int cmd_scan(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *name = NULL, *min_s = NULL;
	uint64_t min_len = DP_OPS_SCAN_MIN_LENGTH;
	bool json = false;
	dp_remote *rem = NULL;
	json_t *j = NULL;
	int r;

	const dp_cli_opt opts[] = { { "--json", &json, NULL }, { "--min-length", NULL, &min_s }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, &name, 1, 1, "a sandbox NAME [--json] [--min-length N]", err) < 0)
		return -1;
	if (min_s && dp_parse_uint("--min-length", min_s, 1, DP_OPS_SCAN_MIN_LENGTH_MAX, &min_len, err) < 0)
		return -1;
	if (dp_check_name("sandbox name", name, err) < 0 || dp_cli_remote(&rem, err) < 0)
		return -1;
	if (rem) {
		char path[128];
		json_t *body = json_pack("{s:I}", "min_length", (json_int_t)min_len);
		snprintf(path, sizeof(path), "/v1/sandboxes/%s/scan", name);
		r = body ? dp_remote_call(rem, "POST", path, body, &j, err) : dp_fail(err, ENOMEM, "scan");
		json_decref(body);
		dp_remote_close(rem);
	} else {
		dp_cli cli;
		if (dp_cli_open_production(config, &cli, err) < 0)
			return -1;
		r = dp_ops_scan(&cli.ops, &cli.actor, name, min_len, &j, err);
		dp_cli_close(&cli);
	}
	if (r < 0)
		return -1;
	if (!json_is_array(json_object_get(j, "leaks"))) {
		json_decref(j);
		return dp_fail(err, 0, "scan %s: no list of leaks came back", name);
	}
	r = json_array_size(json_object_get(j, "leaks")) ? 1 : 0;
	if (json) {
		dp_print_json(j);
		return r;
	}
	print_text(name, j, min_len);
	json_decref(j);
	return r;
}
