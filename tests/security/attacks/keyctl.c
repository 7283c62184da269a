/* Kernel keyrings are not namespaced: the host's keys (and the caller's
 * session keyring) must stay unreachable. keyctl, add_key and request_key
 * are refused, /proc/keys is masked. */
#include <linux/keyctl.h>

#include "attack.h"

int main(void)
{
	char buf[4096];

	attack_begin("keyctl");
	EXPECT_ERRNO_AS("keyctl(GET_KEYRING_ID, session)", EPERM,
			syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
	EXPECT_ERRNO_AS("keyctl(GET_KEYRING_ID, user)", EPERM,
			syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0));
	EXPECT_ERRNO_AS("keyctl(JOIN_SESSION_KEYRING)", EPERM, syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL));
	EXPECT_ERRNO_AS("keyctl(READ, session)", EPERM,
			syscall(SYS_keyctl, KEYCTL_READ, KEY_SPEC_SESSION_KEYRING, buf, sizeof(buf)));
	EXPECT_ERRNO_AS("add_key(user)", EPERM,
			syscall(SYS_add_key, "user", "doppel-attack", "x", 1, KEY_SPEC_SESSION_KEYRING));
	EXPECT_ERRNO_AS("request_key(user)", EPERM, syscall(SYS_request_key, "user", "doppel-attack", NULL, 0));
	check(read_file("/proc/keys", buf, sizeof(buf)) == 0, "/proc/keys reads empty (masked)");
	attack_end();
}
