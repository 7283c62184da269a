/* placeholder: `doppel endpoints NAME ...` is being written */
#include "cli/commands.h"

int cmd_endpoints(int argc, char **argv, dp_error **err)
{
	if (argc > 1 && argv[1][0] == 's')
		return cmd_endpoints_serve(argc - 1, argv + 1, err);
	return dp_usage(err, "endpoints: not yet");
}
