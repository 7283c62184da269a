#!/bin/sh
# Process hygiene: no inherited fds, a reduced environment, the sandbox dies
# with its monitor, init reaps orphans, signals are forwarded, exit statuses
# pass through (128+N for signals, 127/126 for commands that cannot run), and
# background processes die with the main command.
. "$DOPPEL_SRC/tests/lib/common.sh"

# A token unique to this run, used as sleep's argument so pgrep on the host
# finds exactly our processes: "sleep 1000.<digits>" sleeps 1000.x seconds.
U="1000.$$$(od -An -N3 -tu4 /dev/urandom | tr -d ' ')"
running() { pgrep -f "^sleep $U\$" >/dev/null; }
wait_running() { # up to 5 s
	i=0
	while ! running; do
		i=$((i + 1)); [ $i -le 100 ] || return 1; sleep 0.05
	done
}
wait_gone() { # up to 2 s
	i=0
	while running; do
		i=$((i + 1)); [ $i -le 40 ] || return 1; sleep 0.05
	done
}
kill_leftovers() { pkill -KILL -f "^sleep $U\$" 2>/dev/null; }
# wait_exit PID: waits up to 5 s for a background doppel, then kills it;
# sets st to its exit status (or "hung")
wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.05; done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1"; wait "$1" 2>/dev/null; st=hung
	else
		wait "$1"; st=$?
	fi
}
trap 'kill_leftovers; cleanup_T' EXIT

# --- inherited fds are closed ------------------------------------------------
echo data > "$T/fdfile"
exec 7<"$T/fdfile" 9>"$T/fdfile2"
out=$(isolate -- ls /proc/self/fd | sort -n | tr '\n' ' ')
exec 7<&- 9>&-
[ "$out" = "0 1 2 3 " ] || fail "fds open inside: expected '0 1 2 3 ' (3 is ls's own), got '$out'"
out=$(exec 7<"$T/fdfile"; isolate -- /bin/sh -c 'cat <&7' 2>&1) && fail "fd 7 readable inside: $out"
pass "caller's fds 7 and 9 are not open inside"

# --- environment: allowlist, --env added -------------------------------------
# a known environment (the caller's may hold other allowlisted names, e.g. TZ)
out=$(env -i SECRET_TOKEN=xyz AWS_SECRET_ACCESS_KEY=abc TERM=xterm-doppel LANG=C.UTF-8 LC_ALL=C.UTF-8 \
	HOME=/home/caller PATH=/caller/bin:/usr/bin:/bin LD_LIBRARY_PATH=/caller/lib \
	"$DOPPEL" isolate --env K=V --env "SPACED=a b" -- env) || fail "env failed"
echo "$out" | grep -q 'caller' && fail "caller's HOME, PATH or LD_LIBRARY_PATH visible inside: $out"
echo "$out" | grep -q 'xyz\|SECRET_TOKEN\|AWS_SECRET' && fail "secret visible inside: $out"
for want in TERM=xterm-doppel LANG=C.UTF-8 LC_ALL=C.UTF-8 K=V "SPACED=a b" HOME=/root; do
	echo "$out" | grep -qxF "$want" || fail "'$want' missing inside: $out"
done
echo "$out" | grep -q '^PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin' || fail "PATH not the sandbox's: $out"
n=$(echo "$out" | grep -vcE '^(TERM|LANG|LC_ALL|K|SPACED|HOME|PATH|USER|LOGNAME)=')
[ "$n" = 0 ] || fail "unexpected variables inside: $(echo "$out" | grep -vE '^(TERM|LANG|LC_ALL|K|SPACED|HOME|PATH|USER|LOGNAME)=')"
out=$(env TERM=xterm "$DOPPEL" isolate --env TERM=dumb -- /bin/sh -c 'echo $TERM')
[ "$out" = dumb ] || fail "--env does not override a passed variable: '$out'"
pass "environment reduced to the allowlist; --env adds and overrides"

# --- dies with its parent ------------------------------------------------------
"$DOPPEL" isolate -- sleep "$U" >/dev/null 2>&1 &
dpid=$!
wait_running || fail "sleep did not start in the sandbox"
kill -KILL $dpid
wait $dpid 2>/dev/null
wait_gone || fail "sandbox outlived its killed monitor: $(pgrep -af "^sleep $U\$")"
pass "kill -9 of the monitor takes the sandbox down within 2 s"

