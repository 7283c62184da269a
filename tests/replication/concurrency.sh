#!/bin/sh
# Concurrency: several doppel processes at once working on DIFFERENT
# sandboxes never corrupt the store (check stays consistent, ls lists exactly
# what should exist, every sandbox shows its own state); `doppel check` may
# run next to them. Two operations on the SAME sandbox at once: one wins, the
# other fails fast with exit 2 and a clear "busy" message. reset while
# `doppel run NAME -- sleep` runs is refused with a hint at --force, and
# reset --force stops the command and resets.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"

WORKERS=6 ROUNDS=4
for d in $(seq 1 10); do
	mkdir -p "$P/d$d"
	for f in $(seq 1 50); do echo "file $d/$f" >"$P/d$d/f$f"; done
done
chmod -R a+rX "$P"
write_config
remember_production
run_ok "sync" d sync >/dev/null

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# worker I PREFIX: creates, writes, checkpoints, resets and destroys its own
# sandboxes PREFIX-I-R; leaves PREFIX-I-R for even R. Failures go to a file.
worker() {
	i=$1 pre=$2
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		n=$pre$i-$r
		{
			d create "$n" --tier qa >/dev/null &&
				d run "$n" -- /bin/sh -c "echo '$i-$r' > '$P/mine.txt'; rm '$P/d1/f1'" &&
				d checkpoint "$n" cp >/dev/null &&
				d run "$n" -- /bin/sh -c "echo other > '$P/mine.txt'; echo x > '$P/extra'" &&
				d reset "$n" --to cp >/dev/null &&
				[ "$(d run "$n" -- /bin/sh -c "cat '$P/mine.txt'; ls '$P' | grep -c extra; ls '$P/d1' | grep -cx f1")" = "$i-$r
0
0" ] &&
				d reset "$n" >/dev/null &&
				[ "$(d run "$n" -- /bin/sh -c "cat '$P/mine.txt' 2>/dev/null || echo clean; cat '$P/d1/f1'")" = "clean
file 1/1" ] &&
				if [ $((r % 2)) = 1 ]; then d destroy "$n" >/dev/null; fi
		} 2>>"$T/worker-$pre$i.err" || echo "round $r ($n) failed" >>"$T/worker-$pre$i.fail"
		r=$((r + 1))
	done
}

# parallel PREFIX: the workers at once; then checks what they left.
parallel() {
	pre=$1
	expected="" WPIDS=""
	for i in $(seq 1 "$WORKERS"); do
		worker "$i" "$pre" &
		WPIDS="$WPIDS $!"
		for r in $(seq 2 2 "$ROUNDS"); do expected="$expected $pre$i-$r"; done
	done
}
verify_parallel() {
	pre=$1
	for f in "$T"/worker-"$pre"*.fail; do
		[ -e "$f" ] || continue
		fail "a worker failed: $(cat "$f") -- $(cat "${f%.fail}.err" | tail -5)"
	done
	check_consistent "after parallel workers"
	got=$(sandbox_names | tr ' ' '\n' | grep "^$pre" | tr '\n' ' ' | sed 's/ $//')
	want=$(echo $expected | tr ' ' '\n' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$want" ] || fail "ls after the parallel workers: '$got', expected '$want'"
	for n in $want; do
		[ -d "$DOPPEL_HOME/sandboxes/$n" ] || fail "$n is listed but its directory is missing"
		[ "$(d run "$n" -- cat "$P/d1/f1" 2>&1)" = "file 1/1" ] || fail "$n does not run after the parallel rounds"
	done
	check_production_meta "after parallel workers"
}

# --- different sandboxes in parallel, plus a sync -------------------------------------------------
(
	t0=$(now_ms)
	parallel a
	(d sync >/dev/null 2>>"$T/sync.err" || echo "sync failed" >>"$T/worker-async.fail") &
	wait
	verify_parallel a
	pass "$WORKERS processes x $ROUNDS rounds of create/run/checkpoint/reset/destroy on different sandboxes (and a sync) in $(($(now_ms) - t0)) ms: store consistent, ls exact"
) || failed_part "parallel operations on different sandboxes"

# --- creates with `doppel check` repairing next to them ------------------------------------------
# check removes what no record names; a sandbox being created is such a thing
# until its transaction commits, and must survive a check running right then.
(
	touch "$T/checking"
	cpids=""
	for c in 1 2; do
		(
			while [ -e "$T/checking" ]; do
				out=$(d check 2>&1)
				rc=$?
				[ "$rc" = 0 ] || [ "$rc" = 2 ] || echo "concurrent check exit $rc: $(echo "$out" | grep -v '^skipped')" >>"$T/check.fail"
			done
		) &
		cpids="$cpids $!"
	done
	for j in $(seq 1 100); do
		d create "bc$j" >/dev/null 2>>"$T/burst.err" || echo "create bc$j failed" >>"$T/burst.fail"
	done
	rm -f "$T/checking"
	wait $cpids
	[ ! -e "$T/burst.fail" ] || fail "$(cat "$T/burst.fail" | head -3): $(head -3 "$T/burst.err")"
	lost=""
	for j in $(seq 1 100); do
		[ -d "$DOPPEL_HOME/sandboxes/bc$j" ] || lost="$lost bc$j"
	done
	[ -z "$lost" ] || fail "check, running next to create, removed the directories of new sandboxes:$lost ($(d check | tail -1))"
	check_consistent
	[ ! -e "$T/check.fail" ] || fail "$(head -3 "$T/check.fail")"
	pass "100 creates with two doppel check loops alongside: check never removed a sandbox being created"
) || failed_part "doppel check concurrent with create"
for n in $(sandbox_names); do d destroy "$n" >/dev/null 2>&1; done
check_consistent "after cleaning up the parallel sandboxes"

# --- back to back on one sandbox: a finished command leaves it free ---------------------------------
# Scripts run `doppel reset x; doppel run x -- test` one after another; the
# second must never find the sandbox busy. Six such loops at once add the load
# that widens any window in which a finished command still holds the lock.
(
	for i in 1 2 3 4 5 6; do
		run_ok "create q$i" d create "q$i" >/dev/null
	done
	for i in 1 2 3 4 5 6; do
		(
			j=1
			while [ "$j" -le 25 ]; do
				d reset "q$i" >/dev/null 2>>"$T/q$i.err" || echo "reset q$i round $j" >>"$T/q$i.fail"
				d checkpoint "q$i" "c$j" >/dev/null 2>>"$T/q$i.err" || echo "checkpoint right after reset, q$i round $j" >>"$T/q$i.fail"
				d reset "q$i" --to "c$j" >/dev/null 2>>"$T/q$i.err" || echo "reset --to right after checkpoint, q$i round $j" >>"$T/q$i.fail"
				j=$((j + 1))
			done
		) &
	done
	wait
	for i in 1 2 3 4 5 6; do
		[ ! -e "$T/q$i.fail" ] || fail "a command right after another on q$i failed: $(head -3 "$T/q$i.fail") -- $(head -3 "$T/q$i.err")"
	done
	check_consistent
	pass "6 x 25 x (reset; checkpoint; reset --to) back to back: no command ever found its sandbox busy"
) || failed_part "a command right after another on the same sandbox"
for i in 1 2 3 4 5 6; do d destroy "q$i" >/dev/null 2>&1; done

# --- the same sandbox from several processes at once ----------------------------------------------
# expect_busy WHAT CMD...: exit 2 within 2 s, a "busy" message
expect_busy() {
	what=$1
	shift
	t0=$(now_ms)
	expect_usage_error "$what" "busy" "$@"
	dt=$(($(now_ms) - t0))
	[ "$dt" -lt 2000 ] || fail "$what: took $dt ms to say busy (should fail fast)"
	# the sandbox by its name, not by doppel's lock file
	printf '%s\n' "$ERRMSG" | grep -q "sandbox-" && fail "$what: the message names a lock file: $ERRMSG"
	return 0
}
(
	run_ok "create s" d create s >/dev/null
	"$DOPPEL" run s -- /bin/sh -c "echo started > '$P/started'; exec sleep 30.4242" >"$T/run.out" 2>&1 &
	runpid=$!
	wait_for 'ls "$DOPPEL_HOME"/sandboxes/s/u*/started >/dev/null 2>&1' 100 || fail "the long run did not start"
	expect_busy "reset during run" d reset s
	echo "$ERRMSG" | grep -q -- --force || fail "reset during run: the message does not mention --force: $ERRMSG"
	expect_busy "reset --to during run" d reset s --to nope
	expect_busy "checkpoint during run" d checkpoint s c1
	expect_busy "destroy during run" d destroy s
	echo "$ERRMSG" | grep -q -- --force || fail "destroy during run: the message does not mention --force: $ERRMSG"
	expect_busy "second run" d run s -- true
	out=$(d check 2>&1) || fail "check during run: $out"
	echo "$out" | grep -q ': consistent (' || fail "check during run: $out"
	kill -0 "$runpid" 2>/dev/null || fail "the refused commands disturbed the running command"
	pgrep -fx 'sleep 30.4242' >/dev/null || fail "the command in the sandbox is not running"
	pass "during a run: reset, checkpoint, destroy and a second run fail fast with exit 2 and 'busy' (hint: --force)"

	t0=$(now_ms)
	out=$(d reset s --force 2>&1) || fail "reset --force during run: $out"
	dt=$(($(now_ms) - t0))
	[ "$dt" -lt 10000 ] || fail "reset --force took $dt ms"
	wait_for '! kill -0 "$runpid" 2>/dev/null' 50 || fail "doppel run still alive after reset --force"
	wait "$runpid"
	wait_for '! pgrep -fx "sleep 30.4242" >/dev/null' 50 || fail "the command in the sandbox survived reset --force"
	[ "$(d run s -- /bin/sh -c "cat '$P/started' 2>/dev/null || echo clean")" = clean ] || fail "reset --force did not reset"
	check_consistent "after reset --force"
	pass "reset --force stops the running command (in $dt ms) and resets"

	"$DOPPEL" run s -- /bin/sh -c "exec sleep 30.4243" >/dev/null 2>&1 &
	runpid=$!
	wait_for 'pgrep -fx "sleep 30.4243" >/dev/null' 100 || fail "the second long run did not start"
	run_ok "destroy --force during run" d destroy s --force >/dev/null
	wait_for '! pgrep -fx "sleep 30.4243" >/dev/null' 50 || fail "the command in the sandbox survived destroy --force"
	wait "$runpid"
	! sandbox_names | grep -qw s || fail "destroy --force left s: $(sandbox_names)"
	pass "destroy --force stops the running command and destroys"
) || failed_part "the same sandbox: run vs reset/checkpoint/destroy"

(
	# a run killed with SIGKILL must not leave the sandbox locked
	run_ok "create k" d create k >/dev/null
	"$DOPPEL" run k -- /bin/sh -c "exec sleep 30.4244" >/dev/null 2>&1 &
	runpid=$!
	wait_for 'pgrep -fx "sleep 30.4244" >/dev/null' 100 || fail "the long run did not start"
	kill -9 "$runpid"
	wait "$runpid" 2>/dev/null
	wait_for '! pgrep -fx "sleep 30.4244" >/dev/null' 50 || fail "the sandboxed command outlived its doppel run (SIGKILL)"
	wait_for 'd reset k >/dev/null 2>&1' 50 || fail "the sandbox stays busy after its doppel run was killed: $(d reset k 2>&1)"
	run_ok "destroy k" d destroy k >/dev/null
	pass "a SIGKILLed doppel run takes its command with it and leaves the sandbox free"
) || failed_part "SIGKILLed run"

(
	# reset --force may stop only what runs in the sandbox now. The lock file
	# still names the runner of an earlier, finished `doppel run`; once that
	# pid is reused by an unrelated process (simulated: the victim's pid is
	# written where the old runner's was) and the lock is held by a command
	# that is not a run (simulated with flock(1), as a concurrent checkpoint
	# would hold it), --force must not signal the unrelated process.
	command -v flock >/dev/null 2>&1 || skip_part "flock(1) not installed"
	run_ok "create v" d create v >/dev/null
	run_ok "run v" d run v -- true >/dev/null
	lockfile="$DOPPEL_HOME/locks/sandbox-v"
	[ -f "$lockfile" ] || skip_part "the store keeps no lock file at $lockfile"
	sleep 60 &
	victim=$!
	echo "$victim" >"$lockfile"
	flock "$lockfile" sleep 1.5 &
	holder=$!
	sleep 0.3
	d reset v --force >/dev/null 2>&1
	wait "$holder"
	kill -0 "$victim" 2>/dev/null || fail "reset --force killed pid $victim, an unrelated process whose pid an earlier run had left in the lock file"
	kill "$victim"
	wait "$victim" 2>/dev/null
	run_ok "destroy v" d destroy v >/dev/null
	pass "reset --force signals nothing but a command running in the sandbox"
) || failed_part "reset --force and a stale runner pid"

(
	# the same short command from several processes at the same moment
	run_ok "create m" d create m >/dev/null
	for j in 1 2 3 4 5 6; do
		(d checkpoint m "c$j" >"$T/m$j.out" 2>"$T/m$j.err"; echo $? >"$T/m$j.rc") &
	done
	wait
	ok=0
	for j in 1 2 3 4 5 6; do
		case $(cat "$T/m$j.rc") in
		0) ok=$((ok + 1)) ;;
		2) grep -q busy "$T/m$j.err" || fail "concurrent checkpoint $j: exit 2 without 'busy': $(cat "$T/m$j.err")" ;;
		*) fail "concurrent checkpoint $j: exit $(cat "$T/m$j.rc"): $(cat "$T/m$j.err")" ;;
		esac
	done
	[ "$ok" -ge 1 ] || fail "no concurrent checkpoint succeeded"
	n=$(d ls --json | json '[s["checkpoints"] for s in j if s["name"] == "m"][0]')
	[ "$n" = "$ok" ] || fail "$ok checkpoints succeeded, ls counts $n"
	for j in 1 2 3 4 5 6; do
		(d reset m >"$T/m$j.out" 2>"$T/m$j.err"; echo $? >"$T/m$j.rc") &
	done
	wait
	for j in 1 2 3 4 5 6; do
		case $(cat "$T/m$j.rc") in
		0 | 2) ;;
		*) fail "concurrent reset $j: exit $(cat "$T/m$j.rc"): $(cat "$T/m$j.err")" ;;
		esac
	done
	(d sync >"$T/s1.out" 2>"$T/s1.err"; echo $? >"$T/s1.rc") &
	(d sync >"$T/s2.out" 2>"$T/s2.err"; echo $? >"$T/s2.rc") &
	wait
	for j in 1 2; do
		case $(cat "$T/s$j.rc") in
		0) ;;
		2) grep -q busy "$T/s$j.err" || fail "concurrent sync: exit 2 without 'busy': $(cat "$T/s$j.err")" ;;
		*) fail "concurrent sync $j: exit $(cat "$T/s$j.rc"): $(cat "$T/s$j.err")" ;;
		esac
	done
	check_consistent "after same-sandbox races"
	run_ok "destroy m" d destroy m >/dev/null
	pass "simultaneous checkpoints, resets and syncs: each succeeds or says busy (exit 2); $ok of 6 checkpoints won"
) || failed_part "simultaneous operations on one sandbox"

