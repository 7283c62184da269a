#!/bin/sh
# Crash safety: doppel is killed with SIGKILL at random points inside sync,
# create, checkpoint, reset and destroy (at least 100 kills). After each kill
# `doppel check` must repair the store and call it consistent (exit 0), the
# operation must have happened wholly or not at all, and production must be
# unchanged. Prints how many kills landed while the command was still running.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"

ROUNDS=${DOPPEL_CRASH_ROUNDS:-28} # kills per operation: 5 operations
NFILES=2000
DEADLINE=$(($(date +%s) + ${DOPPEL_CRASH_SECONDS:-220}))

# --- fixture: 2000 small files in 20 directories --------------------------------------------
for d in $(seq 1 20); do
	mkdir -p "$P/d$d"
	for f in $(seq 1 100); do echo "file $d/$f" >"$P/d$d/f$f"; done
done
chmod -R a+rX "$P"
write_config "sync: {keep: 3}"
remember_production

run_ok "first sync" d sync >/dev/null
run_ok "create ck" d create ck >/dev/null
run_ok "create rs" d create rs >/dev/null
run_ok "write base" d run rs -- /bin/sh -c "echo base > '$P/base.txt'" >/dev/null
run_ok "checkpoint base" d checkpoint rs base >/dev/null

# One small helper starts a command, sleeps a random time in [0, MAXMS] ms
# (or [LO, HI] for a window LO:HI)
# measured from the moment it started, SIGKILLs it and prints its exit status
# (137 when the kill landed while it ran). A shell `sleep` alone costs ~20 ms
# here, too coarse for commands that take 30 ms.
cat >"$T/killer.py" <<'PY'
import os, random, signal, subprocess, sys, time
mode, window, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
lo, hi = (float(x) for x in window.split(":")) if ":" in window else (0.0, float(window))
err = open(os.environ["KILL_ERR"], "w")
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
if mode == "time":
    rc = p.wait()
    print(rc, int((time.monotonic() - t0) * 1000) + 1)
    sys.exit(0)
time.sleep(random.uniform(lo, hi) / 1000)
if p.poll() is None:
    p.send_signal(signal.SIGKILL)
rc = p.wait()
print(128 - rc if rc < 0 else rc)
PY
export KILL_ERR="$T/kill.err"

# calibrate PERCENT CMD...: runs CMD (which must succeed) and prints its
# duration in ms times PERCENT/100: a kill window covering its whole run
# (the median of three runs is used).
calibrate() {
	pct=$1
	shift
	set -- $(python3 "$T/killer.py" time 0 "$DOPPEL" "$@")
	[ "$1" = 0 ] || fail "calibration run failed: $(cat "$KILL_ERR")"
	echo $(($2 * pct / 100 + 2))
}
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
w_ck="" w_rs="" w_ds="" w_cr="" w_sy="" w_sv=""
for i in 1 2 3; do
	run_ok "create cal" d create cal >/dev/null
	w_ck="$w_ck $(calibrate 120 checkpoint cal k1)"
	w_rs="$w_rs $(calibrate 120 reset cal --to k1)"
	w_ds="$w_ds $(calibrate 120 destroy cal)"
	w_cr="$w_cr $(calibrate 120 create cal)"
	run_ok "destroy cal" d destroy cal >/dev/null
	w_sy="$w_sy $(calibrate 110 sync)"
	w_sv="$w_sv $(calibrate 110 sync --verify)"
done
W_CHECKPOINT=$(median $w_ck) W_RESET=$(median $w_rs) W_DESTROY=$(median $w_ds) W_CREATE=$(median $w_cr)
W_SYNC=$(median $w_sy) W_VERIFY=$(median $w_sv)
echo "initial kill windows (ms): sync $W_SYNC, sync --verify $W_VERIFY, create $W_CREATE, checkpoint $W_CHECKPOINT, reset $W_RESET, destroy $W_DESTROY"

