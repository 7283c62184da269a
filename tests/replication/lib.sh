# Helpers shared by the replication tests (doppel.yaml, store, snapshots,
# sandboxes). Sourced after tests/lib/common.sh, which provides T, fail, skip,
# pass and expect_status. Every test keeps its store ($DOPPEL_HOME) and its
# production fixture ($P) inside the scratch dir $T, so it works the same as
# root and as an unprivileged user.

# production.root must not go through a symlink: use the resolved scratch dir.
T=$(cd -P "$T" && pwd)
export DOPPEL_HOME="$T/store"
export DOPPEL_CONFIG="$T/doppel.yaml"
P="$T/production"
unset DOPPEL_DEBUG

# python3 reads --json output and makes sockets and xattrs; the system one
# starts fastest (version-manager shims add ~0.4 s to every call).
if [ -x /usr/bin/python3 ]; then
	PYTHON=/usr/bin/python3
else
	PYTHON=$(command -v python3) || skip "python3 is needed to read doppel's --json output"
fi
python3() { "$PYTHON" "$@"; }

d() { "$DOPPEL" "$@"; }

# json EXPR: reads JSON on stdin, prints the Python expression EXPR evaluated
# with the document bound to j (lists print one item a line).
json() {
	python3 -c '
import json, sys
j = json.load(sys.stdin)
def show(x):
    print(("true" if x else "false") if isinstance(x, bool) else x)
v = eval(sys.argv[1])
if isinstance(v, (list, tuple)):
    for x in v: show(x)
else:
    show(v)' "$1"
}

# run_ok WHAT CMD...: runs CMD, fails the test with its output unless it
# exits 0; prints its stdout.
run_ok() {
	what=$1
	shift
	_out=$("$@" 2>"$T/.stderr") || fail "$what: exit $? from: $* ($(cat "$T/.stderr"))"
	printf '%s\n' "$_out"
}

# expect_usage_error WHAT PATTERN CMD...: CMD must exit 2 with PATTERN (an
# extended regex) in its stderr; the message is kept in $ERRMSG.
expect_usage_error() {
	what=$1 pattern=$2
	shift 2
	"$@" >"$T/.stdout" 2>"$T/.stderr"
	rc=$?
	ERRMSG=$(cat "$T/.stderr")
	[ "$rc" = 2 ] || fail "$what: expected exit 2, got $rc from: $* (stderr: $ERRMSG; stdout: $(cat "$T/.stdout"))"
	printf '%s\n' "$ERRMSG" | grep -Eq -- "$pattern" || fail "$what: message does not match /$pattern/: $ERRMSG"
	printf '%s\n' "$ERRMSG" | grep -q '^doppel: ' || fail "$what: message not in the 'doppel: what: why' form: $ERRMSG"
}

# --- the production fixture ----------------------------------------------------
# A fingerprint of everything doppel must never change: every path with its
# type, mode, owner, size, link count, mtime and ctime (ns), symlink target,
# user xattrs, and every regular file's sha256. ctime moves on any write,
# chmod, chown, link or xattr change, so reads are all that may happen. (A
# directory this user cannot read is covered down to its own entry.)
prod_fingerprint() {
	(
		cd "$P" || exit 1
		find . -printf '%p %y %m %U:%G %s %n %T@ %C@ %l\n' 2>/dev/null | LC_ALL=C sort
		find . -type f -exec sha256sum {} + 2>/dev/null | LC_ALL=C sort
		python3 -c '
import os, sys
for top, dirs, files in os.walk(".", followlinks=False):
    for n in sorted(dirs + files):
        p = os.path.join(top, n)
        try:
            for a in sorted(os.listxattr(p, follow_symlinks=False)):
                print(p, a, os.getxattr(p, a, follow_symlinks=False).hex())
        except OSError:
            pass'
	) | sha256sum | cut -d' ' -f1
}
# A cheaper fingerprint for loops: metadata only (ctime covers content changes).
prod_meta_fingerprint() {
	(cd "$P" && find . -printf '%p %y %m %U:%G %s %n %T@ %C@ %l\n' 2>/dev/null | LC_ALL=C sort) | sha256sum | cut -d' ' -f1
}
remember_production() {
	PROD_FP=$(prod_fingerprint)
	PROD_META_FP=$(prod_meta_fingerprint)
}
check_production() {
	[ "$(prod_fingerprint)" = "$PROD_FP" ] || fail "production tree changed ${1:-}"
}
check_production_meta() {
	[ "$(prod_meta_fingerprint)" = "$PROD_META_FP" ] || fail "production tree metadata changed ${1:-}"
}