(
	# syncs pruning (sync.keep 1) while sandboxes come and go on the newest
	# snapshot: neither side may fail for the other
	cp "$DOPPEL_CONFIG" "$T/keep1.yaml"
	echo "sync: {keep: 1}" >>"$T/keep1.yaml"
	export DOPPEL_CONFIG="$T/keep1.yaml"
	touch "$T/syncing"
	(
		for i in $(seq 1 20); do
			d sync >/dev/null 2>>"$T/ks.err" || echo "sync $i: $(tail -1 "$T/ks.err")" >>"$T/ks.fail"
		done
		rm -f "$T/syncing"
	) &
	spid=$!
	i=0
	while [ -e "$T/syncing" ]; do
		i=$((i + 1))
		d create "k$i" >/dev/null 2>>"$T/kc.err" || echo "create k$i: $(tail -1 "$T/kc.err")" >>"$T/kc.fail"
		d destroy "k$i" >/dev/null 2>&1
	done
	wait "$spid"
	f=""
	[ ! -e "$T/ks.fail" ] || f="$(wc -l <"$T/ks.fail") of 20 syncs failed, e.g. $(head -1 "$T/ks.fail"); "
	[ ! -e "$T/kc.fail" ] || f="$f$(wc -l <"$T/kc.fail") of $i creates failed, e.g. $(head -1 "$T/kc.fail")"
	[ -z "$f" ] || fail "syncs with keep 1 next to creates/destroys: $f"
	check_consistent
	pass "20 pruning syncs next to $i creates/destroys: all succeeded"
) || failed_part "sync pruning next to create/destroy"

