#!/bin/sh
# File descriptors the caller leaks into doppel (CVE-2024-21626 class): the
# shell that starts doppel holds a production file (7), a host file open
# for appending (8) and the production directory (9). Inside, none exists:
# EBADF as numbers, ENOENT as /proc/self/fd links (so no fchdir, openat or
# chdir through them), EACCES through init's /proc/1/fd; only 0-2 are open
# and the cwd is the sandbox's /, also when the caller's cwd is production.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

make_production
: > "$T/leak-out"
chmod 666 "$T/leak-out"
exec 7<"$P/data/customers.txt" 8>>"$T/leak-out" 9<"$P"
cd "$P" || fail "cd $P"
run_attack fds "" 7 8 9
cd / || fail "cd /"
exec 7<&- 8>&- 9<&-
attack_held fds 35
[ ! -s "$T/leak-out" ] || fail "ESCAPE: the sandbox wrote to the leaked fd 8: $(cat "$T/leak-out")"
check_production_unchanged
pass "leaked fds 7, 8, 9 are closed in the sandbox; cwd is /"
