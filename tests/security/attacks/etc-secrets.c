/* Secrets in the system tree's /etc (TLS private keys in /etc/ssl/private)
 * must not reach the sandbox: doppel's /etc is "what a program needs to run;
 * nothing that names hosts, users or holds secrets". In root mode the
 * sandbox's uid 0 is the host's uid 0 as far as file permissions go, so
 * mode 0600 does not protect a key that is copied or bound in: it must be
 * absent (ENOENT). Rootless, a key the caller cannot read may instead be
 * bound and unreadable (EACCES). Public certificates stay readable (control).
 * usage: attack-etc-secrets secret:PATH... public:PATH... */
#include <dirent.h>

#include "attack.h"

int main(int argc, char **argv)
{
	char buf[4096];
	int secrets = 0;

	attack_begin("etc-secrets");
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "secret:", 7) == 0) {
			const char *p = argv[i] + 7;
			secrets++;
			if (rootless())
				EXPECT_ERRNO_EITHER(p, ENOENT, EACCES, open(p, O_RDONLY));
			else
				EXPECT_ERRNO_AS(p, ENOENT, open(p, O_RDONLY));
		} else if (strncmp(argv[i], "public:", 7) == 0) {
			const char *p = argv[i] + 7;
			check(read_file(p, buf, sizeof(buf)) > 0, "control: %s is readable", p);
		} else {
			printf("usage: attack-etc-secrets secret:PATH... public:PATH...\n");
			return 2;
		}
	}
	check(secrets > 0, "tried %d secret paths", secrets);
	attack_end();
}