(
	# create and reset are constant-time: a long sync (here a 256 MiB file
	# copied and hashed) must not hold them up. A sync that takes longer than
	# the store's lock timeout would otherwise make them fail outright.
	export DOPPEL_CONFIG="$T/doppel.yaml"
	run_ok "create y" d create y >/dev/null
	head -c 256M /dev/urandom >"$P/blob"
	d sync --verify >"$T/long.out" 2>&1 &
	spid=$!
	wait_for 'ls "$DOPPEL_HOME"/tmp | grep -q "^snapshot-"' 100 || fail "the long sync did not start"
	t0=$(now_ms)
	d create z >/dev/null 2>"$T/z.err" || fail "create during a long sync: $(cat "$T/z.err")"
	t1=$(now_ms)
	d reset y >/dev/null 2>"$T/y.err" || fail "reset during a long sync: $(cat "$T/y.err")"
	t2=$(now_ms)
	kill -0 "$spid" 2>/dev/null || running=no
	wait "$spid" || fail "the long sync failed: $(cat "$T/long.out")"
	[ "${running:-yes}" = yes ] || fail "create and reset during a long sync waited for it to finish (create $((t1 - t0)) ms, reset $((t2 - t1)) ms)"
	pass "create ($((t1 - t0)) ms) and reset ($((t2 - t1)) ms) during a long sync do not wait for it"
) || failed_part "create/reset during a long sync"
rm -f "$P/blob"
remember_production

check_consistent "at the end"
check_production "at the end"
pass "production unchanged"
finish
