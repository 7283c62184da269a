#!/bin/sh
# Host-global kernel knobs in /proc/sys (core_pattern, the module loader,
# sysrq, drop_caches, suid_dumpable, binfmt_misc, ...) are read-only (EROFS)
# (EACCES first, rootless) and /sys is not mounted (ENOENT).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack proc-sysctl ""
attack_held proc-sysctl 7
pass "/proc/sys read-only (EROFS), /sys absent"
