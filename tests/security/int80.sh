#!/bin/sh
# A system call through the i386 ABI (int 0x80) kills the process with
# SIGSYS: doppel exits 159 (128 + SIGSYS) and the attack never prints that it
# survived. Where the host kernel itself has no int 0x80 entry (a probe run
# on the host dies of SIGSEGV), there is nothing to filter: skipped.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

[ "$(uname -m)" = x86_64 ] || skip "int 0x80 is tested on x86_64"
"$A/attack-probe-int80" >"$T/probe" 2>&1
probe=$?
if [ "$probe" != 0 ]; then
	[ "$probe" = 139 ] || fail "the host probe of int 0x80 ended with $probe: $(cat "$T/probe")"
	skip "this kernel has no int 0x80 entry (it faults with SIGSEGV on the host itself)"
fi
run_attack int80 ""
grep -q '^calling getpid through int 0x80' "$T/out" || fail "the attack never reached the call (exit $rc)"
! grep -q '^ESCAPE' "$T/out" || fail "$(grep '^ESCAPE' "$T/out")"
[ "$rc" = 159 ] || fail "expected exit 159 (killed by SIGSYS), got $rc"
pass "int 0x80 system call: killed by SIGSYS (exit 159)"
