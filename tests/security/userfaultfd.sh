#!/bin/sh
# userfaultfd (the usual tool to win kernel races) is refused (EPERM) and
# /dev/userfaultfd is absent.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack userfaultfd ""
attack_held userfaultfd 3
pass "userfaultfd: EPERM, /dev/userfaultfd absent"