KILLS=0 MID=0 DONE_FIRST=0 REPAIRED=0
# killed WINDOW-VAR CMD...: runs CMD, SIGKILLs it after a random 0..$WINDOW-VAR
# ms and sets RC to its exit status. The window adapts as the run goes
# (timings drift under load): a kill that came after the command had finished
# shrinks it by 10 %, one that landed mid-command widens it by 5 %, which
# settles at about 1.5 x the command's duration (a third of kills late).
killed() {
	wvar=$1
	shift
	eval "win=\$$wvar"
	RC=$(python3 "$T/killer.py" kill "$win" "$DOPPEL" "$@") || fail "kill helper failed"
	KILLS=$((KILLS + 1))
	case $RC in
	137)
		MID=$((MID + 1))
		win=$((win * 105 / 100 + 1))
		;;
	0)
		DONE_FIRST=$((DONE_FIRST + 1))
		win=$((win * 90 / 100))
		[ "$win" -ge 3 ] || win=3
		;;
	*) fail "kill $KILLS ($*): the command failed by itself with exit $RC: $(cat "$KILL_ERR")" ;;
	esac
	eval "$wvar=\$win"
}

# after_kill WHAT: check repairs and says consistent; nothing left in tmp/;
# production unchanged.
after_kill() {
	c=$("$DOPPEL" check 2>&1)
	rc=$?
	[ "$rc" = 0 ] || fail "after kill $KILLS ($1, exit $RC): check exit $rc: $c"
	echo "$c" | grep -q ': consistent (' || fail "after kill $KILLS ($1): check: $c"
	n=$(echo "$c" | grep -c '^repaired:')
	REPAIRED=$((REPAIRED + n))
	[ "$n" = 0 ] || echo "  kill $KILLS ($1, exit $RC): $(echo "$c" | grep '^repaired:' | tr '\n' ' ')"
	check_production_meta "after kill $KILLS ($1)"
}

listed() { d ls --json | json '[s["name"] for s in j]' | grep -x "$1" >/dev/null; }
checkpoints_of() { d ls --json | json '[s["checkpoints"] for s in j if s["name"] == "'"$1"'"][0]'; }
in_sandbox() { d run "$1" -- /bin/sh -c "$2" 2>&1; }

# --- the operations -----------------------------------------------------------------------------------
kill_sync() { # $1 round
	before=$(d snapshots --json | json '[s["id"] for s in j]' | tail -1)
	if [ $(($1 % 2)) = 0 ]; then killed W_SYNC sync; else killed W_VERIFY sync --verify; fi
	after_kill sync
	ids=$(d snapshots --json | json '[s["id"] for s in j]')
	newest=$(echo "$ids" | tail -1)
	case $newest in
	"$before") [ "$RC" = 0 ] && fail "sync exited 0 but no snapshot was added" ;;
	$((before + 1))) ;;
	*) fail "after a killed sync the newest snapshot is $newest (was $before)" ;;
	esac
	[ "$(d snapshots --json | json '[s["files"] for s in j]' | sort -u)" = "$NFILES" ] ||
		fail "snapshots list one whose file count is not $NFILES: $(d snapshots)"
	for id in $ids; do
		[ "$(find "$DOPPEL_HOME/snapshots/$id" -type f | wc -l)" = "$NFILES" ] ||
			fail "snapshot $id holds $(find "$DOPPEL_HOME/snapshots/$id" -type f | wc -l) files, not $NFILES"
	done
	[ "$newest" = "$before" ] || diff -r "$P" "$DOPPEL_HOME/snapshots/$newest" >/dev/null ||
		fail "snapshot $newest differs from production: $(diff -rq "$P" "$DOPPEL_HOME/snapshots/$newest" | head -5)"
	for id in $(cd "$DOPPEL_HOME/snapshots" && ls); do
		echo "$ids" | grep -qx "$id" || fail "snapshots/$id exists but is not listed"
	done
}

kill_create() { # $1 round
	name=c$1
	killed W_CREATE create "$name"
	after_kill create
	if listed "$name"; then
		[ -d "$DOPPEL_HOME/sandboxes/$name" ] || fail "$name listed but its directory is missing"
		[ "$(in_sandbox "$name" "cat '$P/d1/f1'")" = "file 1/1" ] || fail "created $name does not run"
	else
		[ "$RC" = 0 ] && fail "create exited 0 but $name is not listed"
		[ ! -e "$DOPPEL_HOME/sandboxes/$name" ] || fail "$name not listed but sandboxes/$name exists"
		run_ok "create $name after the kill" d create "$name" >/dev/null
		[ "$(in_sandbox "$name" "cat '$P/d1/f1'")" = "file 1/1" ] || fail "re-created $name does not run"
	fi
	run_ok "destroy $name" d destroy "$name" >/dev/null
}

