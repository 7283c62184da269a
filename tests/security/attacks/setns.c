/* Joining other namespaces: init's (doppel's, not dumpable) cannot even be
 * opened, joining any namespace is refused, the user namespace's parent
 * (the host's) cannot be obtained, and every namespace differs from the
 * host's (whose ids the test script passes in).
 * usage: attack-setns user:ID mnt:ID pid:ID net:ID ipc:ID uts:ID cgroup:ID */
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>

#include "attack.h"

static const char *const names[] = { "user", "mnt", "pid", "net", "ipc", "uts", "cgroup", NULL };

int main(int argc, char **argv)
{
	char path[64], label[96], link[64];
	int fd;

	attack_begin("setns");
	for (int i = 0; names[i]; i++) {
		snprintf(path, sizeof(path), "/proc/1/ns/%s", names[i]);
		EXPECT_ERRNO_AS(path, EACCES, open(path, O_RDONLY));
		snprintf(path, sizeof(path), "/proc/self/ns/%s", names[i]);
		fd = (int)MUST(open(path, O_RDONLY));
		snprintf(label, sizeof(label), "setns(%s)", path);
		EXPECT_ERRNO_AS(label, EPERM, setns(fd, 0));
		close(fd);
	}
	fd = (int)MUST(open("/proc/self/ns/user", O_RDONLY));
	EXPECT_ERRNO_AS("ioctl(NS_GET_PARENT) of our user namespace", EPERM, ioctl(fd, NS_GET_PARENT));
	close(fd);
	fd = (int)MUST(open("/proc/self/ns/pid", O_RDONLY));
	EXPECT_ERRNO_AS("ioctl(NS_GET_PARENT) of our pid namespace", EPERM, ioctl(fd, NS_GET_PARENT));
	close(fd);
	/* not the host's namespaces */
	for (int i = 1; i < argc; i++) {
		const char *colon = strchr(argv[i], ':');
		ssize_t n;
		if (colon == NULL)
			continue;
		snprintf(path, sizeof(path), "/proc/self/ns/%.*s", (int)(colon - argv[i]), argv[i]);
		n = readlink(path, link, sizeof(link) - 1);
		MUST(n);
		link[n] = '\0';
		check(strstr(link, colon + 1) == NULL, "%s is %s, not the host's %s", path, link, colon + 1);
	}
	if (argc < 8)
		printf("SETUP: expected the host's 7 namespace ids\n");
	attack_end();
}
