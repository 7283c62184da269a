/* Capability sets through the raw capget/capset and prctl interfaces (no
 * library needed for five calls). The bounding set is emptied of all but a
 * few file-ownership and signal capabilities, so nothing in the sandbox can
 * regain more, even through a setuid binary or file capabilities. */
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "isolate/runtime.h"

#define CAP_BIT(c) (1ull << (c))

unsigned long long dp_caps_sandbox_default(void)
{
	return CAP_BIT(CAP_CHOWN) | CAP_BIT(CAP_DAC_OVERRIDE) | CAP_BIT(CAP_FOWNER) | CAP_BIT(CAP_FSETID) |
	       CAP_BIT(CAP_KILL) | CAP_BIT(CAP_SETGID) | CAP_BIT(CAP_SETUID) | CAP_BIT(CAP_NET_BIND_SERVICE);
}

int dp_caps_restrict(unsigned long long keep, dp_error **err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	/* up to the kernel's last capability, found by its EINVAL (capabilities
	 * are numbered without gaps), not read from /proc's cap_last_cap: after
	 * pivot_root /proc is the sandbox's */
	for (int c = 0; c < 64; c++) {
		if (keep & CAP_BIT(c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL)
			break;
		return dp_fail_errno(err, "drop capability %d from the bounding set", c);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return dp_fail_errno(err, "clear ambient capabilities");
	data[0].effective = data[0].permitted = (uint32_t)(keep & 0xffffffffu);
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return dp_fail_errno(err, "set capabilities");
	return 0;
}
