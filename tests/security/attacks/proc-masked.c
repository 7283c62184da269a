/* /proc files that expose the host's kernel: kcore (all of physical memory),
 * sysrq-trigger (reboot, crash, kill everything), keys, timer_list,
 * sched_debug, and the masked directories. Writes must never reach the
 * kernel file and reads must return nothing. The test script passes the
 * ones that exist on the host: each must exist inside, masked.
 * usage: attack-proc-masked FILE...   (e.g. /proc/kcore /proc/keys) */
#include <dirent.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>

#include "attack.h"

/* A masked file is doppel's read-only /dev/null: it reads empty and writing
 * it reaches /dev/null, or it refuses the open. */
static void masked_file(const char *path)
{
	char buf[256], label[128];
	struct stat st;
	int fd;
	ssize_t n;

	if (lstat(path, &st) < 0) {
		printf("WRONG: %s exists on the host but not here: %s\n", path, strerror(errno));
		attack_failed++;
		return;
	}
	check(S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3,
	      "%s is masked (char %u:%u, mode %o)", path, major(st.st_rdev), minor(st.st_rdev), st.st_mode);
	fd = open(path, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	check(fd < 0 || n == 0, "%s reads nothing (%zd bytes)", path, n);
	if (fd >= 0)
		close(fd);
	/* writing: the mask is a read-only bind */
	snprintf(label, sizeof(label), "open %s O_WRONLY", path);
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		struct stat w;
		MUST(fstat(fd, &w));
		check(S_ISCHR(w.st_mode) && w.st_rdev == makedev(1, 3),
		      "%s opened for writing is /dev/null, not the kernel file", path);
		close(fd);
	} else {
		check(errno == EROFS || errno == EACCES || errno == EPERM, "%s: %s", label, attack_errname(errno));
	}
}

int main(int argc, char **argv)
{
	static const char *const dirs[] = { "/proc/acpi", "/proc/scsi", "/proc/asound", NULL };

	attack_begin("proc-masked");
	for (int i = 1; i < argc; i++)
		masked_file(argv[i]);
	for (const char *const *d = dirs; *d; d++) {
		DIR *dir = opendir(*d);
		struct dirent *e;
		int n = 0;
		if (dir == NULL) {
			note("%s: %s", *d, strerror(errno));
			continue;
		}
		while ((e = readdir(dir)) != NULL)
			n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
		closedir(dir);
		check(n == 0, "%s is an empty mask (%d entries)", *d, n);
	}
	/* unmasking them */
	for (int i = 1; i < argc; i++)
		EXPECT_ERRNO_AS("umount2 the mask", EPERM, umount2(argv[i], MNT_DETACH));
	/* the real files cannot be reached around the mask */
	EXPECT_ERRNO(EACCES, open("/proc/1/root/proc/keys", O_RDONLY));
	EXPECT_ERRNO(ENOENT, open("/sys/kernel/debug", O_RDONLY));
	attack_end();
}
