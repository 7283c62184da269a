#!/bin/sh
# doppeld's run socket (docs/api.md, "Run") with a small C client written
# from the protocol (run-client.c): the exit status, stdout, stderr and stdin
# go through; a forwarded signal reaches the command; a client that hangs up
# ends its run (the command is gone, the sandbox is free); a terminal run
# sees a terminal; exactly three fds or a refusal; bad requests and unknown
# sandboxes are refused before anything starts; a SIGTERM to the daemon lets
# a run finish and exits 0; the runner mode, called by a user, acts for no
# one else. Runs as root and as an unprivileged user.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"

DOPPELD=${DOPPELD:-$(dirname "$DOPPEL")/src/daemon/doppeld}
RUN_CLIENT=${RUN_CLIENT:-$(dirname "$DOPPEL")/tests/access/run-client}
[ -x "$DOPPELD" ] || fail "doppeld not built at $DOPPELD"
[ -x "$RUN_CLIENT" ] || fail "run-client not built at $RUN_CLIENT"
unset DOPPEL_ACCESS DOPPEL_HOST

mkdir -p "$P/app" "$T/run"
echo "hello" >"$P/app/index.html"
chmod -R a+rX "$P"
write_config
remember_production
d sync >/dev/null || fail "sync"
d create box >/dev/null || fail "create box"
d create other >/dev/null || fail "create other"
SOCK="$T/run/doppel.sock"
RUNSOCK="$T/run/run.sock"

DAEMON_PID=
trap '[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID"; cleanup_T' EXIT
start_daemon() {
	"$DOPPELD" --config "$DOPPEL_CONFIG" --socket "$SOCK" >"$T/doppeld.log" 2>&1 &
	DAEMON_PID=$!
	wait_for "[ -S '$RUNSOCK' ]" 100 || fail "doppeld did not make its run socket: $(cat "$T/doppeld.log")"
}
start_daemon

# rc [CLIENT OPTIONS] REQUEST: runs the client with $T/in as stdin; stdout,
# stderr and the message log in $T/out, $T/err, $T/log; $RC its status
rc() {
	: >"$T/log"
	[ -e "$T/in" ] || : >"$T/in"
	"$RUN_CLIENT" --log "$T/log" "$@" <"$T/in" >"$T/out" 2>"$T/err"
	RC=$?
	# the runner's own stderr is the client's: no sanitizer report there
	! grep -E 'runtime error|Sanitizer' "$T/err" || fail "the runner: sanitizer report above"
}
# req SANDBOX ARGV-JSON [EXTRA]: a run request
req() { printf '{"sandbox": "%s", "argv": %s%s}' "$1" "$2" "${3:+, $3}"; }
expect_refusal() { # WHAT STATUS PATTERN: the last run was refused so, before any start
	[ "$RC" = 125 ] || fail "$1: client exit $RC, expected a refusal (125): $(cat "$T/err")"
	grep -q '"started"' "$T/log" && fail "$1: started before the refusal: $(cat "$T/log")"
	grep -q "\"status\":$2" "$T/log" || fail "$1: expected status $2: $(cat "$T/log")"
	grep -Eq -- "$3" "$T/log" || fail "$1: message does not match /$3/: $(cat "$T/log")"
}

# --- exit status, stdout, stderr, stdin -------------------------------------
rc "$RUNSOCK" "$(req box '["/bin/sh", "-c", "echo to-out; echo to-err >&2; exit 7"]')"
[ "$RC" = 7 ] || fail "exit status: $RC, expected 7 ($(cat "$T/err"))"
[ "$(cat "$T/out")" = to-out ] || fail "stdout: $(cat "$T/out")"
grep -qx to-err "$T/err" || fail "stderr: $(cat "$T/err")"
[ "$(head -1 "$T/log")" = '{"started":true}' ] && [ "$(tail -1 "$T/log")" = '{"exit":7}' ] ||
	fail "messages: $(cat "$T/log")"