kill_checkpoint() { # $1 round
	label=l$1
	run_ok "write in ck" d run ck -- /bin/sh -c "echo $1 > '$P/ck.txt'" >/dev/null
	n0=$(checkpoints_of ck)
	killed W_CHECKPOINT checkpoint ck "$label"
	after_kill checkpoint
	n1=$(checkpoints_of ck)
	[ "$(in_sandbox ck "cat '$P/ck.txt'")" = "$1" ] || fail "a killed checkpoint changed what ck shows: $(in_sandbox ck "cat '$P/ck.txt'")"
	if [ "$n1" = $((n0 + 1)) ]; then
		run_ok "write after checkpoint" d run ck -- /bin/sh -c "echo later > '$P/ck.txt'" >/dev/null
		run_ok "reset --to $label" d reset ck --to "$label" >/dev/null
		[ "$(in_sandbox ck "cat '$P/ck.txt'")" = "$1" ] || fail "checkpoint $label does not hold ck.txt = $1"
	elif [ "$n1" = "$n0" ]; then
		[ "$RC" = 0 ] && fail "checkpoint exited 0 but no checkpoint was added"
		expect_usage_error "reset to the missing checkpoint" "no checkpoint '$label'" d reset ck --to "$label"
	else
		fail "checkpoints of ck went from $n0 to $n1"
	fi
}

kill_reset() { # $1 round
	state() { in_sandbox rs "cat '$P/rs.txt' 2>/dev/null || echo clean; cat '$P/base.txt' 2>/dev/null || echo nobase" | tr '\n' ' '; }
	run_ok "dirty rs" d run rs -- /bin/sh -c "echo dirty-$1 > '$P/rs.txt'" >/dev/null
	old=$(state)
	if [ $(($1 % 2)) = 0 ]; then
		want="clean base "
		killed W_RESET reset rs --to base
	else
		want="clean nobase "
		killed W_RESET reset rs
	fi
	after_kill reset
	now=$(state)
	[ "$now" = "$want" ] && return 0
	[ "$RC" = 0 ] && fail "reset exited 0 but rs shows '$now', not '$want'"
	[ "$now" = "$old" ] || fail "after a killed reset rs shows '$now': neither the old '$old' nor the reset '$want'"
}

kill_destroy() { # $1 round
	name=x$1
	run_ok "create $name" d create "$name" >/dev/null
	run_ok "write in $name" d run "$name" -- /bin/sh -c "echo mine > '$P/mine.txt'" >/dev/null
	killed W_DESTROY destroy "$name"
	after_kill destroy
	if listed "$name"; then
		[ "$RC" = 0 ] && fail "destroy exited 0 but $name is still listed"
		[ -d "$DOPPEL_HOME/sandboxes/$name" ] || fail "$name listed but its directory is gone"
		[ "$(in_sandbox "$name" "cat '$P/mine.txt'")" = mine ] || fail "half-destroyed $name lost its changes"
		run_ok "destroy $name after the kill" d destroy "$name" >/dev/null
	else
		[ ! -e "$DOPPEL_HOME/sandboxes/$name" ] || fail "$name not listed but sandboxes/$name exists after check"
		run_ok "create $name again" d create "$name" >/dev/null
		[ "$(in_sandbox "$name" "cat '$P/mine.txt' 2>/dev/null || echo fresh")" = fresh ] || fail "re-created $name is not fresh"
		run_ok "destroy $name" d destroy "$name" >/dev/null
	fi
}

# --- the loop ----------------------------------------------------------------------------------------
round=1
while [ "$round" -le "$ROUNDS" ]; do
	for op in sync create checkpoint reset destroy; do
		"kill_$op" "$round"
	done
	if [ "$(date +%s)" -ge "$DEADLINE" ]; then
		echo "note: time budget reached after $round rounds"
		break
	fi
	round=$((round + 1))
done

echo "final kill windows (ms): sync $W_SYNC, sync --verify $W_VERIFY, create $W_CREATE, checkpoint $W_CHECKPOINT, reset $W_RESET, destroy $W_DESTROY"
echo "phase 1 (check after every kill): $KILLS kills, $MID mid-operation, $DONE_FIRST after the command had finished; check repaired $REPAIRED leftovers"
[ "$MID" -ge $((KILLS / 3)) ] || fail "only $MID of $KILLS kills landed mid-operation"
check_consistent "after phase 1"
[ "$(sandbox_names)" = "ck rs" ] || fail "sandboxes after phase 1: $(sandbox_names)"
check_production "after phase 1"
pass "phase 1: $KILLS SIGKILLs ($MID mid-operation): store consistent after each, every operation all-or-nothing"

