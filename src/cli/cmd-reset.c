/* `doppel reset NAME [--to LABEL] [--force]`: back to the snapshot or a
 * checkpoint, in constant time. */
#include <jansson.h>
#include <stdio.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/remote.h"

int cmd_reset(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *name = NULL, *label = NULL;
	bool force = false;
	dp_remote *rem = NULL;
	dp_cli cli;
	int r;

	const dp_cli_opt opts[] = { { "--to", NULL, &label }, { "--force", &force, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, &name, 1, 1, "a sandbox NAME [--to LABEL] [--force]", err) < 0)
		return -1;
	if (dp_cli_remote(&rem, err) < 0)
		return -1;
	if (rem) {
		char path[128];
		json_t *body = json_pack("{sb}", "force", force);
		if (label)
			json_object_set_new(body, "to", json_string(label));
		if (dp_check_name("sandbox name", name, err) < 0) {
			r = -1;
		} else {
			snprintf(path, sizeof(path), "/v1/sandboxes/%s/reset", name);
			r = dp_remote_call(rem, "POST", path, body, NULL, err);
		}
		json_decref(body);
		dp_remote_close(rem);
	} else {
		if (dp_cli_open(config, &cli, err) < 0)
			return -1;
		r = dp_ops_reset(&cli.ops, &cli.actor, name, label, force, err);
		dp_cli_close(&cli);
	}
	if (r == 0)
		printf("sandbox %s: reset to %s%s\n", name, label ? "checkpoint " : "its snapshot", label ? label : "");
	return r < 0 ? -1 : 0;
}
