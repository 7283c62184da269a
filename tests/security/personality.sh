#!/bin/sh
# personality() flags that weaken the process (READ_IMPLIES_EXEC,
# ADDR_NO_RANDOMIZE, MMAP_PAGE_ZERO) are refused with EPERM.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack personality ""
attack_held personality 8
pass "weakening personality flags: EPERM"
