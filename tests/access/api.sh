#!/bin/sh
# doppeld's HTTP API (docs/api.md) over real sockets with curl: a daemon on a
# scratch socket, store and production fixture. Version and whoami; sync,
# create, list, diff, drift, checkpoint, reset, rebase and destroy; bad input
# of every kind answered 4xx with a JSON error while the daemon keeps
# serving (malformed JSON, wrong types, unknown fields, a body over 64 KiB,
# unknown routes and methods, path traversal in names that touches no file);
# on TCP, missing, malformed, unknown, expired and revoked tokens get 401
# and a live one works, a streamed run included; a non-loopback --listen is
# refused; a second daemon on a live socket is refused and a stale one is
# replaced; SIGTERM exits 0 and a restart loses nothing; the store is 0700;
# production is unchanged. Runs as root and as an unprivileged user (the
# daemon then serves its own store).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"

command -v curl >/dev/null || skip "curl is missing"
DOPPELD=${DOPPELD:-$(dirname "$DOPPEL")/src/daemon/doppeld}
[ -x "$DOPPELD" ] || fail "doppeld not built at $DOPPELD"
unset DOPPEL_ACCESS DOPPEL_HOST

mkdir -p "$P/app" "$P/data" "$T/run"
echo "hello" >"$P/app/index.html"
echo "customer: alice@example.com" >"$P/data/customers.txt"
chmod -R a+rX "$P"
write_config
remember_production
SOCK="$T/run/doppel.sock"
RUNSOCK="$T/run/run.sock"
ME=$(id -un)
MYUID=$(id -u)

DAEMON_PID=
stop_daemon() {
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
}
NOTIFY_PID=
trap 'stop_daemon; [ -n "$NOTIFY_PID" ] && kill "$NOTIFY_PID" 2>/dev/null; cleanup_T' EXIT

