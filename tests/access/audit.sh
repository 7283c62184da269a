#!/bin/sh
# The audit log through the real doppel binary: every call appends one
# record (sandbox actions, a run at its start and its end, reading and
# verifying the log included); `doppel audit` shows them
# as a table and as JSON and filters them with --since (unix seconds,
# ISO-8601, ages; nonsense refused with exit 2 and no record); a denied call
# is recorded with its reason; the log is 0600; concurrent callers leave one
# contiguous chain; and `doppel audit verify` exits 1 naming the first bad
# record when a copy of the store's log is edited, has a line removed, two
# lines swapped, its end cut off, is rewritten with every hash recomputed, or
# is deleted. Production is fingerprinted before and after and must not
# change.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"
export DOPPEL_HOST=local # never a doppeld that happens to serve this machine

mkdir -p "$P/data"
echo "customer: alice@example.com" >"$P/data/customers.txt"
chmod -R a+rX "$P"
remember_production
write_config
LOG="$DOPPEL_HOME/audit.log"
ME=$(id -un)
MYUID=$(id -u)

lines() { if [ -e "$1" ]; then wc -l <"$1"; else echo 0; fi; }
# line_sha FILE N: SHA-256 of line N's bytes without the newline
line_sha() { sed -n "${2}p" "$1" | tr -d '\n' | sha256sum | cut -d' ' -f1; }

# --- a new store: nothing, then each call's record ------------------------------
out=$(run_ok "audit --json on a new store" d audit --json)
[ "$(echo "$out" | json 'len(j)')" = 0 ] || fail "a new store's log is not empty: $out"
[ "$(lines "$LOG")" = 1 ] || fail "reading the log was not recorded (expected 1 line): $(cat "$LOG" 2>&1)"
[ "$(stat -c %a "$LOG")" = 600 ] || fail "audit.log mode is $(stat -c %a "$LOG"), expected 600"
out=$(run_ok "audit --json" d audit --json)
r=$(echo "$out" | json '[len(j), j[0]["seq"], j[0]["user"], j[0]["uid"], j[0]["source"], j[0]["action"], j[0]["result"], j[0]["prev"], "target" in j[0], "token" in j[0]]' | tr '\n' ' ')
[ "$r" = "1 1 $ME $MYUID local audit ok $(printf '0%.0s' $(seq 64)) false false " ] || fail "first record: $r ($out)"
pass "each read of the log is recorded after it; the first record starts the chain"

out=$(run_ok "audit verify" d audit verify)
echo "$out" | grep -q "^audit log ok: 2 records; the last is 2, its line's SHA-256 $(line_sha "$LOG" 2)\$" ||
	fail "verify of an intact log: $out"
out=$(run_ok "audit verify --json" d audit verify --json)
[ "$(echo "$out" | json '[j["ok"], j["records"], j["head"], "first_bad" in j]' | tr '\n' ' ')" = "true 3 $(line_sha "$LOG" 3) false " ] ||
	fail "verify --json of an intact log: $out"
# the verify records say what they found
r=$(sed -n 3p "$LOG" | json '[j["action"], j["args"]["verify"], j["args"]["ok"], j["args"]["records"]]' | tr '\n' ' ')
[ "$r" = "audit true true 2 " ] || fail "verify's own record: $r"
pass "verify says ok with the head's SHA-256, and is recorded with its verdict"

# --- the table ---------------------------------------------------------------------
out=$(run_ok "audit" d audit)
echo "$out" | head -1 | grep -Eq '^TIME +ACTOR +SOURCE +ACTION +TARGET +RESULT$' || fail "table header: $out"
[ "$(echo "$out" | wc -l)" = 5 ] || fail "table: expected a header and 4 records: $out"
echo "$out" | sed 1d | grep -Evq "^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]{3}Z +$ME +local +audit +- +ok\$" &&
	fail "table rows: $out"
pass "the table shows time, actor, source, action, target and result"

# --- a denial is recorded with its reason ------------------------------------------
n=$(lines "$LOG")
printf 'version: 1\nusers: {%s: [developer]}\n' "$ME" >"$T/access-developer.yaml"
DOPPEL_ACCESS="$T/access-developer.yaml" d audit >"$T/out" 2>"$T/err" && fail "a developer read the audit log: $(cat "$T/out")"
grep -q "^doppel: $ME may not audit: role developer lacks audit\$" "$T/err" || fail "denial message: $(cat "$T/err")"
[ -s "$T/out" ] && fail "a denied read printed records: $(cat "$T/out")"
DOPPEL_ACCESS="$T/access-developer.yaml" d audit verify >"$T/out" 2>"$T/err" && fail "a developer verified the audit log"
[ "$(lines "$LOG")" = "$((n + 2))" ] || fail "the two denials were not recorded"
r=$(tail -n 1 "$LOG" | json '[j["seq"], j["action"], j["result"], j["message"], j["args"]["verify"]]' | tr '\n' ' ')
[ "$r" = "$((n + 2)) audit denied $ME may not audit: role developer lacks audit true " ] || fail "denial record: $r"
d audit | tail -n 1 | grep -Eq " audit +- +denied: $ME may not audit: role developer lacks audit\$" ||
	fail "the table does not show the denial with its reason: $(d audit | tail -n 2)"
