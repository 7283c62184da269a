#!/bin/sh
# The access matrix (issue 5): real Unix users made by this test, a real
# doppeld on a socket of its own, and every role x action x tier x owner cell
# of the built-in roles (docs/access.md) called through the API as that user
# (SO_PEERCRED names them). An allowed cell must succeed; a denied one must
# answer 403 naming the missing grant and leave the store as it was. Every
# call must be in the audit log, in order, with its result. Production is
# never written.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"

is_root || skip "needs root: creates Unix users and runs doppeld for them"
command -v useradd >/dev/null || skip "useradd is missing"
command -v runuser >/dev/null || skip "runuser is missing"
command -v curl >/dev/null || skip "curl is missing"
DOPPELD=${DOPPELD:-$(dirname "$DOPPEL")/src/daemon/doppeld}
[ -x "$DOPPELD" ] || fail "doppeld not built at $DOPPELD"

# --- users, one per built-in role, plus one bound to nothing -----------------
ROLES="admin developer qa security auditor"
USERS=""
for r in $ROLES nobody; do
	u="dpm$$-$r"
	u=$(printf '%s' "$u" | cut -c1-31)
	make_user "$u"
	USERS="$USERS $u"
	eval "U_$r=$u"
done
DAEMON_PID=
cleanup_matrix() {
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
	for u in $USERS; do userdel "$u" 2>/dev/null; done
	cleanup_T
}
trap cleanup_matrix EXIT

# --- production, config, policy ---------------------------------------------
mkdir -p "$P/app" "$P/data"
echo "hello" >"$P/app/index.html"
echo "customer: alice@example.com" >"$P/data/customers.txt"
chmod -R a+rX "$P"
write_config "  staging: {network: none}"
# write_config puts the extra line at top level: put staging under tiers instead
sed -i '/^  staging:/d' "$DOPPEL_CONFIG"
sed -i 's/^  qa: {network: none}$/  qa: {network: none}\n  staging: {network: none}/' "$DOPPEL_CONFIG"
cat >"$T/access.yaml" <<YAML
version: 1
users:
  $U_admin: [admin]
  $U_developer: [developer]
  $U_qa: [qa]
  $U_security: [security]
  $U_auditor: [auditor]
  root: [admin]
YAML
remember_production
d sync >/dev/null || fail "sync"

mkdir -p "$T/run"
chmod 755 "$T/run"
SOCK="$T/run/doppel.sock"
"$DOPPELD" --config "$DOPPEL_CONFIG" --access "$T/access.yaml" --socket "$SOCK" --run-socket "$T/run/run.sock" \
	>"$T/doppeld.log" 2>&1 &
DAEMON_PID=$!
wait_for "[ -S '$SOCK' ]" 100 || fail "doppeld did not make its socket: $(cat "$T/doppeld.log")"

# api USER METHOD PATH [BODY]: prints "STATUS BODY" of one call as USER
api() {
	_u=$1 _m=$2 _p=$3
	shift 3
	if [ $# -gt 0 ]; then
		runuser -u "$_u" -- curl -s --unix-socket "$SOCK" -X "$_m" -H 'Content-Type: application/json' \
			-d "$1" -w ' %{http_code}' "http://d$_p"
	else
		runuser -u "$_u" -- curl -s --unix-socket "$SOCK" -X "$_m" -w ' %{http_code}' "http://d$_p"
	fi
}

# --- the expected table (docs/access.md, built-in roles) --------------------
# allowed ROLE ACTION TIER OWNERSHIP -> exit 0 when the role grants it.
# OWNERSHIP: own (the caller's sandbox), other (someone else's), - (none).
allowed() {
	_r=$1 _a=$2 _t=$3 _o=$4
	case $_r in
	admin) return 0 ;;
	developer | qa)
		home=dev
		[ "$_r" = qa ] && home=qa
		case $_a in
		snapshots) return 0 ;;
		list | diff | drift) [ "$_t" = dev ] || [ "$_t" = qa ] && return 0 ;;
		esac
		case $_a in
		create | run | reset | checkpoint | rebase | destroy | diff | drift | scan | endpoints)
			[ "$_t" = "$home" ] && [ "$_o" != other ] && return 0 ;;
		esac
		[ "$_r" = qa ] && [ "$_a" = run ] && [ "$_t" = dev ] && return 0
		return 1 ;;
	security)
		case $_a in run | scan | list | audit | snapshots | diff | drift) return 0 ;; esac
		return 1 ;;
	auditor)
		case $_a in list | diff | drift | snapshots | audit) return 0 ;; esac
		return 1 ;;
	esac
	return 1
}

