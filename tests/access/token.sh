#!/bin/sh
# doppel token create/list/revoke through the real binary on a real store:
# the secret is printed once and is nowhere else (not in list output, not in
# any file under the store, audit.log included); list shows users, expiry and
# state and never a hash; revoke flags and keeps the row; bad input exits 2
# with a clear message and changes nothing (not even creating the store);
# concurrent creates of one name make exactly one token. Works as root and
# as an unprivileged user (the store is then that user's own).
. "$DOPPEL_SRC/tests/lib/common.sh"

T=$(cd -P "$T" && pwd)
export DOPPEL_HOME="$T/store"
unset DOPPEL_ACCESS DOPPEL_CONFIG
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=$(command -v python3) || skip "python3 is needed"; fi
d() { "$DOPPEL" "$@"; }
me=$(id -un)
id nobody >/dev/null 2>&1 || skip "the test needs a user 'nobody' to make a token for"

# json EXPR: the Python expression EXPR over the JSON document on stdin (j)
json() { "$PYTHON" -c 'import json, sys; j = json.load(sys.stdin); v = eval(sys.argv[1]); print("\n".join(map(str, v)) if isinstance(v, list) else v)' "$1"; }
# the tokens table as it is, hashes included (read-only)
tokens_table() {
	"$PYTHON" -c 'import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
for r in c.execute("SELECT id, name, uid, hex(hash), created, expires, revoked FROM tokens ORDER BY id"): print(*r)' "$DOPPEL_HOME/doppel.db"
}
# expect_usage WHAT PATTERN CMD...: exit 2, PATTERN in stderr, nothing on stdout
expect_usage() {
	what=$1 pattern=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" = 2 ] || fail "$what: expected exit 2, got $rc: $(cat "$T/err")"
	grep -Eq -- "$pattern" "$T/err" || fail "$what: stderr does not match /$pattern/: $(cat "$T/err")"
	[ ! -s "$T/out" ] || fail "$what: printed on stdout: $(cat "$T/out")"
}
# no_secret WHAT SECRET: the secret, or its random part alone, is in no file under the store
no_secret() {
	key=${2#dpt_????????????????_}
	[ ${#key} = 43 ] || fail "$1: could not take the key part of $2"
	if grep -rlaF -e "$2" -e "$key" "$DOPPEL_HOME" >"$T/hits" 2>/dev/null; then
		fail "$1: the secret is stored in: $(cat "$T/hits")"
	fi
}

# --- bad input before any store exists: refused, and no store is made ------
expect_usage "bad name" "token name 'Bad_Name': expected" d token create Bad_Name
expect_usage "dotdot name" "token name '\.\./x': expected" d token create ../x
expect_usage "unknown user" "--user 'no-such-user-x7': no such user" d token create ci --user no-such-user-x7
expect_usage "bad expiry" "--expires 'yesterday': expected a duration such as 30d" d token create ci --expires yesterday
expect_usage "zero expiry" "--expires: expected a duration .*'0d'" d token create ci --expires 0d
expect_usage "no such date" "--expires '2031-02-30': expected" d token create ci --expires 2031-02-30
expect_usage "past date" "--expires '2001-01-01': 2001-01-01T00:00:00Z is in the past" d token create ci --expires 2001-01-01
expect_usage "too long" "--expires: '11000d' is longer than ten years" d token create ci --expires 11000d
expect_usage "no name" "token create: expected NAME" d token create
expect_usage "extra argument" "token create: unexpected argument 'b'" d token create a b
expect_usage "unknown subcommand" "token: unknown subcommand 'frob'" d token frob
expect_usage "revoke bad name" "token name 'A': expected" d token revoke A
expect_usage "list both" "--all and --user U exclude each other" d token list --all --user nobody
[ ! -e "$DOPPEL_HOME" ] || fail "bad input created the store $DOPPEL_HOME"
pass "bad input refused before the store is touched"

# --- create: the secret once, alone on stdout, with the hint on stderr ----
s1=$(d token create ci 2>"$T/err") || fail "create ci: $(cat "$T/err")"
echo "$s1" | grep -Eqx 'dpt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}' || fail "create ci printed '$s1', not one secret"
grep -q "cannot be shown again" "$T/err" || fail "create ci gave no hint that the secret is shown once: $(cat "$T/err")"
grep -qF "$s1" "$T/err" && fail "the secret is in the hint on stderr too"
before=$(date +%s)
d token create deploy --expires 2h --json >"$T/deploy.json" 2>"$T/err" || fail "create deploy: $(cat "$T/err")"
after=$(date +%s)
s2=$(json 'j["secret"]' <"$T/deploy.json")
echo "$s2" | grep -Eqx 'dpt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}' || fail "create --json gave secret '$s2'"
[ "$s1" != "$s2" ] || fail "two tokens got the same secret"
[ "$(json 'j["name"]' <"$T/deploy.json")" = deploy ] || fail "create --json: wrong name: $(cat "$T/deploy.json")"
[ "$(json 'j["user"]' <"$T/deploy.json")" = "$me" ] || fail "create --json: not for $me: $(cat "$T/deploy.json")"
exp=$(json 'j["expires"]' <"$T/deploy.json")
[ "$exp" -ge $((before + 7200)) ] && [ "$exp" -le $((after + 7200)) ] || fail "--expires 2h gave $exp (now $before)"
d token create dated --expires 2099-12-31 >/dev/null 2>&1 || fail "create --expires DATE"
d token create dated-time --expires 2099-12-31T08:30Z >/dev/null 2>&1 || fail "create --expires DATETIME"
s3=$(d token create for-nobody --user nobody 2>"$T/err") || fail "create --user nobody: $(cat "$T/err")"
pass "create prints the secret once, with the hint"

# --- list: never a secret or hash ------------------------------------------
d token list --json >"$T/mine.json" 2>"$T/err" || fail "list: $(cat "$T/err")"
[ "$(json '[t["name"] for t in j]' <"$T/mine.json" | tr '\n' ' ')" = "ci dated dated-time deploy " ] ||
	fail "list (own) shows: $(cat "$T/mine.json")"
[ "$(json 'sorted(set(k for t in j for k in t))' <"$T/mine.json" | tr '\n' ' ')" = "created expires name state uid user " ] ||
	fail "list --json has other fields: $(cat "$T/mine.json")"
[ "$(json '[t["expires"] for t in j if t["name"] == "dated"][0]' <"$T/mine.json")" = 4102358400 ] || fail "DATE expiry wrong"
[ "$(json '[t["expires"] for t in j if t["name"] == "dated-time"][0]' <"$T/mine.json")" = 4102389000 ] || fail "DATETIME expiry wrong"
[ "$(json '[t["expires"] for t in j if t["name"] == "ci"][0]' <"$T/mine.json")" = None ] || fail "no --expires is not 'never'"
[ "$(json '[t["state"] for t in j]' <"$T/mine.json" | sort -u)" = live ] || fail "new tokens not live: $(cat "$T/mine.json")"
d token list --all --json >"$T/all.json" 2>"$T/err" || fail "list --all: $(cat "$T/err")"
[ "$(json '[t["user"] for t in j if t["name"] == "for-nobody"][0]' <"$T/all.json")" = nobody ] || fail "list --all: $(cat "$T/all.json")"
[ "$(json 'len(j)' <"$T/all.json")" = 5 ] || fail "list --all: $(cat "$T/all.json")"
[ "$(d token list --user nobody --json | json '[t["name"] for t in j]')" = for-nobody ] || fail "list --user nobody"
d token list --all >"$T/all.txt" 2>"$T/err" || fail "list --all (text): $(cat "$T/err")"
grep -Eq '^for-nobody +nobody +[0-9-]+T[0-9:]+Z +never +live$' "$T/all.txt" || fail "list text: $(cat "$T/all.txt")"
grep -Eq '^dated +[^ ]+ +[^ ]+ +2099-12-31T00:00:00Z +live$' "$T/all.txt" || fail "list text: $(cat "$T/all.txt")"
for s in "$s1" "$s2" "$s3"; do
	key=${s#dpt_????????????????_}
	cat "$T/mine.json" "$T/all.json" "$T/all.txt" | grep -qF -e "$s" -e "$key" && fail "list shows a secret"
done
hashes=$(tokens_table | awk '{ print $4 }')
[ "$(echo "$hashes" | wc -l)" = 5 ] || fail "tokens table: $(tokens_table)"
for h in $hashes; do
	grep -qi "$h" "$T/all.json" "$T/all.txt" && fail "list shows a hash"
done
# the stored hash is the secret's SHA-256
want=$(printf '%s' "$s1" | sha256sum | awk '{ print toupper($1) }')
tokens_table >"$T/table"
grep -q " ci [0-9]* $want " "$T/table" || fail "ci's stored hash is not sha256(secret): $(cat "$T/table")"
pass "list shows name, user, dates and state, never a secret or hash"

# --- revoke: flagged, kept ------------------------------------------------
out=$(d token revoke ci 2>"$T/err") || fail "revoke ci: $(cat "$T/err")"
[ "$out" = "token ci revoked" ] || fail "revoke said: $out"
[ "$(d token list --json | json '[t["state"] for t in j if t["name"] == "ci"][0]')" = revoked ] || fail "ci not revoked"
d token revoke ci >/dev/null 2>&1 || fail "a second revoke failed"
d token revoke for-nobody >/dev/null 2>"$T/err" || fail "revoke another user's token (store owner): $(cat "$T/err")"
pass "revoke flags the token and keeps it listed"

# --- an expiry that has passed shows as expired ------------------------------
"$PYTHON" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE tokens SET expires = 1700000000 WHERE name = ?", ("deploy",)); c.commit()' \
	"$DOPPEL_HOME/doppel.db"
[ "$(d token list --json | json '[t["state"] for t in j if t["name"] == "deploy"][0]')" = expired ] || fail "deploy not expired"
d token list | grep -Eq '^deploy +.*2023-11-14T22:13:20Z +expired$' || fail "list text: $(d token list)"
pass "a passed expiry shows as expired"

# --- bad input on a real store changes nothing -----------------------------
table=$(tokens_table)
expect_usage "duplicate name" "token ci already exists" d token create ci
expect_usage "duplicate (other user)" "token deploy already exists" d token create deploy --user nobody
expect_usage "bad name" "token name" d token create 'x;y'
expect_usage "unknown user" "no such user" d token create fresh --user no-such-user-x7
expect_usage "past expiry" "is in the past" d token create fresh --expires 2020-06-01T10:00:00Z
expect_usage "bad expiry" "--expires '-1d': expected" d token create fresh --expires -1d
expect_usage "revoke unknown" "token nope not found" d token revoke nope
[ "$(tokens_table)" = "$table" ] || fail "bad input changed the tokens table"
pass "bad input on a store exits 2 and changes nothing"

# --- concurrent creates of one name: exactly one token -------------------
for i in 1 2 3 4 5 6 7 8; do
	(d token create race >"$T/race.$i.out" 2>"$T/race.$i.err"; echo $? >"$T/race.$i.rc") &
done
wait
ok=0
for i in 1 2 3 4 5 6 7 8; do
	case $(cat "$T/race.$i.rc") in
	0) ok=$((ok + 1)); race=$(cat "$T/race.$i.out") ;;
	2) grep -q "token race already exists" "$T/race.$i.err" || fail "race loser said: $(cat "$T/race.$i.err")" ;;
	*) fail "concurrent create exited $(cat "$T/race.$i.rc"): $(cat "$T/race.$i.err")" ;;
	esac
done
[ "$ok" = 1 ] || fail "$ok of 8 concurrent creates of one name succeeded"
[ "$(tokens_table | awk '$2 == "race"' | wc -l)" = 1 ] || fail "race rows: $(tokens_table)"
pass "concurrent creates of one name make one token"

# --- the secrets are nowhere under the store (db, WAL, audit.log, ...) ----
for s in "$s1" "$s2" "$s3" "$race"; do
	no_secret "store" "$s"
done
if [ -f "$DOPPEL_HOME/audit.log" ]; then
	grep -q '"token"' "$DOPPEL_HOME/audit.log" || fail "audit.log has no token records"
fi
pass "no secret is stored anywhere under the store"
