#!/bin/sh
# Kernel modules cannot be loaded (init_module, finit_module), removed
# (delete_module), nor the module loader path changed (/proc/sys read-only,
# /sys absent).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack kmod ""
attack_held kmod 4
pass "init_module/finit_module/delete_module: EPERM"
