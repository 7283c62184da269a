/* Renaming the machine: sethostname and setdomainname. The sandbox has its
 * own UTS namespace, so even a change would stay inside, but neither call
 * is in the seccomp allowlist and the sandbox set has no CAP_SYS_ADMIN:
 * both fail with EPERM (doppel sets the name before the filter).
 * usage: attack-hostname EXPECTED-NAME */
#include <sys/utsname.h>

#include "attack.h"

int main(int argc, char **argv)
{
	struct utsname u;

	attack_begin("hostname");
	if (argc != 2) {
		printf("usage: attack-hostname EXPECTED-NAME\n");
		return 2;
	}
	MUST(uname(&u));
	check(strcmp(u.nodename, argv[1]) == 0, "the sandbox's hostname is %s (%s)", argv[1], u.nodename);
	EXPECT_ERRNO(EPERM, sethostname("pwned", 5));
	EXPECT_ERRNO(EPERM, setdomainname("pwned", 5));
	EXPECT_ERRNO(dac_or("/proc/sys/kernel/hostname", EROFS), open("/proc/sys/kernel/hostname", O_WRONLY));
	EXPECT_ERRNO(dac_or("/proc/sys/kernel/domainname", EROFS), open("/proc/sys/kernel/domainname", O_WRONLY));
	MUST(uname(&u));
	check(strcmp(u.nodename, argv[1]) == 0, "the hostname is still %s", argv[1]);
	attack_end();
}
