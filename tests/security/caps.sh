#!/bin/sh
# Capabilities (CVE-2022-27650 class): CapInh and CapAmb are 0; CapBnd (and
# CapPrm, CapEff) is exactly the sandbox set 0x4fb for uid 0 and 0 for any
# other uid (--uid of an unprivileged caller); capset, ambient raises and
# securebits changes are refused (EPERM).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack caps ""
attack_held caps 13
grep -q "uid 0: .*CapBnd 00000000000004fb" "$T/out" || fail "uid 0 run did not report CapBnd 0x4fb"
run_attack caps "--uid"
attack_held caps 13
if is_root; then
	grep -q "uid 0: .*CapBnd 00000000000004fb" "$T/out" || fail "--uid as root: expected uid 0 with 0x4fb"
else
	grep -q "uid $(id -u): .*CapBnd 0000000000000000" "$T/out" || fail "--uid: expected uid $(id -u) with CapBnd 0"
fi
pass "CapInh/CapAmb 0, CapBnd exactly the sandbox set (0 for a non-zero uid), nothing can be raised"
