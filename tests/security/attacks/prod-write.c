/* Writes a host production tree that is not in the mount plan: by its host
 * path, through init's root link, and by recreating the path inside the
 * sandbox (which must only ever write the sandbox's own tmpfs; the test
 * script checks the host tree afterwards).
 * usage: attack-prod-write PRODUCTION-DIR */
#include <limits.h>

#include "attack.h"

static void mkdirs(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	MUST(mkdir(buf, 0755) == 0 || errno == EEXIST ? 0 : -1);
}

int main(int argc, char **argv)
{
	char f[PATH_MAX], g[PATH_MAX], d[PATH_MAX];
	int fd;

	attack_begin("prod-write");
	if (argc != 2) {
		printf("usage: attack-prod-write PRODUCTION-DIR\n");
		return 2;
	}
	snprintf(f, sizeof(f), "%s/data/customers.txt", argv[1]);
	snprintf(g, sizeof(g), "%s/app/secret", argv[1]);
	snprintf(d, sizeof(d), "%s/data", argv[1]);

	EXPECT_ERRNO_AS("open(customers.txt, O_WRONLY|O_TRUNC)", ENOENT, open(f, O_WRONLY | O_TRUNC));
	EXPECT_ERRNO_AS("open(customers.txt, O_WRONLY|O_APPEND)", ENOENT, open(f, O_WRONLY | O_APPEND));
	EXPECT_ERRNO_AS("open(data/new, O_CREAT)", ENOENT, open(d, O_WRONLY | O_CREAT, 0644));
	EXPECT_ERRNO_AS("truncate(customers.txt)", ENOENT, truncate(f, 0));
	EXPECT_ERRNO_AS("unlink(app/secret)", ENOENT, unlink(g));
	EXPECT_ERRNO_AS("rename(app/secret)", ENOENT, rename(g, "/tmp/stolen"));
	EXPECT_ERRNO_AS("chmod(production)", ENOENT, chmod(argv[1], 0777));
	EXPECT_ERRNO_AS("mkdir(production/data)", ENOENT, mkdir(d, 0755));
	snprintf(f, sizeof(f), "/proc/1/root%s/data/customers.txt", argv[1]);
	EXPECT_ERRNO_AS("open(/proc/1/root/.../customers.txt, O_WRONLY)", EACCES, open(f, O_WRONLY | O_TRUNC));
	snprintf(f, sizeof(f), "/proc/1/cwd%s/data/customers.txt", argv[1]);
	EXPECT_ERRNO_AS("open(/proc/1/cwd/.../customers.txt, O_WRONLY)", EACCES, open(f, O_WRONLY | O_TRUNC));

	/* recreating the path works, but only in the sandbox's /tmp */
	mkdirs(d);
	snprintf(f, sizeof(f), "%s/data/customers.txt", argv[1]);
	fd = (int)MUST(open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644));
	MUST(write(fd, "overwritten by the sandbox\n", 27));
	close(fd);
	note("wrote %s inside the sandbox (its own /tmp); the host copy must be unchanged", f);
	attack_end();
}
