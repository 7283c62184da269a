/* placeholder until the token change lands */
#include "cli/commands.h"

int cmd_token(int argc, char **argv, dp_error **err)
{
	(void)argc;
	(void)argv;
	return dp_fail(err, 0, "token: not built yet");
}
