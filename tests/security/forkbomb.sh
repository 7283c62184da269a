#!/bin/sh
# A fork bomb under --pids 64: fork fails with EAGAIN before 64 tasks exist,
# never more than 64 exist, the run ends when the leader exits (taking every
# bomb process with it), and the host stays responsive meanwhile: 20 runs
# of /bin/true on the host during the bomb take under 10 s, and no bomb
# process outlives the run.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

require_limits
b0=$(date +%s%N)
for _ in $(seq 20); do /bin/true; done
baseline=$(( ($(date +%s%N) - b0) / 1000000 ))
start=$(date +%s)
timeout -s KILL 60 "$DOPPEL" isolate --pids 64 --ro-bind "$A" /t -- /t/attack-forkbomb 64 4 >"$T/out" 2>"$T/err" &
bomb=$!
sleep 1.5
t0=$(date +%s%N)
for _ in $(seq 20); do /bin/true || fail "the host could not run /bin/true during the bomb"; done
t1=$(date +%s%N)
wait $bomb; rc=$?
elapsed=$(( $(date +%s) - start ))
sed 's/^/    /' "$T/out" "$T/err"
echo "    host: 20 x /bin/true took $(( (t1 - t0) / 1000000 )) ms during the bomb ($baseline ms before); the run took ${elapsed} s"
[ $(( (t1 - t0) / 1000000 )) -lt 10000 ] || fail "the host was unresponsive during the bomb"
[ "$rc" != 137 ] || fail "the run had to be killed by the 60 s timeout: the bomb did not end"
attack_held forkbomb 3
[ "$elapsed" -lt 30 ] || fail "the run took ${elapsed} s"
sleep 0.5
left=$(pgrep -f '/t/attack-forkbomb' || true)
[ -z "$left" ] || fail "bomb processes outlived the run: $left"
pass "fork bomb under --pids 64: EAGAIN, ended, host responsive, nothing left"
