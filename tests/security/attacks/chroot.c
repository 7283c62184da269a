/* The classic chroot escape (chroot into a subdirectory while keeping a
 * directory fd outside it, then '..' up from the fd) needs chroot, which is
 * refused; '..' from / stays at /. */
#include "attack.h"

int main(void)
{
	struct stat root, up;
	int fd;

	attack_begin("chroot");
	MUST(mkdir("/tmp/jail", 0755));
	fd = (int)MUST(open("/", O_RDONLY | O_DIRECTORY));
	EXPECT_ERRNO(EPERM, chroot("/tmp/jail"));
	EXPECT_ERRNO(EPERM, chroot("/"));
	EXPECT_ERRNO(EPERM, chroot("/proc/self/root"));
	MUST(fchdir(fd));
	for (int i = 0; i < 32; i++)
		MUST(chdir(".."));
	MUST(stat(".", &up));
	MUST(stat("/", &root));
	check(up.st_ino == root.st_ino && up.st_dev == root.st_dev, "32 times '..' from / is still /");
	close(fd);
	attack_end();
}
