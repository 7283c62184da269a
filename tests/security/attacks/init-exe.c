/* PID 1 of the sandbox runs doppel's own image; reaching it through
 * /proc/1/exe would let the sandbox overwrite or re-run the runtime (runc
 * CVE-2019-5736), its fds may hold host files, its memory the plan. init is
 * not dumpable: none of its links, fd targets or memory can be opened. */
#include <dirent.h>

#include "attack.h"

int main(void)
{
	char buf[4096], path[300];
	static const char *const links[] = { "/proc/1/exe", "/proc/1/cwd", "/proc/1/root", NULL };
	static const char *const files[] = { "/proc/1/mem", "/proc/1/environ", "/proc/1/auxv", "/proc/1/maps",
					     "/proc/1/smaps", "/proc/1/pagemap",
					     NULL };
	DIR *d;
	int fds = 0;

	attack_begin("init-exe");
	/* control: pid 1 exists and is doppel */
	MUST(read_file("/proc/1/comm", buf, sizeof(buf)));
	check(strncmp(buf, "doppel", 6) == 0, "pid 1 is doppel's init (comm %.*s)", (int)strcspn(buf, "\n"), buf);
	EXPECT_ERRNO(EACCES, readlink("/proc/1/exe", buf, sizeof(buf)));
	EXPECT_ERRNO(EACCES, open("/proc/1/exe", O_RDONLY));
	EXPECT_ERRNO(EACCES, open("/proc/1/exe", O_WRONLY));
	EXPECT_ERRNO(EACCES, open("/proc/1/exe", O_PATH));
	EXPECT_ERRNO(EACCES, execl("/proc/1/exe", "doppel", "--help", (char *)NULL));
	for (const char *const *l = links; *l; l++) {
		EXPECT_ERRNO_AS(*l, EACCES, open(*l, O_RDONLY));
		snprintf(path, sizeof(path), "readlink %s", *l);
		EXPECT_ERRNO_AS(path, EACCES, readlink(*l, buf, sizeof(buf)));
	}
	for (const char *const *f = files; *f; f++)
		EXPECT_ERRNO_AS(*f, EACCES, open(*f, O_RDONLY));
	/* these open for a root mapped to the host's root, but reading them is
	 * checked against init */
	no_read("/proc/1/syscall", EPERM);
	no_read("/proc/1/io", EACCES);
	no_read("/proc/1/personality", EPERM);
	no_read("/proc/1/stack", EACCES);
	/* init's fd table: a root mapped to the host's root may list the
	 * numbers; no target can be read or opened */
	d = opendir("/proc/1/fd");
	if (d == NULL) {
		expect_errno_impl("opendir /proc/1/fd", -1, errno, EACCES);
	} else {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] < '0' || e->d_name[0] > '9')
				continue;
			fds++;
			snprintf(path, sizeof(path), "/proc/1/fd/%s", e->d_name);
			EXPECT_ERRNO_AS(path, EACCES, open(path, O_RDONLY));
			snprintf(path, sizeof(path), "readlink /proc/1/fd/%s", e->d_name);
			EXPECT_ERRNO_AS(path, EACCES, readlink(path + 9, buf, sizeof(buf)));
		}
		closedir(d);
		check(fds > 0, "listed %d fd numbers of init, none readable", fds);
	}
	EXPECT_ERRNO(EACCES, open("/proc/1/fd/0", O_RDONLY));
	EXPECT_ERRNO(EACCES, open("/proc/1/fdinfo/0", O_RDONLY));
	attack_end();
}
