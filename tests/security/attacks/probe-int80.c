/* Not an attack: run on the host by int80.sh to learn whether this kernel
 * serves i386 system calls through int 0x80 at all (some virtual machines
 * and kernels with ia32 emulation disabled fault instead, SIGSEGV). Calls
 * getpid, which is harmless anywhere. */
#include <stdio.h>

int main(void)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	printf("int 0x80 getpid returned %ld\n", ret);
	return 0;
}
