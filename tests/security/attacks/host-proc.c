/* The host's /proc entries for its processes (environment, command line,
 * memory maps, fds, root) are not in the sandbox's /proc, and the
 * per-namespace network tables show none of the host's sockets.
 * usage: attack-host-proc HOST-PID */
#include "attack.h"

int main(int argc, char **argv)
{
	static const char *const entries[] = { "", "/environ", "/cmdline", "/status", "/maps", "/mem", "/root",
					       "/cwd", "/exe", "/fd", "/fd/0", "/ns/mnt", "/mountinfo", NULL };
	char path[128], buf[65536];
	int h, lines;

	attack_begin("host-proc");
	if (argc != 2 || (h = atoi(argv[1])) <= 1) {
		printf("usage: attack-host-proc HOST-PID\n");
		return 2;
	}
	for (const char *const *e = entries; *e; e++) {
		snprintf(path, sizeof(path), "/proc/%d%s", h, *e);
		EXPECT_ERRNO_AS(path, ENOENT, open(path, O_RDONLY));
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%d/environ", h, h);
	EXPECT_ERRNO_AS(path, ENOENT, open(path, O_RDONLY));
	snprintf(path, sizeof(path), "/proc/self/task/%d", h);
	EXPECT_ERRNO_AS(path, ENOENT, open(path, O_RDONLY));
	/* the host's sockets are not listed */
	static const char *const nets[] = { "/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/unix",
					    "/proc/net/packet", NULL };
	for (const char *const *n = nets; *n; n++) {
		ssize_t len = read_file(*n, buf, sizeof(buf));
		lines = 0;
		for (ssize_t i = 0; i < len; i++)
			lines += buf[i] == '\n';
		check(len >= 0 && lines <= 1, "%s lists no sockets (%d lines)", *n, lines);
	}
	attack_end();
}