# --- background processes die with the main command --------------------------
start=$(date +%s)
expect_status 3 isolate -- /bin/sh -c "sleep $U >/dev/null 2>&1 </dev/null & echo started; exit 3" >/dev/null
[ $(( $(date +%s) - start )) -le 5 ] || fail "doppel waited for a background process"
wait_gone || fail "background process survived the main command: $(pgrep -af "^sleep $U\$")"
pass "background processes are killed when the main command exits"

# --- init reaps orphans --------------------------------------------------------
out=$(isolate -- /bin/sh -c '
	for i in $(seq 40); do (sleep 0.1 & ); done
	(sh -c "sleep 0.1 & sleep 0.1 &" &)
	sleep 1
	grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l
	ps -e -o stat= | grep -c "^Z"; true') || fail "orphan run failed: $out"
[ "$out" = "0
0" ] || fail "zombies left in the sandbox: '$out'"
pass "init reaps orphaned children (no <defunct>)"

# --- SIGINT, SIGTERM, SIGHUP sent to doppel reach the command ------------------
for pair in INT:41 TERM:42 HUP:43; do
	sig=${pair%:*} code=${pair#*:}
	log="$T/sig-$sig.log"
	# a background job of a script starts with SIGINT ignored; give doppel
	# the default disposition as a terminal user's would have
	env --default-signal=INT "$DOPPEL" isolate -- /bin/sh -c \
		"trap 'echo got-$sig; exit $code' $sig; echo ready; while :; do sleep 0.05; done" >"$log" 2>&1 &
	dpid=$!
	i=0
	until grep -q ready "$log"; do
		i=$((i + 1)); [ $i -le 100 ] || { kill -KILL $dpid; fail "SIG$sig: command did not start: $(cat "$log")"; }
		sleep 0.05
	done
	kill -$sig $dpid
	wait_exit $dpid
	[ "$st" = "$code" ] || fail "SIG$sig: expected exit $code from the trap, got $st: $(cat "$log")"
	grep -qx "got-$sig" "$log" || fail "SIG$sig: trap output missing: $(cat "$log")"
done
pass "SIGINT, SIGTERM and SIGHUP are forwarded to the command"

# a command that does not trap dies of the signal, and doppel says so
"$DOPPEL" isolate -- sleep "$U" >/dev/null 2>&1 &
dpid=$!
wait_running || fail "sleep did not start"
kill -TERM $dpid
wait_exit $dpid
[ "$st" = 143 ] || fail "untrapped SIGTERM: expected 143, got $st"
wait_gone || fail "sleep survived SIGTERM"
pass "an untrapped forwarded SIGTERM ends the run with 143"

# --- exit statuses ---------------------------------------------------------------
expect_status 0 isolate -- true
expect_status 1 isolate -- false
expect_status 255 isolate -- /bin/sh -c 'exit 255'
expect_status 137 isolate -- /bin/sh -c 'kill -KILL $$'
expect_status 138 isolate -- /bin/sh -c 'kill -USR1 $$'
expect_status 130 isolate -- /bin/sh -c 'trap - INT; kill -INT $$'
err=$(isolate -- /no/such/command arg 2>&1); st=$?
[ "$st" = 127 ] || fail "missing command: expected 127, got $st"
[ "$err" = "doppel: /no/such/command: command not found in the sandbox" ] || fail "missing command message: '$err'"
err=$(isolate -- no-such-command-xyz 2>&1); st=$?
[ "$st" = 127 ] || fail "missing command in PATH: expected 127, got $st"
echo "$err" | grep -q "^doppel: no-such-command-xyz: command not found" || fail "PATH lookup message: '$err'"
err=$(isolate -- /etc/hostname 2>&1); st=$?
[ "$st" = 126 ] || fail "non-executable: expected 126, got $st: $err"
echo "$err" | grep -q "^doppel: /etc/hostname: cannot run" || fail "non-executable message: '$err'"
pass "exit codes pass through, 128+N for signals, 127/126 for commands that cannot run"
