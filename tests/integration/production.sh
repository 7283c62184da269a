#!/bin/sh
# The core promise: a production tree overlaid into the sandbox at its own
# path can be deleted, rewritten, chmod'ed and renamed from inside, and
# afterwards production's bytes, modes and mtimes are exactly as before while
# UPPER holds every change (whiteouts for deletions).
. "$DOPPEL_SRC/tests/lib/common.sh"

make_production
U="$T/upper" W="$T/work"
mkdir -p "$U" "$W"

out=$(isolate --overlay "$P" "$U" "$W" "$P" -- /bin/sh -c "
	set -e
	cd '$P'
	cat data/customers.txt
	rm data/customers.txt
	echo rewritten > app/secret
	chmod 700 app/run.sh
	mv app/run.sh app/start.sh
	echo new > data/new.txt
	mkdir data/extra && echo x > data/extra/y
	touch -d '2001-01-01' app/secret
	ls -l app data | grep -c .
	./app/start.sh
	test ! -e data/customers.txt && echo deleted") || fail "sandbox run failed: $out"
echo "$out" | grep -qx "customer: alice@example.com" || fail "production content not visible inside: $out"
echo "$out" | grep -qx "app running" || fail "renamed script did not run: $out"
echo "$out" | grep -qx deleted || fail "deletion not visible inside: $out"

check_production_unchanged
[ -f "$P/data/customers.txt" ] && [ ! -e "$P/app/start.sh" ] && [ ! -e "$P/data/new.txt" ] ||
	fail "production tree changed"
pass "production bytes, modes and mtimes unchanged after deletes, rewrites, chmod and rename"

# UPPER holds the changes
wh() { [ -c "$1" ] && [ "$(stat -c '%t:%T' "$1")" = "0:0" ]; }
wh "$U/data/customers.txt" || fail "no whiteout for the deleted file: $(ls -l "$U/data" 2>&1)"
wh "$U/app/run.sh" || fail "no whiteout for the renamed-away file: $(ls -l "$U/app" 2>&1)"
[ "$(cat "$U/app/secret")" = rewritten ] || fail "rewrite not in UPPER"
[ "$(stat -c %Y "$U/app/secret")" = "$(date -d 2001-01-01 +%s)" ] || fail "mtime change not in UPPER"
[ "$(stat -c %a "$U/app/start.sh")" = 700 ] || fail "chmod'ed, renamed file not in UPPER with mode 700"
[ "$(cat "$U/app/start.sh")" = "$(cat "$P/app/run.sh")" ] || fail "renamed file's content wrong in UPPER"
[ "$(cat "$U/data/new.txt")" = new ] && [ "$(cat "$U/data/extra/y")" = x ] || fail "new files not in UPPER"
pass "UPPER holds the rewrites, the renamed file, new files and whiteouts for deletions"

# a second run over the same UPPER sees the sandbox's state, production still intact
out=$(isolate --overlay "$P" "$U" "$W" "$P" -- /bin/sh -c "
	cd '$P'; ls data app | tr '\n' ' '; cat app/secret") || fail "second run failed"
echo "$out" | grep -q 'rewritten' || fail "second run does not see the sandbox's writes: $out"
case "$out" in *customers.txt*) fail "deleted file came back: $out" ;; esac
check_production_unchanged

# the real production path is not mounted inside, only the overlay
out=$(isolate --overlay "$P" "$U" "$W" "$P" -- awk -v p="$P" '$5 == p { print $9 }' /proc/self/mountinfo)
[ "$out" = overlay ] || fail "production path inside is not (only) the overlay: '$out'"
pass "the sandbox's state persists in UPPER; production's path inside is the overlay only"
