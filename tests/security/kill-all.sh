#!/bin/sh
# kill -9 -1 inside the sandbox kills only the sandbox's processes: a host
# process of the same user survives, and so does the sandbox's init (and with
# it the run, which ends normally with the command's status). kill -9 1 from
# inside is ignored by init.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

start_host_sleeper
out=$(isolate -- /bin/sh -c '
	sleep 100 & s1=$!
	sleep 100 & s2=$!
	echo started
	kill -9 -1; echo "kill -9 -1: $?"
	wait $s1; echo "s1 $?"
	wait $s2; echo "s2 $?"
	kill -9 1; echo "kill -9 1: $?"
	sleep 0.2
	kill -0 1 && echo init-alive
	echo survived' 2>&1); st=$?
echo "$out" | sed 's/^/    /'
[ "$st" = 0 ] || fail "the run ended with $st, expected 0"
echo "$out" | grep -qx started || fail "the command never ran"
echo "$out" | grep -qx "s1 137" || fail "the sandbox's own sleeps were not killed by kill -9 -1"
echo "$out" | grep -qx "s2 137" || fail "the sandbox's own sleeps were not killed by kill -9 -1"
echo "$out" | grep -qx init-alive || fail "init did not survive kill -9 1"
echo "$out" | grep -qx survived || fail "the command itself did not survive"
kill -0 "$HOST_PID" 2>/dev/null || fail "ESCAPE: the host's process $HOST_PID was killed"
pass "kill -9 -1 killed only the sandbox's processes; host pid $HOST_PID lives"