# Limits in tiers need cgroup controllers this user may write; without them
# `doppel run` refuses (as it should), so tiers then carry none.
limits_usable() {
	_cg=$("$DOPPEL" doctor --json 2>/dev/null | json 'j["cgroup"]["memory"] and j["cgroup"]["pids"] and j["cgroup"]["cpu"]' 2>/dev/null)
	[ "$_cg" = true ]
}

# write_config [EXTRA-YAML-LINES...]: a doppel.yaml for $P with dev and qa
# tiers (no limits, so it runs anywhere) and the given extra top-level lines.
write_config() {
	{
		echo "version: 1"
		echo "production:"
		echo "  root: $P"
		echo '  exclude: ["logs/**", "*.tmp"]'
		echo "tiers:"
		echo "  dev: {network: loopback}"
		echo "  qa: {network: none}"
		for l in "$@"; do echo "$l"; done
	} >"$DOPPEL_CONFIG"
}

# A listing of the store (paths, types, sizes, and the database's rows) to
# prove a command changed nothing. The audit log and its chain head are left
# out: they record every call, refused ones too. So are the database files'
# sizes: the head's update grows the WAL, which outlives each command.
store_listing() {
	if [ -e "$DOPPEL_HOME" ]; then
		(cd "$DOPPEL_HOME" && find . ! -path ./audit.log ! -path './doppel.db*' -printf '%p %y %s\n' | LC_ALL=C sort)
		if [ -e "$DOPPEL_HOME/doppel.db" ]; then
			# a flush mark (src/store/flush.c) is cleared by a background
			# process whenever it gets there: not a change a command made
			sqlite3 "file:$DOPPEL_HOME/doppel.db?mode=ro" .dump | grep -v '^INSERT INTO audit_head ' |
				sed -E "s/'[0-9a-f-]{36}:[0-9a-f]{16}'/NULL/g"
		fi
	else
		echo "(no store)"
	fi
}

# check_consistent: `doppel check` repairs and says consistent, exit 0.
check_consistent() {
	_c=$("$DOPPEL" check 2>&1)
	_rc=$?
	[ "$_rc" = 0 ] || fail "doppel check exit $_rc ${1:-}: $_c"
	printf '%s\n' "$_c" | grep -q ': consistent (' || fail "doppel check did not say consistent ${1:-}: $_c"
}

# sandbox_names: names in `doppel ls --json`, sorted, space separated.
sandbox_names() {
	"$DOPPEL" ls --json | json '[s["name"] for s in j]' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}

# A listing of production's tree as a sandbox sees it: paths, types, modes,
# sizes, mtimes, symlink targets and content hashes. The root directory itself
# is left out here (see root_attrs).
sandbox_state() {
	"$DOPPEL" run "$1" -- /bin/sh -c "cd '$P' && find . -mindepth 1 -printf '%p %y %m %s %T@ %l\n' | LC_ALL=C sort && find . -type f -exec sha256sum {} + | LC_ALL=C sort"
}
# The mode and mtime of production's root directory as a sandbox shows it.
sandbox_root_attrs() {
	"$DOPPEL" run "$1" -- stat -c '%a %Y' "$P"
}

# Waits up to $2 tenths of a second for command $1 (a shell snippet) to succeed.
wait_for() {
	_i=0
	while ! eval "$1"; do
		_i=$((_i + 1))
		[ "$_i" -ge "${2:-50}" ] && return 1
		sleep 0.1
	done
	return 0
}

# Independent checks run as `( ... ) || failed_part "what"`: a failing part is
# reported and the test goes on with the next one; finish exits 1 if any failed.
# Inside a part, skip_part ends just that part as not applicable.
FAILED_PARTS=""
skip_part() {
	echo "SKIP (part): $*"
	exit 0
}
failed_part() { FAILED_PARTS="$FAILED_PARTS
  - $1"; }
finish() {
	[ -z "$FAILED_PARTS" ] || { echo "FAIL: these parts failed:$FAILED_PARTS" >&2; exit 1; }
	exit 0
}

# The masking rules for the shop fixture (tests/replication/shopdb.py):
# every column strict mode flags has one, products.name is allowed.
SHOP_RULES='masking:
  rules:
    main.customers.name: name
    main.customers.email: email
    main.customers.phone: phone
    main.customers.city: city
    main.customers.postal_code: postal_code
    main.customers.birth_date: {date: {days: 60}}
    main.customers.last_ip: ip
    main.orders.ship_address: address
    main.payments.card: card
    main.payments.iban: iban
  allow: [main.products.name]'
