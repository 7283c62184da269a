#!/bin/sh
# Rootless: the whole sandbox lifecycle works for an unprivileged user, with
# the store in a directory that user owns. Run as a user, this checks the
# rootless specifics and then runs lifecycle.sh; run as root, it does all of
# that as an unprivileged user (DOPPEL_TEST_USER, else dtest, doppel-test or
# nobody) from copies of the binary and scripts that user can read.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/replication/lib.sh"

if is_root; then
	user=""
	for u in ${DOPPEL_TEST_USER:-} dtest doppel-test nobody; do
		if id -u "$u" >/dev/null 2>&1 && [ "$(id -u "$u")" != 0 ]; then
			user=$u
			break
		fi
	done
	[ -n "$user" ] || skip "no unprivileged user to run as (set DOPPEL_TEST_USER)"
	if command -v runuser >/dev/null 2>&1; then
		as_user() { runuser -u "$user" -- "$@"; }
	elif command -v setpriv >/dev/null 2>&1; then
		as_user() { setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups -- "$@"; }
	else
		skip "neither runuser nor setpriv to switch to $user"
	fi
	mkdir -p "$T/bin" "$T/src/tests/lib" "$T/src/tests/replication" "$T/home"
	cp "$DOPPEL" "$T/bin/doppel"
	cp "$DOPPEL_SRC/tests/lib/common.sh" "$T/src/tests/lib/"
	cp "$DOPPEL_SRC/tests/replication/lib.sh" "$DOPPEL_SRC/tests/replication/lifecycle.sh" \
		"$DOPPEL_SRC/tests/replication/rootless.sh" "$T/src/tests/replication/"
	chmod -R a+rX "$T/bin" "$T/src"
	chown "$user" "$T/home"
	chmod 700 "$T/home"
	env="PATH=/usr/local/bin:/usr/bin:/bin HOME=$T/home TMPDIR=$T/home DOPPEL=$T/bin/doppel DOPPEL_SRC=$T/src"
	# shellcheck disable=SC2086
	if ! doc=$(as_user env -i $env "$T/bin/doppel" doctor 2>&1); then
		skip "$user cannot run sandboxes here: $(echo "$doc" | grep -E '^(FAIL|fail)' | head -3)"
	fi
	echo "running as $user (uid $(id -u "$user"))"
	# shellcheck disable=SC2086
	as_user env -i $env sh "$T/src/tests/replication/rootless.sh"
	rc=$?
	exit $rc
fi

# --- as an unprivileged user -------------------------------------------------------------------------
echo "uid $(id -u): rootless checks"
mkdir -p "$P/app"
echo "v1" >"$P/app/data"
chmod -R a+rX "$P"
write_config
remember_production

run_ok "sync" d sync >/dev/null
[ "$(stat -c '%u %a' "$DOPPEL_HOME")" = "$(id -u) 700" ] || fail "store not private to the user: $(stat -c '%U %a' "$DOPPEL_HOME")"
run_ok "create" d create r1 >/dev/null
out=$(run_ok "run" d run r1 -- /bin/sh -c "id -u; echo mine > '$P/app/new'; echo v2 > '$P/app/data'; cat '$P/app/data'")
[ "$out" = "0
v2" ] || fail "inside the sandbox: expected uid 0 (mapped) and the write: $out"
upper=$(ls -d "$DOPPEL_HOME"/sandboxes/r1/u*)
[ "$(stat -c %u "$upper/app/new")" = "$(id -u)" ] || fail "a file written in the sandbox is not the user's on the host: $(stat -c %u "$upper/app/new")"
[ "$(cat "$P/app/data")" = v1 ] || fail "the sandbox wrote production (which this user owns)"
check_production "after writes in a rootless sandbox"
pass "rootless: private store; uid 0 inside maps to $(id -u) outside; production, owned by this user, untouched"

# a production file this user cannot read: sync fails clearly, leaves nothing
mkdir -p "$P/locked"
echo z >"$P/locked/z"
chmod 000 "$P/locked"
remember_production
before=$(d snapshots --json | json 'len(j)')
"$DOPPEL" sync >/dev/null 2>"$T/err"
rc=$?
[ "$rc" != 0 ] || fail "sync of an unreadable production dir succeeded"
grep -q "locked" "$T/err" || fail "sync's error does not name the unreadable path: $(cat "$T/err")"
[ "$(d snapshots --json | json 'len(j)')" = "$before" ] || fail "a failed sync recorded a snapshot"
[ -z "$(ls "$DOPPEL_HOME/tmp")" ] || fail "a failed sync left $(ls "$DOPPEL_HOME/tmp")"
check_consistent "after a failed sync"
check_production "after a failed sync"
chmod 755 "$P/locked"
pass "rootless: an unreadable production directory fails sync with its name; nothing half-made is left"

run_ok "destroy" d destroy r1 >/dev/null
check_consistent
echo "uid $(id -u): the lifecycle"
sh "$DOPPEL_SRC/tests/replication/lifecycle.sh"
