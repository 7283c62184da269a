/* `doppel destroy NAME [--force]`: remove a sandbox and its layers. */
#include <jansson.h>
#include <stdio.h>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/remote.h"

int cmd_destroy(int argc, char **argv, dp_error **err)
{
	const char *config = NULL, *name = NULL;
	bool force = false;
	dp_remote *rem = NULL;
	dp_cli cli;
	int r;

	const dp_cli_opt opts[] = { { "--force", &force, NULL }, { NULL, NULL, NULL } };

	if (dp_cli_parse(argc, argv, opts, &config, &name, 1, 1, "a sandbox NAME [--force]", err) < 0)
		return -1;
	if (dp_cli_remote(&rem, err) < 0)
		return -1;
	if (rem) {
		char path[128];
		if (dp_check_name("sandbox name", name, err) < 0) {
			r = -1;
		} else {
			snprintf(path, sizeof(path), "/v1/sandboxes/%s%s", name, force ? "?force=1" : "");
			r = dp_remote_call(rem, "DELETE", path, NULL, NULL, err);
		}
		dp_remote_close(rem);
	} else {
		if (dp_cli_open(config, &cli, err) < 0)
			return -1;
		r = dp_ops_destroy(&cli.ops, &cli.actor, name, force, err);
		dp_cli_close(&cli);
	}
	if (r == 0)
		printf("destroyed sandbox %s\n", name);
	return r < 0 ? -1 : 0;
}