# no sanitizer report in the daemon's log (ASan and UBSan builds)
check_log() {
	[ -e "$T/doppeld.log" ] || return 0
	! grep -E 'runtime error|Sanitizer|LeakSanitizer' "$T/doppeld.log" || fail "doppeld: sanitizer report above"
}
# start_daemon [ARGS]: in the background on $SOCK, TCP on a free loopback port
start_daemon() {
	check_log
	: >"$T/doppeld.log"
	"$DOPPELD" --config "$DOPPEL_CONFIG" --socket "$SOCK" --listen 127.0.0.1:0 "$@" >>"$T/doppeld.log" 2>&1 &
	DAEMON_PID=$!
	wait_for "grep -q 'serving' '$T/doppeld.log'" 100 || fail "doppeld did not start: $(cat "$T/doppeld.log")"
	PORT=$(sed -n 's/.*TCP 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/doppeld.log")
	[ -n "$PORT" ] || fail "doppeld did not say its port: $(cat "$T/doppeld.log")"
}

# api METHOD PATH [BODY]: one call on the Unix socket; $CODE, body in $T/body
api() {
	_m=$1 _p=$2
	shift 2
	CODE=$(curl -s --path-as-is --unix-socket "$SOCK" -X "$_m" ${1+--data-binary "$1"} \
		-H 'Content-Type: application/json' -o "$T/body" -w '%{http_code}' "http://d$_p")
}
# tcp TOKEN METHOD PATH [BODY]: the same on the TCP port ("" for no token)
tcp() {
	_t=$1 _m=$2 _p=$3
	shift 3
	CODE=$(curl -s --path-as-is -X "$_m" ${_t:+-H "Authorization: Bearer $_t"} ${1+--data-binary "$1"} \
		-D "$T/headers" -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$PORT$_p")
}
body() { json "$1" <"$T/body"; }
# ok WANT WHAT: the last call answered WANT
ok() {
	[ "$CODE" = "$1" ] || fail "$2: expected $1, got $CODE: $(cat "$T/body")"
}
# refused WANT WHAT PATTERN: answered WANT with a JSON {"error": ...} matching PATTERN
refused() {
	[ "$CODE" = "$1" ] || fail "$2: expected $1, got $CODE: $(cat "$T/body")"
	_e=$(body 'j["error"]' 2>/dev/null) || fail "$2: the answer is not a JSON error: $(cat "$T/body")"
	printf '%s\n' "$_e" | grep -Eq -- "$3" || fail "$2: error does not match /$3/: $_e"
}
alive() {
	api GET /v1/version
	ok 200 "still serving after $1"
}

start_daemon
[ -S "$SOCK" ] && [ -S "$RUNSOCK" ] || fail "sockets missing: $(ls -l "$T/run")"
[ "$(stat -c %a "$SOCK")" = 666 ] || fail "API socket mode $(stat -c %a "$SOCK"), expected 666"
[ "$(stat -c %a "$RUNSOCK")" = 666 ] || fail "run socket mode $(stat -c %a "$RUNSOCK"), expected 666"
[ "$(stat -c %a "$DOPPEL_HOME")" = 700 ] || fail "store mode $(stat -c %a "$DOPPEL_HOME"), expected 700"
pass "sockets 0666, store 0700"

# --- version, whoami --------------------------------------------------------
api GET /v1/version
ok 200 version
[ "$(body 'j["api"]')" = 1 ] && [ "$(body 'j["version"]')" = 0.1.0 ] || fail "version: $(cat "$T/body")"
api GET /v1/whoami
ok 200 whoami
[ "$(body 'j["user"], j["uid"], j["source"]' | tr '\n' ' ')" = "$ME $MYUID socket " ] || fail "whoami: $(cat "$T/body")"
[ "$(body '"token" in j')" = false ] || fail "whoami on the socket names a token: $(cat "$T/body")"
[ "$(body '" ".join(j["roles"])')" = admin ] || fail "whoami: the store's owner should be admin: $(cat "$T/body")"
pass "version and whoami (SO_PEERCRED: $ME)"

# --- the sandbox lifecycle --------------------------------------------------
api POST /v1/sync '{"verify": true}'
ok 200 sync
SNAP1=$(body 'j["snapshot"]')
api GET /v1/snapshots
ok 200 snapshots
[ "$(body 'len(j)')" = 1 ] || fail "snapshots: $(cat "$T/body")"
api POST /v1/sandboxes '{"name": "alpha"}'
ok 201 create
[ "$(body 'j["name"], j["tier"]' | tr '\n' ' ')" = "alpha dev " ] || fail "create: $(cat "$T/body")"
api POST /v1/sandboxes '{"name": "beta", "tier": "qa"}'
ok 201 "create in qa"
api POST /v1/sandboxes '{"name": "alpha"}'
[ "${CODE#4}" != "$CODE" ] || fail "creating alpha twice: expected 4xx, got $CODE: $(cat "$T/body")"
api GET /v1/sandboxes
ok 200 list
[ "$(body '" ".join(sorted(s["name"] for s in j))')" = "alpha beta" ] || fail "list: $(cat "$T/body")"
[ "$(body '[s["tier"] for s in j if s["name"] == "beta"][0]')" = qa ] || fail "list tiers: $(cat "$T/body")"
pass "sync, snapshots, create, list"

# a change in alpha (the CLI, locally, on the same store), then diff and drift
d run alpha -- /bin/sh -c "echo one > '$P/app/one.txt'" >/dev/null || fail "run in alpha"
api GET /v1/sandboxes/alpha/diff
ok 200 diff
body '[e.get("path") for e in j]' | grep -q 'app/one.txt' || fail "diff does not show app/one.txt: $(cat "$T/body")"
api GET /v1/sandboxes/alpha/drift
ok 200 drift
[ "$(body 'j["snapshot"]')" = "$SNAP1" ] || fail "drift: $(cat "$T/body")"
api POST /v1/sandboxes/alpha/checkpoints '{"label": "first"}'
ok 201 checkpoint
[ "$(body 'j["sandbox"], j["label"]' | tr '\n' ' ')" = "alpha first " ] || fail "checkpoint: $(cat "$T/body")"
d run alpha -- /bin/sh -c "echo two > '$P/app/two.txt'" >/dev/null || fail "second run in alpha"
api POST /v1/sandboxes/alpha/reset '{"to": "first"}'
ok 200 "reset to the checkpoint"
api GET /v1/sandboxes/alpha/diff
paths=$(body '[e.get("path") for e in j]')
printf '%s\n' "$paths" | grep -q app/one.txt && ! printf '%s\n' "$paths" | grep -q app/two.txt ||
	fail "after reset to first: $paths"
api POST /v1/sandboxes/alpha/reset '{}'
ok 200 "reset to the snapshot"
api GET /v1/sandboxes/alpha/diff
[ "$(body 'len([e for e in j if "path" in e])')" = 0 ] || fail "after reset: $(cat "$T/body")"
api POST /v1/sync
ok 200 "second sync"
SNAP2=$(body 'j["snapshot"]')
api POST /v1/sandboxes/alpha/rebase '{"keep_changes": true}'
ok 200 rebase
[ "$(body 'j["to"]')" = "$SNAP2" ] || fail "rebase to $SNAP2: $(cat "$T/body")"
pass "diff, drift, checkpoint, reset, rebase"

# --- bad input: 4xx, a JSON error, nothing changed, still serving -----------
before=$(store_listing | grep -v -e doppel.db -e audit.log)
api POST /v1/sandboxes '{"name": "x"'
refused 400 "malformed JSON" 'request body: line 1'
api POST /v1/sandboxes 'not json at all'
refused 400 "not JSON" 'request body'
api POST /v1/sandboxes '["x"]'
refused 400 "an array body" 'expected a JSON object'
api POST /v1/sandboxes '{"name": 5}'
refused 400 "wrong type" 'name: expected a string'
api POST /v1/sandboxes/alpha/reset '{"force": "yes"}'
refused 400 "wrong type (bool)" 'force: expected true or false'
api POST /v1/sandboxes '{"name": "x", "owner": "root"}'
refused 400 "unknown field" "unknown field 'owner'"
api POST /v1/sandboxes '{"name": "a", "name": "b"}'
refused 400 "duplicate key" 'duplicate'
api POST /v1/sandboxes '{}'
refused 400 "missing field" "missing field 'name'"
api POST /v1/sandboxes '{"name": "Bad_Name"}'
refused 400 "bad name in the body" "sandbox name 'Bad_Name': expected"
api POST /v1/sandboxes '{"name": "x", "tier": "prod"}'
[ "${CODE#4}" != "$CODE" ] || fail "unknown tier: expected 4xx, got $CODE: $(cat "$T/body")"
api GET /v1/version '{}'
refused 400 "a body where none is taken" 'takes no body'
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/big"
api POST /v1/sandboxes "@$T/big"
refused 413 "a body over 64 KiB" 'over 65536 bytes'
# far over: refused from Content-Length before it is read (the client may
# see the answer or a reset connection, as it is still sending)
head -c 3000000 /dev/zero >"$T/huge"
api POST /v1/sandboxes "@$T/huge"
case $CODE in 413 | 000) ;; *) fail "a 3 MB body: expected 413 (or a reset), got $CODE: $(cat "$T/body")" ;; esac
rm -f "$T/huge"
# chunked: no Content-Length to refuse early
CODE=$(head -c 70000 /dev/zero | curl -s --unix-socket "$SOCK" -X POST -H 'Transfer-Encoding: chunked' \
	--data-binary @- -o "$T/body" -w '%{http_code}' http://d/v1/sandboxes)
refused 413 "a chunked body over 64 KiB" 'over 65536 bytes'
alive "bodies"
api GET /v1/nothing
refused 404 "unknown route" 'no such route'
api GET /v2/sandboxes
refused 404 "unknown version" 'no such route'
api GET /v1/sandboxes/
refused 404 "trailing slash" 'no such route'
api PUT /v1/sandboxes
refused 405 "wrong method" 'not allowed here'
curl -s --unix-socket "$SOCK" -X PATCH -D - -o /dev/null http://d/v1/sandboxes/alpha | grep -qi '^Allow: DELETE' ||
	fail "405 without an Allow header"
api GET '/v1/audit?since=yesterday'
refused 400 "bad query value" 'since'
api DELETE '/v1/sandboxes/alpha?force=1&rm=1'
refused 400 "unknown query parameter" "query parameter 'rm'"
alive "routes"
# traversal: a name is [a-z0-9-]; nothing outside the store is reached
mkdir -p "$T/canary"
echo keep >"$T/canary/file"
for p in '/v1/sandboxes/../diff' '/v1/sandboxes/%2e%2e/diff' '/v1/sandboxes/..%2f..%2fcanary' \
	'/v1/sandboxes/a%2fb/drift' '/v1/sandboxes/..' '/v1/sandboxes/%2E%2E%2F%2E%2E%2Fcanary' \
	"/v1/sandboxes/$(printf '\377\376')/diff" '/v1/tokens/..%2f..%2fx'; do
	for m in GET DELETE POST; do
		api "$m" "$p"
		case $CODE in 400 | 404 | 405) ;; *) fail "$m $p: expected 400, 404 or 405, got $CODE: $(cat "$T/body")" ;; esac
		body 'j["error"]' >/dev/null || fail "$m $p: not a JSON error: $(cat "$T/body")"
	done
