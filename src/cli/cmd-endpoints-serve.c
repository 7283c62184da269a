/* placeholder: `doppel endpoints serve` is being written */
#include "cli/commands.h"

int cmd_endpoints_serve(int argc, char **argv, dp_error **err)
{
	(void)argc;
	(void)argv;
	return dp_usage(err, "endpoints serve: not yet");
}
