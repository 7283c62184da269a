/* A memory bomb under --mem: touches memory in 1 MiB steps, printing its
 * progress, until the kernel kills it. It must be killed (SIGKILL from the
 * OOM killer) before it passes the limit; reaching the end is an escape.
 * usage: attack-membomb MAX-MIB */
#include <sys/mman.h>

#include "attack.h"

int main(int argc, char **argv)
{
	int max;

	attack_begin("membomb");
	if (argc != 2) {
		printf("usage: attack-membomb MAX-MIB\n");
		return 2;
	}
	max = atoi(argv[1]);
	for (int mib = 1; mib <= max; mib++) {
		char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			printf("WRONG: mmap failed at %d MiB: %s (expected the OOM killer)\n", mib, strerror(errno));
			attack_failed++;
			attack_end();
		}
		memset(p, mib & 0xff, 1 << 20);
		if (mib % 8 == 0)
			printf("touched %d MiB\n", mib);
	}
	check(0, "touched %d MiB without being killed", max);
	attack_end();
}