done
api DELETE '/v1/sandboxes/%2e%2e'
refused 400 "encoded dot-dot" "sandbox name '%2e%2e': expected"
api POST /v1/sandboxes '{"name": "../../canary"}'
refused 400 "traversal in the body" "sandbox name '../../canary': expected"
api POST /v1/sandboxes/alpha/reset '{"to": "../first"}'
refused 400 "traversal in a label" "checkpoint label '../first': expected"
[ "$(cat "$T/canary/file")" = keep ] || fail "the canary changed"
CODE=$(curl -s --unix-socket "$SOCK" -H 'Authorization: Bearer dpt_x' -o "$T/body" -w '%{http_code}' http://d/v1/version)
refused 400 "a token on the Unix socket" 'send no Authorization header'
# a header block over the per-connection memory: refused, the daemon lives on
long=$(head -c 40000 /dev/zero | tr '\0' a)
CODE=$(curl -s --unix-socket "$SOCK" -H "X-Long: $long" -o /dev/null -w '%{http_code}' http://d/v1/version)
case $CODE in 4*) ;; *) fail "a 40 kB header: expected 4xx, got $CODE" ;; esac
alive "hostile paths and headers"
after=$(store_listing | grep -v -e doppel.db -e audit.log)
[ "$before" = "$after" ] || fail "bad input changed the store: $(printf '%s\n' "$before" >"$T/a"; printf '%s\n' "$after" >"$T/b"; diff "$T/a" "$T/b")"
pass "bad input: 400/404/405/413 with JSON errors, store unchanged, daemon serving"

