/* personality() flags that weaken the process (READ_IMPLIES_EXEC makes
 * every readable mapping executable, ADDR_NO_RANDOMIZE switches off ASLR for
 * what it execs, MMAP_PAGE_ZERO maps page 0) are refused; the harmless ones
 * Docker allows still work (control). */
#include <sys/personality.h>

#include "attack.h"

int main(void)
{
	attack_begin("personality");
	EXPECT_ERRNO(EPERM, personality(READ_IMPLIES_EXEC));
	EXPECT_ERRNO(EPERM, personality(ADDR_NO_RANDOMIZE));
	EXPECT_ERRNO(EPERM, personality(MMAP_PAGE_ZERO));
	EXPECT_ERRNO(EPERM, personality(PER_LINUX32 | ADDR_NO_RANDOMIZE));
	EXPECT_ERRNO(EPERM, personality(PER_SVR4));
	check(personality(0xffffffff) >= 0, "control: querying the personality works");
	check(personality(PER_LINUX) >= 0, "control: personality(PER_LINUX) works");
	check((personality(0xffffffff) & (READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE)) == 0, "no weakening flag is set");
	attack_end();
}
