/* Gaining privilege through setuid binaries and file capabilities. As uid 0
 * the attack plants setuid-root copies of a helper (attack-whoami) in the
 * writable layers and tries to give one file capabilities, then drops to
 * nobody (where the namespace maps it) and runs them, the host's setuid
 * binaries bound in, and /usr/bin/su. no_new_privs and nosuid mounts must
 * keep every exec at the caller's uid with no new capabilities.
 * usage: attack-setuid WRITABLE-DIR [SETUID-BINARY...] */
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "attack.h"

static uid_t me;
static char cap_eff[32];

/* Runs argv, returns its output in out; the status in *status. */
static void run(char *const argv[], char *out, size_t size, int *status)
{
	int p[2];
	pid_t pid;
	size_t got = 0;
	ssize_t n;

	MUST(pipe(p));
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		execv(argv[0], argv);
		printf("exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	MUST(pid);
	close(p[1]);
	while (got + 1 < size && (n = read(p[0], out + got, size - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(p[0]);
	waitpid(pid, status, 0);
}

static void own_caps(void)
{
	char st[4096], *c;
	MUST(read_file("/proc/self/status", st, sizeof(st)));
	c = strstr(st, "CapEff:\t");
	snprintf(cap_eff, sizeof(cap_eff), "%.16s", c ? c + 8 : "?");
}

/* Runs a setuid helper; it must report our own uid and capabilities. */
static void try_helper(const char *path)
{
	char out[1024], want[128];
	char *argv[] = { (char *)path, NULL };
	struct stat st;
	int status;

	if (stat(path, &st) < 0) {
		printf("SETUP: %s: %s\n", path, strerror(errno));
		attack_failed++;
		return;
	}
	note("%s: owner %u mode %o", path, (unsigned)st.st_uid, (unsigned)st.st_mode & 07777);
	run(argv, out, sizeof(out), &status);
	snprintf(want, sizeof(want), "whoami: ruid %u euid %u suid %u CapPrm:\t%s CapEff:\t%s", (unsigned)me,
		 (unsigned)me, (unsigned)me, cap_eff, cap_eff);
	check(strncmp(out, want, strlen(want)) == 0, "exec of setuid %s keeps uid %u and CapEff %s (got: %.*s)", path,
	      (unsigned)me, cap_eff, (int)strcspn(out, "\n"), out);
}

static void plant(const char *dir, char *dst, size_t n)
{
	char buf[65536];
	int in, out;
	ssize_t r;
	struct stat st;

	snprintf(dst, n, "%s/suid-whoami", dir);
	in = (int)MUST(open("/t/attack-whoami", O_RDONLY));
	out = (int)MUST(open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0755));
	while ((r = read(in, buf, sizeof(buf))) > 0)
		MUST(write(out, buf, (size_t)r));
	close(in);
	close(out);
	MUST(chown(dst, 0, 0));
	MUST(chmod(dst, 04755));
	MUST(stat(dst, &st));
	check((st.st_mode & S_ISUID) && st.st_uid == 0, "planted %s setuid root (control)", dst);
}

static int uid_mapped(uid_t u)
{
	char map[256];
	unsigned long in, out, count;
	char *line = map;
	MUST(read_file("/proc/self/uid_map", map, sizeof(map)));
	while (sscanf(line, "%lu %lu %lu", &in, &out, &count) == 3) {
		if (u >= in && u < in + count)
			return 1;
		line = strchr(line, '\n');
		if (line == NULL)
			break;
		line++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char planted[2][PATH_MAX], out[1024];
	int n_planted = 0, status;

	attack_begin("setuid");
	if (argc < 2) {
		printf("usage: attack-setuid WRITABLE-DIR [SETUID-BINARY...]\n");
		return 2;
	}
	if (getuid() == 0) {
		/* a v2 file capability granting CAP_SYS_ADMIN */
		struct vfs_cap_data cap = { .magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE };
		cap.data[0].permitted = 1u << CAP_SYS_ADMIN;
		plant(argv[1], planted[n_planted++], sizeof(planted[0]));
		plant("/tmp", planted[n_planted++], sizeof(planted[0]));
		EXPECT_ERRNO_AS("setxattr security.capability (CAP_SYS_ADMIN) on the planted copy", EPERM,
				setxattr(planted[0], "security.capability", &cap, sizeof(cap), 0));
		if (uid_mapped(65534)) {
			MUST(setgroups(0, NULL));
			MUST(setresgid(65534, 65534, 65534));
			MUST(setresuid(65534, 65534, 65534));
			note("dropped to uid 65534");
		} else {
			note("only uid 0 is mapped here (rootless): nothing to drop to, no setuid gain possible");
		}
	}
	me = getuid();
	own_caps();
	note("running as uid %u, CapEff %s", (unsigned)me, cap_eff);
	if (me != 0) {
		check(strcmp(cap_eff, "0000000000000000") == 0, "uid %u has no capabilities", (unsigned)me);
		for (int i = 0; i < n_planted; i++)
			try_helper(planted[i]);
		for (int i = 2; i < argc; i++)
			try_helper(argv[i]);
		{
			char *su[] = { "/usr/bin/su", "-c", "/t/attack-whoami", "root", NULL };
			run(su, out, sizeof(out), &status);
			note("su said: %.*s", (int)strcspn(out, "\n"), out);
			check(!(WIFEXITED(status) && WEXITSTATUS(status) == 0) && strstr(out, "whoami:") == NULL,
			      "/usr/bin/su -c ... root fails and runs nothing (status %d)",
			      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		}
	}
	attack_end();
}
