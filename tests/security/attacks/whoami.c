/* Helper of the setuid attack: prints who it runs as, and its capabilities.
 * Installed setuid-root by the attack; must still print the caller's ids.
 * With an argument it sleeps that many seconds first (a binary for the
 * self-exe attack to keep running that nothing else on the host runs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	uid_t r, e, s;

	if (argc > 1)
		sleep((unsigned)atoi(argv[1]));
	getresuid(&r, &e, &s);
	printf("whoami: ruid %u euid %u suid %u", (unsigned)r, (unsigned)e, (unsigned)s);
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "CapEff:", 7) == 0 || strncmp(line, "CapPrm:", 7) == 0)
			printf(" %.*s", (int)strcspn(line, "\n"), line);
	printf("\n");
	return 0;
}
