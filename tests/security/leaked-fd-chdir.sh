#!/bin/sh
# The runc CVE-2024-21626 shape: --chdir /proc/self/fd/N where N is a
# directory fd the caller leaked into doppel. If the fd were still open when
# the command changes directory, the command's cwd would be the host
# directory behind it, outside the sandbox's root, and '..' from there
# would reach the host's whole tree. doppel must refuse before the command
# runs: exit 2 (refused as a usage error) or 125 (setup failed: no such
# directory inside the sandbox), with a message naming --chdir.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

make_production
for n in 9 3 4 5; do
	# every fd number doppel's own child might still hold open too
	eval "exec $n<\"\$P\""
	"$DOPPEL" isolate --chdir "/proc/self/fd/$n" -- /bin/sh -c '
		echo RAN; pwd; cat data/customers.txt; echo pwned > ESCAPED; ls ../../..' >"$T/out" 2>"$T/err"
	st=$?
	eval "exec $n<&-"
	sed 's/^/    /' "$T/out" "$T/err"
	if [ -e "$P/ESCAPED" ]; then
		rm -f "$P/ESCAPED"
		fail "ESCAPE: --chdir /proc/self/fd/$n put the command in the host's production directory and it wrote there"
	fi
	! grep -q '^RAN$' "$T/out" || fail "ESCAPE: the command ran with --chdir /proc/self/fd/$n (exit $st)"
	[ "$st" = 2 ] || [ "$st" = 125 ] || fail "--chdir /proc/self/fd/$n: expected exit 2 or 125, got $st"
	grep -q -- "--chdir" "$T/err" || fail "--chdir /proc/self/fd/$n: the message does not name --chdir: $(cat "$T/err")"
done
check_production_unchanged
pass "--chdir through a leaked fd is refused before the command runs"
