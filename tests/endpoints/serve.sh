#!/bin/sh
# doppel endpoints serve: every request feature matched through a real
# socket with curl, priority, newest-wins, scenarios, templating, the
# near-miss 404, HTTPS, bad mapping files refused with file and key (exit 2,
# nothing served), bad arguments, clean exit on SIGTERM.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/endpoints/lib.sh"

M="$T/stubs"
mkdir -p "$M/mappings" "$M/__files"
echo '{"from":"file"}' > "$M/__files/data.json"
cat > "$M/mappings/10-match.json" <<'JSON'
{"mappings": [
 {"request": {"method": "GET", "url": "/m/url"}, "response": {"body": "url"}},
 {"request": {"method": "GET", "urlPath": "/m/path",
   "queryParameters": {"q": {"equalTo": "a b"}, "n": {"matches": "[0-9]+"}}}, "response": {"body": "query"}},
 {"request": {"method": "GET", "urlPattern": "/m/re/[a-z]+\\?x=1"}, "response": {"body": "urlPattern"}},
 {"request": {"method": "GET", "urlPathPattern": "/m/pre/[0-9]+"}, "response": {"body": "urlPathPattern"}},
 {"request": {"method": "POST", "url": "/m/headers",
   "headers": {"X-Token": {"equalTo": "secret"}, "X-Gone": {"absent": true}, "Accept": {"contains": "json"}}},
  "response": {"body": "headers"}},
 {"request": {"method": "GET", "url": "/m/cookie", "cookies": {"session": {"equalTo": "abc"}}},
  "response": {"body": "cookie"}},
 {"request": {"method": "POST", "url": "/m/json", "bodyPatterns": [{"equalToJson": {"amount": 10, "items": [1, 2]},
   "ignoreArrayOrder": true, "ignoreExtraElements": true}]}, "response": {"body": "json"}},
 {"request": {"method": "POST", "url": "/m/jsonpath", "bodyPatterns": [{"matchesJsonPath": "$.card[?(@.number == '4242')]"}]},
  "response": {"body": "jsonpath"}},
 {"request": {"method": "POST", "url": "/m/body", "bodyPatterns": [{"contains": "hello"}, {"doesNotMatch": ".*bye.*"}]},
  "response": {"body": "body"}},
 {"request": {"method": "GET", "url": "/m/auth", "basicAuthCredentials": {"username": "u", "password": "p"}},
  "response": {"body": "auth"}},
 {"request": {"method": "GET", "url": "/m/ci", "headers": {"X-Mode": {"equalTo": "FAST", "caseInsensitive": true}}},
  "response": {"body": "ci"}},
 {"request": {"method": "ANY", "url": "/m/any"}, "response": {"body": "any"}},
 {"request": {"method": "GET", "url": "/m/created"},
  "response": {"status": 201, "jsonBody": {"ok": true}, "headers": {"Content-Type": "application/json", "X-Multi": ["a", "b"]}}},
 {"request": {"method": "GET", "url": "/m/file"}, "response": {"bodyFileName": "data.json"}},
 {"request": {"method": "GET", "url": "/p"}, "priority": 1, "response": {"body": "high"}},
 {"request": {"method": "GET", "url": "/p"}, "priority": 5, "response": {"body": "low"}},
 {"request": {"method": "GET", "url": "/s"}, "scenarioName": "pay", "requiredScenarioState": "Started",
  "newScenarioState": "X", "response": {"body": "first"}},
 {"request": {"method": "GET", "url": "/s"}, "scenarioName": "pay", "requiredScenarioState": "X",
  "newScenarioState": "Y", "response": {"body": "second"}},
 {"request": {"method": "GET", "url": "/s"}, "scenarioName": "pay", "requiredScenarioState": "Y",
  "response": {"body": "third"}},
 {"request": {"method": "GET", "urlPathPattern": "/tpl/.*"}, "response": {"transformers": ["response-template"],
  "body": "seg={{request.path.[1]}} q={{request.query.x}} h={{request.headers.X-Name}} m={{request.method}}",
  "headers": {"X-Echo": "{{request.query.x}}"}}},
 {"request": {"method": "POST", "url": "/tpl-json"}, "response": {"transformers": ["response-template"],
  "body": "amount={{jsonPath request.body '$.amount'}}"}},
 {"request": {"method": "GET", "url": "/uuid"}, "response": {"transformers": ["response-template"],
  "body": "{{randomValue type='UUID'}}"}}
]}
JSON
echo '{"request": {"method": "GET", "url": "/n"}, "response": {"body": "older"}}' > "$M/mappings/20-a.json"
echo '{"request": {"method": "GET", "url": "/n"}, "response": {"body": "newer"}}' > "$M/mappings/30-b.json"

