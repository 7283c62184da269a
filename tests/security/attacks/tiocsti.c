/* Terminal injection (CVE-2017-5226 class): push characters into the input
 * of the terminal the sandbox was started from, so the host shell runs
 * them after the sandbox exits. The command runs in a new session without a
 * controlling terminal; TIOCSTI (also with high bits set in the request),
 * TIOCLINUX and TIOCSETD are refused by seccomp on any fd, and the terminal
 * cannot be made the controlling one.
 * usage: attack-tiocsti [--tty]   (--tty: the sandbox's own pty is on 0-2) */
#include <sys/ioctl.h>

#include "attack.h"

int main(int argc, char **argv)
{
	const char *inject = "echo INJECTED-BY-SANDBOX\n";
	char label[64];
	int own_tty = argc > 1 && strcmp(argv[1], "--tty") == 0;

	attack_begin("tiocsti");
	for (int fd = 0; fd <= 2; fd++) {
		note("fd %d is %sa terminal", fd, isatty(fd) ? "" : "not ");
		if (!isatty(fd)) {
			printf("SETUP: fd %d is not a terminal; the test must give the sandbox one\n", fd);
			attack_failed++;
			continue;
		}
		{ /* the whole line, one character at a time, as an attacker would */
			long r = -1;
			int e = 0;
			for (const char *c = inject; *c; c++) {
				errno = 0;
				r = ioctl(fd, TIOCSTI, c);
				e = errno;
				if (r != -1 || e != EPERM)
					break;
			}
			snprintf(label, sizeof(label), "ioctl(%d, TIOCSTI) of each character of a command line", fd);
			expect_errno_impl(label, r, e, EPERM);
		}
		snprintf(label, sizeof(label), "ioctl(%d, TIOCLINUX)", fd);
		EXPECT_ERRNO_AS(label, EPERM, ioctl(fd, TIOCLINUX, &(char){ 2 }));
		/* a line discipline: module autoload and ldisc bugs (n_hdlc, n_gsm) */
		snprintf(label, sizeof(label), "ioctl(%d, TIOCSETD, N_HDLC)", fd);
		EXPECT_ERRNO_AS(label, EPERM, ioctl(fd, TIOCSETD, &(int){ 13 }));
		/* with the high bits set, the tty layer sees the same request */
		snprintf(label, sizeof(label), "ioctl(%d, 0x100000000 | TIOCSTI)", fd);
		EXPECT_ERRNO_AS(label, EPERM, syscall(SYS_ioctl, fd, 0x100000000ul | TIOCSTI, "x"));
		if (!own_tty) {
			snprintf(label, sizeof(label), "ioctl(%d, TIOCSCTTY, 0)", fd);
			EXPECT_ERRNO_AS(label, EPERM, ioctl(fd, TIOCSCTTY, 0));
			snprintf(label, sizeof(label), "ioctl(%d, TIOCSCTTY, force)", fd);
			EXPECT_ERRNO_AS(label, EPERM, ioctl(fd, TIOCSCTTY, 1));
		}
	}
	if (!own_tty)
		EXPECT_ERRNO_AS("open /dev/tty (no controlling terminal)", ENXIO, open("/dev/tty", O_RDWR));
	check(getsid(0) == getpid(), "the command leads its own session (sid %d)", (int)getsid(0));
	attack_end();
}
