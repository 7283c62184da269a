/* Overwriting a binary the sandbox runs (runc CVE-2019-5736 class). While a
 * binary runs the kernel refuses to open it for writing (ETXTBSY); the
 * attack therefore keeps an O_PATH fd of /proc/PID/exe of a child running a
 * host binary (attack-whoami from the read-only bind: nothing else on the
 * host runs it), waits for the child to exit, and reopens the fd for
 * writing through /proc/self/fd, as the CVE's exploit did. The binaries are
 * on read-only mounts: EROFS. Host system binaries and the loader may be
 * running (or being exec'd) anywhere on the host at the same moment, so for
 * them ETXTBSY is as exact an answer as EROFS. */
#include <signal.h>
#include <sys/wait.h>

#include "attack.h"

int main(void)
{
	char path[64], target[256], exe[64];
	pid_t child;
	int fd, self, st;
	ssize_t n;

	attack_begin("self-exe");
	n = readlink("/proc/self/exe", target, sizeof(target) - 1);
	MUST(n);
	target[n] = '\0';
	note("/proc/self/exe -> %s", target);
	/* running: text busy, however it is named */
	EXPECT_ERRNO(dac_or("/proc/self/exe", ETXTBSY), open("/proc/self/exe", O_WRONLY));
	EXPECT_ERRNO(dac_or("/proc/self/exe", ETXTBSY), open("/proc/self/exe", O_RDWR));
	/* truncation asks for a writable mount before anything else */
	EXPECT_ERRNO(EROFS, open("/proc/self/exe", O_WRONLY | O_TRUNC));
	self = (int)MUST(open("/proc/self/exe", O_PATH));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", self);
	EXPECT_ERRNO_AS("reopen an O_PATH fd of /proc/self/exe O_WRONLY", dac_or("/proc/self/exe", ETXTBSY), open(path, O_WRONLY));

	/* a host binary run by a child */
	child = fork();
	if (child == 0) {
		execl("/t/attack-whoami", "attack-whoami", "30", (char *)NULL);
		_exit(127);
	}
	MUST(child);
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)child);
	for (int i = 0; i < 500; i++) { /* until the exec happened */
		n = readlink(exe, target, sizeof(target) - 1);
		if (n > 0 && (target[n] = '\0', strstr(target, "attack-whoami")))
			break;
		usleep(10000);
	}
	note("%s -> %s", exe, target);
	EXPECT_ERRNO_AS("open /proc/CHILD/exe O_WRONLY (running)", dac_or(exe, ETXTBSY), open(exe, O_WRONLY));
	fd = (int)MUST(open(exe, O_PATH));
	{
		int exited_want = dac_or(exe, EROFS);
	kill(child, SIGKILL);
	MUST(waitpid(child, &st, 0));
	/* no longer running: only the read-only mount stands in the way */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	EXPECT_ERRNO_AS("reopen the O_PATH fd of the exited child's exe O_WRONLY", exited_want, open(path, O_WRONLY));
	EXPECT_ERRNO_AS("reopen it O_RDWR|O_TRUNC", EROFS, open(path, O_RDWR | O_TRUNC));
	}
	EXPECT_ERRNO_EITHER("open /usr/bin/sleep O_WRONLY", dac_or("/usr/bin/sleep", EROFS),
			    dac_or("/usr/bin/sleep", ETXTBSY), open("/usr/bin/sleep", O_WRONLY));
	EXPECT_ERRNO_EITHER("open the dynamic loader O_RDWR", dac_or("/lib64/ld-linux-x86-64.so.2", EROFS),
			    dac_or("/lib64/ld-linux-x86-64.so.2", ETXTBSY), open("/lib64/ld-linux-x86-64.so.2", O_RDWR));
	EXPECT_ERRNO_AS("open the attack's own binary's path O_WRONLY (also text busy)",
			dac_or("/t/attack-self-exe", ETXTBSY), open("/t/attack-self-exe", O_WRONLY));
	EXPECT_ERRNO_AS("open attack-whoami (no longer running) by its path O_WRONLY", dac_or("/t/attack-whoami", EROFS),
			open("/t/attack-whoami", O_WRONLY));
	close(fd);
	close(self);
	attack_end();
}
