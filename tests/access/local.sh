#!/bin/sh
# Local mode under an access.yaml: every doppel command goes through the ops
# layer, so the policy decides and the audit log records each call. The
# store's owner, bound to role developer by $DOPPEL_ACCESS, creates, runs,
# diffs, checkpoints, resets and destroys a sandbox of its own in dev; may
# not sync (exit 1, the message names the missing grant, no snapshot is
# taken), create in qa, check the store or drive its PostgreSQL cluster;
# sees dev and qa sandboxes in ls but not staging's; may diff a qa sandbox but
# not reset or run it. The audit log then holds exactly one record per call
# (two for a run: at its start, and with its exit status at its end),
# denials with their reason, and verifies. Without access.yaml the same store
# is its owner's again. Production is fingerprinted before and after.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"
export DOPPEL_HOST=local # never a doppeld that happens to serve this machine
unset DOPPEL_ACCESS

mkdir -p "$P/data" "$P/app"
echo "customer: alice@example.com" >"$P/data/customers.txt"
echo "secret-token-123" >"$P/app/secret"
chmod -R a+rX "$P"
remember_production
cat >"$DOPPEL_CONFIG" <<EOF
version: 1
production:
  root: $P
tiers:
  dev: {network: loopback}
  qa: {network: none}
  staging: {network: none}
