/* Capabilities (CVE-2022-27650 class): the inheritable and ambient sets are
 * empty, the bounding set is exactly the sandbox set for uid 0 (chown
 * dac_override fowner fsetid kill setgid setuid net_bind_service, 0x4fb)
 * and empty for any other uid, and none can be raised again: not through
 * capset, the ambient set, or the bounding set.
 * usage: attack-caps */
#include <linux/capability.h>
#include <sys/prctl.h>

#include "attack.h"

#define SANDBOX_SET 0x4fbull

static unsigned long long field(const char *status, const char *name)
{
	const char *p = strstr(status, name);
	return p ? strtoull(p + strlen(name), NULL, 16) : ~0ull;
}

int main(void)
{
	char st[4096];
	unsigned long long want, inh, prm, eff, bnd, amb;
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };

	attack_begin("caps");
	MUST(read_file("/proc/self/status", st, sizeof(st)));
	inh = field(st, "\nCapInh:\t");
	prm = field(st, "\nCapPrm:\t");
	eff = field(st, "\nCapEff:\t");
	bnd = field(st, "\nCapBnd:\t");
	amb = field(st, "\nCapAmb:\t");
	want = getuid() == 0 ? SANDBOX_SET : 0;
	note("uid %d: CapInh %016llx CapPrm %016llx CapEff %016llx CapBnd %016llx CapAmb %016llx", (int)getuid(), inh,
	     prm, eff, bnd, amb);
	check(inh == 0, "CapInh is 0 (%016llx)", inh);
	check(amb == 0, "CapAmb is 0 (%016llx)", amb);
	check(bnd == want, "CapBnd is exactly %016llx (%016llx)", want, bnd);
	check(prm == want && eff == want, "CapPrm and CapEff are %016llx (%016llx, %016llx)", want, prm, eff);

	/* raise CAP_SYS_ADMIN into each set */
	MUST(syscall(SYS_capget, &hdr, data));
	data[0].permitted |= 1u << CAP_SYS_ADMIN;
	data[0].effective |= 1u << CAP_SYS_ADMIN;
	EXPECT_ERRNO_AS("capset +sys_admin (permitted, effective)", EPERM, syscall(SYS_capset, &hdr, data));
	MUST(syscall(SYS_capget, &hdr, data));
	data[0].inheritable |= 1u << CAP_SYS_ADMIN;
	EXPECT_ERRNO_AS("capset +sys_admin (inheritable)", EPERM, syscall(SYS_capset, &hdr, data));
	MUST(syscall(SYS_capget, &hdr, data));
	EXPECT_ERRNO_AS("PR_CAP_AMBIENT_RAISE sys_admin", EPERM,
			prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0));
	EXPECT_ERRNO_AS("PR_CAP_AMBIENT_RAISE net_admin", EPERM,
			prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_ADMIN, 0, 0));
	check(prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 0, "CAP_SYS_ADMIN is not in the bounding set");
	check(prctl(PR_CAPBSET_READ, CAP_SYS_MODULE, 0, 0, 0) == 0, "CAP_SYS_MODULE is not in the bounding set");
	check(prctl(PR_CAPBSET_READ, CAP_MKNOD, 0, 0, 0) == 0, "CAP_MKNOD is not in the bounding set");
	check(prctl(PR_CAPBSET_READ, CAP_SYS_PTRACE, 0, 0, 0) == 0, "CAP_SYS_PTRACE is not in the bounding set");
	/* the securebits cannot be changed to keep caps across setuid games */
	EXPECT_ERRNO_AS("PR_SET_SECUREBITS", EPERM, prctl(PR_SET_SECUREBITS, 0x2f, 0, 0, 0));
	MUST(read_file("/proc/self/status", st, sizeof(st)));
	check(field(st, "\nCapEff:\t") == want && field(st, "\nCapBnd:\t") == want,
	      "after the tries CapEff and CapBnd are unchanged");
	attack_end();
}
