/* `doppel checkpoint NAME LABEL`: freeze a sandbox's current state. */
#include <jansson.h>
#include <stdio.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/remote.h"

int cmd_checkpoint(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *pos[2] = { NULL, NULL };
	dp_remote *rem = NULL;
	dp_cli cli;
	int r;

	if (dp_cli_parse(argc, argv, NULL, &config, pos, 2, 2, "a sandbox NAME and a LABEL", err) < 0 ||
	    dp_cli_remote(&rem, err) < 0)
		return -1;
	if (rem) {
		char path[128];
		json_t *body = json_pack("{ss}", "label", pos[1]);
		if (dp_check_name("sandbox name", pos[0], err) < 0) {
			r = -1;
		} else {
			snprintf(path, sizeof(path), "/v1/sandboxes/%s/checkpoints", pos[0]);
			r = dp_remote_call(rem, "POST", path, body, NULL, err);
		}
		json_decref(body);
		dp_remote_close(rem);
		if (r == 0)
			printf("sandbox %s: checkpoint %s\n", pos[0], pos[1]);
		return r;
	}
	if (dp_cli_open(config, &cli, err) < 0)
		return -1;
	r = dp_ops_checkpoint(&cli.ops, &cli.actor, pos[0], pos[1], err);
	if (r == 0)
		printf("sandbox %s: checkpoint %s\n", pos[0], pos[1]);
	dp_cli_close(&cli);
	return r < 0 ? -1 : 0;
}