EXPECT="$T/expected-audit"
: >"$EXPECT"
CELLS=0
# cell ROLE USER ACTION TIER OWN TARGET METHOD PATH [BODY]: one call, checked
cell() {
	_r=$1 _u=$2 _a=$3 _t=$4 _o=$5 _tg=$6 _m=$7 _pa=$8
	shift 8
	before=$(sqlite3 "$DOPPEL_HOME/doppel.db" "SELECT name, gen, upper, base FROM sandboxes ORDER BY name; SELECT sandbox, label FROM checkpoints ORDER BY 1, 2" 2>&1)
	out=$(api "$_u" "$_m" "$_pa" "$@")
	code=${out##* }
	body=${out% *}
	CELLS=$((CELLS + 1))
	if allowed "$_r" "$_a" "$_t" "$_o"; then
		case $code in 2??) ;; *) fail "$_r ($_u) $_a $_tg [$_o]: expected success, got $code $body" ;; esac
		echo "$_u $_a ok" >>"$EXPECT"
	else
		[ "$code" = 403 ] || fail "$_r ($_u) $_a $_tg [$_o]: expected 403, got $code $body"
		printf '%s' "$body" | grep -q "$_u may not $_a" ||
			fail "$_r $_a $_tg: the denial does not name user and action: $body"
		after=$(sqlite3 "$DOPPEL_HOME/doppel.db" "SELECT name, gen, upper, base FROM sandboxes ORDER BY name; SELECT sandbox, label FROM checkpoints ORDER BY 1, 2" 2>&1)
		[ "$before" = "$after" ] || fail "$_r $_a $_tg: a denied call changed the store"
		echo "$_u $_a denied" >>"$EXPECT"
	fi
}

# run_cell ROLE USER TIER OWN NAME: `doppel run` in remote mode as USER
# (the run socket: the command gets the caller's own stdio)
run_cell() {
	_r=$1 _u=$2 _t=$3 _o=$4 _n=$5
	out=$(runuser -u "$_u" -- env DOPPEL_HOST="unix:$SOCK" "$DOPPEL" run "$_n" -- /bin/echo "hi from $_n" 2>&1)
	rc=$?
	CELLS=$((CELLS + 1))
	if allowed "$_r" run "$_t" "$_o"; then
		[ "$rc" = 0 ] && [ "$out" = "hi from $_n" ] || fail "$_r ($_u) run $_t/$_n [$_o]: expected output, got $rc: $out"
		printf '%s run ok\n%s run ok\n' "$_u" "$_u" >>"$EXPECT"
	else
		[ "$rc" = 1 ] || fail "$_r ($_u) run $_t/$_n [$_o]: expected exit 1, got $rc: $out"
		printf '%s' "$out" | grep -q "$_u may not run" || fail "$_r run $_t/$_n: denial does not name user and action: $out"
		echo "$_u run denied" >>"$EXPECT"
	fi
}

# own_sandbox NAME TIER UID: a sandbox made by root, then given to UID (the
# test's setup: a role that may not create in TIER still needs one to own)
own_sandbox() {
	d create "$1" --tier "$2" >/dev/null || fail "create $1"
	sqlite3 "$DOPPEL_HOME/doppel.db" "UPDATE sandboxes SET owner = $3 WHERE name = '$1'" || fail "chown $1"
}

MARK=$(wc -l <"$DOPPEL_HOME/audit.log" 2>/dev/null || echo 0)
: >"$EXPECT"

