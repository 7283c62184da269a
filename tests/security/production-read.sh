#!/bin/sh
# A host production tree that is not in the mount plan cannot be read: not
# by its path, not through '..' above the root, /proc/self/root or init's
# root/cwd links; the mount table does not name it and no file in the
# sandbox holds its secret. A control run that does bind it must be caught
# by the same attack, so the attack can tell.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

make_production
run_attack prod-read "" "$P" secret-token-123
attack_held prod-read 19
# control: with production bound in, the attack reports the leak
run_attack prod-read "--ro-bind $P $P" "$P" secret-token-123
[ "$rc" = 1 ] && grep -q '^ESCAPE: .*holds the production secret' "$T/out" ||
	fail "control: the attack did not notice production bound into the sandbox (exit $rc)"
check_production_unchanged
pass "production outside the plan is unreadable (and the attack detects it when it is not)"
