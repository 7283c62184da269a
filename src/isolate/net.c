/* The sandbox's network namespace starts with only a down loopback device;
 * `--net loopback` (the default) brings it up, `--net none` leaves it down.
 * There is no other interface and so no route out. */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "isolate/runtime.h"
#include "util/cleanup.h"

int dp_net_loopback_up(dp_error **err)
{
	cleanup_close int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;

	if (s < 0)
		return dp_fail_errno(err, "socket for loopback setup");
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return dp_fail_errno(err, "read loopback flags");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return dp_fail_errno(err, "bring loopback up");
	return 0;
}
