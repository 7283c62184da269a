#!/bin/sh
# clone3 (whose flags seccomp cannot inspect) fails with ENOSYS with or
# without namespace flags and with CLONE_INTO_CGROUP; fork and threads still
# work through libc's fallback to clone.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack clone3 ""
attack_held clone3 5
pass "clone3: ENOSYS; fork and pthread_create still work"
