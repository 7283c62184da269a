#!/bin/sh
# A host production tree that is not in the mount plan cannot be written:
# by its path (ENOENT), through init's root or cwd links (EACCES); recreating
# the path writes only the sandbox's own /tmp. The host tree is unchanged.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

make_production
run_attack prod-write "" "$P"
attack_held prod-write 10
check_production_unchanged
pass "production outside the plan is unwritable"
