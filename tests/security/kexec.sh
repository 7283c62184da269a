#!/bin/sh
# kexec_load, kexec_file_load and reboot are refused with EPERM.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

run_attack kexec ""
attack_held kexec 3
pass "kexec_load/kexec_file_load/reboot: EPERM"
