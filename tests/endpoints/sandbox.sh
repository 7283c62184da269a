#!/bin/sh
# API stand-ins in a sandbox, end to end: a production tree and a doppel.yaml
# with two endpoint hosts whose mappings live outside production; sync,
# create, and inside `doppel run` curl calls http:// and https:// by host name
# without -k (the sandbox trusts the store's CA through its bundle) and gets
# the stubs' answers, while every other destination stays unreachable. The
# CA key is nowhere inside the sandbox nor in a snapshot. The journal lists
# the calls; `scenario` forces a state offline (the next run sees it) and
# live (the running command sees it); reset clears journals and scenarios.
# Bad input exits 2 and changes nothing. Node's built-in fetch, unmodified,
# calls the HTTPS host too. Production's bytes never change. Works as root and
# as an unprivileged user (init binds 80/443 in its own network namespace).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"

[ -x /usr/bin/curl ] || skip "curl (/usr/bin/curl) is needed inside the sandbox"

PAY=api.payments.example
SOC=api.social.example

# --- production, mappings (outside production), doppel.yaml -------------------
mkdir -p "$P/app" "$T/mocks/payments/mappings" "$T/mocks/payments/__files" "$T/mocks/social"
echo "app config" >"$P/app/config.txt"
printf '#!/bin/sh\necho app running\n' >"$P/app/run.sh"
chmod 755 "$P/app/run.sh"
chmod -R a+rX "$P"
remember_production

cat >"$T/mocks/payments/mappings/charges.json" <<'EOF'
{"mappings": [
  {"name": "create-charge",
   "request": {"method": "POST", "urlPath": "/v1/charges"},
   "response": {"status": 201, "jsonBody": {"id": "ch_1", "status": "succeeded"}}},
  {"name": "balance-ok", "scenarioName": "rate", "requiredScenarioState": "Started",
   "request": {"method": "GET", "url": "/v1/balance"},
   "response": {"status": 200, "body": "balance ok"}},
  {"name": "balance-limited", "scenarioName": "rate", "requiredScenarioState": "limited",
   "request": {"method": "GET", "url": "/v1/balance"},
   "response": {"status": 429, "body": "rate limited"}}
]}
EOF
cat >"$T/mocks/social/posts.json" <<'EOF'
{"name": "list-posts", "request": {"method": "GET", "url": "/posts"},
 "response": {"status": 200, "body": "posts here"}}
EOF
chmod -R a+rX "$T/mocks"
write_config "endpoints:" \
	"  $PAY: {mappings: mocks/payments}" \
	"  $SOC: {mappings: $T/mocks/social}"
sed -i 's/dev: {network: loopback}/dev: {network: endpoints}/' "$DOPPEL_CONFIG"

run_ok "sync" d sync >/dev/null
run_ok "create" d create sb --tier dev >/dev/null
run_ok "create plain" d create plain --tier qa >/dev/null

