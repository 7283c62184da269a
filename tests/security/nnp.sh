#!/bin/sh
# no_new_privs cannot be cleared (EINVAL) and the seccomp filters cannot be
# lifted: an allow-all filter stacked by the sandbox leaves mount, unshare and
# keyctl refused (EPERM).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack nnp ""
attack_held nnp 9
pass "no_new_privs stays set; a stacked allow-all filter lifts nothing"