# --- TCP with tokens -------------------------------------------------------
tcp "" GET /v1/version
refused 401 "no token" 'needs an API token'
grep -qi '^WWW-Authenticate: Bearer' "$T/headers" || fail "401 without WWW-Authenticate: $(cat "$T/headers")"
tcp "" GET /v1/sandboxes
refused 401 "no token (list)" 'needs an API token'
CODE=$(curl -s -H 'Authorization: Basic dXNlcjpwYXNz' -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$PORT/v1/whoami")
refused 401 "basic auth" "expected 'Bearer <token>'"
tcp "dpt_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" GET /v1/whoami
[ "$CODE" = 401 ] || fail "an unknown token: expected 401, got $CODE: $(cat "$T/body")"
tcp "garbage" GET /v1/whoami
[ "$CODE" = 401 ] || fail "a malformed token: expected 401, got $CODE: $(cat "$T/body")"
api POST /v1/tokens '{"name": "ci"}'
ok 201 "token create"
TOKEN=$(body 'j["secret"]')
case $TOKEN in dpt_*) ;; *) fail "token secret: $(cat "$T/body")" ;; esac
tcp "$TOKEN" GET /v1/whoami
ok 200 "whoami with a token"
[ "$(body 'j["user"], j["source"], j["token"]' | tr '\n' ' ')" = "$ME token ci " ] || fail "token whoami: $(cat "$T/body")"
tcp "$TOKEN" GET /v1/sandboxes
ok 200 "list with a token"
tcp "$TOKEN" GET /v1/version '{"x": 1}'
refused 400 "bad input on TCP" 'takes no body'
# a streamed run: stdout, stderr and the exit status as lines of JSON
tcp "$TOKEN" POST /v1/sandboxes/beta/run \
	'{"argv": ["/bin/sh", "-c", "cat; echo to-stderr >&2; exit 3"], "stdin": "aGVsbG8gZnJvbSBzdGRpbgo="}'
