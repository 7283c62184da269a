#!/bin/sh
# A system call through the x32 ABI (__X32_SYSCALL_BIT) kills the process
# with SIGSYS: doppel exits 159 (128 + SIGSYS) and the attack never prints
# that it survived.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

[ "$(uname -m)" = x86_64 ] || skip "x32 is an x86_64 ABI"
run_attack x32 ""
grep -q '^calling getpid through the x32 ABI' "$T/out" || fail "the attack never reached the call (exit $rc)"
! grep -q '^ESCAPE' "$T/out" || fail "$(grep '^ESCAPE' "$T/out")"
[ "$rc" = 159 ] || fail "expected exit 159 (killed by SIGSYS), got $rc"
pass "x32 system call: killed by SIGSYS (exit 159)"
