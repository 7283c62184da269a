/* ptrace and /proc/PID/mem against a host process (invisible: ESRCH) and
 * the sandbox's init (doppel's own image, not dumpable: EPERM/EACCES).
 * A control traces a child of our own, so the refusals above are about the
 * targets, not ptrace being unavailable.
 * usage: attack-ptrace HOST-PID */
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "attack.h"

int main(int argc, char **argv)
{
	pid_t h, child;
	char buf[8];
	struct iovec local = { buf, sizeof(buf) }, remote = { (void *)0x400000, 8 };
	int st;

	attack_begin("ptrace");
	if (argc != 2 || (h = atoi(argv[1])) <= 1) {
		printf("usage: attack-ptrace HOST-PID\n");
		return 2;
	}
	EXPECT_ERRNO_AS("PTRACE_ATTACH host pid", ESRCH, ptrace(PTRACE_ATTACH, h, 0, 0));
	EXPECT_ERRNO_AS("PTRACE_SEIZE host pid", ESRCH, ptrace(PTRACE_SEIZE, h, 0, 0));
	EXPECT_ERRNO_AS("process_vm_writev host pid", ESRCH, process_vm_writev(h, &local, 1, &remote, 1, 0));
	EXPECT_ERRNO_AS("PTRACE_ATTACH init (pid 1)", EPERM, ptrace(PTRACE_ATTACH, 1, 0, 0));
	EXPECT_ERRNO_AS("PTRACE_SEIZE init (pid 1)", EPERM, ptrace(PTRACE_SEIZE, 1, 0, 0));
	EXPECT_ERRNO_AS("process_vm_readv init", EPERM, process_vm_readv(1, &local, 1, &remote, 1, 0));
	EXPECT_ERRNO_AS("process_vm_writev init", EPERM, process_vm_writev(1, &local, 1, &remote, 1, 0));
	EXPECT_ERRNO_AS("open /proc/1/mem O_RDWR", EACCES, open("/proc/1/mem", O_RDWR));
	EXPECT_ERRNO_AS("open /proc/1/mem O_RDONLY", EACCES, open("/proc/1/mem", O_RDONLY));

	/* control: our own child can be traced */
	child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	MUST(child);
	MUST(ptrace(PTRACE_ATTACH, child, 0, 0));
	MUST(waitpid(child, &st, 0));
	check(WIFSTOPPED(st), "control: PTRACE_ATTACH to our own child works");
	kill(child, SIGKILL);
	ptrace(PTRACE_DETACH, child, 0, 0);
	waitpid(child, &st, 0);
	attack_end();
}
