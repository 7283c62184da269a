# Shared helpers for doppel's shell tests. Each test is one script run by
# `meson test` with DOPPEL (the binary), DOPPEL_TESTBIN (compiled helper
# programs) and DOPPEL_SRC (source tree) in its environment. A test exits 0 on
# pass, 77 on skip, anything else on failure, and says why on stderr.

set -u

: "${DOPPEL:?DOPPEL must point at the doppel binary}"
: "${DOPPEL_TESTBIN:=}"

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
pass() { echo "ok: $*"; }

# A scratch directory removed on exit; world-traversable so rootless runs and
# sandboxes can use it.
T=$(mktemp -d "${TMPDIR:-/tmp}/doppel-test.XXXXXX")
chmod 755 "$T"
cleanup_T() { chmod -R u+rwX "$T" 2>/dev/null; rm -rf "$T"; }
trap cleanup_T EXIT

is_root() { [ "$(id -u)" = 0 ]; }

# Runs doppel isolate with the given options and command; stdout/stderr are
# the command's. Use: isolate [opts] -- cmd...
isolate() { "$DOPPEL" isolate "$@"; }

# expect_status WANT CMD...: runs CMD, fails unless its status is WANT.
expect_status() {
	want=$1; shift
	"$@"; got=$?
	[ "$got" = "$want" ] || fail "expected exit $want, got $got from: $*"
}

# A fake production tree with a content hash, to prove it is never written.
make_production() {
	P="$T/production"
	mkdir -p "$P/data" "$P/app"
	echo "customer: alice@example.com" > "$P/data/customers.txt"
	echo "secret-token-123" > "$P/app/secret"
	printf '#!/bin/sh\necho app running\n' > "$P/app/run.sh"
	chmod 755 "$P/app/run.sh"
	chmod -R a+rX "$P"
	PROD_HASH=$(production_hash)
}
production_hash() { (cd "$P" && find . -printf '%p %m %s %T@\n' | sort && find . -type f -exec sha256sum {} + | sort) | sha256sum; }
check_production_unchanged() {
	[ "$(production_hash)" = "$PROD_HASH" ] || fail "production tree changed"
}

# make_user NAME: a Unix user for a test (no home, no login), with a
# subordinate id range, which doppeld's runs for that user need
# (/etc/subuid, /etc/subgid). useradd and usermod take the shadow locks that
# other suites may hold, so they are retried. Remove with userdel NAME.
make_user() {
	_mu_try() {
		_i=0
		until "$@" >"$T/.make_user.err" 2>&1; do
			_i=$((_i + 1))
			[ $_i -lt 50 ] || fail "$*: $(cat "$T/.make_user.err")"
			sleep 0.2
		done
	}
	# usermod --add-subuids needs the files; Debian's passwd makes them, a
	# minimal image may not have
	for _f in /etc/subuid /etc/subgid; do
		[ -e "$_f" ] || { : >"$_f" && chmod 644 "$_f"; } || fail "cannot create $_f"
	done
	id "$1" >/dev/null 2>&1 && _mu_try userdel "$1"
	_mu_try useradd --no-create-home --no-user-group --shell /usr/sbin/nologin "$1"
	_mu_range() { awk -F: -v u="$1" '$1 == u && $3 >= 65536 { print $2; exit }' "$2" 2>/dev/null; }
	if [ -z "$(_mu_range "$1" /etc/subuid)" ] || [ -z "$(_mu_range "$1" /etc/subgid)" ]; then
		_next=$(cat /etc/subuid /etc/subgid 2>/dev/null |
			awk -F: 'BEGIN { m = 100000 } $2 + $3 > m { m = $2 + $3 } END { print m }')
		_mu_try usermod --add-subuids "$_next-$((_next + 65535))" --add-subgids "$_next-$((_next + 65535))" "$1"
	fi
}
