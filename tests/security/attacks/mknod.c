/* Device nodes give raw access to host disks and memory. The command has no
 * CAP_MKNOD (and no namespace grants it one for devices): character and
 * block nodes are refused on every writable filesystem of the sandbox, and
 * the writable filesystems are nodev besides. A FIFO works (control: the
 * refusals come from the node type, not from mknod being unavailable).
 * usage: attack-mknod DIR...   (writable directories to try) */
#include <sys/sysmacros.h>

#include "attack.h"

static const struct { mode_t type; unsigned maj, min; const char *what; } nodes[] = {
	{ S_IFBLK, 8, 0, "block 8:0 (sda)" },	 { S_IFBLK, 253, 0, "block 253:0 (vda)" },
	{ S_IFCHR, 1, 1, "char 1:1 (mem)" },	 { S_IFCHR, 1, 2, "char 1:2 (kmem)" },
	{ S_IFCHR, 10, 200, "char 10:200 (tun)" }, { S_IFCHR, 4, 0, "char 4:0 (tty0)" },
};

int main(int argc, char **argv)
{
	char path[256], label[320];
	int tried = 0;

	attack_begin("mknod");
	for (int i = 1; i < argc; i++) {
		for (size_t k = 0; k < sizeof(nodes) / sizeof(nodes[0]); k++) {
			snprintf(path, sizeof(path), "%s/node%zu", argv[i], k);
			snprintf(label, sizeof(label), "mknod %s %s", path, nodes[k].what);
			EXPECT_ERRNO_AS(label, EPERM,
					mknod(path, nodes[k].type | 0666, makedev(nodes[k].maj, nodes[k].min)));
			tried++;
		}
		snprintf(path, sizeof(path), "%s/fifo", argv[i]);
		MUST(mknod(path, S_IFIFO | 0600, 0));
		check(1, "control: mknod of a FIFO in %s works", argv[i]);
		unlink(path);
	}
	check(tried > 0, "tried %d device nodes", tried);
	attack_end();
}