start_server "$M" --quiet --threads 2
grep -q "serving 24 mappings from $M on $URL" "$T/server.err" || fail "start line: $(cat "$T/server.err")"

expect_body "url" url /m/url
expect_code "url is exact" 404 /m/url/more
expect_body "queryParameters (decoded)" query "/m/path?q=a%20b&n=42"
expect_code "queryParameters matches" 404 "/m/path?q=a%20b&n=4x"
expect_body "urlPattern" urlPattern "/m/re/abc?x=1"
expect_body "urlPathPattern ignores the query" urlPathPattern "/m/pre/123?z=9"
expect_code "urlPathPattern is whole" 404 "/m/pre/123abc"
expect_body "headers" headers /m/headers -X POST -H "X-Token: secret" -H "Accept: application/json"
expect_code "header absent" 404 /m/headers -X POST -H "X-Token: secret" -H "Accept: application/json" -H "X-Gone: 1"
expect_code "header equalTo" 404 /m/headers -X POST -H "X-Token: nope" -H "Accept: application/json"
expect_body "cookies" cookie /m/cookie -b "other=1; session=abc"
expect_code "cookie value" 404 /m/cookie -b "session=abd"
expect_body "equalToJson, order and extra elements ignored" json /m/json -X POST --data-binary '{"items":[2,1],"amount":10,"extra":true}'
expect_code "equalToJson value" 404 /m/json -X POST --data-binary '{"items":[2,1],"amount":11}'
expect_body "matchesJsonPath" jsonpath /m/jsonpath -X POST --data-binary '{"card":{"number":"4242"}}'
expect_code "matchesJsonPath miss" 404 /m/jsonpath -X POST --data-binary '{"card":{"number":"4000"}}'
expect_body "contains + doesNotMatch" body /m/body -X POST --data-binary 'hello there'
expect_code "doesNotMatch" 404 /m/body -X POST --data-binary 'hello and bye'
expect_body "basicAuth" auth /m/auth -u u:p
expect_code "basicAuth wrong" 404 /m/auth -u u:x
expect_body "caseInsensitive" ci /m/ci -H "X-Mode: fast"
expect_body "ANY method" any /m/any -X DELETE
expect_body "jsonBody" '{"ok":true}' /m/created
[ "$(code)" = 201 ] || fail "status: expected 201, got $(code)"
curl -sS -D "$T/hdr" -o /dev/null "$URL/m/created"
grep -qi '^Content-Type: application/json' "$T/hdr" || fail "response header missing: $(cat "$T/hdr")"
[ "$(grep -ci '^X-Multi:' "$T/hdr")" = 2 ] || fail "a header with two values: $(cat "$T/hdr")"
expect_body "bodyFileName" '{"from":"file"}' /m/file
pass "every request feature matches, and a near value does not"

expect_body "priority 1 beats 5" high /p
expect_body "the newest of equal priority wins" newer /n
curl -sS -o /dev/null -X POST "$URL/__admin/mappings" -d '{"request":{"method":"GET","url":"/n"},"response":{"body":"admin"}}'
expect_body "a mapping added later wins" admin /n
pass "priority and newest-wins"

expect_body "scenario Started" first /s
expect_body "scenario X" second /s
expect_body "scenario Y" third /s
expect_body "scenario stays in Y" third /s
pass "scenario Started -> X -> Y"

expect_body "templating" "seg=b q=7 h=Ann m=GET" "/tpl/b?x=7" -H "X-Name: Ann"
curl -sS -D "$T/hdr" -o /dev/null "$URL/tpl/b?x=hdr"
grep -qi '^X-Echo: hdr' "$T/hdr" || fail "templated header: $(cat "$T/hdr")"
expect_body "jsonPath helper" "amount=42" /tpl-json -X POST --data-binary '{"amount":42}'
u=$(get /uuid)
echo "$u" | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' || fail "randomValue UUID: '$u'"
[ "$(get /uuid)" != "$u" ] || fail "two random UUIDs are equal"
pass "templating"

get /m/headers -H "X-Token: secret" -H "Accept: application/json" >/dev/null
[ "$(code)" = 404 ] || fail "near miss: expected 404, got $(code)"
[ "$(json_get "$T/body" 'j["closestStub"]["source"]')" = "$M/mappings/10-match.json" ] ||
	fail "near miss names no mapping: $(cat "$T/body")"
