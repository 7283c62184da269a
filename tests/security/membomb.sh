#!/bin/sh
# A memory bomb under --mem 64M touches memory 1 MiB at a time: the kernel's
# OOM killer ends it (exit 137, SIGKILL) before 64 MiB are touched, doppel
# says the sandbox ran out of memory, and the bomb never reaches its end.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

require_limits
timeout -s KILL 60 "$DOPPEL" isolate --mem 64M --ro-bind "$A" /t -- /t/attack-membomb 1024 >"$T/out" 2>"$T/err"
rc=$?
sed 's/^/    /' "$T/out" "$T/err"
grep -q '^attack membomb: start' "$T/out" || fail "the bomb never started (exit $rc)"
grep -q '^touched 8 MiB' "$T/out" || fail "the bomb did not get going (exit $rc)"
! grep -qE '^(ESCAPE|WRONG)' "$T/out" || fail "$(grep -E '^(ESCAPE|WRONG)' "$T/out")"
! grep -q '^attack membomb: done' "$T/out" || fail "the bomb finished instead of being killed"
[ "$rc" = 137 ] || fail "expected exit 137 (SIGKILL by the OOM killer), got $rc"
most=$(sed -n 's/^touched \([0-9]*\) MiB$/\1/p' "$T/out" | tail -1)
[ "$most" -le 64 ] || fail "the bomb touched $most MiB under --mem 64M"
grep -qi "out of memory" "$T/err" || fail "doppel did not say the sandbox ran out of memory: $(cat "$T/err")"
pass "memory bomb under --mem 64M: OOM-killed at <= $most MiB, exit 137"

# Many small processes instead of one big one: none is bigger than doppel's
# own init, so the OOM killer must still pick one of them (init shares the
# monitor's memory: were it picked, the kernel would kill the monitor too).
# The command waits for all of them and exits 0; doppel must live to pass
# that on and to say what happened.
timeout -s KILL 60 "$DOPPEL" isolate --mem 32M -- /bin/sh -c '
	for i in $(seq 24); do
		( x=$(head -c 2500000 /dev/zero | tr "\0" a); sleep 2 ) &
	done
	wait; echo all-waited' >"$T/out2" 2>"$T/err2"
rc=$?
sed 's/^/    /' "$T/out2" "$T/err2"
[ "$rc" = 0 ] || fail "many small allocators under --mem 32M: doppel exited $rc, expected the command's 0"
grep -qx all-waited "$T/out2" || fail "the command did not finish"
grep -qi "out of memory" "$T/err2" || fail "no OOM kill among 24 x 2.5 MB under --mem 32M, or doppel did not say so"
pass "24 small allocators under --mem 32M: the OOM killer took some of them, never doppel (exit 0, reported)"
