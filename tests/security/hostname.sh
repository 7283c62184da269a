#!/bin/sh
# sethostname and setdomainname are refused with EPERM (not in the seccomp
# allowlist; the sandbox set has no CAP_SYS_ADMIN either) and
# /proc/sys/kernel/hostname is read-only: the sandbox keeps the name doppel
# gave it, and the host's name never changes.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

before=$(uname -n)
run_attack hostname "--hostname box-1" box-1
attack_held hostname 6
[ "$(uname -n)" = "$before" ] || fail "the host's hostname changed from $before to $(uname -n)"
pass "sethostname/setdomainname: EPERM; the host's name is unchanged"