json_get "$T/body" 'j["why"]' | grep -q "method" || fail "near miss says not why: $(cat "$T/body")"
get /nowhere/at/all >/dev/null
[ "$(code)" = 404 ] && json_get "$T/body" 'j["closestStub"]["id"]' >/dev/null || fail "404 without a closest mapping"
pass "unmatched requests: 404 naming the closest mapping and why"
stop_server
pass "SIGTERM: exit 0"

# HTTPS, with a self-signed certificate
if command -v openssl >/dev/null 2>&1; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
		-addext subjectAltName=DNS:localhost -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null ||
		fail "openssl could not make a test certificate"
	HP=$(free_port)
	start_server "$M" --quiet --https-port "$HP" --cert "$T/cert.pem" --key "$T/key.pem"
	grep -q "and https://127.0.0.1:$HP" "$T/server.err" || fail "start line: $(cat "$T/server.err")"
	b=$(curl -sS --cacert "$T/cert.pem" --resolve "localhost:$HP:127.0.0.1" "https://localhost:$HP/m/url") ||
		fail "HTTPS request failed"
	[ "$b" = url ] || fail "HTTPS: got '$b'"
	expect_body "HTTP beside HTTPS" url /m/url
	stop_server
	pass "HTTPS"
fi

# Bad mapping files: exit 2, a message naming the file and the key, no listener.
bad() {
	what=$1 key=$2 content=$3
	rm -rf "$T/bad"; mkdir -p "$T/bad/mappings"
	echo '{"request": {"url": "/fine"}, "response": {"body": "ok"}}' > "$T/bad/mappings/1-good.json"
	printf '%s\n' "$content" > "$T/bad/mappings/2-bad.json"
	p=$(free_port)
	"$DOPPEL" endpoints serve --port "$p" "$T/bad" 2>"$T/err" &
	pid=$!
	sleep 0.3
	curl -s -o /dev/null "http://127.0.0.1:$p/fine" && { kill "$pid"; fail "$what: served half-configured"; }
	wait "$pid"; rc=$?
	[ "$rc" = 2 ] || fail "$what: expected exit 2, got $rc: $(cat "$T/err")"
	grep -q "2-bad.json" "$T/err" || fail "$what: the file is not named: $(cat "$T/err")"
	grep -q -- "$key" "$T/err" || fail "$what: the key '$key' is not named: $(cat "$T/err")"
	[ "$(wc -l < "$T/err")" = 1 ] || fail "$what: expected one line: $(cat "$T/err")"
}
bad "invalid JSON" "line" '{"request": {"url": "/x"}, "response": '
bad "wrong type" "request.url" '{"request": {"url": 5}, "response": {}}'
bad "unknown matcher" "request.headers.A" '{"request": {"url": "/x", "headers": {"A": {"frobnicates": "x"}}}, "response": {}}'
bad "regex that does not compile" "request.urlPattern" '{"request": {"urlPattern": "/x(["}, "response": {}}'
bad "unknown key" "response.bogus" '{"request": {"url": "/x"}, "response": {"bogus": 1}}'
bad "unknown fault" "response.fault" '{"request": {"url": "/x"}, "response": {"fault": "MELT"}}'
pass "bad mapping files: exit 2 naming file and key, nothing served"

expect_status 2 "$DOPPEL" endpoints serve --port 99999 "$M" 2>"$T/err"
grep -q -- "--port" "$T/err" || fail "bad port not named: $(cat "$T/err")"
expect_status 2 "$DOPPEL" endpoints serve --port 1 --threads 0 "$M" 2>"$T/err"
grep -q -- "--threads" "$T/err" || fail "bad --threads not named: $(cat "$T/err")"
expect_status 2 "$DOPPEL" endpoints serve --port 1 --frob "$M" 2>"$T/err"
grep -q -- "--frob" "$T/err" || fail "unknown option not named: $(cat "$T/err")"
expect_status 2 "$DOPPEL" endpoints serve --port 1 "$T/nonexistent" 2>"$T/err"
grep -q "nonexistent" "$T/err" || fail "missing dir not named: $(cat "$T/err")"
expect_status 2 "$DOPPEL" endpoints serve "$M" 2>/dev/null
expect_status 2 "$DOPPEL" endpoints serve --https-port 1 "$M" 2>/dev/null
p=$(free_port)
"$PY" - "$p" "$DOPPEL" "$M" <<'PY' || fail "a busy port"
import socket, subprocess, sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
r = subprocess.run([sys.argv[2], "endpoints", "serve", "--port", sys.argv[1], sys.argv[3]], capture_output=True, text=True, timeout=10)
assert r.returncode != 0 and sys.argv[1] in r.stderr and "in use" in r.stderr, (r.returncode, r.stderr)
PY
pass "bad arguments: exit 2 naming the argument; a busy port is named"
