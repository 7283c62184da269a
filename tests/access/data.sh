#!/bin/sh
# scan, synth and the endpoints views through doppeld (issue 5: one ops
# function per action, called by the CLI in local mode and by the daemon).
# A real doppeld on a scratch socket, real Unix users made by the test, a
# production tree with an SQLite database under masking rules and an API
# stand-in. Each action's route answers over the Unix socket; the CLI in
# remote mode prints exactly what it prints locally (text and --json); a
# user whose role lacks the grant gets 403 naming it, a `denied` audit
# record, and no change; bad input is a 400 that changes nothing; a leak is
# reported without its value; production's bytes never change.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"

is_root || skip "needs root: creates Unix users and runs doppeld for them"
command -v useradd >/dev/null || skip "useradd is missing"
command -v runuser >/dev/null || skip "runuser is missing"
command -v curl >/dev/null || skip "curl is missing"
command -v sqlite3 >/dev/null || skip "the sqlite3 shell is needed to inspect databases"
DOPPELD=${DOPPELD:-$(dirname "$DOPPEL")/src/daemon/doppeld}
[ -x "$DOPPELD" ] || fail "doppeld not built at $DOPPELD"
unset DOPPEL_ACCESS DOPPEL_HOST

PAY=api.payments.example
U_dev=$(printf 'dpd%s-dev' $$ | cut -c1-31)
U_aud=$(printf 'dpd%s-aud' $$ | cut -c1-31)
make_user "$U_dev"
make_user "$U_aud"
DAEMON_PID=
cleanup_data() {
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
	userdel "$U_dev" 2>/dev/null
	userdel "$U_aud" 2>/dev/null
	cleanup_T
}
trap cleanup_data EXIT

# --- production, a stand-in, config, policy ----------------------------------
mkdir -p "$P/data" "$P/app" "$T/mocks/mappings"
python3 "$DOPPEL_SRC/tests/replication/shopdb.py" "$P/data/shop.db" 100 || fail "cannot build the fixture database"
echo "the app" >"$P/app/main.sh"
cat >"$T/mocks/mappings/pay.json" <<'EOF'
{"mappings": [
  {"name": "balance-ok", "scenarioName": "rate", "requiredScenarioState": "Started",
   "request": {"method": "GET", "url": "/v1/balance"}, "response": {"status": 200, "body": "balance ok"}},
  {"name": "balance-limited", "scenarioName": "rate", "requiredScenarioState": "limited",
   "request": {"method": "GET", "url": "/v1/balance"}, "response": {"status": 429, "body": "rate limited"}}
]}
EOF
chmod -R a+rX "$P" "$T/mocks"
{
	echo "version: 1"
	echo "production:"
	echo "  root: $P"
	echo "  databases:"
	echo "    - {name: main, sqlite: data/shop.db}"
	echo "tiers:"
	echo "  dev: {network: endpoints}"
	echo "  qa: {network: none}"
	echo "endpoints:"
	echo "  $PAY: {mappings: $T/mocks}"
	echo "$SHOP_RULES"
} >"$DOPPEL_CONFIG"
cat >"$T/access.yaml" <<YAML
version: 1
users:
  root: [admin]
  $U_dev: [developer]
  $U_aud: [auditor]
YAML
remember_production
# local: the store's owner under the single-user policy; remote: doppeld
loc() { DOPPEL_HOST=local "$DOPPEL" "$@"; }
rem() { DOPPEL_HOST="unix:$SOCK" "$DOPPEL" "$@"; }
run_ok "sync" loc sync >/dev/null
run_ok "create" loc create sb --tier dev >/dev/null

mkdir -p "$T/run"
chmod 755 "$T/run"
SOCK="$T/run/doppel.sock"
"$DOPPELD" --config "$DOPPEL_CONFIG" --access "$T/access.yaml" --socket "$SOCK" --run-socket "$T/run/run.sock" \
	>"$T/doppeld.log" 2>&1 &
