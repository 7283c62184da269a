/* Filling the sandbox's writable layers past --disk: each of the given
 * directories is written in 1 MiB chunks until the write fails. It must
 * fail with ENOSPC, and no more than LIMIT-MIB must fit.
 * usage: attack-diskfill LIMIT-MIB DIR... */
#include <limits.h>

#include "attack.h"

int main(int argc, char **argv)
{
	static char chunk[1 << 20];
	char path[PATH_MAX], label[PATH_MAX + 64];
	int limit;

	attack_begin("diskfill");
	if (argc < 3) {
		printf("usage: attack-diskfill LIMIT-MIB DIR...\n");
		return 2;
	}
	limit = atoi(argv[1]);
	memset(chunk, 'x', sizeof(chunk));
	for (int i = 2; i < argc; i++) {
		long long total = 0;
		ssize_t n = 0;
		int fd, e = 0;
		snprintf(path, sizeof(path), "%s/fill", argv[i]);
		fd = (int)MUST(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
		/* write up to 4x the limit; stop at the first error */
		while (total < 4LL * limit * (1 << 20)) {
			errno = 0;
			n = write(fd, chunk, sizeof(chunk));
			if (n < 0) {
				e = errno;
				break;
			}
			total += n;
			if (n < (ssize_t)sizeof(chunk)) { /* a short write; the next one fails */
				errno = 0;
				n = write(fd, chunk, sizeof(chunk));
				e = errno;
				break;
			}
		}
		if (n >= 0 && e == 0) {
			errno = 0;
			if (fsync(fd) < 0)
				n = -1, e = errno;
		}
		snprintf(label, sizeof(label), "write to %s beyond the limit", path);
		expect_errno_impl(label, n < 0 ? -1 : n, e, ENOSPC);
		check(total <= (long long)limit << 20, "%s took %lld KiB <= %d MiB", argv[i], total >> 10, limit);
		close(fd);
		MUST(unlink(path));
		/* control: after freeing it, a small write fits again */
		fd = (int)MUST(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
		check(write(fd, chunk, 4096) == 4096, "control: 4 KiB fit in %s after freeing", argv[i]);
		close(fd);
		unlink(path);
	}
	attack_end();
}