for r in $ROLES; do
	eval "u=\$U_$r"
	uid=$(id -u "$u")
	for t in dev qa staging; do
		# create: the caller becomes the owner
		cell "$r" "$u" create "$t" own "$t/c-$r-$t" POST /v1/sandboxes "{\"name\":\"c-$r-$t\",\"tier\":\"$t\"}"
		for o in own other; do
			n="m-$r-$t-$o"
			if [ $o = own ]; then own_sandbox "$n" "$t" "$uid"; else own_sandbox "$n" "$t" 0; fi
			echo "root create ok" >>"$EXPECT"
			cell "$r" "$u" diff "$t" $o "$t/$n" GET "/v1/sandboxes/$n/diff"
			cell "$r" "$u" drift "$t" $o "$t/$n" GET "/v1/sandboxes/$n/drift"
			cell "$r" "$u" checkpoint "$t" $o "$t/$n" POST "/v1/sandboxes/$n/checkpoints" '{"label":"cp1"}'
			cell "$r" "$u" reset "$t" $o "$t/$n" POST "/v1/sandboxes/$n/reset" '{}'
			run_cell "$r" "$u" "$t" $o "$n"
			cell "$r" "$u" rebase "$t" $o "$t/$n" POST "/v1/sandboxes/$n/rebase" '{}'
			cell "$r" "$u" scan "$t" $o "$t/$n" POST "/v1/sandboxes/$n/scan" '{}'
			cell "$r" "$u" endpoints "$t" $o "$t/$n" GET "/v1/sandboxes/$n/endpoints"
			cell "$r" "$u" destroy "$t" $o "$t/$n" DELETE "/v1/sandboxes/$n"
		done
	done
	cell "$r" "$u" snapshots - - - GET /v1/snapshots
	cell "$r" "$u" audit - - - GET /v1/audit
	cell "$r" "$u" sync - - - POST /v1/sync '{}'
done
pass "$CELLS cells of the role x action x tier x owner matrix"

# --- list shows what the caller may list, and only that ----------------------
for t in dev qa staging; do own_sandbox "l-$t" "$t" 0; echo "root create ok" >>"$EXPECT"; done
for r in $ROLES; do
	eval "u=\$U_$r"
	out=$(api "$u" GET /v1/sandboxes)
	code=${out##* }
	[ "$code" = 200 ] || fail "$r: list answered $code"
	got=$(printf '%s' "${out% *}" | json '[s["name"] for s in j if s["name"].startswith("l-")]' | sort | tr '\n' ' ')
	want=""
	for t in dev qa staging; do allowed "$r" list "$t" other && want="${want}l-$t "; done
	[ "$got" = "$want" ] || fail "$r lists '$got', expected '$want'"
	echo "$u list ok" >>"$EXPECT"
done
pass "ls is filtered by role"

# --- a user bound to nothing gets nothing ------------------------------------
out=$(api "$U_nobody" GET /v1/sandboxes)
[ "${out##* }" = 403 ] || fail "an unbound user listed sandboxes: $out"
printf '%s' "$out" | grep -q "no role" || fail "the unbound user's denial does not say 'no role': $out"
echo "$U_nobody list denied" >>"$EXPECT"
out=$(api "$U_nobody" POST /v1/sandboxes '{"name":"x-nobody","tier":"dev"}')
[ "${out##* }" = 403 ] || fail "an unbound user created a sandbox: $out"
echo "$U_nobody create denied" >>"$EXPECT"
pass "deny by default"

# --- the store cannot be read around the daemon ------------------------------
runuser -u "$U_developer" -- cat "$DOPPEL_HOME/doppel.db" >/dev/null 2>&1 && fail "a developer read the store's database"
runuser -u "$U_developer" -- ls "$DOPPEL_HOME" >/dev/null 2>&1 && fail "a developer listed the store"
runuser -u "$U_developer" -- cat "$DOPPEL_HOME/audit.log" >/dev/null 2>&1 && fail "a developer read the audit log"
pass "the store is the daemon's alone"

# --- every call is in the audit log, in order, with its result ---------------
tail -n +"$((MARK + 1))" "$DOPPEL_HOME/audit.log" | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    print(r["user"], r["action"], r["result"])' >"$T/got-audit"
diff -u "$EXPECT" "$T/got-audit" >"$T/audit.diff" || fail "audit log differs from the calls made: $(head -40 "$T/audit.diff")"
d audit verify >/dev/null || fail "audit verify after the matrix"
pass "$(wc -l <"$EXPECT") calls, each recorded with its result"

kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
rc=$?
DAEMON_PID=
[ "$rc" = 0 ] || fail "doppeld exit $rc on SIGTERM"
check_production "after the matrix"
pass "production unchanged"