# --- inside: names, HTTP, HTTPS without -k ---------------------------------------
out=$(run_ok "run curl" d run sb -- sh -c "
	curl -sS --max-time 10 http://$PAY/v1/balance; echo
	curl -sS --max-time 10 https://$PAY/v1/balance; echo
	curl -sS --max-time 10 -X POST -w ' %{http_code}' https://$PAY/v1/charges; echo
	curl -sS --max-time 10 https://$SOC/posts; echo
	curl -sS --max-time 10 -o /dev/null -w '%{http_code}' https://$SOC/nothing-here; echo
	getent hosts $PAY $SOC | tr -s ' ' | sort")
expected="balance ok
balance ok
{\"id\":\"ch_1\",\"status\":\"succeeded\"} 201
posts here
404
127.0.0.2 $PAY
127.0.0.3 $SOC"
[ "$out" = "$expected" ] || fail "stand-in answers inside the sandbox:
--- got
$out
--- expected
$expected"
pass "curl inside reaches both stand-ins by name over http and https (no -k)"

# --- the journal (right after the run that made the calls) -----------------------
j=$(run_ok "journal --json" d endpoints sb journal --json)
calls=$(printf '%s\n' "$j" | json '["%s %s %s %s %s" % (r["host"], r["method"], r["path"], r["status"], r.get("mapping") or "-") for r in j["requests"]]')
expected="$PAY GET /v1/balance 200 balance-ok
$PAY GET /v1/balance 200 balance-ok
$PAY POST /v1/charges 201 create-charge
$SOC GET /posts 200 list-posts
$SOC GET /nothing-here 404 -"
[ "$calls" = "$expected" ] || fail "journal:
--- got
$calls
--- expected
$expected"
table=$(run_ok "journal table" d endpoints sb journal $SOC)
printf '%s\n' "$table" | tail -1 | grep -q "GET .*/nothing-here .*404 .*unmatched" ||
	fail "journal table: newest last, unmatched named: $table"
printf '%s\n' "$table" | grep -q "$PAY" && fail "journal $SOC shows $PAY: $table"
list=$(run_ok "list" d endpoints sb)
printf '%s\n' "$list" | grep -q "^$PAY  127.0.0.2  3 mappings" || fail "list: $list"
printf '%s\n' "$list" | grep -qE "POST +/v1/charges +201 +create-charge" || fail "list summaries: $list"
printf '%s\n' "$list" | grep -q "scenario rate: Started" || fail "list scenarios: $list"
pass "journal lists the calls (newest last, unmatched ones named); the listing shows hosts and mappings"

# --- nothing else is reachable ----------------------------------------------------
d run sb -- sh -c '
	curl -sS --max-time 5 https://example.com >/dev/null 2>&1 && { echo "example.com reachable"; exit 1; }
	curl -sS --max-time 5 http://1.1.1.1/ >/dev/null 2>&1 && { echo "1.1.1.1 reachable"; exit 1; }
	curl -sS --max-time 5 http://127.0.0.9/ >/dev/null 2>&1 && { echo "127.0.0.9 answers"; exit 1; }
	for p in 22 8080; do
		curl -sS --max-time 5 http://127.0.0.2:$p/ >/dev/null 2>&1 && { echo "port $p answers"; exit 1; }
	done
	ip=$(getent hosts api.payments.example | cut -d" " -f1)
	[ "$ip" = 127.0.0.2 ] || { echo "resolved to $ip"; exit 1; }
	exit 0' || fail "a destination other than the stand-ins was reachable"
# a tier without network: endpoints gets no stand-in and no name
d run plain -- sh -c "getent hosts $PAY" >/dev/null 2>&1 && fail "a qa (network: none) sandbox resolves $PAY"
pass "other hosts, addresses and ports stay unreachable; a tier without endpoints gets none"

# --- the CA key never enters the sandbox, nor a snapshot -----------------------
[ -f "$DOPPEL_HOME/ca/ca.key" ] || fail "no CA key at $DOPPEL_HOME/ca/ca.key"
[ "$(stat -c %a "$DOPPEL_HOME/ca/ca.key")" = 600 ] || fail "CA key mode is $(stat -c %a "$DOPPEL_HOME/ca/ca.key")"
keyline=$(sed -n 2p "$DOPPEL_HOME/ca/ca.key")
[ -n "$keyline" ] || fail "cannot read the CA key's first line"
crtline=$(sed -n 2p "$DOPPEL_HOME/ca/ca.crt")
printf '%s\n' "$keyline" >"$T/needle"
# the key's line comes in on stdin, into a shell variable (never the environment)
d run sb -- sh -c "
	read -r needle
	[ -n \"\$needle\" ] || { echo 'no needle on stdin'; exit 1; }
	found=\$(find / \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -name 'ca.key' -print 2>/dev/null)
	[ -z \"\$found\" ] || { echo \"key file inside: \$found\"; exit 1; }
	[ ! -e '$DOPPEL_HOME' ] || { echo 'the store is visible inside'; exit 1; }
	grep -rlF -e \"\$needle\" /etc /tmp /root /run '$P' 2>/dev/null && { echo 'CA key bytes inside'; exit 1; }
	env | grep -qF -e \"\$needle\" && { echo 'CA key in the environment'; exit 1; }
	grep -qF -e '$crtline' /etc/ssl/certs/ca-certificates.crt || { echo 'CA certificate not in the bundle'; exit 1; }
	exit 0" <"$T/needle" 2>&1 || fail "CA key check inside the sandbox"
grep -rqF -f "$T/needle" "$DOPPEL_HOME/snapshots" "$DOPPEL_HOME/sandboxes" 2>/dev/null &&
	fail "CA key bytes in a snapshot or sandbox layer"
pass "the CA key is in the store only (0600): not inside the sandbox, not in snapshots"

# --- scenarios: offline (next run), live (running command) ------------------------
run_ok "scenario offline" d endpoints sb scenario $PAY rate limited >/dev/null
out=$(d run sb -- curl -sS --max-time 10 https://$PAY/v1/balance) || fail "run after scenario"
[ "$out" = "rate limited" ] || fail "the next run did not start in state limited: $out"
rm -f "$T/go"
d run sb -- sh -c "
	curl -sS --max-time 10 https://$PAY/v1/balance >/dev/null
	i=0
	while [ \$i -lt 100 ]; do
		[ \"\$(curl -sS --max-time 10 https://$PAY/v1/balance)\" = 'balance ok' ] && exit 0
		i=\$((i + 1)); sleep 0.1
	done
	exit 1" &
runner=$!
wait_for "d endpoints sb journal $PAY --json 2>/dev/null | grep -q '\"running\": true'" 100 ||
	{ kill $runner; fail "the running sandbox's stand-ins never showed as running"; }
run_ok "scenario live" d endpoints sb scenario $PAY rate Started >/dev/null
wait $runner || fail "the running command never saw the live scenario change"
pass "scenario: forced offline for the next run, and live for a running command"

# --- bad input: exit 2, nothing changed ------------------------------------------
before=$(store_listing 2>/dev/null; cat "$DOPPEL_HOME/sandboxes/sb/endpoints/"*.json | sha256sum)
expect_usage_error "unknown sandbox" "no sandbox named 'nope'" d endpoints nope
expect_usage_error "unknown host" "no stand-in for 'api.other.example'" d endpoints sb journal api.other.example
expect_usage_error "host with /" "may not contain '/'" d endpoints sb scenario a/b rate limited
expect_usage_error "scenario with .." "may not contain '/' or '..'" d endpoints sb scenario $PAY ../rate limited
expect_usage_error "state with /" "may not contain '/'" d endpoints sb scenario $PAY rate li/mited
expect_usage_error "unknown scenario" "no mapping names scenario 'nope'" d endpoints sb scenario $PAY nope limited
expect_usage_error "unknown state" "has no state 'nope'" d endpoints sb scenario $PAY rate nope
expect_usage_error "sandbox name with .." "sandbox name" d endpoints ../sb
expect_usage_error "unknown verb" "unknown 'jornal'" d endpoints sb jornal
after=$(store_listing 2>/dev/null; cat "$DOPPEL_HOME/sandboxes/sb/endpoints/"*.json | sha256sum)
[ "$before" = "$after" ] || fail "a refused command changed the store"
pass "bad input: exit 2, one 'doppel: ...' line, nothing changed"

# --- node's built-in fetch, unmodified, inside -----------------------------------
if [ -x /usr/bin/node ] && d run sb -- test -x /usr/bin/node; then
	out=$(d run sb -- /usr/bin/node -e "
		fetch('https://$PAY/v1/charges', {method: 'POST', body: '{}'})
			.then(async r => console.log(r.status, await r.text()))
			.catch(e => { console.error(e.cause || e); process.exit(1); });" 2>&1) ||
		fail "node fetch inside the sandbox: $out"
	[ "$out" = '201 {"id":"ch_1","status":"succeeded"}' ] || fail "node fetch answer: $out"
	pass "node's built-in fetch (unmodified) calls https://$PAY inside the sandbox"
else
	echo "SKIP (part): /usr/bin/node is not on this host (or not visible in the sandbox); node fetch not tested"
fi

# --- reset clears journals and scenarios ------------------------------------------
run_ok "scenario before reset" d endpoints sb scenario $PAY rate limited >/dev/null
run_ok "reset" d reset sb >/dev/null
n=$(d endpoints sb journal --json | json 'len(j["requests"])')
[ "$n" = 0 ] || fail "journal after reset has $n entries"
d endpoints sb | grep -q "scenario rate: Started" || fail "scenario not back to Started after reset"
out=$(d run sb -- curl -sS --max-time 10 https://$PAY/v1/balance) || fail "run after reset"
[ "$out" = "balance ok" ] || fail "after reset the stand-in answers '$out'"
check_consistent "with endpoint state in the store"
pass "reset clears journals and scenario states; check is consistent"

run_ok "destroy" d destroy sb >/dev/null
[ ! -e "$DOPPEL_HOME/sandboxes/sb" ] || wait_for "[ ! -e '$DOPPEL_HOME/sandboxes/sb' ]" 50 ||
	fail "destroy left the sandbox's endpoint state"
check_production
pass "production unchanged"
