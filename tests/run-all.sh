#!/bin/sh
# Runs every test three ways and prints one closing line "N passed, N failed":
#   1. build/       normal build, as the calling user
#   2. build-asan/  AddressSanitizer + UBSan build, as the calling user
#   3. rootless:    when called as root, the whole suite again as the
#                   unprivileged user doppel-test, from a build of its own,
#                   with a cgroup delegated to it (as systemd would).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

PASSED=0 FAILED=0 SKIPPED=0 BROKEN=""

tally() { # $1 build dir, $2 label
	log="$1/meson-logs/testlog.json"
	if [ ! -f "$log" ]; then
		BROKEN="$BROKEN $2"
		FAILED=$((FAILED + 1))
		return
	fi
	p=$(grep -c '"result": "OK"' "$log")
	f=$(grep -cE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log")
	s=$(grep -c '"result": "SKIP"' "$log")
	echo "== $2: $p passed, $f failed, $s skipped"
	PASSED=$((PASSED + p)) FAILED=$((FAILED + f)) SKIPPED=$((SKIPPED + s))
}

run_suite() { # $1 build dir, $2 label, rest: meson setup options
	dir=$1 label=$2
	shift 2
	echo "== $label: building in $dir"
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; BROKEN="$BROKEN $label"; FAILED=$((FAILED + 1)); return; }
	fi
	if ! ninja -C "$dir" >/dev/null; then
		ninja -C "$dir" | tail -30
		BROKEN="$BROKEN $label"
		FAILED=$((FAILED + 1))
		return
	fi
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 || true
	tally "$dir" "$label"
}

# --- rootless: an unprivileged user with a delegated cgroup -------------------
TEST_USER=doppel-test

delegate_cgroups() { # prints the delegated directories, one per line
	for ctrl in memory pids cpu; do
		mnt=$(awk -v c="$ctrl" '$3 == "cgroup" { n = split($4, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) print $2 }' /proc/mounts | head -1)
		[ -n "$mnt" ] || continue
		own=$(awk -F: -v c="$ctrl" '{ n = split($2, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) print $3 }' /proc/self/cgroup | head -1)
		d="$mnt$own/doppel-rootless-tests"
		mkdir -p "$d" && chown -R "$TEST_USER" "$d" && echo "$d"
	done
}

run_rootless() {
	id "$TEST_USER" >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin "$TEST_USER"
	work=$(mktemp -d /tmp/doppel-rootless.XXXXXX)
	git ls-files -z | xargs -0 cp --parents -t "$work" 2>/dev/null || cp -a . "$work"
	rm -rf "$work/build" "$work/build-asan"
	chown -R "$TEST_USER" "$work"
	chmod 755 "$work"
	dirs=$(delegate_cgroups)
	echo "== rootless: delegated cgroups: $(echo $dirs)"
	# enter the delegated cgroups as root, then drop to the user
	sh -c 'for d in $1; do echo $$ > "$d/cgroup.procs"; done; shift; exec "$@"' sh "$dirs" \
		runuser -u "$TEST_USER" -- env HOME="$work" PATH="$PATH" sh -c "
			cd '$work' && { meson setup build && ninja -C build; } >build.log 2>&1 || { tail -30 build.log; exit 1; }
			meson test -C build --no-rebuild --print-errorlogs --num-processes 2" || true
	tally "$work/build" "rootless as $TEST_USER"
	rm -rf "$work"
	for d in $dirs; do rmdir "$d" 2>/dev/null || true; done
}

run_suite build "root, normal build"
run_suite build-asan "root, ASan+UBSan build" -Db_sanitize=address,undefined -Db_lundef=false
if [ "$(id -u)" = 0 ] && [ "${DOPPEL_SKIP_ROOTLESS:-}" = "" ]; then
	run_rootless
fi

[ -n "$BROKEN" ] && echo "== could not build or run:$BROKEN"
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" = 0 ]