printf 'line one\nline two\n' >"$T/in"
rc "$RUNSOCK" "$(req box '["/bin/sh", "-c", "wc -l; cat /dev/null"]')"
rm -f "$T/in"
[ "$RC" = 0 ] && [ "$(tr -d ' ' <"$T/out")" = 2 ] || fail "stdin: exit $RC, out $(cat "$T/out")"
rc "$RUNSOCK" "$(req box '["/bin/printf", "%s|", "a b", "$HOME", "*", "\u00e9"]')"
[ "$RC" = 0 ] && [ "$(cat "$T/out")" = 'a b|$HOME|*|é|' ] || fail "argv words: $RC $(cat "$T/out")"
rc "$RUNSOCK" "$(req box '["/bin/sh", "-c", "kill -KILL $$"]')"
[ "$RC" = 137 ] || fail "a command killed by SIGKILL: $RC, expected 137"
rc "$RUNSOCK" "$(req box '["/bin/sh", "-c", "echo $FOO; pwd"]' '"env": ["FOO=bar"], "chdir": "/tmp"')"
[ "$RC" = 0 ] && [ "$(cat "$T/out")" = "bar
/tmp" ] || fail "env and chdir: $RC $(cat "$T/out") $(cat "$T/err")"
# the run's writes land in the sandbox, as with the local CLI
rc "$RUNSOCK" "$(req box "[\"/bin/sh\", \"-c\", \"echo made > '$P/app/made.txt'\"]")"
[ "$RC" = 0 ] || fail "a write: $RC $(cat "$T/err")"
d diff box --json | json '[e.get("path") for e in j]' | grep -q app/made.txt || fail "the run's write is not in the sandbox"
pass "exit status, stdout, stderr, stdin, argv, env, chdir, writes"

# --- signals and hang-ups ----------------------------------------------------
rc --signal 15 --after 1500 "$RUNSOCK" \
	"$(req box '["/bin/sh", "-c", "trap \"echo got-term; exit 42\" TERM; echo ready; while :; do sleep 0.1; done"]')"
[ "$RC" = 42 ] || fail "SIGTERM forwarding: exit $RC, expected 42 ($(cat "$T/out") $(cat "$T/err"))"
grep -qx got-term "$T/out" || fail "SIGTERM forwarding: $(cat "$T/out")"
rc --signal 2 --after 1000 "$RUNSOCK" "$(req box '["/bin/sleep", "30"]')"
[ "$RC" = 130 ] || fail "SIGINT forwarding: exit $RC, expected 130"
rc --signal 9 --after 500 "$RUNSOCK" "$(req box '["/bin/sleep", "4"]')"
[ "$RC" = 0 ] || fail "SIGKILL is not forwarded: exit $RC, expected the command's 0"
marker=$((987000 + $$ % 1000))
rc --hangup --after 1000 "$RUNSOCK" "$(req box "[\"/bin/sleep\", \"$marker\"]")"
[ "$RC" = 0 ] || fail "hang-up client: $RC"
wait_for "! pgrep -f 'sleep $marker' >/dev/null" 50 || fail "the run outlived its client: $(pgrep -af "sleep $marker")"
# the run lock went with it: destroy needs no --force
wait_for "curl -sf --unix-socket '$SOCK' -X DELETE http://d/v1/sandboxes/other >/dev/null" 30 ||
	fail "other is still busy after its client left"
pass "SIGTERM and SIGINT forwarded, SIGKILL not; a client that hangs up ends its run"

# --- a terminal ---------------------------------------------------------------
if command -v script >/dev/null; then
	script -qec "'$RUN_CLIENT' --log '$T/log' '$RUNSOCK' '$(req box '["/bin/sh", "-c", "test -t 0 && test -t 1 && echo on-a-tty; stty size"]' '"tty": true')'" \
		/dev/null >"$T/out" 2>&1 </dev/null
	grep -q on-a-tty "$T/out" || fail "a tty run does not see a terminal: $(cat "$T/out") $(cat "$T/log")"
	grep -q '"exit":0' "$T/log" || fail "tty run: $(cat "$T/log")"
	pass "a tty run gets a terminal"
else
	echo "SKIP (part): script(1) is missing: no terminal to test a tty run with"
fi

# --- refusals ------------------------------------------------------------------
rc --fds 2 "$RUNSOCK" "$(req box '["/bin/true"]')"
expect_refusal "two fds" 400 'exactly 3 file descriptors'
rc --fds 4 "$RUNSOCK" "$(req box '["/bin/true"]')"
expect_refusal "four fds" 400 'exactly 3 file descriptors'
rc --fds 0 "$RUNSOCK" "$(req box '["/bin/true"]')"
expect_refusal "no fds" 400 'exactly 3 file descriptors'
rc "$RUNSOCK" '{"sandbox": "box", "argv": ["/bin/true"'
expect_refusal "malformed JSON" 400 'run request'
rc "$RUNSOCK" ''
expect_refusal "an empty message (with fds)" 400 'run request: empty'
fds_before=$(ls /proc/"$DAEMON_PID"/fd | wc -l)
rc "$RUNSOCK" "$(req box '["/bin/true"]' '"uid": 0')"
expect_refusal "unknown field" 400 "unknown field 'uid'"
rc "$RUNSOCK" "$(req box '"/bin/true"')"
expect_refusal "argv not an array" 400 'argv: expected an array'
rc "$RUNSOCK" "$(req box '["/bin/true"]' '"net": "host"')"
expect_refusal "net other than none" 400 'net: only'
rc "$RUNSOCK" "$(req ../box '["/bin/true"]')"
expect_refusal "traversal in the name" 400 "sandbox name '../box'"
rc "$RUNSOCK" "$(req nosuch '["/bin/true"]')"
expect_refusal "unknown sandbox" 404 "no sandbox named 'nosuch'"
if is_root && id nobody >/dev/null 2>&1; then
	# another user: SO_PEERCRED says who; the policy refuses before a start
	: >"$T/log"
	chmod 666 "$T/log"
	(cd / && setpriv --reuid=nobody --regid=nogroup --clear-groups "$RUN_CLIENT" --log "$T/log" "$RUNSOCK" \
		"$(req box '["/bin/touch", "/tmp/should-not-run"]')") </dev/null >"$T/out" 2>"$T/err"
	RC=$?
	expect_refusal "nobody running in root's sandbox" 403 'nobody may not run dev/box'
	d audit --json | json '[r["user"] + ":" + r["result"] for r in j if r["action"] == "run"][-1]' |
		grep -qx 'nobody:denied' || fail "the denied run is not in the audit log"
