/* Writes the sandbox's root and the host's system directories it shows
 * read-only: /, /usr, /bin (a symlink on merged-/usr hosts), /etc and the
 * files doppel wrote into /etc; remounting them writable. Opening an
 * existing file for writing fails with EROFS, or EACCES first where its
 * owner (host root) is not mapped into a rootless namespace. */
#include <sys/mount.h>

#include "attack.h"

#define WRITE_REFUSED(path, flags) EXPECT_ERRNO_AS("open " path ", " #flags, dac_or(path, EROFS), open(path, flags))

int main(void)
{
	attack_begin("system-write");
	EXPECT_ERRNO(EROFS, mkdir("/evil", 0755));
	EXPECT_ERRNO(EROFS, open("/evil", O_WRONLY | O_CREAT, 0644));
	EXPECT_ERRNO(EROFS, rename("/etc", "/etc2"));
	WRITE_REFUSED("/etc/passwd", O_WRONLY | O_APPEND);
	EXPECT_ERRNO(EROFS, open("/etc/hosts", O_WRONLY | O_TRUNC));
	EXPECT_ERRNO(EROFS, open("/etc/ld.so.preload", O_WRONLY | O_CREAT, 0644));
	WRITE_REFUSED("/etc/nsswitch.conf", O_WRONLY);
	EXPECT_ERRNO(EROFS, unlink("/etc/passwd"));
	EXPECT_ERRNO(EROFS, open("/usr/bin/evil", O_WRONLY | O_CREAT, 0755));
	WRITE_REFUSED("/usr/lib/x86_64-linux-gnu/libc.so.6", O_WRONLY);
	EXPECT_ERRNO(EROFS, unlink("/usr/bin/true"));
	EXPECT_ERRNO(EROFS, chmod("/usr/bin/true", 04755));
	/* the loader may be in an exec anywhere on the host right now: ETXTBSY */
	EXPECT_ERRNO_EITHER("open /lib64/ld-linux-x86-64.so.2, O_RDWR", dac_or("/lib64/ld-linux-x86-64.so.2", EROFS),
			    dac_or("/lib64/ld-linux-x86-64.so.2", ETXTBSY), open("/lib64/ld-linux-x86-64.so.2", O_RDWR));
	EXPECT_ERRNO(EROFS, symlink("/tmp/evil", "/bin2"));
	EXPECT_ERRNO(EPERM, mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL));
	EXPECT_ERRNO(EPERM, mount(NULL, "/usr", NULL, MS_REMOUNT | MS_BIND, NULL));
	attack_end();
}
