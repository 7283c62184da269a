/* Sees and signals a host process: every call that names a pid must say it
 * does not exist (ESRCH), /proc lists only the sandbox's own processes and
 * the command's parent is the sandbox's init.
 * usage: attack-host-pids HOST-PID */
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/uio.h>

#include "attack.h"

int main(int argc, char **argv)
{
	pid_t h;
	char path[64], buf[64];
	cpu_set_t set;
	struct iovec local = { buf, sizeof(buf) }, remote = { (void *)0x400000, 8 };
	DIR *d;
	struct dirent *e;
	int n = 0, big = 0;

	attack_begin("host-pids");
	if (argc != 2 || (h = atoi(argv[1])) <= 1) {
		printf("usage: attack-host-pids HOST-PID\n");
		return 2;
	}
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	EXPECT_ERRNO_AS("kill(host pid, 0)", ESRCH, kill(h, 0));
	EXPECT_ERRNO_AS("kill(host pid, SIGKILL)", ESRCH, kill(h, SIGKILL));
	EXPECT_ERRNO_AS("tgkill(host pid)", ESRCH, syscall(SYS_tgkill, h, h, SIGKILL));
	EXPECT_ERRNO_AS("rt_sigqueueinfo(host pid)", ESRCH, sigqueue(h, SIGKILL, (union sigval){ 0 }));
	EXPECT_ERRNO_AS("pidfd_open(host pid)", ESRCH, syscall(SYS_pidfd_open, h, 0));
	EXPECT_ERRNO_AS("getpgid(host pid)", ESRCH, getpgid(h));
	EXPECT_ERRNO_AS("getsid(host pid)", ESRCH, getsid(h));
	EXPECT_ERRNO_AS("setpgid(host pid)", ESRCH, setpgid(h, 0));
	EXPECT_ERRNO_AS("setpriority(host pid)", ESRCH, setpriority(PRIO_PROCESS, (id_t)h, 19));
	EXPECT_ERRNO_AS("sched_setaffinity(host pid)", ESRCH, sched_setaffinity(h, sizeof(set), &set));
	EXPECT_ERRNO_AS("prlimit(host pid)", ESRCH, prlimit(h, RLIMIT_NOFILE, NULL, &(struct rlimit){ 0 }));
	EXPECT_ERRNO_AS("process_vm_readv(host pid)", ESRCH, process_vm_readv(h, &local, 1, &remote, 1, 0));
	snprintf(path, sizeof(path), "/proc/%d", (int)h);
	EXPECT_ERRNO_AS(path, ENOENT, open(path, O_RDONLY | O_DIRECTORY));
	/* the sandbox's processes only: init (1), this one, nothing else */
	d = opendir("/proc");
	if (d == NULL) {
		printf("SETUP: opendir /proc: %s\n", strerror(errno));
		return 3;
	}
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9') {
			n++;
			if (atoi(e->d_name) != 1 && atoi(e->d_name) != getpid()) {
				printf("note: /proc/%s is listed\n", e->d_name);
				big++;
			}
		}
	closedir(d);
	check(n == 2 && big == 0, "/proc lists only init and this process (%d entries)", n);
	check(getppid() == 1, "the parent is the sandbox's init (ppid %d)", (int)getppid());
	{
		char st[4096];
		MUST(read_file("/proc/1/status", st, sizeof(st)));
		check(strstr(st, "\nPPid:\t0\n") != NULL, "init's parent is outside the namespace (PPid 0)");
	}
	attack_end();
}
