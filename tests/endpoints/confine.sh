#!/bin/sh
# The stand-in server of a running sandbox lives in its own confined process,
# not in doppel's monitor: while a command runs, the monitor (no thread but
# the one parked for init) has exactly one child besides the sandbox's init, and that child has
# no_new_privs, a seccomp filter, no capabilities (root: CAP_DAC_READ_SEARCH
# only), no fds but its sockets and /dev/null and stderr, and cannot be read
# by another process of its user (non-dumpable). The stand-ins still answer
# http and https inside; the journal and the scenario states the run made are
# saved after it. A bad mapping still ends the run with exit 2 before the
# command starts. Killing the server mid-run leaves the command running (its
# stand-ins just stop answering) and the run warns once. Production never
# changes. Runs as root and as an unprivileged user.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"

[ -x /usr/bin/curl ] || skip "curl (/usr/bin/curl) is needed inside the sandbox"

PAY=api.payments.example
M="$T/mocks/payments"

mkdir -p "$P/app" "$M/mappings"
echo "app config" >"$P/app/config.txt"
chmod -R a+rX "$P"
remember_production

# 'gate' holds the command until the test opened it (live, through the admin
# socket); 'pay' moves to 'paid' on a charge, to see the state saved.
cat >"$M/mappings/m.json" <<'EOF'
{"mappings": [
  {"name": "ping", "request": {"method": "GET", "url": "/ping"},
   "response": {"status": 200, "body": "pong"}},
  {"name": "charge", "scenarioName": "pay", "requiredScenarioState": "Started", "newScenarioState": "paid",
   "request": {"method": "POST", "url": "/v1/charges"},
   "response": {"status": 201, "body": "charged"}},
  {"name": "gate-shut", "scenarioName": "gate", "requiredScenarioState": "Started",
   "request": {"method": "GET", "url": "/gate"}, "response": {"status": 200, "body": "shut"}},
  {"name": "gate-open", "scenarioName": "gate", "requiredScenarioState": "open",
   "request": {"method": "GET", "url": "/gate"}, "response": {"status": 200, "body": "open"}}
]}
EOF
chmod -R a+rX "$T/mocks"
write_config "endpoints:" "  $PAY: {mappings: $M}"
sed -i 's/dev: {network: loopback}/dev: {network: endpoints}/' "$DOPPEL_CONFIG"
run_ok "sync" d sync >/dev/null
run_ok "create" d create sb --tier dev >/dev/null

running() { d endpoints sb journal --json 2>/dev/null | grep -q '"running": true'; }

# server_of MONITOR: the monitor's children that share our pid namespace
# (init is PID 1 of its own, so its NSpid has two numbers).
server_of() {
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		ns=$(awk '/^NSpid:/ { print NF - 1 }' /proc/"$c"/status 2>/dev/null)
		[ "$ns" = 1 ] && echo "$c"
	done
}
field() { awk -v k="$2:" '$1 == k { print $2 }' /proc/"$1"/status; }

# --- a run: the server's process while the command waits --------------------------
"$DOPPEL" run sb -- sh -c "
	curl -sS --max-time 10 http://$PAY/ping; echo
	curl -sS --max-time 10 -X POST https://$PAY/v1/charges; echo
	i=0
	until [ \"\$(curl -sS --max-time 10 https://$PAY/gate)\" = open ]; do
		i=\$((i + 1)); [ \$i -lt 300 ] || { echo 'gate never opened'; exit 3; }
		sleep 0.1
	done
	curl -sS --max-time 10 https://$PAY/ping; echo" >"$T/run.out" 2>"$T/run.err" &
mon=$!
wait_for running 150 || { kill $mon; fail "the stand-ins never showed as running: $(cat "$T/run.err")"; }
srv=$(server_of $mon)
[ -n "$srv" ] || { kill $mon; fail "no server process among the monitor's children ($(cat /proc/$mon/task/*/children))"; }
[ "$(echo $srv | wc -w)" = 1 ] || { kill $mon; fail "more than one non-sandbox child: $srv"; }
# one thread of its own, and the one parked in clone(CLONE_VFORK) while the
# sandbox's init borrows it (src/isolate/run.c): no server thread
[ "$(field $mon Threads)" = 2 ] || { kill $mon; fail "the monitor has $(field $mon Threads) threads"; }
for t in /proc/$mon/task/*; do
	[ "${t##*/}" = $mon ] && continue
	[ "$(cat $t/comm)" = doppel-vfork ] || { kill $mon; fail "the monitor runs a thread '$(cat $t/comm)'"; }
