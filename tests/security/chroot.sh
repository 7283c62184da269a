#!/bin/sh
# chroot is refused (EPERM), so the chroot-and-climb escape cannot start;
# '..' from / stays at /.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack chroot ""
attack_held chroot 4
pass "chroot: EPERM; '..' from / is /"