ok 200 "TCP run"
python3 - "$T/body" <<'PY' || fail "TCP run stream: $(cat "$T/body")"
import base64, json, sys
out, err, last = b"", b"", None
for line in open(sys.argv[1]):
    m = json.loads(line)
    if "stdout" in m: out += base64.b64decode(m["stdout"])
    elif "stderr" in m: err += base64.b64decode(m["stderr"])
    else: last = m
assert out == b"hello from stdin\n", out
assert err == b"to-stderr\n", err
assert last == {"exit": 3}, last
PY
tcp "$TOKEN" POST /v1/sandboxes/nosuch/run '{"argv": ["/bin/true"]}'
refused 404 "TCP run of an unknown sandbox" "no sandbox named 'nosuch'"
tcp "$TOKEN" POST /v1/sandboxes/beta/run '{"argv": []}'
refused 400 "TCP run without a command" 'argv: expected at least one word'
# expiry and revocation
now=$(date +%s)
api POST /v1/tokens "{\"name\": \"short\", \"expires\": $((now + 2))}"
ok 201 "short-lived token"
SHORT=$(body 'j["secret"]')
tcp "$SHORT" GET /v1/whoami
ok 200 "a live short-lived token"
api POST /v1/tokens "{\"name\": \"past\", \"expires\": $((now - 10))}"
refused 400 "expiry in the past" 'in the past'
api GET /v1/tokens
ok 200 "token list"
[ "$(body '" ".join(sorted(t["name"] for t in j))')" = "ci short" ] || fail "token list: $(cat "$T/body")"
grep -q "$TOKEN" "$T/body" && fail "token list shows a secret"
api DELETE /v1/tokens/ci
ok 200 "revoke"
[ "$(body 'j["revoked"]')" = ci ] || fail "revoke: $(cat "$T/body")"
tcp "$TOKEN" GET /v1/whoami
refused 401 "a revoked token" 'revoked|unknown'
sleep 3
tcp "$SHORT" GET /v1/whoami
refused 401 "an expired token" 'expired|unknown'
api DELETE /v1/tokens/nosuch
[ "${CODE#4}" != "$CODE" ] || fail "revoking an unknown token: expected 4xx, got $CODE"
alive "tokens"
pass "TCP: 401 without, with a bad, revoked or expired token; a live token works; streamed run"

