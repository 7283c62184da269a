#!/bin/sh
# WireMock's admin API on a real socket: mappings (list, add, get, replace,
# delete, delete all, reset to the files), the journal (shape, newest first,
# limit, count, clear, bound), scenarios (list, set, reset), the global
# reset, bad input as 4xx with WireMock's error shape; the control socket
# (Host picks the endpoint) and state kept across a restart (--state).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/endpoints/lib.sh"

M="$T/stubs"
mkdir -p "$M/mappings"
cat > "$M/mappings/pay.json" <<'JSON'
{"mappings": [
 {"id": "11111111-1111-4111-8111-111111111111", "name": "charge",
  "request": {"method": "POST", "urlPath": "/v1/charges"}, "response": {"status": 201, "body": "charged"}},
 {"request": {"method": "GET", "url": "/s"}, "scenarioName": "card", "requiredScenarioState": "Started",
  "newScenarioState": "declined", "response": {"body": "ok"}},
 {"request": {"method": "GET", "url": "/s"}, "scenarioName": "card", "requiredScenarioState": "declined",
  "response": {"status": 402, "body": "declined"}}
]}
JSON

# admin METHOD PATH [BODY]: JSON answer in $T/body, status in $T/code
admin() {
	if [ $# -ge 3 ]; then
		curl -sS -o "$T/body" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' --data-binary "$3" \
			"$URL/__admin$2" >"$T/code" || fail "admin $1 $2: curl failed"
	else
		curl -sS -o "$T/body" -w '%{http_code}' -X "$1" "$URL/__admin$2" >"$T/code" || fail "admin $1 $2: curl failed"
	fi
}
want() { [ "$(code)" = "$1" ] || fail "$2: expected status $1, got $(code): $(cat "$T/body")"; }
jq_() { json_get "$T/body" "$1"; }
error_title() {
	jq_ 'j["errors"][0]["title"]' | grep -q -- "$1" || fail "error should mention '$1': $(cat "$T/body")"
}

expect_status 2 "$DOPPEL" endpoints serve --port 1 --state "$T/state" "$M" 2>/dev/null
mkdir "$T/state"
start_server "$M" --quiet --journal 5 --control "$T/ctl.sock" --state "$T/state"

admin GET /mappings; want 200 "list"
[ "$(jq_ 'j["meta"]["total"]')" = 3 ] || fail "3 mappings expected: $(cat "$T/body")"
jq_ '[m["id"] for m in j["mappings"]]' | grep -q 11111111-1111-4111-8111-111111111111 || fail "ids: $(cat "$T/body")"

admin POST /mappings '{"request": {"method": "GET", "url": "/new"}, "response": {"body": "new"}}'
want 201 "add"
NEW=$(jq_ 'j["id"]')
[ -n "$NEW" ] && [ "$(jq_ 'j["request"]["url"]')" = /new ] || fail "add returns the mapping: $(cat "$T/body")"
expect_body "the added mapping serves" new /new
admin GET "/mappings/$NEW"; want 200 "get one"
[ "$(jq_ 'j["id"]')" = "$NEW" ] || fail "get one: $(cat "$T/body")"
admin PUT "/mappings/$NEW" '{"request": {"method": "GET", "url": "/new"}, "response": {"body": "changed"}}'
want 200 "replace"
expect_body "the replaced mapping serves" changed /new
admin GET /mappings
[ "$(jq_ 'j["meta"]["total"]')" = 4 ] || fail "replace must not add: $(cat "$T/body")"
admin DELETE "/mappings/$NEW"; want 200 "delete one"
expect_code "deleted mapping" 404 /new
admin GET "/mappings/$NEW"; want 404 "get deleted"
admin DELETE "/mappings/$NEW"; want 404 "delete deleted"
admin PUT "/mappings/$NEW" '{"request": {"url": "/x"}, "response": {}}'; want 404 "replace unknown"
pass "mappings: add, get, replace, delete"

admin POST /mappings '{"request": '; want 400 "invalid JSON"
error_title "invalid JSON"
admin POST /mappings '{"request": {"url": "/x", "frob": 1}, "response": {}}'; want 400 "unknown key"
error_title "request.frob"
admin POST /mappings '{"request": {"urlPattern": "(["}, "response": {}}'; want 400 "bad regex"
error_title "request.urlPattern"
admin POST /mappings '[1]'; want 400 "not an object"
admin GET /nothing-here; want 404 "unknown admin call"
error_title "no admin call"
admin PATCH /mappings; want 405 "wrong method"
pass "bad admin input: 4xx with WireMock's error shape naming the key"

admin DELETE /mappings; want 200 "delete all"
admin GET /mappings
[ "$(jq_ 'j["meta"]["total"]')" = 0 ] || fail "delete all: $(cat "$T/body")"
expect_code "no mappings left" 404 /v1/charges -X POST
admin POST /mappings/reset; want 200 "mappings reset"
admin GET /mappings
[ "$(jq_ 'j["meta"]["total"]')" = 3 ] || fail "reset to the files: $(cat "$T/body")"
expect_body "back from the files" charged /v1/charges -X POST
pass "mappings: delete all, reset to the files"

admin DELETE /requests; want 200 "clear journal"
get "/v1/charges?n=1" -X POST -H "X-Trace: t1" --data-binary 'amount=5' >/dev/null
get /unknown >/dev/null
admin GET /requests; want 200 "journal"
[ "$(jq_ 'j["meta"]["total"]')" = 2 ] || fail "journal total: $(cat "$T/body")"
[ "$(jq_ 'j["requestJournalDisabled"]')" = False ] || fail "requestJournalDisabled: $(cat "$T/body")"
[ "$(jq_ 'j["requests"][0]["request"]["url"]')" = /unknown ] || fail "newest first: $(cat "$T/body")"
[ "$(jq_ 'j["requests"][0]["wasMatched"]')" = False ] || fail "unmatched entry: $(cat "$T/body")"
[ "$(jq_ 'j["requests"][0]["responseDefinition"]["status"]')" = 404 ] || fail "404 journalled: $(cat "$T/body")"
e='j["requests"][1]'
[ "$(jq_ "$e[\"request\"][\"method\"]")" = POST ] || fail "method: $(cat "$T/body")"
[ "$(jq_ "$e[\"request\"][\"url\"]")" = "/v1/charges?n=1" ] || fail "url: $(cat "$T/body")"
[ "$(jq_ "$e[\"request\"][\"absoluteUrl\"]")" = "$URL/v1/charges?n=1" ] || fail "absoluteUrl: $(cat "$T/body")"
[ "$(jq_ "$e[\"request\"][\"clientIp\"]")" = 127.0.0.1 ] || fail "clientIp: $(cat "$T/body")"
[ "$(jq_ "$e[\"request\"][\"headers\"][\"X-Trace\"]")" = t1 ] || fail "headers: $(cat "$T/body")"
[ "$(jq_ "$e[\"request\"][\"body\"]")" = "amount=5" ] || fail "body: $(cat "$T/body")"
jq_ "$e[\"request\"][\"loggedDate\"] > 1600000000000 and $e[\"request\"][\"loggedDateString\"].endswith(\"Z\")" |
	grep -q True || fail "loggedDate: $(cat "$T/body")"
[ "$(jq_ "$e[\"wasMatched\"]")" = True ] || fail "wasMatched: $(cat "$T/body")"
[ "$(jq_ "$e[\"stubMapping\"][\"name\"]")" = charge ] || fail "stubMapping: $(cat "$T/body")"
[ "$(jq_ "$e[\"responseDefinition\"][\"status\"]")" = 201 ] || fail "status: $(cat "$T/body")"
[ "$(jq_ "$e[\"id\"] != j[\"requests\"][0][\"id\"]")" = True ] || fail "entry ids repeat: $(cat "$T/body")"
admin GET "/requests?limit=1"
[ "$(jq_ 'len(j["requests"])')" = 1 ] && [ "$(jq_ 'j["meta"]["total"]')" = 2 ] || fail "limit: $(cat "$T/body")"
pass "journal: WireMock's shape, newest first, limit"

admin POST /requests/count '{"method": "POST", "urlPath": "/v1/charges"}'; want 200 "count"
[ "$(jq_ 'j["count"]')" = 1 ] || fail "count: $(cat "$T/body")"
admin POST /requests/count '{"method": "GET"}'
[ "$(jq_ 'j["count"]')" = 1 ] || fail "count GET: $(cat "$T/body")"
admin POST /requests/count '{"headers": {"X-Trace": {"equalTo": "t1"}}}'
[ "$(jq_ 'j["count"]')" = 1 ] || fail "count by header: $(cat "$T/body")"
admin POST /requests/count '{"urlPattern": "(("}'; want 400 "count with a bad pattern"
for i in 1 2 3 4 5 6 7; do get "/many/$i" >/dev/null; done
admin GET /requests
[ "$(jq_ 'j["meta"]["total"]')" = 5 ] || fail "--journal 5 keeps 5: $(cat "$T/body")"
[ "$(jq_ 'j["requests"][0]["request"]["url"]')" = /many/7 ] || fail "bound keeps the newest: $(cat "$T/body")"
admin DELETE /requests; want 200 "clear"
admin GET /requests
[ "$(jq_ 'j["meta"]["total"]')" = 0 ] || fail "cleared: $(cat "$T/body")"
pass "journal: count, bounded, cleared"

admin GET /scenarios; want 200 "scenarios"
[ "$(jq_ 'j["scenarios"][0]["name"]')" = card ] && [ "$(jq_ 'j["scenarios"][0]["state"]')" = Started ] ||
	fail "scenarios: $(cat "$T/body")"
[ "$(jq_ 'sorted(j["scenarios"][0]["possibleStates"])')" = "['Started', 'declined']" ] ||
	fail "possibleStates: $(cat "$T/body")"
expect_body "scenario first" ok /s
admin GET /scenarios
[ "$(jq_ 'j["scenarios"][0]["state"]')" = declined ] || fail "state moved: $(cat "$T/body")"
admin POST /scenarios/reset; want 200 "scenarios reset"
expect_body "after reset" ok /s
admin PUT /scenarios/card/state '{"state": "declined"}'; want 200 "set state"
expect_body "forced state" declined /s
admin PUT /scenarios/nope/state '{"state": "x"}'; want 404 "unknown scenario"
admin PUT /scenarios/card/state '{"nope": 1}'; want 400 "bad state body"
pass "scenarios: list, set, reset"

admin POST /mappings '{"request": {"url": "/extra"}, "response": {"body": "x"}}'
get /s >/dev/null
admin POST /reset; want 200 "reset"
admin GET /mappings
[ "$(jq_ 'j["meta"]["total"]')" = 3 ] || fail "reset: mappings: $(cat "$T/body")"
admin GET /requests
[ "$(jq_ 'j["meta"]["total"]')" = 0 ] || fail "reset: journal: $(cat "$T/body")"
admin GET /scenarios
[ "$(jq_ 'j["scenarios"][0]["state"]')" = Started ] || fail "reset: scenarios: $(cat "$T/body")"
pass "global reset: mappings, journal, scenarios"

# the control socket: admin only, the Host header picks the endpoint
curl -sS -o "$T/body" --unix-socket "$T/ctl.sock" "http://any-host/__admin/mappings" || fail "control socket"
[ "$(jq_ 'j["meta"]["total"]')" = 3 ] || fail "control socket: $(cat "$T/body")"
c=$(curl -sS -o /dev/null -w '%{http_code}' --unix-socket "$T/ctl.sock" "http://any-host/v1/charges")
[ "$c" = 404 ] || fail "control socket serves stubs: $c"
pass "control socket"

# state across a restart
get /s >/dev/null
get /first-run >/dev/null
stop_server
[ -f "$T/state/default.json" ] || fail "no state saved"
start_server "$M" --quiet --state "$T/state"
admin GET /scenarios
[ "$(jq_ 'j["scenarios"][0]["state"]')" = declined ] || fail "scenario state lost: $(cat "$T/body")"
admin GET /requests
[ "$(jq_ 'j["requests"][0]["request"]["url"]')" = /first-run ] || fail "journal lost: $(cat "$T/body")"
[ "$(jq_ 'j["requests"][1]["stubMapping"]["scenarioName"]')" = card ] || fail "journal entry lost its mapping: $(cat "$T/body")"
stop_server
pass "scenarios and journal kept across a restart"
