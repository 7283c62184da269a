/* Reads a host production tree that is not in the mount plan, by its host
 * path and by every detour a sandbox offers: '..' above the root, the
 * init's root and cwd links, the mount table, and a scan of every writable
 * or copied directory for the production secret.
 * usage: attack-prod-read PRODUCTION-DIR SECRET */
#include <dirent.h>
#include <limits.h>

#include "attack.h"

static const char *secret;
static int found;

static void scan(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX], buf[65536];

	if (d == NULL || depth > 8) {
		if (d)
			closedir(d);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", e->d_name);
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			scan(path, depth + 1);
		else if (S_ISREG(st.st_mode) && st.st_size < (off_t)sizeof(buf) && read_file(path, buf, sizeof(buf)) > 0 &&
			 strstr(buf, secret)) {
			printf("ESCAPE: %s holds the production secret\n", path);
			found++;
		}
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], buf[65536];
	const char *prod;
	static const char *const files[] = { "data/customers.txt", "app/secret", "app/run.sh", NULL };
	static const char *const scanned[] = { "/", NULL };

	attack_begin("prod-read");
	if (argc != 3) {
		printf("usage: attack-prod-read PRODUCTION-DIR SECRET\n");
		return 2;
	}
	prod = argv[1];
	secret = argv[2];

	EXPECT_ERRNO_AS("stat(production dir)", ENOENT, stat(prod, &(struct stat){ 0 }));
	for (const char *const *f = files; *f; f++) {
		snprintf(path, sizeof(path), "%s/%s", prod, *f);
		EXPECT_ERRNO_AS(path, ENOENT, open(path, O_RDONLY));
		snprintf(path, sizeof(path), "/../../..%s/%s", prod, *f);
		EXPECT_ERRNO_AS(path, ENOENT, open(path, O_RDONLY));
		snprintf(path, sizeof(path), "/proc/self/root%s/%s", prod, *f);
		EXPECT_ERRNO_AS(path, ENOENT, open(path, O_RDONLY));
		/* init's root and cwd are doppel's, not dumpable */
		snprintf(path, sizeof(path), "/proc/1/root%s/%s", prod, *f);
		EXPECT_ERRNO_AS(path, EACCES, open(path, O_RDONLY));
		snprintf(path, sizeof(path), "/proc/1/cwd%s/%s", prod, *f);
		EXPECT_ERRNO_AS(path, EACCES, open(path, O_RDONLY));
	}
	/* '..' of the root is the root */
	{
		struct stat root, up;
		MUST(stat("/", &root));
		MUST(stat("/..", &up));
		check(root.st_ino == up.st_ino && root.st_dev == up.st_dev, "/.. is / (inode %lu)",
		      (unsigned long)up.st_ino);
	}
	/* the mount table never names the production path */
	if (read_file("/proc/self/mountinfo", buf, sizeof(buf)) <= 0) {
		printf("SETUP: cannot read /proc/self/mountinfo\n");
		return 3;
	}
	check(strstr(buf, prod) == NULL, "/proc/self/mountinfo does not name %s", prod);
	/* no copy of a production file anywhere in the sandbox's own trees
	 * (/proc, /sys and the host's read-only system dirs are skipped) */
	for (const char *const *s = scanned; *s; s++) {
		DIR *d = opendir(*s);
		struct dirent *e;
		if (d == NULL)
			continue;
		while ((e = readdir(d)) != NULL) {
			static const char *const skip[] = { ".", "..", "proc", "sys", "usr", "bin", "sbin",
							    "lib", "lib32", "lib64", "libx32", NULL };
			int skipped = 0;
			for (const char *const *k = skip; *k; k++)
				skipped |= strcmp(e->d_name, *k) == 0;
			if (!skipped) {
				snprintf(path, sizeof(path), "/%s", e->d_name);
				scan(path, 1);
			}
		}
		closedir(d);
	}
	check(found == 0, "no file under /etc /tmp /root /run /dev holds the production secret");
	attack_end();
}