# --- another user: denied, recorded, nothing changed -------------------------
if is_root && id nobody >/dev/null 2>&1; then
	as_nobody() { # METHOD PATH: as nobody, SO_PEERCRED says so
		CODE=$(cd / && setpriv --reuid=nobody --regid=nogroup --clear-groups curl -s --path-as-is \
			--unix-socket "$SOCK" -X "$1" -w '\n%{http_code}' "http://d$2" >"$T/nb"; tail -1 "$T/nb")
		sed '$d' "$T/nb" >"$T/body"
	}
	as_nobody GET /v1/whoami
	ok 200 "whoami as nobody"
	[ "$(body 'j["user"], len(j["roles"])' | tr '\n' ' ')" = "nobody 0 " ] || fail "whoami as nobody: $(cat "$T/body")"
	as_nobody DELETE /v1/sandboxes/beta
	refused 403 "nobody destroying beta" 'nobody may not destroy qa/beta'
	as_nobody GET /v1/sandboxes
	refused 403 "nobody listing" "nobody may not list: this store is root's"
	api GET /v1/sandboxes
	[ "$(body '" ".join(sorted(s["name"] for s in j))')" = "alpha beta" ] || fail "after the denial: $(cat "$T/body")"
	pass "another user: 403 naming what is missing, nothing changed"
else
	echo "SKIP (part): a second user needs root (setpriv to nobody)"
fi

# --- the audit log through the API ------------------------------------------
api GET /v1/audit
ok 200 audit
body '" ".join(r["action"] + ":" + r["result"] + ":" + r.get("target", "-") for r in j)' >"$T/records"
for want in sync:ok:- create:ok:dev/alpha create:ok:qa/beta checkpoint:ok:dev/alpha reset:ok:dev/alpha \
	rebase:ok:dev/alpha run:ok:qa/beta; do
	grep -q "$want" "$T/records" || fail "audit: no $want record in: $(cat "$T/records")"
done
if is_root && id nobody >/dev/null 2>&1; then
	[ "$(body '[r["user"] for r in j if r["result"] == "denied" and r["action"] == "destroy"][0]')" = nobody ] ||
		fail "audit: the denial is not recorded as nobody's: $(cat "$T/records")"
fi
[ "$(body '[r.get("token", "") + ":" + str(r["args"].get("exit_status")) for r in j if r["action"] == "run" and r["source"] == "token" and r["result"] == "ok"][-1]')" = ci:3 ] ||
	fail "audit: the TCP run is not recorded with its token: $(cat "$T/body")"
api GET "/v1/audit?since=$(( $(date +%s) + 3600 ))"
ok 200 "audit since a future time"
[ "$(body 'len(j)')" = 0 ] || fail "audit since the future: $(cat "$T/body")"
api GET /v1/audit/verify
ok 200 "audit verify"
[ "$(body 'j["ok"]')" = True ] || [ "$(body 'j["ok"]')" = true ] || fail "audit verify: $(cat "$T/body")"
pass "the audit log has every action with its source; the chain verifies"

# --- destroy ----------------------------------------------------------------
api DELETE /v1/sandboxes/alpha
ok 200 destroy
[ "$(body 'j["destroyed"]')" = alpha ] || fail "destroy: $(cat "$T/body")"
api DELETE /v1/sandboxes/alpha
refused 404 "destroy twice" "no sandbox named 'alpha'"
api GET /v1/sandboxes/alpha/diff
refused 404 "diff of a destroyed sandbox" "no sandbox named 'alpha'"
pass "destroy; 404 after"

# --- start-up refusals, stale and live sockets, stop and restart ------------
out=$("$DOPPELD" --config "$DOPPEL_CONFIG" --socket "$T/other/doppel.sock" --listen 0.0.0.0:0 2>&1)
rc=$?
[ "$rc" = 2 ] || fail "--listen 0.0.0.0: exit $rc, expected 2: $out"
printf '%s\n' "$out" | grep -q 'only a loopback address' || fail "--listen 0.0.0.0: $out"
[ ! -e "$T/other" ] || fail "a refused --listen created $T/other"
out=$("$DOPPELD" --config "$DOPPEL_CONFIG" --socket "$T/other/doppel.sock" --listen '[::]:0' 2>&1)
[ $? = 2 ] || fail "--listen [::]: expected exit 2: $out"
out=$("$DOPPELD" --config "$DOPPEL_CONFIG" --socket "$SOCK" 2>&1)
rc=$?
[ "$rc" != 0 ] && printf '%s\n' "$out" | grep -q 'another doppeld is serving there' ||
	fail "a second daemon on a live socket: exit $rc: $out"