pass "denied reads and verifies are refused and recorded with the reason"

# --- sandbox actions: one record each (run: at its start and its end), in order ----
n=$(lines "$LOG")
run_ok "sync" d sync >/dev/null
run_ok "create" d create box --tier dev >/dev/null
run_ok "run" d run box -- /bin/true
d run box -- /bin/sh -c 'exit 3'
[ $? = 3 ] || fail "run's exit status 3 did not come through"
run_ok "checkpoint" d checkpoint box one >/dev/null
run_ok "reset" d reset box --to one >/dev/null
d create box --tier dev >/dev/null 2>&1 && fail "a second sandbox named box was created"
run_ok "destroy" d destroy box >/dev/null
tail -n +"$((n + 1))" "$LOG" | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    a = r.get("args", {})
    extra = " ".join("%s=%s" % (k, json.dumps(a[k])) for k in ("argv", "exit_status", "tier", "label", "to") if k in a)
    print(r["action"], r.get("target", "-"), r["result"], extra)' >"$T/got"
cat >"$T/want" <<EOT
sync - ok 
create dev/box ok tier="dev"
run dev/box ok argv=["/bin/true"]
run dev/box ok argv=["/bin/true"] exit_status=0
run dev/box ok argv=["/bin/sh", "-c", "exit 3"]
run dev/box ok argv=["/bin/sh", "-c", "exit 3"] exit_status=3
checkpoint dev/box ok label="one"
reset dev/box ok to="one"
create dev/box failed tier="dev"
destroy dev/box ok 
EOT
diff -u "$T/want" "$T/got" >"$T/diff" || fail "sandbox actions in the log differ: $(cat "$T/diff")"
tail -n 2 "$LOG" | head -n 1 | json 'j["message"]' | grep -q "box" || fail "the failed create's record has no reason"
run_ok "verify after sandbox actions" d audit verify >/dev/null
pass "sync, create, run (start and end), checkpoint, reset, a failed create and destroy are recorded in order"

# --- --since ------------------------------------------------------------------------
n=$(lines "$LOG")
now=$(date +%s)
count() { d audit --json --since "$1" | json 'len(j)'; }
[ "$(count 0)" = "$n" ] || fail "--since 0 does not show all $n records"
[ "$(count 1h)" = "$((n + 1))" ] || fail "--since 1h does not show all records"
[ "$(count 7d)" = "$((n + 2))" ] || fail "--since 7d does not show all records"
[ "$(count $((now - 3600)))" = "$((n + 3))" ] || fail "--since an hour ago (unix seconds)"
[ "$(count $((now + 3600)))" = 0 ] || fail "--since an hour ahead (unix seconds) shows records"
[ "$(count 2099-01-01)" = 0 ] || fail "--since 2099-01-01 shows records"
[ "$(count 2000-01-01)" = "$((n + 6))" ] || fail "--since 2000-01-01"
[ "$(count "$(date -u -d @$((now - 3600)) +%Y-%m-%dT%H:%M:%SZ)")" = "$((n + 7))" ] || fail "--since ISO time an hour ago"
# the same instants written in UTC+05:30 (POSIX TZ names the offset west)
[ "$(count "$(TZ=XXX-05:30 date -d @$((now - 3600)) +%Y-%m-%dT%H:%M:%S%:z)")" = "$((n + 8))" ] ||
	fail "--since an hour ago in +05:30"
[ "$(count "$(TZ=XXX-05:30 date -d @$((now + 3600)) +%Y-%m-%dT%H:%M:%S%:z)")" = 0 ] ||
	fail "--since an hour ahead in +05:30 shows records"
[ "$(count "$(date -u -d @$((now - 3600)) '+%Y-%m-%d %H:%M')")" = "$((n + 10))" ] || fail "--since 'YYYY-MM-DD HH:MM'"
n=$(lines "$LOG")
for bad in yesterday 10x 1.5h -5m 2024-13-01 2023-02-29 2024-01-01T25:00 2024-01-01T10:00+1 '' 99999999999999999999; do
	expect_usage_error "--since '$bad'" "since '.*expected unix seconds" d audit --since "$bad"
done
expect_usage_error "audit with a stray argument" "unexpected argument 'x'" d audit x
expect_usage_error "verify with a stray argument" "audit verify: unexpected argument 'x'" d audit verify x
[ "$(lines "$LOG")" = "$n" ] || fail "a refused command was recorded"
pass "--since takes unix seconds, ISO-8601 dates and times with offsets, and ages; refuses the rest unrecorded"

