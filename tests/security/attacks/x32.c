/* A system call through the x32 ABI (__X32_SYSCALL_BIT | getpid): seccomp
 * filters are per architecture, and x32 shares x86_64's audit arch, so a
 * filter that only looks at numbers could be bypassed. The process must be
 * killed by SIGSYS before the call returns; "survived" is an escape. */
#include "attack.h"

#define X32_BIT 0x40000000L

int main(void)
{
	long ret;

	attack_begin("x32");
	printf("calling getpid through the x32 ABI\n");
	fflush(stdout);
	__asm__ volatile("syscall" : "=a"(ret) : "a"(X32_BIT | SYS_getpid) : "rcx", "r11", "memory");
	printf("ESCAPE: survived the x32 system call (returned %ld)\n", ret);
	attack_failed++;
	attack_end();
}