DAEMON_PID=$!
wait_for "grep -q serving '$T/doppeld.log'" 100 || fail "doppeld did not start: $(cat "$T/doppeld.log")"

# api [USER] METHOD PATH [BODY]: one call on the socket (as USER with runuser
# when the first word is no method); $CODE, the body in $T/body
api() {
	case $1 in GET | POST | PUT | DELETE) _as= ;; *) _as=$1; shift ;; esac
	_m=$1 _p=$2
	shift 2
	# the body through this shell (USER may not write in $T), the status on stderr
	CODE=$(${_as:+runuser -u "$_as" --} curl -s --path-as-is --unix-socket "$SOCK" -X "$_m" ${1+--data-binary "$1"} \
		-H 'Content-Type: application/json' -w '%{stderr}%{http_code}' "http://d$_p" 2>&1 >"$T/body")
}
body() { json "$1" <"$T/body"; }
ok() { [ "$CODE" = "$1" ] || fail "$2: expected $1, got $CODE: $(cat "$T/body")"; }
refused() {
	[ "$CODE" = "$1" ] || fail "$2: expected $1, got $CODE: $(cat "$T/body")"
	_e=$(body 'j["error"]' 2>/dev/null) || fail "$2: the answer is not a JSON error: $(cat "$T/body")"
	printf '%s\n' "$_e" | grep -Eq -- "$3" || fail "$2: error does not match /$3/: $_e"
}
# same WHAT CMD...: the command prints the same bytes and exits the same,
# locally and through doppeld; the local output stays in $T/local
same() {
	_w=$1
	shift
	loc "$@" >"$T/local" 2>"$T/local.err"
	_lrc=$?
	rem "$@" >"$T/remote" 2>"$T/remote.err"
	_rrc=$?
	[ "$_lrc" = "$_rrc" ] || fail "$_w: exit $_lrc locally, $_rrc through doppeld ($(cat "$T/local.err" "$T/remote.err"))"
	cmp -s "$T/local" "$T/remote" || fail "$_w: output differs through doppeld:
$(diff -u "$T/local" "$T/remote" | head -30)"
	LRC=$_lrc
}
# denied USER ACTION WHAT: the last call was refused 403 naming the grant,
# and the audit log's last record is USER's denied ACTION on sb
denied() {
	refused 403 "$3" "may not $2 "
	_last=$(tail -1 "$DOPPEL_HOME/audit.log" | json 'j["user"], j["action"], j["target"], j["result"]' | tr '\n' ' ')
	[ "$_last" = "$1 $2 dev/sb denied " ] || fail "$3: last audit record is '$_last'"
}
layers() {
	(cd "$DOPPEL_HOME" && find snapshots sandboxes -path 'sandboxes/*/w[0-9]*' -prune -o -type f -print0 |
		LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum
}

# --- scan -------------------------------------------------------------------
same "clean scan" scan sb
[ "$LRC" = 0 ] || fail "scan of a clean sandbox: exit $LRC"
grep -q "^sb: 0 leaks; searched [1-9][0-9]* values of 10 masked columns in " "$T/local" || fail "scan says: $(cat "$T/local")"
email=$(sqlite3 "file:$P/data/shop.db?mode=ro&immutable=1" "SELECT email FROM customers WHERE id = 7")
# the value comes in on stdin: in argv it would be in the audit log
printf '%s\n' "$email" | loc run sb -- /bin/sh -c "read -r e; echo \"user \$e logged in\" > $P/app/debug.log" ||
	fail "run: plant a leak"
same "scan with a leak" scan sb
[ "$LRC" = 1 ] || fail "scan of a leaking sandbox: exit $LRC"
grep -q "^LEAK  $P/app/debug.log  offset 5  value of main.customers.email  (layer sandboxes/sb/" "$T/local" ||
	fail "the leak is not reported right: $(cat "$T/local")"
same "scan --json --min-length" scan sb --json --min-length 6
[ "$LRC" = 1 ] || fail "scan --json of a leaking sandbox: exit $LRC"
api POST /v1/sandboxes/sb/scan '{"min_length": 6}'
ok 200 "scan route"
[ "$(body '[l["path"] + " " + l["column"] for l in j["leaks"]]')" = "app/debug.log main.customers.email" ] ||
	fail "scan route: $(cat "$T/body")"
json 'json.dumps(j, sort_keys=True)' <"$T/local" >"$T/a"
body 'json.dumps(j, sort_keys=True)' >"$T/b"
cmp -s "$T/a" "$T/b" || fail "the route's body is not scan --json's: $(diff "$T/a" "$T/b" | head)"
grep -qiF "$email" "$T/body" "$T/local" "$DOPPEL_HOME/audit.log" && fail "the leaked value is in an answer or the log"
api "$U_aud" POST /v1/sandboxes/sb/scan '{}'
denied "$U_aud" scan "an auditor scans"
api "$U_dev" POST /v1/sandboxes/sb/scan
denied "$U_dev" scan "a developer scans root's sandbox"
api POST /v1/sandboxes/sb/scan '{"min_length": "5"}'
refused 400 "min_length a string" "min_length: expected a whole number"
api POST /v1/sandboxes/sb/scan '{"min_length": 5000}'
refused 400 "min_length too big" "min_length: expected 1 to 4096"
api POST /v1/sandboxes/nope/scan
refused 404 "scan of an unknown sandbox" "no sandbox named 'nope'"
# a developer scans their own sandbox through the CLI (SO_PEERCRED says who)
api "$U_dev" POST /v1/sandboxes '{"name": "mine"}'
ok 201 "a developer creates a sandbox"
out=$(runuser -u "$U_dev" -- env DOPPEL_HOST="unix:$SOCK" "$DOPPEL" scan mine) || fail "a developer's scan of their own sandbox: $out"
printf '%s\n' "$out" | grep -q "^mine: 0 leaks" || fail "the developer's scan says: $out"
out=$(runuser -u "$U_dev" -- env DOPPEL_HOST="unix:$SOCK" "$DOPPEL" scan sb 2>&1) && fail "a developer scanned root's sandbox: $out"
printf '%s\n' "$out" | grep -q "may not scan" || fail "the developer's refusal: $out"
check_production "(scan)"
pass "scan: the route, remote CLI = local CLI (text, --json, exit 1 on a leak), no value shown, denials 403 + audited"

# --- synth ------------------------------------------------------------------
count() { loc run sb -- sqlite3 "$P/data/shop.db" 'SELECT count(*) FROM customers'; }
n0=$(count)
same "synth" synth sb main.customers --rows 5 --seed 7
[ "$(cat "$T/local")" = "sandbox sb: added 5 rows to main.customers (seed 7)" ] || fail "synth says: $(cat "$T/local")"
[ "$(count)" = $((n0 + 10)) ] || fail "after two synths of 5 rows: $(count) customers, had $n0"
api POST /v1/sandboxes/sb/synth '{"table": "main.orders", "rows": 3}'
ok 200 "synth route"
[ "$(body 'j["sandbox"], j["table"], j["rows"]' | tr '\n' ' ')" = "sb main.orders 3 " ] || fail "synth route: $(cat "$T/body")"
[ "$(body 'type(j["seed"]).__name__')" = int ] || fail "synth route: no seed: $(cat "$T/body")"
before=$(layers)
api "$U_aud" POST /v1/sandboxes/sb/synth '{"table": "main.customers", "rows": 1}'
denied "$U_aud" synth "an auditor synthesizes"
api "$U_dev" POST /v1/sandboxes/sb/synth '{"table": "main.customers", "rows": 1}'
denied "$U_dev" synth "a developer synthesizes in root's sandbox"
api POST /v1/sandboxes/sb/synth '{"table": "main.nope", "rows": 1}'
[ "${CODE#4}" != "$CODE" ] || fail "synth of an unknown table: $CODE $(cat "$T/body")"
api POST /v1/sandboxes/sb/synth '{"table": "other.customers", "rows": 1}'
refused 400 "synth of an unknown database" "no SQLite database named 'other'"
api POST /v1/sandboxes/sb/synth '{"table": "main.customers", "rows": 0}'
refused 400 "synth of 0 rows" "rows: expected 1 to"
api POST /v1/sandboxes/sb/synth '{"table": "main.customers"}'
refused 400 "synth without rows" "missing field 'rows'"
api POST /v1/sandboxes/sb/synth '{"table": "main.customers", "rows": 1, "seed": -1}'
refused 400 "a negative seed" "seed: expected a whole number"
[ "$(layers)" = "$before" ] || fail "a refused synth changed the store's layers"
same "synth of an unknown database" synth sb other.customers --rows 1
[ "$LRC" = 2 ] || fail "synth of an unknown database: exit $LRC"
cmp -s "$T/local.err" "$T/remote.err" || fail "synth's error differs through doppeld: $(cat "$T/local.err" "$T/remote.err")"
check_production "(synth)"
pass "synth: the route, remote CLI = local CLI, rows land in the sandbox; denials 403 + audited; bad input 400 and no change"

# --- endpoints ----------------------------------------------------------------
if [ -x /usr/bin/curl ]; then
	loc run sb -- sh -c "curl -sS --max-time 10 http://$PAY/v1/balance; curl -sS --max-time 10 http://$PAY/nothing" \
		>/dev/null || fail "run: call the stand-in"
fi
same "endpoints" endpoints sb
grep -q "^$PAY  127.0.0.2  2 mappings" "$T/local" || fail "endpoints says: $(cat "$T/local")"
same "endpoints --json" endpoints sb --json
same "journal" endpoints sb journal
same "journal HOST --json" endpoints sb journal $PAY --json
if [ -x /usr/bin/curl ]; then
	[ "$(json '[r["path"] + " " + str(r["status"]) for r in j["requests"]]' <"$T/local" | tr '\n' ' ')" = \
		"/v1/balance 200 /nothing 404 " ] || fail "journal: $(cat "$T/local")"
fi
loc create plain --tier qa >/dev/null || fail "create plain"
same "endpoints of a sandbox without stand-ins" endpoints plain
grep -q "^sandbox plain has no stand-ins (tier qa" "$T/local" || fail "endpoints plain says: $(cat "$T/local")"
same "scenario" endpoints sb scenario $PAY rate limited
[ "$(cat "$T/local")" = "$PAY: scenario rate is now in state limited (from the next run on)" ] ||
	fail "scenario says: $(cat "$T/local")"
api GET /v1/sandboxes/sb/endpoints
ok 200 "endpoints route"
[ "$(body 'j["endpoints"][0]["scenarios"]["rate"]')" = limited ] || fail "endpoints route: $(cat "$T/body")"
api GET "/v1/sandboxes/sb/endpoints/journal?host=$PAY"
ok 200 "journal route"
api POST /v1/sandboxes/sb/endpoints/scenario "{\"host\": \"$PAY\", \"scenario\": \"rate\", \"state\": \"Started\"}"
ok 200 "scenario route"
[ "$(body 'j["host"], j["scenario"], j["state"], j["running"]' | tr '\n' ' ')" = "$PAY rate Started false " ] ||
	fail "scenario route: $(cat "$T/body")"
before=$(cat "$DOPPEL_HOME/sandboxes/sb/endpoints/"*.json | sha256sum)
api "$U_aud" GET /v1/sandboxes/sb/endpoints
denied "$U_aud" endpoints "an auditor lists stand-ins"
api "$U_dev" GET /v1/sandboxes/sb/endpoints/journal
denied "$U_dev" endpoints "a developer reads root's journal"
api "$U_dev" POST /v1/sandboxes/sb/endpoints/scenario "{\"host\": \"$PAY\", \"scenario\": \"rate\", \"state\": \"limited\"}"
denied "$U_dev" endpoints "a developer sets a scenario in root's sandbox"
api GET "/v1/sandboxes/sb/endpoints/journal?host=a/b"
refused 400 "journal host with /" "query host"
api GET "/v1/sandboxes/sb/endpoints/journal?host=api.other.example"
refused 400 "journal of an unknown host" "no stand-in for 'api.other.example'"
api GET "/v1/sandboxes/sb/endpoints/journal?since=1"
refused 400 "journal with another query" "unknown or repeated"
api POST /v1/sandboxes/sb/endpoints/scenario "{\"host\": \"$PAY\", \"scenario\": \"../rate\", \"state\": \"limited\"}"
refused 400 "scenario with .." "may not contain '/' or '..'"
api POST /v1/sandboxes/sb/endpoints/scenario "{\"host\": \"$PAY\", \"scenario\": \"nope\", \"state\": \"limited\"}"
refused 400 "unknown scenario" "no mapping names scenario 'nope'"
api POST /v1/sandboxes/sb/endpoints/scenario "{\"host\": \"$PAY\", \"scenario\": \"rate\"}"
refused 400 "scenario without state" "missing field 'state'"
[ "$(cat "$DOPPEL_HOME/sandboxes/sb/endpoints/"*.json | sha256sum)" = "$before" ] ||
	fail "a refused scenario call changed the saved state"
same "endpoints after the route's scenario" endpoints sb
grep -q "scenario rate: Started" "$T/local" || fail "the route's scenario did not stick: $(cat "$T/local")"
same "unknown host" endpoints sb journal api.other.example
[ "$LRC" = 2 ] || fail "journal of an unknown host: exit $LRC"
cmp -s "$T/local.err" "$T/remote.err" || fail "the error differs through doppeld: $(cat "$T/local.err" "$T/remote.err")"
# while the sandbox runs: through the stand-ins' admin socket, from doppeld too
# "$DOPPEL" itself in the background (not the loc function's subshell), so
# $runner is the process that SIGTERM must reach
DOPPEL_HOST=local "$DOPPEL" run sb -- sleep 60 >/dev/null 2>&1 &
runner=$!
live() { api GET /v1/sandboxes/sb/endpoints/journal && [ "$(body 'j["running"]')" = true ]; }
wait_for live 150 || { kill $runner; fail "the running sandbox's stand-ins never showed as running: $(cat "$T/body")"; }
api POST /v1/sandboxes/sb/endpoints/scenario "{\"host\": \"$PAY\", \"scenario\": \"rate\", \"state\": \"limited\"}"
ok 200 "live scenario route"
[ "$(body 'j["running"]')" = true ] || { kill $runner; fail "live scenario route: $(cat "$T/body")"; }
same "live endpoints" endpoints sb
grep -q "(running)" "$T/local" && grep -q "scenario rate: limited" "$T/local" ||
	{ kill $runner; fail "live endpoints: $(cat "$T/local")"; }
same "live scenario" endpoints sb scenario $PAY rate Started
[ "$(cat "$T/local")" = "$PAY: scenario rate is now in state Started" ] || { kill $runner; fail "live scenario says: $(cat "$T/local")"; }
kill -TERM $runner
wait $runner
kill -0 $runner 2>/dev/null && fail "the run is still there after SIGTERM"
check_production "(endpoints)"
pass "endpoints: list, journal and scenario routes; remote CLI = local CLI; denials 403 + audited; bad input 400"

loc audit verify >/dev/null || fail "audit verify"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
rc=$?
DAEMON_PID=
[ "$rc" = 0 ] || fail "doppeld exit $rc on SIGTERM"
! grep -E 'runtime error|Sanitizer' "$T/doppeld.log" || fail "doppeld: sanitizer report above"
check_production "at the end"
pass "production unchanged; the audit chain verifies; doppeld stops cleanly"