alive "a second daemon's attempt"
pass "non-loopback --listen refused; a live socket is not taken over"

kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
rc=$?
DAEMON_PID=
[ "$rc" = 0 ] || fail "doppeld exit $rc on SIGTERM: $(cat "$T/doppeld.log")"
[ ! -e "$SOCK" ] && [ ! -e "$RUNSOCK" ] || fail "sockets left after the stop: $(ls -l "$T/run")"
pass "SIGTERM: exit 0, sockets removed"

start_daemon
api GET /v1/sandboxes
ok 200 "list after the restart"
[ "$(body '" ".join(sorted(s["name"] for s in j))')" = beta ] || fail "after the restart: $(cat "$T/body")"
api GET /v1/tokens
[ "$(body '" ".join(sorted(t["name"] + ":" + t["state"] for t in j))')" = "ci:revoked short:expired" ] ||
	fail "tokens after the restart: $(cat "$T/body")"
# a daemon killed outright leaves its sockets; the next one replaces them
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
[ -S "$SOCK" ] || fail "SIGKILL removed the socket?"
# this one under systemd's readiness protocol: a datagram socket named by
# $NOTIFY_SOCKET gets READY=1 once it serves and STOPPING=1 when it stops
python3 - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(120)
with open(sys.argv[2], "w") as f:
    while True:
        m = s.recv(4096).decode()
        f.write(m.replace("\n", " ") + "\n")
        f.flush()
        if "STOPPING=1" in m:
            break
PY
NOTIFY_PID=$!
wait_for "[ -S '$T/notify.sock' ]" 50 || fail "the notify listener did not start"
export NOTIFY_SOCKET="$T/notify.sock"
start_daemon
unset NOTIFY_SOCKET
wait_for "grep -q READY=1 '$T/notify.log'" 50 || fail "no READY=1 for systemd: $(cat "$T/notify.log")"
alive "a restart over stale sockets"
api DELETE /v1/sandboxes/beta
ok 200 "destroy beta"
pass "a restart loses nothing; stale sockets replaced"

# SIGHUP: doppel.yaml again (a new tier is usable); a broken one is refused
# and the previous one keeps serving
cp "$DOPPEL_CONFIG" "$T/doppel.yaml.orig"
sed -i 's/^  qa: {network: none}$/  qa: {network: none}\n  staging: {network: none}/' "$DOPPEL_CONFIG"
kill -HUP "$DAEMON_PID"
wait_for "grep -q reloaded '$T/doppeld.log'" 50 || fail "no reload: $(cat "$T/doppeld.log")"
api POST /v1/sandboxes '{"name": "gamma", "tier": "staging"}'
ok 201 "create in a tier added by the reload"
echo 'tiers: [' >>"$DOPPEL_CONFIG"
kill -HUP "$DAEMON_PID"
wait_for "grep -q 'reload refused' '$T/doppeld.log'" 50 || fail "a broken doppel.yaml was not refused: $(cat "$T/doppeld.log")"
api DELETE /v1/sandboxes/gamma
ok 200 "serving the previous configuration after a refused reload"
cp "$T/doppel.yaml.orig" "$DOPPEL_CONFIG"
stop_daemon
wait "$NOTIFY_PID" || fail "the notify listener: no STOPPING=1: $(cat "$T/notify.log")"
NOTIFY_PID=
grep -q STOPPING=1 "$T/notify.log" || fail "no STOPPING=1 for systemd: $(cat "$T/notify.log")"
[ "$(stat -c %a "$DOPPEL_HOME")" = 700 ] || fail "store mode $(stat -c %a "$DOPPEL_HOME") at the end"
pass "SIGHUP reloads doppel.yaml; a broken one changes nothing; READY=1 and STOPPING=1 reach \$NOTIFY_SOCKET"

check_log
check_production "at the end"
pass "production unchanged"
