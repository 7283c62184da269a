/* A system call through the i386 ABI (int 0x80, getpid = 20): a different
 * audit arch, with different numbers (a filter for x86_64 numbers would
 * allow the wrong calls). The process must be killed by SIGSYS. */
#include "attack.h"

int main(void)
{
	long ret;

	attack_begin("int80");
	printf("calling getpid through int 0x80\n");
	fflush(stdout);
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	printf("ESCAPE: survived the int 0x80 system call (returned %ld)\n", ret);
	attack_failed++;
	attack_end();
}
