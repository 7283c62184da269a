/* io_uring runs system calls from kernel workers that seccomp never sees;
 * io_uring_setup is refused (EPERM), so no ring exists to enter or
 * register. */
#include <linux/io_uring.h>

#include "attack.h"

int main(void)
{
	struct io_uring_params p;

	attack_begin("io-uring");
	memset(&p, 0, sizeof(p));
	EXPECT_ERRNO_AS("io_uring_setup(8)", EPERM, syscall(SYS_io_uring_setup, 8, &p));
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQPOLL;
	EXPECT_ERRNO_AS("io_uring_setup(8, SQPOLL)", EPERM, syscall(SYS_io_uring_setup, 8, &p));
	EXPECT_ERRNO_AS("io_uring_enter(0)", EPERM, syscall(SYS_io_uring_enter, 0, 1, 0, 0, NULL, 0));
	EXPECT_ERRNO_AS("io_uring_register(0)", EPERM, syscall(SYS_io_uring_register, 0, IORING_REGISTER_PROBE, NULL, 0));
	attack_end();
}
