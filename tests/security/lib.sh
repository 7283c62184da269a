# Helpers of the escape suite, sourced after tests/lib/common.sh. Attack
# programs are built into $A ($DOPPEL_BUILD/tests/security) and bound
# read-only at /t inside the sandbox.

A="${DOPPEL_BUILD:?DOPPEL_BUILD must point at the build directory}/tests/security"

# run_attack NAME "ISOLATE OPTIONS" [ARGS...]: runs /t/attack-NAME ARGS in a
# sandbox with the options (word-split; no spaces in our paths). Output goes
# to $T/out and $T/err, the status to $rc; both are also shown.
run_attack() {
	name=$1 opts=$2; shift 2
	[ -x "$A/attack-$name" ] || fail "attack program $A/attack-$name is missing (not built?)"
	# shellcheck disable=SC2086
	"$DOPPEL" isolate --ro-bind "$A" /t $opts -- "/t/attack-$name" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	sed 's/^/    /' "$T/out"
	[ -s "$T/err" ] && sed 's/^/    stderr: /' "$T/err"
	return 0
}

# attack_held NAME [MIN-CHECKS]: the last run_attack started, finished, made
# at least MIN-CHECKS checks, and every escape try failed the expected way.
attack_held() {
	grep -q "^attack $1: start" "$T/out" || fail "attack-$1 never started (exit $rc): $(cat "$T/err")"
	line=$(grep "^attack $1: done: " "$T/out") ||
		fail "attack-$1 did not finish (exit $rc, killed or crashed?)"
	n=$(echo "$line" | sed 's/.*done: \([0-9]*\) checks.*/\1/')
	[ "$n" -ge "${2:-1}" ] || fail "attack-$1 made only $n checks, expected at least ${2:-1}"
	bad=$(grep -E '^(ESCAPE|WRONG|SETUP)' "$T/out")
	[ -z "$bad" ] || fail "attack-$1:
$bad"
	[ "$rc" = 0 ] || fail "attack-$1 exited $rc"
}

# require_limits: cgroup limits work for this caller; otherwise the test
# is skipped (a rootless user whose cgroup is not delegated gets a pointer
# to 'doppel doctor' and that case is tested by the integration suite).
require_limits() {
	if ! "$DOPPEL" isolate --mem 64M -- true >/dev/null 2>"$T/lim-err"; then
		grep -q doctor "$T/lim-err" && skip "cgroup limits unavailable to uid $(id -u): $(cat "$T/lim-err")"
		fail "doppel isolate --mem 64M -- true failed: $(cat "$T/lim-err")"
	fi
}

# a host process of ours, to be looked for from inside; killed at exit
start_host_sleeper() {
	sleep 600 &
	HOST_PID=$!
	trap 'kill -KILL $HOST_PID 2>/dev/null; cleanup_T' EXIT
	kill -0 "$HOST_PID" || fail "host sleeper did not start"
}
