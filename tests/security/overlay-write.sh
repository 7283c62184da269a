#!/bin/sh
# Writes through an overlay of production go to the upper layer only:
# modifying, deleting, chmod-ing and creating files in --overlay (host upper
# directory) and --tmp-overlay (throwaway tmpfs) leaves the production tree
# (the lower layer) unchanged, and --tmp-overlay leaves nothing on the host.
# The upper and work directories themselves are not visible inside.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

make_production
mkdir "$T/upper" "$T/work"
chmod 755 "$T/upper" "$T/work"
listing=$(find "$T" -path "$T/upper" -prune -o -path "$T/work" -prune -o -print | sort)
out=$(isolate --overlay "$P" "$T/upper" "$T/work" /prod --tmp-overlay "$P" /prod2 -- /bin/sh -c '
	set -e
	echo changed > /prod/data/customers.txt
	rm /prod/app/secret
	chmod 600 /prod/app/run.sh
	echo new > /prod/app/new
	mv /prod/data /prod/data2
	echo changed > /prod2/data/customers.txt
	rm -r /prod2/app
	mkdir /prod2/new
	grep -rl secret-token /prod /prod2 || true
	grep -c "'"$T"'" /proc/self/mountinfo || true
	echo DONE' 2>&1); st=$?
echo "$out" | sed 's/^/    /'
[ "$st" = 0 ] && echo "$out" | grep -qx DONE || fail "the writes inside failed (exit $st)"
echo "$out" | grep -qx 0 || fail "the sandbox's mount table names the host's upper/work paths"
check_production_unchanged
[ "$(cat "$T/upper/data2/customers.txt")" = changed ] || fail "the change did not land in the upper directory"
[ -c "$T/upper/app/secret" ] || fail "the deletion did not leave a whiteout in the upper directory"
[ "$(cat "$T/upper/app/new")" = new ] || fail "the new file did not land in the upper directory"
now=$(find "$T" -path "$T/upper" -prune -o -path "$T/work" -prune -o -print | sort)
[ "$listing" = "$now" ] || fail "files appeared on the host outside the upper directory:
$(diff -u "$listing" "$now")"
check_production_unchanged
pass "overlay writes land in the upper layer; production (the lower layer) unchanged"
