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
