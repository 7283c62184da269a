/* placeholder until the audit change lands */
#include "cli/commands.h"

int cmd_audit(int argc, char **argv, dp_error **err)
{
	(void)argc;
	(void)argv;
	return dp_fail(err, 0, "audit: not built yet");
}
