/* File handles (the "shocker" escape): open_by_handle_at opens an inode by
 * a handle that can be guessed or brute-forced, ignoring the mount and the
 * root, e.g. the host's / (inode 2 on ext4). name_to_handle_at and
 * open_by_handle_at are refused by seccomp. */
#include "attack.h"

struct handle {
	unsigned int handle_bytes;
	int handle_type;
	unsigned char f_handle[128];
};

int main(void)
{
	struct handle h = { .handle_bytes = 128 };
	/* an ext4-style handle of inode 2 (the root directory), generation 0 */
	struct handle root = { .handle_bytes = 8, .handle_type = 1, .f_handle = { 2, 0, 0, 0, 0, 0, 0, 0 } };
	int mount_id, fd;

	attack_begin("handles");
	EXPECT_ERRNO_AS("name_to_handle_at(/etc/hostname)", EPERM,
			syscall(SYS_name_to_handle_at, AT_FDCWD, "/etc/hostname", &h, &mount_id, 0));
	EXPECT_ERRNO_AS("name_to_handle_at(/usr)", EPERM,
			syscall(SYS_name_to_handle_at, AT_FDCWD, "/usr", &h, &mount_id, 0));
	fd = (int)MUST(open("/usr", O_RDONLY | O_DIRECTORY));
	EXPECT_ERRNO_AS("open_by_handle_at(/usr's mount, inode 2)", EPERM,
			syscall(SYS_open_by_handle_at, fd, &root, O_RDONLY));
	EXPECT_ERRNO_AS("open_by_handle_at(/usr's mount, inode 2, O_PATH)", EPERM,
			syscall(SYS_open_by_handle_at, fd, &root, O_PATH));
	close(fd);
	attack_end();
}