fi
head -c 70000 /dev/zero | tr '\0' a >"$T/big"
rc "$RUNSOCK" "$(req box "[\"$(cat "$T/big")\"]")"
expect_refusal "a request over 64 KiB" 413 'over 65536 bytes'
curl -sf --unix-socket "$SOCK" http://d/v1/version >/dev/null || fail "the API stopped serving after the refusals"
# the refused requests' fds were all closed
rc --fds 5 "$RUNSOCK" "$(req box '["/bin/true"]')"
rc "$RUNSOCK" ''
sleep 0.2
[ "$(ls /proc/"$DAEMON_PID"/fd | wc -l)" -le "$fds_before" ] || fail "doppeld kept fds of refused requests: $(ls -l /proc/"$DAEMON_PID"/fd)"
pass "refused: not 3 fds, malformed, unknown field, wrong types, bad name, unknown sandbox, too large; another user's run (403, recorded)"

# --- the runner mode, called directly -----------------------------------------
out=$("$RUN_CLIENT" --runner "$DOPPELD" \
	"{\"uid\": $(id -u), \"gid\": $(id -g), \"pid\": 1, \"source\": \"socket\", \"config\": \"$DOPPEL_CONFIG\", \"store\": \"$DOPPEL_HOME\", \"run\": $(req box '["/bin/echo", "direct"]')}")
printf '%s\n' "$out" | grep -q '"exit":0' || fail "the runner for oneself: $out"
if is_root && id nobody >/dev/null 2>&1; then
	# a user who runs the mode claiming to be root: refused, nothing runs
	out=$(cd / && runuser -u nobody -- "$RUN_CLIENT" --runner "$DOPPELD" \
		"{\"uid\": 0, \"gid\": 0, \"pid\": 1, \"source\": \"socket\", \"config\": \"$DOPPEL_CONFIG\", \"store\": \"$DOPPEL_HOME\", \"run\": $(req box '["/bin/touch", "/tmp/pwned"]')}")
	printf '%s\n' "$out" | grep -q 'may not run commands for uid 0' || fail "the runner as nobody for root: $out"
	printf '%s\n' "$out" | grep -q '"status":403' || fail "the runner as nobody for root: $out"
	pass "the runner mode acts for no one else"
else
	echo "SKIP (part): the runner-as-another-user check needs root and a user 'nobody'"
fi
"$DOPPELD" --internal-runner </dev/null >/dev/null 2>"$T/err" 3>&-
[ $? = 2 ] && grep -q 'is internal' "$T/err" || fail "the runner mode without a request: $(cat "$T/err")"

# --- the daemon stops: a run in progress finishes, exit 0 ----------------------
"$RUN_CLIENT" --log "$T/log" "$RUNSOCK" "$(req box '["/bin/sh", "-c", "sleep 2; echo finished"]')" \
	</dev/null >"$T/out" 2>"$T/err" &
client=$!
wait_for "grep -q started '$T/log'" 50 || fail "the last run did not start: $(cat "$T/err")"
kill -TERM "$DAEMON_PID"
wait "$client"
crc=$?
wait "$DAEMON_PID"
drc=$?
DAEMON_PID=
[ "$crc" = 0 ] && [ "$(cat "$T/out")" = finished ] || fail "a run during the stop: exit $crc, out $(cat "$T/out") $(cat "$T/err")"
[ "$drc" = 0 ] || fail "doppeld exit $drc on SIGTERM: $(cat "$T/doppeld.log")"
[ ! -e "$RUNSOCK" ] || fail "run socket left behind"
! grep -E 'runtime error|Sanitizer' "$T/doppeld.log" || fail "doppeld: sanitizer report above"
pass "SIGTERM during a run: the run finishes, doppeld exits 0"

check_production "at the end"
pass "production unchanged"