EOF
ME=$(id -un)
LOG="$DOPPEL_HOME/audit.log"
lines() { if [ -e "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# expect_denied WHAT MESSAGE CMD...: CMD exits 1 with exactly "doppel: MESSAGE".
expect_denied() {
	what=$1 msg=$2
	shift 2
	"$@" >"$T/.stdout" 2>"$T/.stderr"
	rc=$?
	[ "$rc" = 1 ] || fail "$what: expected exit 1, got $rc from: $* ($(cat "$T/.stderr"))"
	[ "$(cat "$T/.stderr")" = "doppel: $msg" ] || fail "$what: message: $(cat "$T/.stderr") (expected: doppel: $msg)"
	[ -s "$T/.stdout" ] && fail "$what: a denied call printed: $(cat "$T/.stdout")"
	return 0
}

# --- a personal store: its owner syncs ------------------------------------------
run_ok "sync (no access.yaml)" d sync >/dev/null
START=$(lines "$LOG")
[ "$START" -ge 1 ] || fail "the sync was not recorded in $LOG"

printf 'version: 1\nusers: {%s: [developer]}\n' "$ME" >"$T/access.yaml"
chmod 644 "$T/access.yaml"
export DOPPEL_ACCESS="$T/access.yaml"

# --- allowed: a developer's own sandbox in dev ------------------------------------
(
	out=$(run_ok "create" d create mine)
	[ "$out" = "created sandbox mine (tier dev)" ] || fail "create: $out"
	[ "$(d ls --json | json '[s["name"] + ":" + s["tier"] + ":" + s["owner"] for s in j]')" = "mine:dev:$ME" ] ||
		fail "ls --json: $(d ls --json)"
	d run mine -- /bin/sh -c "echo new >'$P/data/new.txt'; exit 7"
	rc=$?
	[ "$rc" = 7 ] || fail "run: expected the command's exit 7, got $rc"
	[ "$(run_ok "diff" d diff mine)" = "A data/new.txt" ] || fail "diff: $(d diff mine)"
	run_ok "checkpoint" d checkpoint mine c1 >/dev/null
	run_ok "reset" d reset mine >/dev/null
	run_ok "reset --to" d reset mine --to c1 >/dev/null
	[ "$(run_ok "run after reset --to" d run mine -- cat "$P/data/new.txt")" = new ] || fail "reset --to c1 lost the file"
	pass "developer: create, ls, run (exit status kept), diff, checkpoint, reset, run in an own dev sandbox"
) || failed_part "allowed actions"

# --- denied: sync, create in qa, check, postgres --------------------------------------
(
	before=$(d snapshots --json | json 'len(j)')
	expect_denied "sync" "$ME may not sync: role developer lacks sync" d sync
	[ "$(d snapshots --json | json 'len(j)')" = "$before" ] || fail "a denied sync took a snapshot"
	expect_denied "create in qa" "$ME may not create qa/other: role developer lacks create on tier qa" \
		d create other --tier qa
	[ -e "$DOPPEL_HOME/sandboxes/other" ] && fail "a denied create made sandboxes/other"
	expect_denied "check" "$ME may not check: role developer lacks check" d check
	expect_denied "postgres" "$ME may not postgres: role developer lacks postgres" d postgres status
	pass "developer: sync, create in qa, check and postgres are denied with the missing grant named"
) || failed_part "denied actions"

# --- other tiers: qa visible and diffable, staging hidden ------------------------------
(
	DOPPEL_ACCESS= run_ok "admin creates in qa" d create qa1 --tier qa >/dev/null
	DOPPEL_ACCESS= run_ok "admin creates in staging" d create st1 --tier staging >/dev/null
	names=$(sandbox_names)
	[ "$names" = "mine qa1" ] || fail "developer's ls shows '$names', expected 'mine qa1' (staging hidden)"
	expect_denied "reset in qa" "$ME may not reset qa/qa1: role developer lacks reset on tier qa" d reset qa1
	expect_denied "run in qa" "$ME may not run qa/qa1: role developer lacks run on tier qa" d run qa1 -- true
	run_ok "diff in qa" d diff qa1 >/dev/null
	run_ok "destroy own" d destroy mine >/dev/null
	[ -e "$DOPPEL_HOME/sandboxes/mine" ] && fail "destroy left sandboxes/mine"
	pass "developer: qa listed and diffable but not reset or run; staging hidden from ls; own sandbox destroyed"
) || failed_part "other tiers"

# --- the audit log: one record per call, in order ---------------------------------------
(
	recs=$(DOPPEL_ACCESS= d audit --json) || fail "audit --json as the store's owner: exit $?"
	got=$(echo "$recs" | json "[r['action'] + ' ' + r.get('target', '-') + ' ' + r['result'] for r in j[$START:]]")
	want="create dev/mine ok
list - ok
run dev/mine ok
run dev/mine ok
diff dev/mine ok
checkpoint dev/mine ok
reset dev/mine ok
reset dev/mine ok
run dev/mine ok
run dev/mine ok
snapshots - ok
sync - denied
snapshots - ok
create qa/other denied
check - denied
postgres - denied
create qa/qa1 ok
create staging/st1 ok
list - ok
reset qa/qa1 denied
run qa/qa1 denied
diff qa/qa1 ok
destroy dev/mine ok"
	[ "$got" = "$want" ] || fail "audit records since the access.yaml:
$got
expected:
$want"
	# the run's two records: the command at its start, the exit status at its end
	runs="[r['args'] for r in j[$START:] if r['action'] == 'run']"
	r=$(echo "$recs" | json "[$runs[0]['argv'] == ['/bin/sh', '-c', \"echo new >'$P/data/new.txt'; exit 7\"], $runs[0]['tty'], 'exit_status' in $runs[0], $runs[1]['argv'] == $runs[0]['argv'], $runs[1]['exit_status']]" | tr '\n' ' ')
	[ "$r" = "true false false true 7 " ] || fail "run's records (argv as given, tty, exit status in the second only): $r"
	m=$(echo "$recs" | json "[r['message'] for r in j[$START:] if r['result'] == 'denied'][0]")
	[ "$m" = "$ME may not sync: role developer lacks sync" ] || fail "the sync denial's recorded reason: $m"
	a=$(echo "$recs" | json "[str(r.get('args')) for r in j[$START:] if r['action'] == 'create'][0]")
	[ "$a" = "{'tier': 'dev'}" ] || fail "create's args: $a"
	run_ok "audit verify" env DOPPEL_ACCESS= "$DOPPEL" audit verify >/dev/null
	pass "the audit log has one record per call (two per run), denials with their reason, and verifies"
) || failed_part "audit log"

# --- a long command line is cut in the record -------------------------------------------
(
	long=$(python3 -c 'print("x" * 1000)')
	n0=$(lines "$LOG")
	# shellcheck disable=SC2046
	d run qa1 -- true >/dev/null 2>&1 # denied: recorded too
	DOPPEL_ACCESS= run_ok "run with a long argv" d run qa1 -- /bin/sh -c 'exit 0' "$long" $(seq 40) >/dev/null
	a=$(tail -n 1 "$LOG" | json "[len(j['args']['argv']), len(j['args']['argv'][3]), j['args']['argv'][3][-4:], j['args']['argv'][-1], j['args']['exit_status']]" | tr '\n' ' ')
	[ "$a" = "33 259 x... ...(12 more) 0 " ] || fail "long argv in the record: $a"
	[ "$(lines "$LOG")" = "$((n0 + 3))" ] || fail "expected 3 records (a denial, a run's two), got $(($(lines "$LOG") - n0))"
	pass "a run's argv is cut to 32 words of 256 bytes in the record"
) || failed_part "long argv"

# --- without access.yaml the owner may do everything again ------------------------------
(
	unset DOPPEL_ACCESS
	run_ok "sync" d sync >/dev/null
	run_ok "create qa" d create q2 --tier qa >/dev/null
	run_ok "run" d run q2 -- true >/dev/null
	run_ok "reset" d reset q2 >/dev/null
	run_ok "destroy" d destroy q2 >/dev/null
	run_ok "check" d check >/dev/null
	pass "without access.yaml the store's owner syncs, creates in qa, runs, resets, destroys and checks"
) || failed_part "personal store"

check_production "after the access tests"
pass "production unchanged"
finish
