#!/bin/sh
# A new user namespace (which would grant a full capability set, and with it
# mount) and every other namespace are refused through unshare and clone
# (EPERM); mount still fails after the tries; clone3 is ENOSYS.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack unshare ""
attack_held unshare 20
pass "unshare/clone with namespace flags: EPERM; mount afterwards: EPERM"
