#!/bin/sh
# The sandbox's root, /etc (doppel's files and the host's copied entries) and
# the host's system directories are read-only and cannot be remounted
# writable: EROFS for every write, EPERM for the remount.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack system-write ""
attack_held system-write 16
pass "/, /etc, /usr, /lib64 are read-only (EROFS), remounts refused (EPERM)"