# --- phase 2: the next command works without `doppel check` ------------------------------------------
# What a kill leaves behind must not stop the next command: users retry long
# before they think of `doppel check`. First the leftovers check itself
# describes, made by hand (deterministic), then random kills each followed at
# once by the same command.
(
	next=$(($(d snapshots --json | json '[s["id"] for s in j]' | tail -1) + 1))
	mkdir -p "$DOPPEL_HOME/snapshots/$next/d1"
	echo partial >"$DOPPEL_HOME/snapshots/$next/d1/f1"
	run_ok "sync over an unrecorded snapshots/$next (a sync killed between its rename and its commit)" d sync >/dev/null
	check_consistent
	pass "a sync killed between moving its tree into place and committing does not block the next sync"
) || failed_part "sync after an interrupted sync's leftover"
(
	mkdir -p "$DOPPEL_HOME/sandboxes/left/u1" "$DOPPEL_HOME/sandboxes/left/w1"
	run_ok "create over an unrecorded sandboxes/left" d create left >/dev/null
	gen=$(sqlite3 "$DOPPEL_HOME/doppel.db" "select gen from sandboxes where name = 'rs'" 2>/dev/null) || gen=""
	if [ -n "$gen" ]; then
		mkdir -p "$DOPPEL_HOME/sandboxes/rs/u$((gen + 1))/junk" "$DOPPEL_HOME/sandboxes/rs/w$((gen + 1))"
		run_ok "reset over an unrecorded next layer" d reset rs >/dev/null
		[ "$(in_sandbox rs "ls '$P'" | grep -c junk)" = 0 ] || fail "a leftover layer's contents show in the sandbox"
	fi
	run_ok "destroy left" d destroy left >/dev/null
	check_consistent
	pass "create and reset over leftovers of killed ones work"
) || failed_part "create/reset over leftovers"

retry_round() { # $1 round
	# sync, killed late in its run (where it moves the tree into place and commits)
	W_LATE="$((W_SYNC / 2)):$W_SYNC"
	RC=$(python3 "$T/killer.py" kill "$W_LATE" "$DOPPEL" sync) || fail "kill helper failed"
	case $RC in 0 | 137) ;; *) fail "sync failed by itself with exit $RC: $(cat "$KILL_ERR")" ;; esac
	echo >>"$T/kills2"
	d sync >/dev/null 2>"$T/.err" || fail "sync right after a killed sync (exit $RC) failed: $(cat "$T/.err")"
	# create killed, then create again
	killed W_CREATE create "r$1"
	echo >>"$T/kills2"
	out=$(d create "r$1" 2>&1) || echo "$out" | grep -q "exists already" ||
		fail "create right after a killed create (exit $RC) failed: $out"
	# checkpoint killed, then the same checkpoint again
	killed W_CHECKPOINT checkpoint "r$1" k
	echo >>"$T/kills2"
	out=$(d checkpoint "r$1" k 2>&1) || echo "$out" | grep -q "already has a checkpoint 'k'" ||
		fail "checkpoint right after a killed checkpoint (exit $RC) failed: $out"
	# reset killed, then reset again
	killed W_RESET reset "r$1" --to k
	echo >>"$T/kills2"
	run_ok "reset right after a killed reset (exit $RC)" d reset "r$1" --to k >/dev/null
	# destroy killed, then destroy again
	killed W_DESTROY destroy "r$1"
	echo >>"$T/kills2"
	out=$(d destroy "r$1" 2>&1) || echo "$out" | grep -q "no sandbox named 'r$1'" ||
		fail "destroy right after a killed destroy (exit $RC) failed: $out"
	check_consistent "after retry round $1"
	check_production_meta "after retry round $1"
}
(
	r=1
	while [ "$r" -le "${DOPPEL_CRASH_RETRY_ROUNDS:-10}" ]; do
		retry_round "$r"
		r=$((r + 1))
	done
	pass "phase 2: after $(wc -l <"$T/kills2") kills each retried at once, the retry worked without doppel check"
) || failed_part "retry right after a kill"

TOTAL=$((KILLS + $(cat "$T/kills2" 2>/dev/null | wc -l)))
[ "$TOTAL" -ge 100 ] || fail "only $TOTAL kills in the time budget (need 100)"
echo "kills: $TOTAL in all; phase 1: $MID of $KILLS landed mid-operation"
check_consistent "at the end"
check_production "at the end"
pass "production unchanged after $TOTAL SIGKILLs"
finish