# --- concurrent callers ---------------------------------------------------------------
n=$(lines "$LOG")
pids=""
for i in 1 2 3 4 5 6 7 8; do
	d audit --since 1d >/dev/null 2>"$T/conc.$i" &
	pids="$pids $!"
	d audit verify >/dev/null 2>>"$T/conc.$i" &
	pids="$pids $!"
done
for p in $pids; do wait "$p" || fail "a concurrent audit call failed: $(cat "$T"/conc.*)"; done
[ "$(lines "$LOG")" = "$((n + 16))" ] || fail "16 concurrent calls left $(($(lines "$LOG") - n)) records"
python3 -c '
import sys, json
seqs = [json.loads(l)["seq"] for l in open(sys.argv[1])]
sys.exit(0 if seqs == list(range(1, len(seqs) + 1)) else 1)' "$LOG" || fail "sequence numbers not contiguous after concurrent calls"
run_ok "verify after concurrent calls" d audit verify >/dev/null
pass "16 concurrent callers: one record each, one contiguous chain"

# --- tampering, each way on a copy of the store's database and log --------------------
N=$(lines "$LOG")
[ "$N" -ge 12 ] || fail "expected at least 12 records by now, have $N"
# tampered HOW FIRST WHY [FIRST2 WHY2]: HOW (shell code) edits $C/audit.log;
# verify names record FIRST /WHY/, and after its own record (appended to the
# head, not to what is left of the log) record FIRST2 /WHY2/ (default: the same)
tampered() {
	C="$T/copy"
	rm -rf "$C"
	mkdir -m 700 "$C"
	cp -p "$DOPPEL_HOME"/doppel.db* "$LOG" "$C/"
	(cd "$C" && eval "$1") || fail "tampering failed: $1"
	out=$(DOPPEL_HOME="$C" d audit verify 2>&1)
	rc=$?
	[ "$rc" = 1 ] || fail "verify after '$1': exit $rc, expected 1: $out"
	echo "$out" | grep -Eq "^audit log NOT ok: first bad record $2: $3" ||
		fail "verify after '$1': expected record $2 /$3/: $out"
	out=$(DOPPEL_HOME="$C" d audit verify --json)
	rc=$?
	[ "$rc" = 1 ] || fail "verify --json after '$1' and a record: exit $rc, expected 1: $out"
	[ "$(echo "$out" | json '[j["ok"], j["first_bad"]]' | tr '\n' ' ')" = "false ${4:-$2} " ] ||
		fail "verify --json after '$1' and a record: expected record ${4:-$2}: $out"
	echo "$out" | json 'j["why"]' | grep -Eq "${5:-$3}" || fail "verify --json after '$1' and a record: expected /${5:-$3}/: $out"
}
tampered "sed -i '4s/\"user\":\"$ME\"/\"user\":\"mallory\"/' audit.log" 4 "record 4 was edited: its hash does not match"
pass "an edited field is named"
tampered "sed -i 3d audit.log" 3 "record 3 is missing: line 3 holds record 4"
pass "a removed record is named"
tampered "sed -i '5{h;d};6G' audit.log" 5 "record 5 is missing: line 5 holds record 6"
[ "$(sed -n 6p "$C/audit.log" | json 'j["seq"]')" = 5 ] || fail "the swap did not swap"
pass "swapped records are named"
tampered "head -n $((N - 2)) audit.log >x && mv x audit.log" $((N - 1)) \
	"the log ends at record $((N - 2)) .*records $((N - 1))\\.\\.$N are missing \\(truncated\\)" \
	$((N - 1)) "record $((N - 1)) is missing: line $((N - 1)) holds record $((N + 1))"
pass "a cut-off end is named"
# the whole chain recomputed after an edit: only the head in the database shows it
tampered "python3 -c '
import hashlib, json
out, prev = [], \"0\" * 64
for l in open(\"audit.log\"):
    r = json.loads(l)
    if r[\"seq\"] == 2: r[\"user\"] = \"mallory\"
    r[\"prev\"] = prev; del r[\"hash\"]
    dump = lambda o: json.dumps(o, sort_keys=True, separators=(\",\", \":\"), ensure_ascii=False)
    r[\"hash\"] = hashlib.sha256(dump(r).encode()).hexdigest()
    out.append(dump(r)); prev = hashlib.sha256(out[-1].encode()).hexdigest()
open(\"audit.log\", \"w\").write(\"\\n\".join(out) + \"\\n\")'" "$N" "record $N is not the one the store's chain head names" \
	$((N + 1)) "record $((N + 1)) does not follow record $N"
pass "a rewritten chain is caught by the head kept in the database"
tampered "rm audit.log" 1 "audit.log is missing but the store's chain head is record $N" \
	1 "record 1 is missing: line 1 holds record $((N + 1))"
pass "a deleted log is named"

# the real log was not touched by any of it
[ "$(lines "$LOG")" = "$N" ] || fail "the store's own log changed while its copies were tampered with"
run_ok "verify the untouched log" d audit verify >/dev/null
check_production "after the audit tests"
pass "production unchanged"
finish
