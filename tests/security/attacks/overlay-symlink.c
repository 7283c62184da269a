/* Symlinks planted in an overlay's lower layer (production content) that
 * point at host files: absolute links to /etc/shadow and the host's
 * production path, a relative one climbing out with '..', a link to
 * /proc/1/root. Inside the sandbox every link resolves in the sandbox's own
 * tree: its /etc has no shadow, its /etc/passwd is the sandbox's.
 * usage: attack-overlay-symlink DIR   (DIR: where the overlay is mounted) */
#include <limits.h>

#include "attack.h"

int main(int argc, char **argv)
{
	char p[PATH_MAX], buf[8192];
	struct stat a, b;
	const char *d;

	attack_begin("overlay-symlink");
	if (argc != 2) {
		printf("usage: attack-overlay-symlink DIR\n");
		return 2;
	}
	d = argv[1];
	/* control: the links are there */
	snprintf(p, sizeof(p), "%s/shadow", d);
	MUST(lstat(p, &a));
	check(S_ISLNK(a.st_mode), "%s is the planted symlink", p);

#define AT(name) (snprintf(p, sizeof(p), "%s/%s", d, name), p)
	EXPECT_ERRNO_AS("open shadow -> /etc/shadow", ENOENT, open(AT("shadow"), O_RDONLY));
	EXPECT_ERRNO_AS("open up -> ../../../../../../../../etc/shadow", ENOENT, open(AT("up"), O_RDONLY));
	EXPECT_ERRNO_AS("open etc/shadow through etc -> /etc", ENOENT, open(AT("etc/shadow"), O_RDONLY));
	EXPECT_ERRNO_AS("open gshadow -> /etc/gshadow", ENOENT, open(AT("gshadow"), O_RDONLY));
	EXPECT_ERRNO_AS("open prod -> the host production secret", ENOENT, open(AT("prod"), O_RDONLY));
	EXPECT_ERRNO_AS("open hostroot/etc/shadow (hostroot -> /proc/1/root)", EACCES,
			open(AT("hostroot/etc/shadow"), O_RDONLY));
	EXPECT_ERRNO_AS("write through passwd -> /etc/passwd", EROFS, open(AT("passwd"), O_WRONLY | O_APPEND));
	/* passwd -> /etc/passwd is the sandbox's passwd, not the host's */
	MUST(stat(AT("passwd"), &a));
	MUST(stat("/etc/passwd", &b));
	check(a.st_ino == b.st_ino && a.st_dev == b.st_dev, "passwd -> /etc/passwd resolves to the sandbox's /etc/passwd");
	MUST(read_file(AT("passwd"), buf, sizeof(buf)));
	{
		int lines = 0;
		for (char *c = buf; *c; c++)
			lines += *c == '\n';
		check(strstr(buf, "root:x:0:0:") != NULL && lines <= 3 && strstr(buf, "daemon:") == NULL,
		      "it is doppel's minimal passwd (%d lines, no host accounts)", lines);
	}
	attack_end();
}
