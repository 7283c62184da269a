/* `doppel synth NAME DB.TABLE --rows N [--seed S]`: fill a table of a
 * sandbox's copy of a production database with generated rows that keep
 * the table's types, NOT NULL, UNIQUE and foreign keys (ops/ops-data.c
 * copies the database up into the sandbox's own layer under its run lock;
 * src/data/synth.c makes the rows). Without --seed a random seed is used;
 * the output names it, so the same rows can be made again. Local or through
 * doppeld (POST /v1/sandboxes/NAME/synth), the text is printed from the
 * same JSON. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/remote.h"
#include "data/synth.h"
#include "util/parse.h"

#define USAGE "a sandbox NAME, DB.TABLE and --rows N [--seed S]"

int cmd_synth(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *pos[2] = { NULL, NULL }, *rows_s = NULL, *seed_s = NULL;
	const dp_cli_opt opts[] = { { "--rows", NULL, &rows_s }, { "--seed", NULL, &seed_s }, { NULL, NULL, NULL } };
	uint64_t rows = 0, seed = 0;
	dp_remote *rem = NULL;
	json_t *j = NULL;
	int r;

	if (dp_cli_parse(argc, argv, opts, &config, pos, 2, 2, USAGE, err) < 0)
		return -1;
	if (rows_s == NULL)
		return dp_usage(err, "synth: expected --rows N (1 to %d); usage: %s", DP_SYNTH_MAX_ROWS, USAGE);
	if (dp_parse_uint("--rows", rows_s, 1, DP_SYNTH_MAX_ROWS, &rows, err) < 0 ||
	    (seed_s && dp_parse_uint("--seed", seed_s, 0, UINT64_MAX, &seed, err) < 0) ||
	    dp_check_name("sandbox name", pos[0], err) < 0 || dp_cli_remote(&rem, err) < 0)
		return -1;
	if (rem) {
		char path[128];
		json_t *body = json_pack("{s:s, s:I}", "table", pos[1], "rows", (json_int_t)rows);
		/* a seed over 2^63 does not fit the API's JSON integer */
		if (body && seed_s && seed > INT64_MAX) {
			json_decref(body);
			dp_remote_close(rem);
			return dp_usage(err, "--seed: at most %" PRId64 " through doppeld", INT64_MAX);
		}
		if (body && seed_s)
			json_object_set_new(body, "seed", json_integer((json_int_t)seed));
		snprintf(path, sizeof(path), "/v1/sandboxes/%s/synth", pos[0]);
		r = body ? dp_remote_call(rem, "POST", path, body, &j, err) : dp_fail(err, ENOMEM, "synth");
		json_decref(body);
		dp_remote_close(rem);
	} else {
		dp_cli cli;
		if (dp_cli_open(config, &cli, err) < 0)
			return -1;
		r = dp_ops_synth(&cli.ops, &cli.actor, pos[0], pos[1], rows, seed_s ? &seed : NULL, &j, err);
		dp_cli_close(&cli);
	}
	if (r < 0)
		return -1;
	rows = (uint64_t)json_integer_value(json_object_get(j, "rows"));
	printf("sandbox %s: added %" PRIu64 " row%s to %s (seed %" PRIu64 ")\n", pos[0], rows, rows == 1 ? "" : "s",
	       pos[1], (uint64_t)json_integer_value(json_object_get(j, "seed")));
	json_decref(j);
	return 0;
}