done
[ "$(awk '{ print $4 }' /proc/$srv/stat)" = $mon ] || { kill $mon; fail "the server is not the monitor's child"; }
problems=""
[ "$(field $srv NoNewPrivs)" = 1 ] || problems="$problems NoNewPrivs=$(field $srv NoNewPrivs)"
[ "$(field $srv Seccomp)" = 2 ] || problems="$problems Seccomp=$(field $srv Seccomp)"
[ "$(field $mon Seccomp)" = 0 ] || problems="$problems monitor-Seccomp=$(field $mon Seccomp)"
if is_root; then
	[ "$(field $srv CapEff)" = 0000000000000004 ] || problems="$problems CapEff=$(field $srv CapEff)"
	[ "$(field $srv CapBnd)" = 0000000000000004 ] || problems="$problems CapBnd=$(field $srv CapBnd)"
	# fds: sockets, epoll/eventfd, /dev/null and our stderr file; no file, dir or pipe else
	for f in /proc/$srv/fd/*; do
		# an fd closed between the listing and the lookup (a connection
		# ending) reads as nothing: not a finding
		l=$(readlink "$f") || continue
		case "$l" in
		"" | socket:* | anon_inode:* | /dev/null | "$T/run.err") ;;
		*) problems="$problems fd:$f->$l" ;;
		esac
	done
	# non-dumpable: an uncapable process of the same uid cannot read it
	setpriv --bounding-set=-all --inh-caps=-all cat /proc/$srv/environ >/dev/null 2>&1 &&
		problems="$problems environ-readable"
else
	[ "$(field $srv CapEff)" = 0000000000000000 ] || problems="$problems CapEff=$(field $srv CapEff)"
	cat /proc/$srv/environ >/dev/null 2>&1 && problems="$problems dumpable(environ-readable)"
	ls /proc/$srv/fd >/dev/null 2>&1 && problems="$problems dumpable(fd-listable)"
fi
[ -z "$problems" ] || { kill $mon; fail "server process $srv:$problems"; }
pass "the server runs in a child of the single-threaded monitor: no_new_privs, seccomp, no capabilities, non-dumpable"

run_ok "open the gate" d endpoints sb scenario $PAY gate open >/dev/null
wait $mon || fail "run exited $?: $(cat "$T/run.out" "$T/run.err")"
expected="pong
charged
pong"
[ "$(cat "$T/run.out")" = "$expected" ] || fail "answers inside:
$(cat "$T/run.out")
--- stderr
$(cat "$T/run.err")"
[ ! -s "$T/run.err" ] || fail "the run printed: $(cat "$T/run.err")"
kill -0 "$srv" 2>/dev/null && fail "the server process outlived the run"
pass "the confined stand-ins answer http and https inside; the server ends with the run"

calls=$(d endpoints sb journal --json | json '[r["method"] + " " + r["path"] for r in j["requests"] if r["path"] != "/gate"]')
[ "$calls" = "GET /ping
POST /v1/charges
GET /ping" ] || fail "saved journal: $calls"
d endpoints sb | grep -q "scenario pay: paid" || fail "scenario state not saved: $(d endpoints sb)"
d endpoints sb | grep -q "scenario gate: open" || fail "live scenario state not saved: $(d endpoints sb)"
pass "journal and scenario states saved by the confined server after the run"

# --- the server dies mid-run: the command goes on, one warning ----------------------
"$DOPPEL" run sb -- sh -c "
	i=0
	while curl -sS --max-time 2 http://$PAY/ping >/dev/null 2>&1; do
		i=\$((i + 1)); [ \$i -lt 300 ] || { echo 'stand-in never went away'; exit 3; }
		sleep 0.1
	done
	echo 'command still running'" >"$T/run.out" 2>"$T/run.err" &
mon=$!
wait_for running 150 || { kill $mon; fail "second run: stand-ins not running: $(cat "$T/run.err")"; }
srv=$(server_of $mon)
[ -n "$srv" ] || { kill $mon; fail "second run: no server process"; }
kill -KILL "$srv"
wait $mon || fail "run exited $? after its server died: $(cat "$T/run.out" "$T/run.err")"
[ "$(cat "$T/run.out")" = "command still running" ] || fail "command output: $(cat "$T/run.out")"
[ "$(grep -c 'stand-in server died during the run (signal 9)' "$T/run.err")" = 1 ] ||
	fail "expected one warning: $(cat "$T/run.err")"
pass "a dead server leaves the command running; the run warns once"

# --- a bad mapping still stops the run before the command --------------------------
cp "$M/mappings/m.json" "$T/m.json.good"
echo '{"mappings": [ {"request": ' >"$M/mappings/m.json"
expect_usage_error "bad mapping" "m.json" d run sb -- echo COMMAND-RAN
grep -q COMMAND-RAN "$T/.stdout" && fail "the command ran although the server failed"
cp "$T/m.json.good" "$M/mappings/m.json"
out=$(run_ok "run after fixing" d run sb -- curl -sS --max-time 10 https://$PAY/ping)
[ "$out" = pong ] || fail "after fixing the mapping: $out"
pass "a bad mapping: exit 2 before the command, as before"

check_production
pass "production unchanged"
