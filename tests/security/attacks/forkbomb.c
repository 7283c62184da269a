/* A fork bomb under --pids N: every process forks as fast as it can. The
 * pids cgroup makes fork fail with EAGAIN once N tasks exist; the leader
 * reports that, waits a moment for the bomb to saturate, and exits, which
 * ends the sandbox and every process in it. A safety net for a runtime whose
 * limit failed: the bomb's processes count their forks in shared memory and
 * stop at 4 x LIMIT, which keeps a broken runtime from hurting the host but
 * lets more than LIMIT processes exist, so the checks still catch it.
 * usage: attack-forkbomb LIMIT SECONDS */
#include <dirent.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "attack.h"

int main(int argc, char **argv)
{
	int limit, secs, made = 0, err = 0, p[2];
	pid_t pid;
	time_t end;
	int *forks;

	attack_begin("forkbomb");
	if (argc != 3) {
		printf("usage: attack-forkbomb LIMIT SECONDS\n");
		return 2;
	}
	limit = atoi(argv[1]);
	secs = atoi(argv[2]);
	forks = mmap(NULL, sizeof(*forks), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (forks == MAP_FAILED) {
		printf("SETUP: mmap: %s\n", strerror(errno));
		return 3;
	}
	MUST(pipe(p));
	/* the leader's own count: how many children it could make */
	for (;;) {
		pid = fork();
		if (pid == 0) {
			/* a bomb: fork forever, never exit */
			close(p[0]);
			for (;;) {
				pid_t c = __atomic_load_n(forks, __ATOMIC_SEQ_CST) < 4 * limit ? fork() : -1;
				if (c > 0)
					__atomic_add_fetch(forks, 1, __ATOMIC_SEQ_CST);
				else if (c < 0)
					usleep(1000);
			}
		}
		if (pid < 0) {
			err = errno;
			break;
		}
		made++;
		if (__atomic_add_fetch(forks, 1, __ATOMIC_SEQ_CST) >= 4 * limit) {
			pid = 0; /* the safety net, not the runtime, stopped us */
			break;
		}
	}
	note("the leader forked %d bombs before fork failed", made);
	if (pid == 0)
		printf("ESCAPE: %d forks succeeded under --pids %d (stopped by the attack's own safety net)\n",
		       __atomic_load_n(forks, __ATOMIC_SEQ_CST), limit), attack_failed++;
	else
		expect_errno_impl("fork once the pids limit is reached", pid, err, EAGAIN);
	check(made < limit, "the leader made %d < %d processes", made, limit);
	end = time(NULL) + secs;
	while (time(NULL) < end) {
		errno = 0;
		if (fork() == 0)
			_exit(0);
		usleep(10000);
	}
	{
		/* count the sandbox's processes now: never above the limit */
		int n = 0;
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL)
			n += e->d_name[0] >= '1' && e->d_name[0] <= '9';
		if (d)
			closedir(d);
		note("%d processes exist in the sandbox", n);
		check(n <= limit, "at most %d processes exist (%d)", limit, n);
	}
	close(p[1]);
	attack_end(); /* the bomb's processes die with the sandbox */
}
