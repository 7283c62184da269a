#!/bin/sh
# /proc files that expose the host kernel (kcore, sysrq-trigger, keys,
# timer_list, sched_debug: those this host has) are masked with doppel's
# read-only /dev/null: they read empty and a write never reaches the kernel
# file; the masked directories are empty; the masks cannot be unmounted
# (EPERM) and the real files cannot be reached through init's root (EACCES).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

files=""
for f in kcore sysrq-trigger keys timer_list sched_debug; do
	[ -e "/proc/$f" ] && files="$files /proc/$f"
done
[ -n "$files" ] || skip "this kernel has none of the masked /proc files"
echo "  masked files this host has:$files"
# shellcheck disable=SC2086
run_attack proc-masked "" $files
attack_held proc-masked 4
pass "$files: masked, read empty, unmaskable"
