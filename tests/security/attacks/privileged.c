/* System calls that act on the whole host and need a capability the
 * sandbox does not have: the kernel log, raw I/O ports, swap, process
 * accounting, the clock, quotas, fanotify, stealing another process's fds
 * (pidfd_getfd) and comparing kernel objects (kcmp). All are outside the
 * seccomp allowlist: EPERM. /proc/kmsg is refused too. */
#include <sys/syslog.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>

#include "attack.h"

int main(void)
{
	char buf[256];
	struct timeval tv = { 0, 0 };
	struct timespec ts = { 0, 0 };
	struct timex tx = { 0 };

	attack_begin("privileged");
	EXPECT_ERRNO_AS("syslog(READ_ALL) (dmesg)", EPERM, syscall(SYS_syslog, 3, buf, sizeof(buf)));
	EXPECT_ERRNO_AS("syslog(CLEAR)", EPERM, syscall(SYS_syslog, 5, NULL, 0));
	EXPECT_ERRNO_AS("iopl(3)", EPERM, syscall(SYS_iopl, 3));
	EXPECT_ERRNO_AS("ioperm(0x80)", EPERM, syscall(SYS_ioperm, 0x80, 1, 1));
	EXPECT_ERRNO_AS("swapon(/tmp/swap)", EPERM, syscall(SYS_swapon, "/tmp/swap", 0));
	EXPECT_ERRNO_AS("swapoff(/dev/vda)", EPERM, syscall(SYS_swapoff, "/dev/vda"));
	EXPECT_ERRNO_AS("acct(/tmp/acct)", EPERM, syscall(SYS_acct, "/tmp/acct"));
	EXPECT_ERRNO_AS("settimeofday(1970)", EPERM, syscall(SYS_settimeofday, &tv, NULL));
	EXPECT_ERRNO_AS("clock_settime(CLOCK_REALTIME, 1970)", EPERM, syscall(SYS_clock_settime, CLOCK_REALTIME, &ts));
	tx.modes = ADJ_OFFSET;
	EXPECT_ERRNO_AS("adjtimex(ADJ_OFFSET)", EPERM, syscall(SYS_adjtimex, &tx));
	EXPECT_ERRNO_AS("clock_adjtime(CLOCK_REALTIME)", EPERM, syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx));
	EXPECT_ERRNO_AS("quotactl(Q_QUOTAOFF, /)", EPERM, syscall(SYS_quotactl, 0x800003, "/", 0, NULL));
	EXPECT_ERRNO_AS("vhangup()", EPERM, syscall(SYS_vhangup));
	EXPECT_ERRNO_AS("fanotify_init", EPERM, syscall(SYS_fanotify_init, 0, 0));
	EXPECT_ERRNO_AS("pidfd_getfd", EPERM, syscall(SYS_pidfd_getfd, 0, 0, 0));
	EXPECT_ERRNO_AS("kcmp(1, self)", EPERM, syscall(SYS_kcmp, 1, getpid(), 0, 0, 0));
	EXPECT_ERRNO_AS("modify_ldt", EPERM, syscall(SYS_modify_ldt, 0, buf, sizeof(buf)));
	EXPECT_ERRNO_AS("lookup_dcookie", EPERM, syscall(SYS_lookup_dcookie, 0, buf, sizeof(buf)));
	EXPECT_ERRNO_AS("open /proc/kmsg", dac_or("/proc/kmsg", EPERM), open("/proc/kmsg", O_RDONLY));
	/* the clock is the host's (no time namespace): unchanged means > 2020 */
	MUST(clock_gettime(CLOCK_REALTIME, &ts));
	check(ts.tv_sec > 1577836800, "the clock was not set back (%lld)", (long long)ts.tv_sec);
	attack_end();
}
