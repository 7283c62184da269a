#!/bin/sh
# Joining other namespaces: init's namespace files cannot be opened (EACCES,
# not dumpable), setns into any namespace is refused (EPERM), the parent
# (host) user and pid namespaces cannot be obtained with NS_GET_PARENT
# (EPERM), and every namespace differs from the host's.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

ids=""
for n in user mnt pid net ipc uts cgroup; do
	id=$(readlink "/proc/self/ns/$n" | tr -dc 0-9)
	[ -n "$id" ] || fail "cannot read the host's $n namespace"
	ids="$ids $n:$id"
done
# shellcheck disable=SC2086
run_attack setns "" $ids
attack_held setns 23
pass "setns refused, init's namespaces unreachable, all 7 namespaces differ from the host's"
