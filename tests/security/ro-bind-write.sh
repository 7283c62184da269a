#!/bin/sh
# Writing through read-only binds of production (a directory and a single
# file): open for writing, truncate, chmod, chown, utime, xattrs, create,
# link, rename, unlink, rmdir, O_TMPFILE, and reopening a read-only fd for
# writing through /proc/self/fd all fail with EROFS (EBADF/EINVAL on the fd
# itself); remounting or unmounting the bind is refused (EPERM). As root, the
# same through a bind whose host directory has a mount below it.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

make_production
run_attack ro-write "--ro-bind $P /prod --ro-bind $P/app/secret /secret" /prod /secret
attack_held ro-write 40
check_production_unchanged

# the bind is read-only recursively: a mount below the bound directory on
# the host (root only can make one) is read-only inside as well
if is_root; then
	mkdir -p "$T/outer/inner"
	mount -t tmpfs -o size=1m doppel-sec "$T/outer/inner" || fail "cannot mount a tmpfs below $T/outer"
	trap 'umount "$T/outer/inner" 2>/dev/null; cleanup_T' EXIT
	mkdir "$T/outer/inner/data"
	cp "$P/data/customers.txt" "$T/outer/inner/data/"
	chmod -R a+rX "$T/outer"
	run_attack ro-write "--ro-bind $T/outer /outer --ro-bind $P/app/secret /secret" /outer/inner /secret
	attack_held ro-write 40
	[ "$(ls "$T/outer/inner/data")" = customers.txt ] || fail "the submount was written"
	umount "$T/outer/inner"
fi
check_production_unchanged
pass "read-only binds of production stay read-only"
